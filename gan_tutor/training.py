"""One training loop for every GAN in the course.

``train_gan(generator, critic, data, config)`` runs the alternating algorithm: ``n_critic``
critic steps, then one generator step, ``config.steps`` times. The variant is chosen by the
config: the loss (minimax, non-saturating, Wasserstein, hinge) and the Lipschitz constraint
(none, weight clipping, gradient penalty, spectral normalisation). Presets for the four GANs
of the course: :meth:`GANConfig.standard`, :meth:`GANConfig.wgan_clip`,
:meth:`GANConfig.wgan_gp`, :meth:`GANConfig.sngan`.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Protocol

import torch
from torch import nn
with warnings.catch_warnings():
    # tqdm.auto warns in a notebook without ipywidgets (the book's kernel); it falls back to text bars
    warnings.simplefilter("ignore")
    from tqdm.auto import tqdm

from .lipschitz import apply_spectral_norm, clip_weights_, grad_norms, gradient_penalty, interpolates
from .losses import LOSSES, d_loss, g_loss
from .metrics import critic_w1_estimate, mode_metrics
from .models import has_batch_norm
from .runtime import flush_denormals, get_device, seed_everything
from .wasserstein import exact_w1

__all__ = ["GANConfig", "History", "TrainingDiverged", "train_gan", "train_critic", "CONSTRAINTS"]

CONSTRAINTS = ("none", "clip", "gp", "sn")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
LR_SCHEDULES = ("constant", "linear")


class Sampler(Protocol):
    def sample(self, n: int, generator: torch.Generator | None = None, device: Any = None) -> torch.Tensor: ...


class TrainingDiverged(FloatingPointError):
    """A loss became NaN or infinite; raised with the step and a hint instead of plotting garbage."""


@dataclass
class GANConfig:
    """Everything that distinguishes one GAN variant from another.

    Attributes:
        loss: ``"minimax"``, ``"nonsaturating"``, ``"wasserstein"`` or ``"hinge"``.
        constraint: ``"none"``, ``"clip"`` (weights clamped to [-clip_value, clip_value] after
            each critic step), ``"gp"`` (gradient penalty, weight ``gp_weight``) or ``"sn"``
            (spectral normalisation of every critic layer, applied by ``train_gan``).
        n_critic: critic steps per generator step.
        steps: generator steps.
        time_budget_s: if set, ``train_gan`` also stops once its training time (evaluation and
            snapshots excluded) reaches this many seconds, and a ``"linear"`` schedule decays
            with whichever runs out first, steps or time, so the rates reach 0 at the end of
            the budget ("train for 3 minutes" on any machine). ``None`` (default): steps only.
        batch_size: samples per batch, real and fake alike.
        optimizer: ``"adam"``, ``"rmsprop"`` or ``"sgd"``, for both networks.
        lr_d, lr_g: learning rates of critic and generator.
        betas: Adam's betas.
        eval_every: every this many generator steps (and at the end) record the exact W1 to
            fresh real samples, the critic's estimate on the same samples, the gradient norm
            at interpolates and, for mixtures, the mode metrics; 0 turns evaluation off.
        eval_samples: generator samples for the mode metrics (2,500 as in VEEGAN / PacGAN).
        w1_samples: samples per side for the exact W1 at evaluation.
        snapshot_every: call the snapshot callback every this many steps (0: never).
        seed: if set, ``seed_everything(seed)`` before training (seed before building the models
            too, for fully repeatable runs).
        device: where to train; ``None`` means ``gt.get_device()``.
        progress: show a tqdm bar (``TQDM_DISABLE=1`` hides it everywhere).
        ema: decay of an exponential moving average of the generator's weights (Yazici et al.,
            2019), updated after every generator step with the warm-up
            ``min(ema, (1 + step) / (10 + step))``; evaluations and snapshots use the averaged
            generator, and at the end its weights are copied into ``generator``. 0 (default):
            no averaging.
        lr_schedule: ``"constant"`` (default) or ``"linear"``: both learning rates decay
            linearly from their initial value towards 0 over the ``steps`` generator steps, or
            over ``time_budget_s`` if that runs out first (the schedule of the WGAN-GP and SNGAN
            reference code); in ``train_critic`` over its steps.
    """

    loss: str = "wasserstein"
    constraint: str = "gp"
    n_critic: int = 5
    steps: int = 1000
    time_budget_s: float | None = None
    batch_size: int = 256
    optimizer: str = "adam"
    lr_d: float = 1e-4
    lr_g: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.9)
    clip_value: float = 0.01
    gp_weight: float = 10.0
    one_sided: bool = False
    eval_every: int = 0
    eval_samples: int = 2500
    w1_samples: int = 1000
    snapshot_every: int = 0
    seed: int | None = None
    device: str | None = None
    progress: bool = True
    ema: float = 0.0
    lr_schedule: str = "constant"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.constraint not in CONSTRAINTS:
            raise ValueError(f"constraint must be one of {CONSTRAINTS}, got {self.constraint!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        for name in ("n_critic", "steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise ValueError(f"time_budget_s must be > 0 seconds (or None for no limit), got {self.time_budget_s}")
        if self.lr_d <= 0 or self.lr_g <= 0:
            raise ValueError("learning rates must be > 0")
        if self.constraint == "clip" and not self.clip_value > 0:
            raise ValueError("clip_value must be > 0 with constraint='clip'")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema must lie in [0, 1) (0 turns averaging off), got {self.ema}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")

    # Presets: the settings each lesson starts from.
    @classmethod
    def standard(cls, **kw: Any) -> "GANConfig":
        """Goodfellow et al.'s GAN with the non-saturating generator loss, Adam(2e-4, (0.5, 0.999))."""
        return cls(**{**dict(loss="nonsaturating", constraint="none", n_critic=1, lr_d=2e-4, lr_g=2e-4,
                             betas=(0.5, 0.999)), **kw})

    @classmethod
    def wgan_clip(cls, **kw: Any) -> "GANConfig":
        """WGAN (Arjovsky et al., 2017): clip to [-0.01, 0.01], RMSProp(5e-5), 5 critic steps."""
        return cls(**{**dict(loss="wasserstein", constraint="clip", clip_value=0.01, n_critic=5,
                             optimizer="rmsprop", lr_d=5e-5, lr_g=5e-5), **kw})

    @classmethod
    def wgan_gp(cls, **kw: Any) -> "GANConfig":
        """WGAN-GP (Gulrajani et al., 2017): Wasserstein loss plus a two-sided gradient penalty, Adam.

        Tuned for the course's 2D toy sets on a CPU budget (``make bench``, 25-Gaussian grid,
        150 s on one core, seed 0; modes / high-quality share at the end):

        * the paper's lambda = 10, 5 critic steps, batch 256, Adam(1e-4, (0.5, 0.9)): 0-13 modes;
        * lambda = 10 with the tuned optimiser below, n_critic 2, batch 64: 8 modes, 4%;
        * lambda = 1, n_critic 5, batch 256: 25 modes, 27-44%;
        * lambda = 1, n_critic 2, batch 256: 25 modes, 75%; batch 128: 84%; batch 64: 90-92%;
        * from there (180 s): no weight averaging 90%, ``ema=0.999`` 85%, a generator of width
          512 83%, latent dimension 8 60%.

        A deeper generator helps most after that (12,000 steps, one thread, seed 0; generator
        of 3 hidden layers of 256 as above): 4 layers 95.3% (also with ``ema=0.999``), 5 layers
        94.2%, the rates doubled to 2e-3 86.4% against 90.5%. ``make bench`` trains the
        grid with ``gt.MLPGenerator(depth=4)`` for every method (results page of the book). There
        the preset ends at 96.6%, 94.6% and 94.6% (seeds 0-2, 180 s, 2 threads, about 25,000
        steps); for seeds 1 and 2, ``lr_g=5e-4`` gave 96.1% and 93.4%, ``ema=0.999`` 93.3% and
        96.3%: changes within the seed-to-seed spread, so the preset is unchanged.

        So the preset uses ``gp_weight=1`` (the authors' own toy code uses 0.1; lambda only has to
        be large enough to keep the gradient norm near 1), ``n_critic=2`` and ``batch_size=64``
        (more, cheaper generator steps in the same time), Adam(1e-3, betas (0, 0.9)) for both
        networks, both rates decaying linearly to 0 over ``steps`` (as in the WGAN-GP reference
        code) and an average of the generator's weights (``ema=0.99``). A smaller lambda lets
        the critic's slope exceed 1, so ``mean f(real) - mean f(fake)`` over-estimates W1: to
        *estimate* W1 with a critic, use :meth:`wgan_gp_critic`. The paper's settings: ``gp_weight=10.0, n_critic=5,
        batch_size=64, lr_d=1e-4, lr_g=1e-4, betas=(0.5, 0.9), lr_schedule="constant", ema=0.0``.
        """
        return cls(**{**dict(loss="wasserstein", constraint="gp", gp_weight=1.0, n_critic=2, batch_size=64,
                             optimizer="adam", lr_d=1e-3, lr_g=1e-3, betas=(0.0, 0.9),
                             lr_schedule="linear", ema=0.99), **kw})

    @classmethod
    def wgan_gp_critic(cls, **kw: Any) -> "GANConfig":
        """A gradient-penalty critic for *measuring* W1 with :func:`train_critic`.

        :meth:`wgan_gp` with the paper's lambda = 10 (the training preset's lambda = 1 lets the
        critic's slope exceed 1 and over-estimate W1) and a batch of 256 (less noise in the
        estimate). Between fixed distributions it lands a few per cent *above* the exact W1:
        the penalty is soft, and the best penalised critic over-estimates W1 by a bias of order
        1/lambda (lesson 6 derives it in 1D). ``make bench`` (critic accuracy, 3,000 steps,
        3 seeds): +6.8%, +6.5% and +2.5% on its three pairs; with ``gp_weight=30`` +2.5%, +2.3%
        and +0.8%. A larger lambda also trains more slowly: at lambda = 100, 1,000 steps left the
        1D critic pointing the wrong way. The preset keeps the paper's value, which the lessons use.
        """
        return cls.wgan_gp(**{**dict(gp_weight=10.0, batch_size=256), **kw})

    @classmethod
    def sngan(cls, **kw: Any) -> "GANConfig":
        """SNGAN (Miyato et al., 2018): hinge loss, spectral norm on every critic layer, Adam.

        Tuned like :meth:`wgan_gp` (25-Gaussian grid, 150 s on one core, seed 0): the paper's
        n_critic = 5 with batch 256 reaches 21-25 modes but only 23-24% high-quality samples;
        n_critic = 2 reaches 25 modes and 68% (batch 256 or 128) or 69% (batch 64); n_critic = 1
        collapses (0-25 modes, at most 39%); from n_critic 2 and batch 64, a critic of depth 2
        reaches 65% and batch 32 12% (180 s). With a generator of 4 hidden layers (12,000 steps,
        one thread, seed 0; measured with one critic forward pass, so one power-iteration step, per
        critic step, where ``train_gan`` now makes two): 88.8% (3 layers: 85.4%); from there ``lr_g=5e-4`` 90.1%, ``ema=0.999``
        89.1%, batch 128 83.3%, ``lr_d=3e-3`` 84.0%, the Wasserstein loss 81.1%, n_critic 1 with
        ``lr_d=2e-3`` 40.8%, and the non-saturating loss of the SNGAN paper's main experiments
        93.7%. Over the full 180 s of ``make bench`` (about 27,000 steps, two power-iteration steps
        per critic step) the non-saturating loss did not hold that lead: seed 0 ended at 91.4%,
        seed 1 peaked at 92.6% and ended at 79.6%, against a median 84.7% for hinge. So the
        preset keeps the hinge loss, the loss lesson 7 teaches. The preset uses ``n_critic=2`` (the SNGAN paper also
        reports n_dis = 1 settings), ``batch_size=64``, Adam(1e-3, betas (0, 0.9)) for both
        networks decaying linearly to 0 over ``steps`` (as in the SNGAN reference code), and an
        average of the generator's weights (``ema=0.99``). The paper's setting: ``n_critic=5,
        batch_size=64, lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.9), lr_schedule="constant", ema=0.0``.
        """
        return cls(**{**dict(loss="hinge", constraint="sn", n_critic=2, batch_size=64, optimizer="adam",
                             lr_d=1e-3, lr_g=1e-3, betas=(0.0, 0.9), lr_schedule="linear", ema=0.99), **kw})

    def replace(self, **kw: Any) -> "GANConfig":
        """A copy with some fields changed."""
        return replace(self, **kw)


