import math

import pytest
import torch

import gan_tutor as gt

VARIANTS = {
    "standard": gt.GANConfig.standard,
    "wgan_clip": gt.GANConfig.wgan_clip,
    "wgan_gp": gt.GANConfig.wgan_gp,
    "sngan": gt.GANConfig.sngan,
}


def small_models():
    return gt.MLPGenerator(width=32, depth=2), gt.MLPCritic(width=32, depth=2)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_200_step_smoke_run_of_each_variant(name):
    gt.seed_everything(0)
    G, D = small_models()
    cfg = VARIANTS[name](steps=200, batch_size=64, n_critic=2, eval_every=100, w1_samples=200,
                         eval_samples=500, progress=False)
    h = gt.train_gan(G, D, gt.ring8(), cfg)
    assert len(h.step) == 200 and len(h.eval_step) == 2
    assert all(math.isfinite(v) for v in h.d_loss + h.g_loss + h.exact_w1)
    assert h.time == sorted(h.time) and h.seconds_per_step() > 0
    assert len(h.modes) == 2 and 0 <= h.modes[-1] <= 8
    if name == "wgan_clip":
        assert max(p.abs().max().item() for p in D.parameters()) <= cfg.clip_value + 1e-9
    if name == "wgan_gp":
        assert all(p > 0 for p in h.penalty)
    if name == "sngan":
        from torch.nn.utils import parametrize
        assert all(parametrize.is_parametrized(m, "weight") for m in D.modules() if isinstance(m, torch.nn.Linear))


def test_training_moves_generator_towards_data():
    # one Gaussian blob far from the untrained generator's output: W1 starts near 2.7, and
    # 150 SNGAN steps cut it by at least half (measured 0.15-0.25 of the start over seeds 0-2)
    data = gt.Mixture2D([[2.0, 2.0]], std=0.3)
    gt.seed_everything(0)
    G, D = small_models()
    cfg = gt.GANConfig.sngan(steps=150, batch_size=128, lr_d=1e-3, lr_g=1e-3, betas=(0.0, 0.9),
                             lr_schedule="linear", ema=0.99, eval_every=150, w1_samples=500, progress=False)
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


def test_nan_stops_training_with_step_and_hint():
    gt.seed_everything(0)
    G, D = small_models()
    cfg = gt.GANConfig.wgan_gp(steps=50, lr_d=1e30, lr_g=1e30, gp_weight=1e30, progress=False)
    with pytest.raises(gt.TrainingDiverged, match=r"step \d+.*smaller\s+learning rates"):
        gt.train_gan(G, D, gt.ring8(), cfg)


def test_gradient_penalty_refuses_batch_norm_critic():
    G = gt.MLPGenerator(width=8, depth=1)
    with pytest.raises(ValueError, match="batch norm"):
        gt.train_gan(G, gt.MLPCritic(width=8, norm="batch"), gt.ring8(), gt.GANConfig.wgan_gp(steps=1, progress=False))


def test_config_validation():
    with pytest.raises(ValueError, match="constraint"):
        gt.GANConfig(constraint="weight-decay")
    with pytest.raises(ValueError, match="loss"):
        gt.GANConfig(loss="l2")
    with pytest.raises(ValueError, match="n_critic"):
        gt.GANConfig(n_critic=0)
    assert gt.GANConfig.wgan_gp().replace(steps=3).steps == 3


def test_train_critic_gp_estimates_w1_of_a_translation():
    gt.seed_everything(0)
    ring = gt.ring8()
    shifted = gt.Translated(ring, [0.6, 0.0])
    D = gt.MLPCritic(width=64, depth=2)
    h = gt.train_critic(D, shifted, ring, gt.GANConfig.wgan_gp_critic(progress=False),
                        steps=400, eval_every=400, eval_samples=1000)
    # the estimate matches POT's exact W1 on the same samples
    assert h.critic_w1[-1] == pytest.approx(h.exact_w1[-1], rel=0.15)
    assert 0.8 < h.grad_norm[-1] < 1.2


def test_snapshot_callback_is_called():
    calls = []
    G, D = small_models()
    gt.train_gan(G, D, gt.ring8(), gt.GANConfig.standard(steps=6, snapshot_every=3, progress=False),
                 snapshot=lambda step, g, d: calls.append(step))
    assert calls == [0, 3, 6]


def test_training_leaves_denormal_setting_and_frozen_parameters_alone():
    # train_gan flushes denormals (Adam's decaying second moments of dead units slow a CPU by
    # half otherwise) and freezes the critic for the generator step; both are undone afterwards
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
