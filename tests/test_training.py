"""train_gan and train_critic: the loop is Algorithm 1, bad inputs fail early, divergence is named."""

import math
import sys

import pytest
import torch
from torch.overrides import TorchFunctionMode

import gan_tutor as gt
from gan_tutor import training

VARIANTS = {
    "standard": gt.GANConfig.standard,
    "wgan_clip": gt.GANConfig.wgan_clip,
    "wgan_gp": gt.GANConfig.wgan_gp,
    "sngan": gt.GANConfig.sngan,
}


def small_models():
    return gt.MLPGenerator(width=32, depth=2), gt.MLPCritic(width=32, depth=2)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_variant_runs_and_applies_its_constraint(name):
    gt.seed_everything(0)
    G, D = small_models()
    cfg = VARIANTS[name](steps=60, batch_size=64, n_critic=2, eval_every=30, w1_samples=200,
                         eval_samples=500, progress=False)
    h = gt.train_gan(G, D, gt.ring8(), cfg)
    assert h.step == list(range(1, 61)) and h.eval_step == [30, 60]
    assert len(h.d_loss) == len(h.g_loss) == len(h.penalty) == len(h.time) == 60
    assert (h.device, h.threads, h.torch) == ("cpu", torch.get_num_threads(), torch.__version__)
    if name == "wgan_clip":
        assert max(p.abs().max().item() for p in D.parameters()) <= cfg.clip_value
        assert max(p.abs().max().item() for p in D.parameters()) == pytest.approx(cfg.clip_value)  # some at the clip
    if name == "wgan_gp":
        assert all(p > 0 for p in h.penalty)
    else:
        assert set(h.penalty) == {0.0}
    if name == "sngan":
        from torch.nn.utils import parametrize
        assert all(parametrize.is_parametrized(m, "weight") for m in D.modules() if isinstance(m, torch.nn.Linear))
        assert max(gt.layer_sigmas(D)) < 1.05  # every layer normalised (an unnormalised one measures 2-6)


