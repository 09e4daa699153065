"""One training loop for every GAN in the course.

``train_gan(generator, critic, data, config)`` is Algorithm 1 of the WGAN and WGAN-GP papers:
``config.steps`` times, ``n_critic`` critic steps, then one generator step. The variant is
chosen by the config (:class:`~gan_tutor.config.GANConfig`): the loss (minimax,
non-saturating, Wasserstein, hinge) and the Lipschitz constraint (none, weight clipping,
gradient penalty, spectral normalisation).

The loop reads top to bottom as the algorithm. Everything around it, the per-step
statistics, the NaN guard, evaluation, snapshots, the time budget, the learning-rate schedule,
the weight average and the progress bar, lives in :class:`_Run`. The statistics of each step
stay on the training device and reach the host every ``config.sync_every`` steps, so that a GPU
never waits for Python.

``train_seeds`` trains K copies of one configuration, one per seed, as a single batched run
(:mod:`gan_tutor.batched`); ``train_configs`` trains several configurations that way, on a
multi-core CPU several at once, one per core; ``train_critic`` trains a critic alone between two fixed
distributions.
"""

from __future__ import annotations

import copy
import math
import multiprocessing
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterator, Mapping, Protocol, Sequence

import torch
from torch import nn

with warnings.catch_warnings():
    # tqdm.auto warns in a notebook without ipywidgets (the book's kernel); it falls back to text bars
    warnings.simplefilter("ignore")
    from tqdm.auto import tqdm

from .config import CONSTRAINTS, GANConfig
from .lipschitz import apply_spectral_norm, clip_weights_, grad_norms, gradient_penalty, interpolates
from .losses import d_loss, g_loss
from .metrics import critic_w1_estimate, mode_metrics
from .models import has_batch_norm
from .runtime import flush_denormals, get_device, seed_everything
from .wasserstein import exact_w1

__all__ = ["History", "SeedRuns", "TrainingDiverged", "train_gan", "train_seeds", "train_configs", "step_seconds",
           "equal_time_steps", "train_critic"]

#: the clock the loop reads (tests replace it with a fake one)
_clock = time.perf_counter

#: rows of the per-step statistics: critic loss (last critic step, no penalty), generator loss,
#: critic estimate mean f(real) - mean f(fake) (last critic step), penalty, all real batches finite
_STATS = ("d_loss", "g_loss", "w_estimate", "penalty", "real_ok")


class Sampler(Protocol):
    def sample(self, n: int, generator: torch.Generator | None = None, device: Any = None) -> torch.Tensor: ...


class TrainingDiverged(FloatingPointError):
    """A loss, the penalty or the data became NaN or infinite.

    The message names the first bad generator step and gives a hint that fits the configuration;
    ``history`` holds everything recorded before that step (per-step lists and evaluations).
    """

    def __init__(self, message: str, history: "History | None" = None) -> None:
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """What happened during training.

    Per generator step (lists of equal length): ``step``, ``d_loss`` (critic loss of the last
    critic step, without the penalty), ``g_loss``, ``w_estimate`` (``mean f(real) - mean f(fake)``
    on the last critic batch), ``penalty`` (gradient penalty, 0 without GP), ``time`` (seconds
    since the start). Per evaluation: ``eval_step``, ``eval_time``, ``exact_w1`` (POT, fresh
    real samples vs generator samples), ``critic_w1`` (the critic's estimate on the same samples),
    ``grad_norm`` (median critic gradient norm at interpolates), ``modes`` and ``high_quality``
    (mixtures only). Where it ran: ``device``, ``threads`` (torch's CPU threads) and ``torch``
    (version): the same seed gives the same numbers only for the same three.
    """

    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    w_estimate: list[float] = field(default_factory=list)
    penalty: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    eval_time: list[float] = field(default_factory=list)
    exact_w1: list[float] = field(default_factory=list)
    critic_w1: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    modes: list[int] = field(default_factory=list)
    high_quality: list[float] = field(default_factory=list)
    device: str = ""
    threads: int = 0
    torch: str = ""
    _eval_costs: list[float] = field(default_factory=list, repr=False)

    def training_seconds(self) -> float:
        """Seconds spent training, evaluation and snapshots excluded."""
        return self.time[-1] - sum(self._eval_costs) if self.time else 0.0

    def seconds_per_step(self) -> float:
        """Mean wall-clock seconds per generator step, evaluation time excluded."""
        if not self.time:
            return float("nan")
        return self.training_seconds() / len(self.time)

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
                if not k.startswith("_")}


