"""GANConfig.lr_schedule: a linear learning-rate decay in train_gan and train_critic."""

import pytest
import torch

import gan_tutor as gt


def _models():
    return gt.MLPGenerator(width=16, depth=2), gt.MLPCritic(width=16, depth=2)


def test_default_is_constant_and_validated():
    assert gt.GANConfig().lr_schedule == "constant"
    with pytest.raises(ValueError, match="lr_schedule"):
        gt.GANConfig(lr_schedule="cosine")


def _record_lrs(monkeypatch):
    """Record the learning rate of every optimiser step, per optimiser (critic first)."""
    seen: dict[int, list[float]] = {}
    real_step = torch.optim.Adam.step

    def step(self, *a, **kw):
        seen.setdefault(id(self), []).append(self.param_groups[0]["lr"])
        return real_step(self, *a, **kw)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    return seen


def test_linear_decay_in_train_gan(monkeypatch):
    seen = _record_lrs(monkeypatch)
    gt.seed_everything(0)
    G, D = _models()
    steps = 4
    cfg = gt.GANConfig.wgan_gp(steps=steps, n_critic=2, batch_size=16, lr_d=1e-3, lr_g=2e-3,
                               lr_schedule="linear", progress=False)
    gt.train_gan(G, D, gt.ring8(), cfg)
    critic_lrs, gen_lrs = list(seen.values())
    factors = [1 - s / steps for s in range(steps)]  # generator step s+1 uses base * (1 - s / steps)
    assert gen_lrs == pytest.approx([2e-3 * f for f in factors])
    assert critic_lrs == pytest.approx([1e-3 * f for f in factors for _ in range(2)])  # n_critic = 2


def test_constant_schedule_leaves_lr_alone(monkeypatch):
    seen = _record_lrs(monkeypatch)
    gt.seed_everything(0)
    G, D = _models()
    gt.train_gan(G, D, gt.ring8(), gt.GANConfig.wgan_gp(steps=3, n_critic=1, batch_size=16, lr_d=1e-3,
                                                          lr_g=1e-3, lr_schedule="constant", progress=False))
    assert all(lr == 1e-3 for lrs in seen.values() for lr in lrs)


def test_linear_decay_in_train_critic(monkeypatch):
    seen = _record_lrs(monkeypatch)
    gt.seed_everything(0)
    _, D = _models()
    cfg = gt.GANConfig.wgan_gp(lr_d=1e-3, batch_size=16, lr_schedule="linear", progress=False)
    gt.train_critic(D, gt.ring8(), gt.Translated(gt.ring8(), (0.3, 0.4)), cfg, steps=5)
    (lrs,) = seen.values()
    assert lrs == pytest.approx([1e-3 * (1 - s / 5) for s in range(5)])
