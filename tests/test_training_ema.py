"""GANConfig.ema: an exponential moving average of the generator's weights in train_gan."""

import math

import pytest
import torch

import gan_tutor as gt


def _models():
    return gt.MLPGenerator(width=16, depth=2), gt.MLPCritic(width=16, depth=2)


def _cfg(**kw):
    return gt.GANConfig.wgan_gp(**{**dict(steps=6, batch_size=32, n_critic=2, progress=False), **kw})


def _flat(module):
    return torch.cat([p.detach().reshape(-1).clone() for p in module.parameters()])


def test_default_is_off_and_validated():
    assert gt.GANConfig().ema == 0.0
    for preset in (gt.GANConfig.standard, gt.GANConfig.wgan_clip, gt.GANConfig.wgan_gp, gt.GANConfig.sngan):
        assert 0.0 <= preset().ema < 1.0
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="ema"):
            gt.GANConfig(ema=bad)


def test_averaging_is_passive_and_is_the_documented_weighted_sum():
    """The raw trajectory is unchanged; the average after step T is the weighted sum
    sum_s c_s theta_s of the raw weights, c_s = (1 - d_s) prod_{j > s} d_j (c_0 = prod_{j >= 1} d_j),
    with d_j = min(ema, (1 + j) / (10 + j)): computed here directly, not by the recursion."""

    def run(ema):
        gt.seed_everything(3)
        G, D = _models()
        seen = []

        def snap(step, shown, critic):
            seen.append((step, _flat(G), _flat(shown), shown is G))

        h = gt.train_gan(G, D, gt.ring8(), _cfg(ema=ema, seed=3, snapshot_every=1), snapshot=snap)
        return h, G, seen

    h0, G0, seen0 = run(0.0)
    h1, G1, seen1 = run(0.9)
    assert h0.d_loss == h1.d_loss and h0.g_loss == h1.g_loss  # averaging does not touch training
    assert all(same for *_, same in seen0) and not any(same for *_, same in seen1)
    raws = [raw for _, raw, _, _ in seen1]  # theta_0 (initial) ... theta_T
    T = len(raws) - 1
    d = {j: min(0.9, (1 + j) / (10 + j)) for j in range(1, T + 1)}
    for t in range(T + 1):
        coef = [math.prod(d[j] for j in range(1, t + 1))]
        coef += [(1 - d[s]) * math.prod(d[j] for j in range(s + 1, t + 1)) for s in range(1, t + 1)]
        assert sum(coef) == pytest.approx(1.0)
        expected = sum(c * raws[s] for s, c in enumerate(coef))
        assert torch.allclose(seen1[t][2], expected, atol=1e-6), t
    assert torch.allclose(_flat(G1), seen1[-1][2], atol=1e-7)  # the returned generator holds the average
    assert (_flat(G1) - raws[-1]).abs().max() > 1e-4  # ... which differs from the raw weights


def test_evaluation_uses_the_average():
    """Every evaluation-time forward pass runs on the averaged copy, never on the raw generator,
    and the last one on weights equal to the average that the returned generator holds."""
    gt.seed_everything(0)
    G, D = _models()
    calls = []
    G.register_forward_hook(lambda m, inp, out: calls.append((m, m.training, _flat(m))))
    h = gt.train_gan(G, D, gt.ring8(), _cfg(ema=0.99, eval_every=3, w1_samples=200, eval_samples=300))
    assert h.eval_step == [3, 6] and len(h.modes) == 2
    probe, *calls = calls  # train_gan's shape check runs G once, in eval mode, before training
    assert probe[0] is G and not probe[1]
    evals = [(m, w) for m, training, w in calls if not training]
    trains = [m for m, training, _ in calls if training]
    assert len(evals) == 4  # two evaluations: exact W1 samples and mode-metric samples
    assert all(m is not G for m, _ in evals) and all(m is G for m in trains)
    assert torch.equal(evals[-1][1], _flat(G))