@dataclass
class SeedRuns:
    """The result of :func:`train_seeds`: per seed, the trained generator, critic and history."""

    seeds: list[int]
    generators: list[nn.Module]
    critics: list[nn.Module]
    histories: list[History]


@flush_denormals()
def train_gan(
    generator: nn.Module,
    critic: nn.Module,
    data: Sampler,
    config: GANConfig,
    snapshot: Callable[[int, nn.Module, nn.Module], None] | None = None,
) -> History:
    """Train ``generator`` against ``critic`` on samples from ``data`` and return the history.

    Both models are moved to the training device (``config.device``, else ``gt.get_device()``)
    and left there, in training mode; batches are drawn on that device.

    Args:
        generator: a module with ``latent_dim`` mapping ``(n, latent_dim)`` noise to samples.
        critic: a module mapping a batch to raw scores ``(n,)``. With ``constraint="sn"`` its
            layers are spectrally normalised in place first.
        data: anything with ``sample(n, device=...)`` (the ``gan_tutor.data`` samplers).
        config: the variant and budget, see :class:`GANConfig`.
        snapshot: called as ``snapshot(step, generator, critic)`` at step 0 and every
            ``config.snapshot_every`` steps, for figures and animations.

    Raises:
        TrainingDiverged: a loss, the penalty or the data became NaN or inf (the message names
            the step; ``err.history`` holds what was recorded before it).
        ValueError: shapes that do not fit together (named before training starts), or a
            gradient penalty with a batch-normalised critic.
    """
    cfg = config
    device = _device(cfg)
    if cfg.seed is not None:
        seed_everything(cfg.seed)
    generator.to(device).train()
    opt_d = _prepare_critic(critic, cfg, device)
    g_weights = list(generator.parameters())
    opt_g = _optimizer(cfg.optimizer, g_weights, cfg.lr_g, cfg.betas, device)
    copies = getattr(critic, "copies", 1)
    _check_shapes(generator, critic, data, copies, device)
    run = _Run(generator, critic, data, cfg, device, [opt_d, opt_g], snapshot)
    z_dim, n = generator.latent_dim, copies * cfg.batch_size

    for step in run.steps():
        # n_critic critic steps against the current generator ...
        for _ in range(cfg.n_critic):
            real = data.sample(n, device=device)
            with torch.no_grad():
                fake = generator(torch.randn(n, z_dim, device=device))
            critic_stats = run.critic_step(real, fake)
        # ... then one generator step against the critic as it is now; only the generator's
        # weights receive gradients (the critic is the envelope's fixed argmax)
        fake = generator(torch.randn(n, z_dim, device=device))
        loss_g = g_loss(cfg.loss, critic(fake).view(copies, -1))  # one loss per copy
        opt_g.zero_grad(set_to_none=True)
        loss_g.sum().backward(inputs=g_weights)
        opt_g.step()
        if run.after_step(step, critic_stats, loss_g):
            break
    return run.finish()


