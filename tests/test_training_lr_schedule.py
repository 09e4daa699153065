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


@pytest.mark.parametrize("time_budget_s", [None, 1e6])  # a budget that never runs out changes nothing
def test_linear_decay_in_train_gan(monkeypatch, time_budget_s):
    seen = _record_lrs(monkeypatch)
    gt.seed_everything(0)
    G, D = _models()
    steps = 4
    cfg = gt.GANConfig.wgan_gp(steps=steps, n_critic=2, batch_size=16, lr_d=1e-3, lr_g=2e-3,
                               lr_schedule="linear", time_budget_s=time_budget_s, progress=False)
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


class _FakeClock:
    """Training time that advances by ``tick`` seconds per optimiser step and by nothing else, so
    the test does not depend on how fast this machine is."""

    def __init__(self, tick):
        self.now, self.tick = 0.0, tick

    def __call__(self):
        return self.now


def test_time_budget_stops_training_and_ends_the_decay(monkeypatch):
    seen = _record_lrs(monkeypatch)
    clock = _FakeClock(tick=0.25)
    recorded_step = torch.optim.Adam.step

    def step(self, *a, **kw):
        clock.now += clock.tick
        return recorded_step(self, *a, **kw)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    monkeypatch.setattr(gt.training, "_clock", clock)
    gt.seed_everything(0)
    G, D = _models()
    budget, huge = 5.0, 10**6
    cfg = gt.GANConfig.wgan_gp(steps=huge, n_critic=1, batch_size=16, lr_d=1e-3, lr_g=1e-3, lr_schedule="linear",
                               time_budget_s=budget, eval_every=huge, w1_samples=200, eval_samples=200, progress=False)
    hist = gt.train_gan(G, D, gt.grid25(), cfg)
    # each generator step is two optimiser steps (critic, generator): 0.5 s, so the budget of 5 s
    # is reached at step 10, the run stops there and still evaluates the final generator
    assert hist.step == list(range(1, 11)) and hist.time == [0.5 * s for s in range(1, 11)]
    assert hist.eval_step == [10]
    _, gen_lrs = list(seen.values())
    # the rate followed time, not steps: generator step s used 1e-3 * (1 - 0.5 (s - 1) / 5)
    assert gen_lrs == pytest.approx([1e-3 * (1 - 0.5 * s / budget) for s in range(10)])


def test_time_budget_is_validated():
    with pytest.raises(ValueError, match="time_budget_s"):
        gt.GANConfig(time_budget_s=0)