def test_train_gan_is_algorithm_1():
    """A hand-written WGAN-GP loop (Gulrajani et al., Algorithm 1) gives the very same numbers."""
    data, steps, n_critic, bs, lam = gt.grid25(), 8, 3, 32, 10.0
    cfg = gt.GANConfig(loss="wasserstein", constraint="gp", n_critic=n_critic, steps=steps, batch_size=bs,
                       gp_weight=lam, lr_d=1e-3, lr_g=1e-3, betas=(0.0, 0.9), seed=5, progress=False)
    gt.seed_everything(5)
    G, D = small_models()
    h = gt.train_gan(G, D, data, cfg)

    gt.seed_everything(5)
    G2, D2 = small_models()
    gt.seed_everything(5)
    opt_d = torch.optim.Adam(D2.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_g = torch.optim.Adam(G2.parameters(), lr=1e-3, betas=(0.0, 0.9))
    d_losses, g_losses = [], []
    for _ in range(steps):
        for _ in range(n_critic):
            x = data.sample(bs)
            x_fake = G2(torch.randn(bs, 2)).detach()
            r, f = D2(torch.cat([x, x_fake])).split([bs, bs])  # one pass over both batches
            eps = torch.rand(bs, 1)
            x_hat = (eps * x + (1 - eps) * x_fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(D2(x_hat).sum(), x_hat, create_graph=True)
            loss = f.mean() - r.mean()
            opt_d.zero_grad()
            (loss + lam * ((grad.norm(dim=1) - 1) ** 2).mean()).backward()
            opt_d.step()
        loss_g = -D2(G2(torch.randn(bs, 2))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        d_losses.append(loss.item())
        g_losses.append(loss_g.item())
    assert h.d_loss == d_losses and h.g_loss == g_losses
    assert all(torch.equal(a, b) for a, b in zip(G.parameters(), G2.parameters()))


def test_training_moves_generator_towards_data():
    # one Gaussian blob far from the untrained generator's output: W1 starts near 2.7, and
    # 150 SNGAN steps cut it by at least half (measured 0.15-0.25 of the start over seeds 0-2)
    data = gt.Mixture2D([[2.0, 2.0]], std=0.3)
    gt.seed_everything(0)
    G, D = small_models()
    cfg = gt.GANConfig.sngan(steps=150, batch_size=128, eval_every=150, w1_samples=500, progress=False)
    h = gt.train_gan(G, D, data, cfg)
    gt.seed_everything(0)
    G0, _ = small_models()
    w0 = gt.exact_w1(G0.sample(500), data.sample(500))
    assert w0 > 2.0
    assert h.exact_w1[-1] < 0.5 * w0


def test_same_seed_same_history_on_cpu():
    def run():
        gt.seed_everything(7)
        G, D = small_models()
        return gt.train_gan(G, D, gt.grid25(), gt.GANConfig.wgan_gp(steps=30, batch_size=32, seed=7, progress=False))

    a, b = run(), run()
    assert a.d_loss == b.d_loss and a.g_loss == b.g_loss and a.penalty == b.penalty


class _CountDeviceReads(TorchFunctionMode):
    """Counts the torch calls that read a value back from the device (each is a sync on a GPU)."""

    NAMES = ("item", "__float__", "__int__", "__bool__", "tolist", "numpy", "cpu", "nonzero")

    def __init__(self):
        super().__init__()
        self.n = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if getattr(func, "__name__", "") in self.NAMES and caller.startswith("gan_tutor.training"):
            self.n += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("preset", ["wgan_gp", "sngan", "wgan_clip"])
def test_statistics_reach_the_host_once_every_sync_every_steps(preset):
    gt.seed_everything(0)
    G, D = small_models()
    with _CountDeviceReads() as reads:
        h = gt.train_gan(G, D, gt.ring8(), VARIANTS[preset](steps=40, sync_every=10, progress=False))
    assert reads.n == 4 and len(h.d_loss) == 40  # steps 10, 20, 30, 40: one read each


def test_nan_stops_training_with_step_hint_and_history():
    gt.seed_everything(0)
    G, D = small_models()
    cfg = gt.GANConfig.wgan_gp(steps=50, lr_d=1e30, lr_g=1e30, gp_weight=1e30, sync_every=7, progress=False)
    with pytest.raises(gt.TrainingDiverged, match=r"non-finite at generator step (\d+).*smaller learning rates") as err:
        gt.train_gan(G, D, gt.ring8(), cfg)
    bad = int(err.value.args[0].split("generator step ")[1].split(":")[0])
    hist = err.value.history
    assert hist is not None and hist.step == list(range(1, bad))  # everything before the bad step, kept
    assert all(math.isfinite(v) for v in hist.d_loss + hist.g_loss + hist.penalty)
    assert "gp_weight" in str(err.value)


@pytest.mark.parametrize("constraint,says,not_says", [("clip", "clip_value", "gp_weight"),
                                                       ("sn", "spectral normalisation", "gp_weight"),
                                                       ("none", "Lipschitz constraint", "clip_value")])
def test_divergence_hint_fits_the_constraint(constraint, says, not_says):
    gt.seed_everything(0)
    G, D = small_models()
    cfg = gt.GANConfig(loss="wasserstein", constraint=constraint, optimizer="sgd", lr_d=1e30, lr_g=1e30,
                       steps=30, progress=False)
    with pytest.raises(gt.TrainingDiverged) as err:
        gt.train_gan(G, D, gt.ring8(), cfg)
    assert says in str(err.value) and not_says not in str(err.value)


class _GoesBad:
    """A sampler whose batches turn NaN from its ``bad_call``-th call on."""

    def __init__(self, bad_call):
        self.calls, self.bad_call, self.base = 0, bad_call, gt.ring8()

    def sample(self, n, generator=None, device=None):
        self.calls += 1
        x = self.base.sample(n, device=device)
        return x * float("nan") if self.calls >= self.bad_call else x


def test_nan_data_are_blamed_on_the_data_not_the_learning_rate():
    gt.seed_everything(0)
    G, D = small_models()
    data = _GoesBad(bad_call=1 + 2 * 4 + 1)  # the probe batch, 4 clean steps of 2 critic batches, then NaN
    with pytest.raises(gt.TrainingDiverged, match="data sampler returned NaN or inf at generator step 5") as err:
        gt.train_gan(G, D, data, gt.GANConfig.sngan(steps=20, progress=False))
    assert "learning rate" not in str(err.value).split(":")[0] and err.value.history.step == [1, 2, 3, 4]


@pytest.mark.parametrize("G,D,match", [
    (lambda: gt.MLPGenerator(out_dim=3, width=8, depth=1), lambda: gt.MLPCritic(width=8, depth=1),
     r"generator makes samples of shape \(3,\) but the data have shape \(2,\)"),
    (lambda: gt.MLPGenerator(width=8, depth=1), lambda: gt.MLPCritic(in_dim=5, width=8, depth=1),
     r"critic cannot take data samples of shape \(2,\)"),
    (lambda: gt.MLPGenerator(width=8, depth=1), lambda: torch.nn.Linear(2, 1),
     r"one score per sample, shape \(2,\) .* got \(2, 1\)"),
    (lambda: torch.nn.Linear(2, 2), lambda: gt.MLPCritic(width=8, depth=1), "latent_dim"),
])
def test_shapes_are_checked_before_training(G, D, match):
    with pytest.raises(ValueError, match=match):
        gt.train_gan(G(), D(), gt.ring8(), gt.GANConfig.wgan_gp(steps=1, progress=False))


def test_shape_check_consumes_no_random_numbers_and_leaves_modes_alone():
    gt.seed_everything(0)
    G, D = gt.DCGANGenerator(latent_dim=8, width=4), gt.MLPCritic(width=8, depth=1)
    G.eval()
    state = torch.random.get_rng_state()
    with pytest.raises(ValueError, match=r"generator makes samples of shape \(1, 28, 28\)"):
        training._check_shapes(G, D, gt.ring8(), 1, torch.device("cpu"))
    assert torch.equal(state, torch.random.get_rng_state()) and not G.training and D.training


@pytest.mark.parametrize("field,value,error,match", [
    ("steps", 2.5, TypeError, "steps must be an int"),
    ("n_critic", 1.5, TypeError, "n_critic must be an int"),
    ("batch_size", True, TypeError, "batch_size must be an int"),
    ("steps", 0, ValueError, "steps must be >= 1"),
    ("device", "gpu", ValueError, "not a torch device"),
    ("seed", -1, ValueError, r"seed must be in \[0, 4294967295\]"),
    ("seed", 1.0, TypeError, "seed must be an int"),
    ("lr_d", float("nan"), ValueError, "lr_d must be a finite number > 0"),
    ("lr_g", 0.0, ValueError, "lr_g must be a finite number > 0"),
    ("lr_g", "1e-3", TypeError, "lr_g must be a number"),
    ("gp_weight", -10.0, ValueError, "gp_weight must be a finite number > 0"),
    ("clip_value", float("inf"), ValueError, "clip_value must be a finite number > 0"),
    ("eval_every", -3, ValueError, "eval_every must be >= 0"),
    ("snapshot_every", -1, ValueError, "snapshot_every must be >= 0"),
    ("sync_every", 0, ValueError, "sync_every must be >= 1"),
    ("one_sided", "no", TypeError, "one_sided must be True or False"),
    ("progress", 1, TypeError, "progress must be True or False"),
    ("betas", (0.5,), ValueError, "betas must be two numbers"),
    ("betas", (0.5, 1.0), ValueError, "betas must be two numbers in"),
    ("ema", 1.0, ValueError, r"ema must be a number in \[0, 1\)"),
    ("ema", -0.1, ValueError, r"ema must be a number in \[0, 1\)"),
    ("time_budget_s", 0, ValueError, "time_budget_s must be a finite number > 0"),
    ("time_budget_s", float("inf"), ValueError, "time_budget_s must be a finite number > 0"),
    ("constraint", "weight-decay", ValueError, "constraint must be one of"),
    ("loss", "l2", ValueError, "loss must be one of"),
    ("optimizer", "lbfgs", ValueError, "optimizer must be one of"),
    ("lr_schedule", "cosine", ValueError, "lr_schedule must be one of"),
    ("eval_samples", 0, ValueError, "eval_samples must be >= 1"),
])
def test_config_rejects_bad_fields(field, value, error, match):
    with pytest.raises(error, match=match):
        gt.GANConfig(**{field: value})
    with pytest.raises(error, match=match):  # and the presets and replace validate the same way
        gt.GANConfig.wgan_gp().replace(**{field: value})


def test_config_accepts_what_the_lessons_use():
    cfg = gt.GANConfig(device="cuda:1", seed=0, gp_weight=0, constraint="none", betas=[0, 0.9])
    assert cfg.device == "cuda:1" and cfg.betas == (0.0, 0.9) and cfg.gp_weight == 0.0
    assert gt.GANConfig.wgan_gp().replace(steps=3).steps == 3
    with pytest.raises(TypeError, match="no field.*stepz"):
        gt.GANConfig().replace(stepz=3)


def test_unavailable_cuda_is_named_at_training_time():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    G, D = small_models()
    with pytest.raises(ValueError, match="CUDA is not available"):
        gt.train_gan(G, D, gt.ring8(), gt.GANConfig.wgan_gp(steps=1, device="cuda", progress=False))


def test_gradient_penalty_refuses_batch_norm_critic():
    G = gt.MLPGenerator(width=8, depth=1)
    with pytest.raises(ValueError, match="batch norm"):
        gt.train_gan(G, gt.MLPCritic(width=8, norm="batch"), gt.ring8(), gt.GANConfig.wgan_gp(steps=1, progress=False))


def test_train_critic_gp_estimates_w1_of_a_translation():
    gt.seed_everything(0)
    ring = gt.ring8()
    shifted = gt.Translated(ring, [0.6, 0.0])
    D = gt.MLPCritic(width=64, depth=2)
    h = gt.train_critic(D, shifted, ring, gt.GANConfig.wgan_gp_critic(progress=False),
                        steps=400, eval_every=400, eval_samples=1000)
    # the estimate matches the true W1 = 0.6 (a translation) and POT's W1 of the same samples
    assert h.critic_w1[-1] == pytest.approx(0.6, rel=0.15)
    assert h.critic_w1[-1] == pytest.approx(h.exact_w1[-1], rel=0.15)
    assert 0.8 < h.grad_norm[-1] < 1.2


def test_train_critic_rejects_bad_budgets():
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        gt.train_critic(gt.MLPCritic(width=8, depth=1), gt.ring8(), gt.ring8(), gt.GANConfig(progress=False),
                        steps=0)


def test_snapshot_callback_is_called():
    calls = []
    G, D = small_models()
    gt.train_gan(G, D, gt.ring8(), gt.GANConfig.standard(steps=6, snapshot_every=3, progress=False),
                 snapshot=lambda step, g, d: calls.append(step))
    assert calls == [0, 3, 6]


def test_training_leaves_denormal_setting_and_frozen_parameters_alone():
    # train_gan flushes denormals (Adam's decaying second moments of dead units slow a CPU by
    # half otherwise); a parameter the user froze stays frozen and unchanged
    gt.seed_everything(0)
    G, D = small_models()
    first = D.net[0]
    first.bias.requires_grad_(False)
    before = first.bias.detach().clone()
    gt.train_gan(G, D, gt.ring8(), gt.GANConfig.wgan_gp(steps=5, progress=False))
    assert not gt.runtime.denormals_flushed()
    assert not first.bias.requires_grad and torch.equal(first.bias, before)
    assert all(p.requires_grad for n, p in D.named_parameters() if n != "net.0.bias")


def test_generator_step_computes_no_gradient_for_the_critic():
    # one critic step and one generator step: each critic weight gets its gradient once (the
    # critic step); the generator step back-propagates through the critic to the samples only
    gt.seed_everything(0)
    G, D = small_models()
    calls = {n: 0 for n, _ in D.named_parameters()}
    for n, p in D.named_parameters():
        p.register_hook(lambda g, n=n: calls.__setitem__(n, calls[n] + 1))
    gt.train_gan(G, D, gt.ring8(), gt.GANConfig.standard(steps=1, progress=False))
    assert set(calls.values()) == {1}, calls
    assert all(p.grad is not None for p in G.parameters())