class _Run:
    """The plumbing around :func:`train_gan`'s loop, in the order it happens.

    ``critic_step`` updates the critic once. ``after_step`` updates the weight average and the
    learning rates, stores the step's statistics on the device, and every ``sync_every`` steps
    (and before an evaluation, a snapshot or the end) copies them to the host in one transfer
    and checks them; it evaluates, calls the snapshot callback, and says when the time budget
    is spent. ``finish`` returns the history (one per copy for batched runs).
    """

    def __init__(self, generator: nn.Module, critic: nn.Module, data: Sampler, cfg: GANConfig,
                 device: torch.device, optimizers: list[torch.optim.Optimizer],
                 snapshot: Callable | None) -> None:
        self.generator, self.critic, self.data, self.cfg, self.device = generator, critic, data, cfg, device
        self.opt_d = optimizers[0]
        self.copies = getattr(critic, "copies", 1)
        self.two_passes = cfg.constraint == "sn" or has_batch_norm(critic)
        self.clip_params = list(critic.parameters()) if cfg.constraint == "clip" else []
        self.progress = 0.0  # share of the budget used (steps or time), read by the lr schedule
        self.schedules = [_linear_schedule(o, self) for o in optimizers] if cfg.lr_schedule == "linear" else []
        self.average = _Average(generator, cfg.ema) if cfg.ema else None
        self.shown = self.average.module if self.average else generator
        self.histories = [_new_history(device) for _ in range(self.copies)]
        self.buffer = torch.empty(cfg.sync_every, len(_STATS), self.copies, device=device)
        self.pending: list[tuple[int, float]] = []  # (step, time) of the rows in the buffer
        self.real_ok = torch.ones(self.copies, device=device)
        self.eval_costs = 0.0
        self.snapshot = snapshot
        self.start = _clock()
        if snapshot is not None:
            self._snapshot(0)
        self.bar = tqdm(range(1, cfg.steps + 1), disable=not cfg.progress, desc=f"{cfg.loss}/{cfg.constraint}")

    def steps(self) -> Iterator[int]:
        yield from self.bar

    def critic_step(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """One critic update; returns the statistics (loss, estimate, penalty, real ok) per copy."""
        stats = _critic_step(self.critic, self.opt_d, real, fake, self.cfg, self.copies, self.two_passes,
                             self.clip_params)
        torch.minimum(self.real_ok, stats[3], out=self.real_ok)  # every real batch of the step is checked
        return stats

    def after_step(self, step: int, critic_stats: torch.Tensor, loss_g: torch.Tensor) -> bool:
        cfg = self.cfg
        if self.average:
            self.average.update(step)
        trained = _clock() - self.start - self.eval_costs
        out_of_time = cfg.time_budget_s is not None and trained >= cfg.time_budget_s
        self.progress = max(step / cfg.steps, trained / cfg.time_budget_s if cfg.time_budget_s else 0.0)
        for schedule in self.schedules:
            schedule.step()
        row = len(self.pending)
        self.buffer[row, 0] = critic_stats[0]
        self.buffer[row, 1] = loss_g.detach()
        self.buffer[row, 2:4] = critic_stats[1:3]
        self.buffer[row, 4] = self.real_ok
        self.real_ok.fill_(1.0)
        self.pending.append((step, _clock() - self.start))
        last = step == cfg.steps or out_of_time
        evaluate = cfg.eval_every and (step % cfg.eval_every == 0 or last)
        snap = self.snapshot is not None and cfg.snapshot_every and step % cfg.snapshot_every == 0
        if len(self.pending) == cfg.sync_every or evaluate or snap or last:
            self._sync()
        if evaluate:
            self._timed(self._evaluate, step)
        if snap:
            self._timed(self._snapshot, step)
        if evaluate or snap:  # the step ends after its evaluation (synchronised above, so it is the last)
            self.histories[0].time[-1] = _clock() - self.start
        return out_of_time

    def finish(self) -> History | list[History]:
        self._sync()
        self.bar.close()
        if self.average:
            self.generator.load_state_dict(self.average.module.state_dict())
        for h in self.histories:
            h._eval_costs = list(self.histories[0]._eval_costs)
            h.time = list(self.histories[0].time)
        return self.histories[0] if self.copies == 1 and not hasattr(self.critic, "copies") else self.histories

    # --- helpers -------------------------------------------------------------------------
    def _sync(self) -> None:
        """Copy the buffered statistics to the host (one transfer), check them, append them."""
        if not self.pending:
            return
        values = self.buffer[: len(self.pending)].tolist()  # [row][stat][copy], the one device read
        pending, self.pending = self.pending, []
        for (step, seconds), row in zip(pending, values):
            if not all(math.isfinite(v) for stat in row for v in stat) or min(row[4]) < 1:
                self.bar.close()
                raise TrainingDiverged(_divergence_message(row, step, self.cfg),
                                       self.histories[0] if self.copies == 1 else None)
            for k, h in enumerate(self.histories):
                h.step.append(step)
                h.d_loss.append(row[0][k])
                h.g_loss.append(row[1][k])
                h.w_estimate.append(row[2][k])
                h.penalty.append(row[3][k])
            self.histories[0].time.append(seconds)

    def _timed(self, fn: Callable[[int], None], step: int) -> None:
        t0 = _clock()
        fn(step)
        cost = _clock() - t0
        self.eval_costs += cost
        self.histories[0]._eval_costs.append(cost)

    def _models_per_copy(self) -> list[tuple[nn.Module, nn.Module]]:
        if self.copies == 1 and not hasattr(self.critic, "copies"):
            return [(self.shown, self.critic)]
        from .batched import unstack

        return list(zip(unstack(self.shown), unstack(self.critic)))

    def _evaluate(self, step: int) -> None:
        elapsed = _clock() - self.start - self.eval_costs
        for (gen, crit), h in zip(self._models_per_copy(), self.histories):
            _evaluate(gen, crit, self.data, self.cfg, h, step, self.device, elapsed)
        h = self.histories[0]
        postfix = {"W1": f"{h.exact_w1[-1]:.3f}"}
        if h.modes:
            postfix["modes"] = h.modes[-1]
        self.bar.set_postfix(**postfix)

    def _snapshot(self, step: int) -> None:
        if self.copies == 1 and not hasattr(self.critic, "copies"):
            self.snapshot(step, self.shown, self.critic)
        else:
            gens, crits = zip(*self._models_per_copy())
            self.snapshot(step, list(gens), list(crits))


def _critic_step(critic: nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
                 cfg: GANConfig, copies: int = 1, two_passes: bool = False,
                 clip_params: Sequence[torch.Tensor] = ()) -> torch.Tensor:
    """One critic update. Returns a ``(4, copies)`` tensor on the device: loss without the
    penalty, ``mean f(real) - mean f(fake)``, penalty, and 1.0 if the real batch was finite."""
    # Two forward passes with batch norm (real and fake batch statistics stay separate) and with
    # spectral norm (each pass is one power-iteration step; lesson 7 measures how the estimate
    # keeps up with two per critic step); otherwise one pass over both batches, which is faster.
    if two_passes:
        r, f = critic(real).view(copies, -1), critic(fake).view(copies, -1)
    else:  # each copy's real rows, then its fake rows, so that a batched critic keeps its copies apart
        both = torch.cat([real.view(copies, -1, *real.shape[1:]), fake.view(copies, -1, *fake.shape[1:])], 1)
        r, f = critic(both.flatten(0, 1)).view(copies, -1).chunk(2, dim=1)
    loss = d_loss(cfg.loss, r, f)  # one loss per copy; their sum trains every copy independently
    total = loss.sum()
    penalty = torch.zeros(copies, device=loss.device)
    if cfg.constraint == "gp":
        pen, norms = gradient_penalty(critic, real, fake, one_sided=cfg.one_sided)
        total = total + cfg.gp_weight * (pen * copies)  # the mean over all copies' samples, times K
        gap = norms.view(copies, -1) - 1
        penalty = (gap.clamp(min=0) if cfg.one_sided else gap).pow(2).mean(-1)
    opt.zero_grad(set_to_none=True)
    total.backward()
    opt.step()
    if clip_params:
        _clamp_(clip_params, cfg.clip_value)
    with torch.no_grad():
        real_ok = torch.isfinite(real).all().to(loss.dtype).expand(copies)
        return torch.stack([loss.detach(), (r.mean(-1) - f.mean(-1)).detach(), penalty, real_ok])


def _clamp_(params: Sequence[torch.Tensor], c: float) -> None:
    """Weight clipping on a list of tensors, with torch's multi-tensor kernels where present."""
    with torch.no_grad():
        if hasattr(torch, "_foreach_clamp_min_"):
            torch._foreach_clamp_min_(list(params), -c)
            torch._foreach_clamp_max_(list(params), c)
        else:  # pragma: no cover - torch < 2.0
            for p in params:
                p.clamp_(-c, c)


def _divergence_message(row: list[list[float]], step: int, cfg: GANConfig) -> str:
    """The message of TrainingDiverged: what went bad at ``step`` (``row``: the step's statistics
    in the order of ``_STATS``, one value per copy) and a hint for this configuration."""
    if min(row[4]) < 1:
        return (f"the data sampler returned NaN or inf at generator step {step}: the real batches are bad, "
                "not the training; check the data (e.g. torch.isfinite(data.sample(1000)).all())")
    names = ("the critic loss", "the generator loss", "the critic's estimate", "the gradient penalty")
    what = next(name for name, stat in zip(names, row) if not all(math.isfinite(v) for v in stat))
    hints = {
        "clip": f"smaller learning rates or a smaller clip_value (now {cfg.clip_value:g})",
        "gp": f"smaller learning rates, or a gp_weight nearer the paper's 10 (now {cfg.gp_weight:g})",
        "sn": "smaller learning rates; spectral normalisation bounds the critic, so look at the generator's rate",
        "none": "smaller learning rates, or a Lipschitz constraint on the critic (constraint='gp' or 'sn')",
    }
    return (f"{what} became non-finite at generator step {step}: training diverged. Try "
            f"{hints[cfg.constraint]} (now lr_d={cfg.lr_d:g}, lr_g={cfg.lr_g:g}, optimizer={cfg.optimizer!r}).")


class _Average:
    """An exponential moving average of a module's weights, updated with one multi-tensor lerp.

    The weight lists are taken once, so that an update walks no module tree."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(module)
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.avg, self.src = list(self.module.parameters()), list(module.parameters())
        self.avg_buffers, self.src_buffers = list(self.module.buffers()), list(module.buffers())

    @torch.no_grad()
    def update(self, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))  # warm-up: early weights are forgotten fast
        torch._foreach_lerp_(self.avg, self.src, 1.0 - d)
        for ba, b in zip(self.avg_buffers, self.src_buffers):
            ba.copy_(b)


def _linear_schedule(opt: torch.optim.Optimizer, run: Any) -> torch.optim.lr_scheduler.LambdaLR:
    """A torch scheduler setting each rate to ``initial * (1 - progress)``, where ``run.progress``
    is the share of the budget used (steps or time, whichever runs out first)."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: max(0.0, 1.0 - run.progress))


def _optimizer(name: str, params, lr: float, betas, device: torch.device) -> torch.optim.Optimizer:
    # multi-tensor (foreach) kernels: one launch per step for all weights on a GPU; on the CPU the
    # same numbers as the per-tensor loop. (Adam's fused kernel is faster still, but its rounding
    # differs from the per-tensor loop by up to 3e-3 in weights after 300 steps on the CPU, so it
    # is used on CUDA only, where numbers differ from the CPU's anyway.)
    if name == "adam":
        if device.type == "cuda":
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
        return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    return torch.optim.SGD(params, lr=lr, foreach=True)


def _device(cfg: GANConfig) -> torch.device:
    if cfg.device is None:
        return get_device()
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"config.device={cfg.device!r} but CUDA is not available on this machine; "
                         "use device='cpu' or None (gt.get_device() chooses)")
    return device