@dataclass
class History:
    """What happened during training.

    Per generator step (lists of equal length): ``step``, ``d_loss`` (critic loss of the last
    critic step, without the penalty), ``g_loss``, ``w_estimate`` (``mean f(real) - mean f(fake)``
    on the last critic batch), ``penalty`` (gradient penalty, 0 without GP), ``time`` (seconds
    since the start). Per evaluation: ``eval_step``, ``eval_time``, ``exact_w1`` (POT, fresh
    real samples vs generator samples), ``critic_w1`` (the critic's estimate on the same samples),
    ``grad_norm`` (median critic gradient norm at interpolates), ``modes`` and ``high_quality``
    (mixtures only).
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

    def seconds_per_step(self) -> float:
        """Mean wall-clock seconds per generator step, evaluation time excluded."""
        if not self.time:
            return float("nan")
        return (self.time[-1] - sum(self._eval_costs)) / len(self.time)

    _eval_costs: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, list]:
        return {k: list(v) for k, v in self.__dict__.items() if not k.startswith("_")}


def _optimizer(name: str, params, lr: float, betas) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr)


def _finite(value: float, what: str, step: int, cfg: GANConfig) -> float:
    if not math.isfinite(value):
        raise TrainingDiverged(
            f"{what} became {value} at generator step {step}: training diverged. Try smaller "
            f"learning rates (now lr_d={cfg.lr_d:g}, lr_g={cfg.lr_g:g}), a stronger Lipschitz "
            "constraint, or a smaller gp_weight / clip_value."
        )
    return value


@flush_denormals()
def train_gan(
    generator: nn.Module,
    critic: nn.Module,
    data: Sampler,
    config: GANConfig,
    snapshot: Callable[[int, nn.Module, nn.Module], None] | None = None,
) -> History:
    """Train ``generator`` against ``critic`` on samples from ``data`` and return the history.

    Args:
        generator: a module with ``latent_dim`` mapping ``(n, latent_dim)`` noise to samples.
        critic: a module mapping a batch to raw scores ``(n,)``. With ``constraint="sn"`` its
            layers are spectrally normalised in place first.
        data: anything with ``sample(n, device=...)`` (the ``gan_tutor.data`` samplers).
        config: the variant and budget, see :class:`GANConfig`.
        snapshot: called as ``snapshot(step, generator, critic)`` at step 0 and every
            ``config.snapshot_every`` steps, for figures and animations.

    Raises:
        TrainingDiverged: a loss became NaN or inf (the message names the step).
        ValueError: a gradient penalty with a batch-normalised critic.
    """
    cfg = config
    if not hasattr(generator, "latent_dim"):
        raise ValueError("the generator needs a latent_dim attribute (use gan_tutor.models)")
    if cfg.seed is not None:
        seed_everything(cfg.seed)
    device = torch.device(cfg.device) if cfg.device else get_device()
    generator.to(device).train()
    opt_d = _prepare_critic(critic, cfg, device)
    opt_g = _optimizer(cfg.optimizer, generator.parameters(), cfg.lr_g, cfg.betas)
    decay = _LinearDecay(cfg, opt_d, opt_g)
    centers = getattr(data, "centers", None)
    hist = History()
    latent = generator.latent_dim
    bs = cfg.batch_size
    start = time.perf_counter()
    # with cfg.ema, `shown` is the weight average that evaluations and snapshots use
    shown = _ema_copy(generator) if cfg.ema else generator

    if snapshot is not None:
        snapshot(0, shown, critic)
    budget = cfg.time_budget_s

    bar = tqdm(range(1, cfg.steps + 1), disable=not cfg.progress, desc=f"{cfg.loss}/{cfg.constraint}")
    for step in bar:
        for _ in range(cfg.n_critic):
            real = data.sample(bs, device=device)
            with torch.no_grad():
                fake = generator(torch.randn(bs, latent, device=device))
            loss, pen, est = _critic_step(critic, opt_d, real, fake, cfg)
        fake = generator(torch.randn(bs, latent, device=device))
        with _frozen(critic):  # the generator step needs no gradient for the critic's weights
            gl = g_loss(cfg.loss, critic(fake))
            opt_g.zero_grad(set_to_none=True)
            gl.backward()
        opt_g.step()
        if cfg.ema:
            _ema_update(shown, generator, min(cfg.ema, (1 + step) / (10 + step)))
        trained = time.perf_counter() - start - sum(hist._eval_costs)
        out_of_time = budget is not None and trained >= budget
        decay(max(step / cfg.steps, trained / budget if budget else 0.0))

        hist.step.append(step)
        hist.d_loss.append(_finite(loss, "the critic loss", step, cfg))
        hist.g_loss.append(_finite(float(gl.detach()), "the generator loss", step, cfg))
        hist.w_estimate.append(est)
        hist.penalty.append(_finite(pen, "the gradient penalty", step, cfg))

        if cfg.eval_every and (step % cfg.eval_every == 0 or step == cfg.steps or out_of_time):
            t0 = time.perf_counter()
            _evaluate(shown, critic, data, cfg, hist, step, device, centers, t0 - start)
            hist._eval_costs.append(time.perf_counter() - t0)
            if hist.modes:
                bar.set_postfix(W1=f"{hist.exact_w1[-1]:.3f}", modes=hist.modes[-1])
            else:
                bar.set_postfix(W1=f"{hist.exact_w1[-1]:.3f}")
        if snapshot is not None and cfg.snapshot_every and step % cfg.snapshot_every == 0:
            t0 = time.perf_counter()
            snapshot(step, shown, critic)
            hist._eval_costs.append(time.perf_counter() - t0)
        hist.time.append(time.perf_counter() - start)
        if out_of_time:
            break
    bar.close()
    if cfg.ema:
        generator.load_state_dict(shown.state_dict())
    return hist


class _LinearDecay:
    """With ``lr_schedule="linear"``, ``decay(progress)`` sets every rate to ``initial * (1 - progress)``
    (progress: the share of the budget used, steps or time); with ``"constant"`` it does nothing."""

    def __init__(self, cfg: GANConfig, *opts: torch.optim.Optimizer) -> None:
        self.groups = [(g, g["lr"]) for o in opts for g in o.param_groups] if cfg.lr_schedule == "linear" else []

    def __call__(self, progress: float) -> None:
        for group, initial in self.groups:
            group["lr"] = initial * max(0.0, 1.0 - progress)


def _ema_copy(generator: nn.Module) -> nn.Module:
    avg = copy.deepcopy(generator)
    for p in avg.parameters():
        p.requires_grad_(False)
    return avg


@torch.no_grad()
def _ema_update(avg: nn.Module, generator: nn.Module, decay: float) -> None:
    for pa, p in zip(avg.parameters(), generator.parameters()):
        pa.lerp_(p, 1.0 - decay)
    for ba, b in zip(avg.buffers(), generator.buffers()):
        ba.copy_(b)


def _critic_step(critic: nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor, fake: torch.Tensor,
                 cfg: GANConfig) -> tuple[float, float, float]:
    """One critic update; returns (loss without penalty, penalty, mean f(real) - mean f(fake))."""
    # Two forward passes with batch norm (real and fake batch statistics stay separate) and with
    # spectral norm (each pass is one power-iteration step; lesson 7 measures how the estimate
    # keeps up with two per critic step); otherwise one pass over both batches, which is faster.
    if cfg.constraint == "sn" or has_batch_norm(critic):
        r, f = critic(real), critic(fake)
    else:
        r, f = critic(torch.cat([real, fake])).split([real.shape[0], fake.shape[0]])
    loss = d_loss(cfg.loss, r, f)
    total = loss
    pen = torch.zeros((), device=real.device)
    if cfg.constraint == "gp":
        pen, _ = gradient_penalty(critic, real, fake, one_sided=cfg.one_sided)
        total = loss + cfg.gp_weight * pen
    opt.zero_grad(set_to_none=True)
    total.backward()
    opt.step()
    if cfg.constraint == "clip":
        clip_weights_(critic, cfg.clip_value)
    return float(loss.detach()), float(pen.detach()), float((r.mean() - f.mean()).detach())


@contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """Turn off ``requires_grad`` of every parameter of ``module`` inside the block, then restore it."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _prepare_critic(critic: nn.Module, cfg: GANConfig, device: torch.device) -> torch.optim.Optimizer:
    if cfg.constraint == "gp" and has_batch_norm(critic):
        raise ValueError(
            "the gradient penalty is per sample, but batch norm mixes the samples of a batch; "
            "build the critic with norm=None or norm='layer'"
        )
    critic.to(device).train()
    if cfg.constraint == "sn":
        apply_spectral_norm(critic)
    if cfg.constraint == "clip":
        clip_weights_(critic, cfg.clip_value)
    return _optimizer(cfg.optimizer, critic.parameters(), cfg.lr_d, cfg.betas)