def _new_history(device: torch.device) -> History:
    return History(device=str(device), threads=torch.get_num_threads(), torch=torch.__version__)


def _prepare_critic(critic: nn.Module, cfg: GANConfig, device: torch.device) -> torch.optim.Optimizer:
    if cfg.constraint == "gp" and has_batch_norm(critic):
        raise ValueError(
            "the gradient penalty is per sample, but batch norm mixes the samples of a batch; "
            "build the critic with norm=None or norm='layer'"
        )
    critic.to(device).train()
    if cfg.constraint == "sn":
        if hasattr(critic, "copies"):
            from .batched import apply_batched_spectral_norm

            apply_batched_spectral_norm(critic)
        else:
            apply_spectral_norm(critic)
    if cfg.constraint == "clip":
        clip_weights_(critic, cfg.clip_value)
    return _optimizer(cfg.optimizer, critic.parameters(), cfg.lr_d, cfg.betas, device)


def _check_shapes(generator: nn.Module, critic: nn.Module, data: Sampler, copies: int,
                  device: torch.device) -> None:
    """Run one small batch through data, generator and critic before training, and name the
    shapes that disagree. Draws from a forked random generator and in eval mode, so that the
    run's random numbers, batch-norm statistics and power iterations are untouched."""
    if not hasattr(generator, "latent_dim"):
        raise ValueError("the generator needs a latent_dim attribute (the size of its noise input); "
                         "use gan_tutor.models or set generator.latent_dim")
    n = 2 * copies
    modes = [(m, m.training) for m in (*generator.modules(), *critic.modules())]
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
            generator.eval()
            critic.eval()
            real = data.sample(n, device=device)
            fake = generator(torch.randn(n, generator.latent_dim, device=device))
            if tuple(fake.shape[1:]) != tuple(real.shape[1:]):
                raise ValueError(f"the generator makes samples of shape {tuple(fake.shape[1:])} but the data "
                                 f"have shape {tuple(real.shape[1:])}; match the generator's out_dim (or image "
                                 "size) to the data")
            try:
                scores = critic(real)
            except RuntimeError as err:
                raise ValueError(f"the critic cannot take data samples of shape {tuple(real.shape[1:])}: "
                                 f"{str(err).splitlines()[0]}; match its in_dim to the data") from None
            if tuple(scores.shape) != (n,):
                raise ValueError(f"the critic must return one score per sample, shape ({n},) for {n} samples, "
                                 f"got {tuple(scores.shape)}; squeeze its last dimension")
    finally:
        for m, flag in modes:
            m.training = flag


def _evaluate(generator: nn.Module, critic: nn.Module, data: Sampler, cfg: GANConfig, hist: History, step: int,
              device: torch.device, elapsed: float) -> None:
    generator.eval()
    critic.eval()
    real = data.sample(cfg.w1_samples, device=device)
    with torch.no_grad():
        fake = generator(torch.randn(cfg.w1_samples, generator.latent_dim, device=device))
    if not torch.isfinite(fake).all():
        raise TrainingDiverged(f"the generator produced NaN/inf samples at step {step}; try smaller learning "
                               f"rates (now lr_d={cfg.lr_d:g}, lr_g={cfg.lr_g:g})", hist)
    hist.eval_step.append(step)
    hist.eval_time.append(elapsed)
    hist.exact_w1.append(exact_w1(real, fake))
    hist.critic_w1.append(critic_w1_estimate(critic, real, fake))
    hist.grad_norm.append(float(grad_norms(critic, interpolates(real, fake)).median()))
    centers = getattr(data, "centers", None)
    if centers is not None:
        with torch.no_grad():
            samples = generator(torch.randn(cfg.eval_samples, generator.latent_dim, device=device))
        rep = mode_metrics(samples, centers, data.std)
        hist.modes.append(rep.modes)
        hist.high_quality.append(rep.high_quality)
    generator.train()
    critic.train()