@flush_denormals()
def train_critic(critic: nn.Module, real: Sampler, fake: Sampler, config: GANConfig,
                 steps: int | None = None, eval_every: int = 0, eval_samples: int = 1000) -> History:
    """Train only the critic between two *fixed* distributions (no generator).

    This is the inner maximisation of a GAN run to (near) convergence: with the Wasserstein
    loss and a Lipschitz constraint, ``mean f(real) - mean f(fake)`` approaches ``K * W1``; with
    the minimax loss, the critic approaches the optimal discriminator ``D*`` (as a logit).

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
    if cfg.seed is not None:
        seed_everything(cfg.seed)
    device = torch.device(cfg.device) if cfg.device else get_device()
    opt = _prepare_critic(critic, cfg, device)
    steps = cfg.steps if steps is None else steps
    decay = _LinearDecay(cfg, opt)
    hist = History()
    start = time.perf_counter()
    for step in tqdm(range(1, steps + 1), disable=not cfg.progress, desc=f"critic {cfg.loss}/{cfg.constraint}"):
        loss, pen, est = _critic_step(critic, opt, real.sample(cfg.batch_size, device=device),
                                      fake.sample(cfg.batch_size, device=device), cfg)
        decay(step / steps)
        hist.step.append(step)
        hist.d_loss.append(_finite(loss, "the critic loss", step, cfg))
        hist.penalty.append(_finite(pen, "the gradient penalty", step, cfg))
        hist.w_estimate.append(est)
        if eval_every and (step % eval_every == 0 or step == steps):
            t0 = time.perf_counter()
            critic.eval()
            xr = real.sample(eval_samples, device=device)
            xf = fake.sample(eval_samples, device=device)
            hist.eval_step.append(step)
            hist.eval_time.append(t0 - start - sum(hist._eval_costs))
            hist.critic_w1.append(critic_w1_estimate(critic, xr, xf))
            hist.exact_w1.append(exact_w1(xr, xf))
            hist.grad_norm.append(float(grad_norms(critic, interpolates(xr, xf)).median()))
            critic.train()
            hist._eval_costs.append(time.perf_counter() - t0)
        hist.time.append(time.perf_counter() - start)
    return hist


def _evaluate(generator, critic, data, cfg, hist, step, device, centers, elapsed) -> None:
    generator.eval()
    critic.eval()
    real = data.sample(cfg.w1_samples, device=device)
    with torch.no_grad():
        fake = generator(torch.randn(cfg.w1_samples, generator.latent_dim, device=device))
    if not torch.isfinite(fake).all():
        raise TrainingDiverged(
            f"the generator produced NaN/inf samples at step {step}; try smaller learning rates"
        )
    hist.eval_step.append(step)
    hist.eval_time.append(elapsed - sum(hist._eval_costs))
    hist.exact_w1.append(exact_w1(real, fake))
    hist.critic_w1.append(critic_w1_estimate(critic, real, fake))
    hist.grad_norm.append(float(grad_norms(critic, interpolates(real, fake)).median()))
    if centers is not None:
        with torch.no_grad():
            samples = generator(torch.randn(cfg.eval_samples, generator.latent_dim, device=device))
        rep = mode_metrics(samples, centers, data.std)
        hist.modes.append(rep.modes)
        hist.high_quality.append(rep.high_quality)
    generator.train()
    critic.train()