def train_seeds(build: Callable[[], tuple[nn.Module, nn.Module]], data: Sampler, config: GANConfig,
                seeds: Sequence[int]) -> SeedRuns:
    """Train one configuration for several seeds at once, as one batched run.

    For each seed ``s``: ``seed_everything(s)`` and ``build()`` make that copy's generator and
    critic (MLPs; :mod:`gan_tutor.batched` stacks them into one module each). The copies are
    trained together by :func:`train_gan`'s loop on batches of ``len(seeds) * batch_size``
    rows, copy k on its own rows; the loss is the sum of the copies' losses, so each copy's
    gradient and optimiser update are its own. The training stream (batches, noise) is seeded
    with ``seeds[0]``. With one seed the numbers equal ``train_gan`` on the same models with
    ``config.replace(seed=s)``; with several, each copy is a run of its own seed's
    initialisation on its own batches.

    Returns:
        a :class:`SeedRuns` with, per seed, the trained generator (the weight average if
        ``config.ema``) and critic as ordinary modules on the training device, and the history.
    """
    from .batched import stack, unstack

    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. seeds=[0, 1, 2, 3, 4]")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeat: {seeds}; repeated seeds would train identical copies")
    gens, crits = [], []
    for s in seeds:
        seed_everything(s)
        g, c = build()
        gens.append(g)
        crits.append(c)
    generator, critic = stack(gens), stack(crits)
    histories = train_gan(generator, critic, data, config.replace(seed=seeds[0]))
    return SeedRuns(seeds=seeds, generators=unstack(generator), critics=unstack(critic), histories=histories)


#: the jobs of the running train_configs call, inherited by its forked worker processes
_JOBS: tuple | None = None


def _train_job(key: Hashable) -> SeedRuns:
    build, data, configs, seeds = _JOBS
    return train_seeds(build, data, configs[key], seeds)


def _one_thread() -> None:
    torch.set_num_threads(1)


def train_configs(build: Callable[[], tuple[nn.Module, nn.Module]], data: Sampler,
                  configs: Mapping[Hashable, GANConfig], seeds: Sequence[int],
                  processes: int | None = None) -> dict[Hashable, SeedRuns]:
    """Train each of several configurations for several seeds (:func:`train_seeds`).

    On the CPU, ``processes`` configurations train at the same time, each in a process of its
    own on one core (default: the cores this process may use, at most the number of
    configurations). Each process computes on one thread, so that runs on different cores do
    not slow each other down, and a ``time_budget_s`` gives every configuration the same
    seconds of one core, as long as nothing else keeps the cores busy. The processes are forked
    from this one, so ``build`` and ``data`` may be defined in a notebook. On a GPU, or where
    ``fork`` is not available, the configurations train one after the other in this process
    (forking a process that has used CUDA is not safe).

    Returns:
        ``{key: SeedRuns}`` in the order of ``configs``; models are on the CPU when trained
        in worker processes, on the training device otherwise.

    Raises:
        ValueError: ``configs`` is empty, ``processes`` is not a positive integer, or
            ``processes > 1`` for configurations that train on a GPU.
    """
    global _JOBS
    keys = list(configs)
    if not keys:
        raise ValueError("configs is empty; give a mapping {name: GANConfig}")
    on_cpu = all(_device(c).type == "cpu" for c in configs.values())
    can_fork = on_cpu and "fork" in multiprocessing.get_all_start_methods()
    if processes is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        processes = (cores or 1) if can_fork else 1
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be a positive integer, got {processes!r}")
    if processes > 1 and not on_cpu:
        raise ValueError(f"processes={processes} needs configurations that train on the CPU; on a GPU "
                         "they train one after the other: use processes=1")
    processes = min(processes, len(keys))
    if processes == 1 or not can_fork:
        return {key: train_seeds(build, data, configs[key], seeds) for key in keys}
    _JOBS = (build, data, dict(configs), list(seeds))
    try:
        with warnings.catch_warnings():
            # Python >= 3.12 warns that a multi-threaded process (a Jupyter kernel) forks; the
            # workers only run torch code on one thread
            warnings.simplefilter("ignore", DeprecationWarning)
            with multiprocessing.get_context("fork").Pool(processes, initializer=_one_thread) as pool:
                runs = pool.map(_train_job, keys, chunksize=1)
    finally:
        _JOBS = None
    return dict(zip(keys, runs))


def step_seconds(build: Callable[[], tuple[nn.Module, nn.Module]], data: Sampler,
                 configs: Mapping[Hashable, GANConfig], seeds: Sequence[int], steps: int = 20,
                 rounds: int = 5, warmup: int = 5) -> dict[Hashable, float]:
    """Seconds per generator step of each configuration, as :func:`train_seeds` runs it here.

    Each round trains every configuration afresh for ``warmup + steps`` generator steps (in a
    rotated order) and times the last ``steps``; the result is the median over ``rounds``.
    Because the rounds interleave the configurations, a slow patch of a shared machine slows
    them all, and the *ratios* of the results are much steadier than the seconds themselves.
    Measured on this process's device and threads; every timed step waits for the device to
    finish it (``sync_every=1``).

    Raises:
        ValueError: ``configs`` is empty or ``steps``, ``rounds`` is not a positive integer
            (``warmup`` may be 0).
    """
    keys = list(configs)
    if not keys:
        raise ValueError("configs is empty; give a mapping {name: GANConfig}")
    for name, value, low in (("steps", steps, 1), ("rounds", rounds, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    times: dict[Hashable, list[float]] = {key: [] for key in keys}
    for r in range(rounds):
        for key in keys[r % len(keys):] + keys[: r % len(keys)]:
            # sync_every=1: each step waits for the device, so that a GPU's queued work is timed
            cfg = configs[key].replace(steps=warmup + steps, eval_every=0, time_budget_s=None,
                                       progress=False, snapshot_every=0, sync_every=1)
            t = train_seeds(build, data, cfg, seeds).histories[0].time
            times[key].append((t[-1] - (t[warmup - 1] if warmup else 0.0)) / steps)
    return {key: float(torch.tensor(v).median()) for key, v in times.items()}


def equal_time_steps(seconds: Mapping[Hashable, float], reference: Hashable, steps: int) -> dict[Hashable, int]:
    """Generator steps that give every configuration the time of ``steps`` steps of ``reference``.

    ``seconds`` are seconds per step (:func:`step_seconds`). The result does not depend on how fast
    the machine is, only on the configurations' relative costs on it, so that an equal-time
    comparison keeps its meaning on a slower, faster or busier machine.
    """
    if reference not in seconds:
        raise ValueError(f"reference {reference!r} is not among the timed configurations {list(seconds)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    budget = steps * seconds[reference]
    return {key: max(1, round(budget / s)) for key, s in seconds.items()}


@flush_denormals()
def train_critic(critic: nn.Module, real: Sampler, fake: Sampler, config: GANConfig,
                 steps: int | None = None, eval_every: int = 0, eval_samples: int = 1000) -> History:
    """Train only the critic between two *fixed* distributions (no generator).

    This is the inner maximisation of a GAN run to (near) convergence: with the Wasserstein
    loss and a Lipschitz constraint, ``mean f(real) - mean f(fake)`` approaches ``K * W1``; with
    the minimax loss, the critic approaches the optimal discriminator ``D*`` (as a logit).
    The critic is moved to the training device and left there; statistics reach the host every
    ``config.sync_every`` steps.

    Args:
        critic: module mapping a batch to raw scores ``(n,)``.
        real, fake: samplers with ``sample(n, device=...)``.
        config: loss, constraint, optimiser, batch size (``n_critic`` is ignored).
        steps: critic steps (default ``config.steps``).
        eval_every: every this many steps (and at the end) record the critic's estimate on
            ``eval_samples`` fresh samples per side next to the exact W1 of those samples.

    Returns:
        a :class:`History` with per-step ``d_loss``, ``w_estimate`` and ``penalty``, and per
        evaluation ``critic_w1``, ``exact_w1`` and ``grad_norm``.
    """
    cfg = config
    steps = cfg.steps if steps is None else steps
    for name, value, low in (("steps", steps, 1), ("eval_every", eval_every, 0), ("eval_samples", eval_samples, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    device = _device(cfg)
    if cfg.seed is not None:
        seed_everything(cfg.seed)
    opt = _prepare_critic(critic, cfg, device)
    progress = {"share": 0.0}
    schedule = (torch.optim.lr_scheduler.LambdaLR(opt, lambda _: max(0.0, 1.0 - progress["share"]))
                if cfg.lr_schedule == "linear" else None)
    two_passes = cfg.constraint == "sn" or has_batch_norm(critic)
    clip_params = list(critic.parameters()) if cfg.constraint == "clip" else []
    hist = _new_history(device)
    buffer = torch.empty(cfg.sync_every, 4, device=device)
    pending: list[tuple[int, float]] = []
    start = _clock()

    def sync() -> None:
        """One device read for the buffered steps; check them and append them to the history."""
        values = buffer[: len(pending)].tolist()  # [row][stat]
        for (step, seconds), (loss, est, pen, real_ok) in zip(pending, values):
            if not all(math.isfinite(v) for v in (loss, est, pen)) or real_ok < 1:
                row = [[loss], [loss], [est], [pen], [real_ok]]  # in the order of _STATS
                raise TrainingDiverged(_divergence_message(row, step, cfg).replace("generator step", "critic step"),
                                       hist)
            hist.step.append(step)
            hist.time.append(seconds)
            hist.d_loss.append(loss)
            hist.w_estimate.append(est)
            hist.penalty.append(pen)
        pending.clear()

    for step in tqdm(range(1, steps + 1), disable=not cfg.progress, desc=f"critic {cfg.loss}/{cfg.constraint}"):
        stats = _critic_step(critic, opt, real.sample(cfg.batch_size, device=device),
                             fake.sample(cfg.batch_size, device=device), cfg, 1, two_passes, clip_params)
        progress["share"] = step / steps
        if schedule is not None:
            schedule.step()
        buffer[len(pending)] = stats[:, 0]
        pending.append((step, _clock() - start))
        evaluate = eval_every and (step % eval_every == 0 or step == steps)
        if len(pending) == cfg.sync_every or evaluate or step == steps:
            sync()
        if evaluate:
            t0 = _clock()
            critic.eval()
            xr = real.sample(eval_samples, device=device)
            xf = fake.sample(eval_samples, device=device)
            hist.eval_step.append(step)
            hist.eval_time.append(t0 - start - sum(hist._eval_costs))
            hist.critic_w1.append(critic_w1_estimate(critic, xr, xf))
            hist.exact_w1.append(exact_w1(xr, xf))
            hist.grad_norm.append(float(grad_norms(critic, interpolates(xr, xf)).median()))
            critic.train()
            hist._eval_costs.append(_clock() - t0)
            hist.time[-1] = _clock() - start
    return hist

