"""GANConfig.ema: an exponential moving average of the generator's weights in train_gan."""

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


def test_averaging_is_passive_and_matches_the_formula():
    """The raw training trajectory is unchanged; snapshots see the average; G ends as the average."""

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

    step0, raw0, avg0, _ = seen1[0]
    assert step0 == 0 and torch.equal(raw0, avg0)  # the average starts at the initial weights
    avg = avg0
    for step, raw, shown, _ in seen1[1:]:
        d = min(0.9, (1 + step) / (10 + step))
        avg = d * avg + (1 - d) * raw
        assert torch.allclose(shown, avg, atol=1e-6), step
    assert torch.allclose(_flat(G1), avg, atol=1e-6)  # the returned generator holds the average
    assert not torch.allclose(_flat(G1), seen1[-1][1])  # ... which differs from the raw weights


def test_evaluation_uses_the_average():
    gt.seed_everything(0)
    G, D = _models()
    h = gt.train_gan(G, D, gt.ring8(), _cfg(ema=0.99, eval_every=3, w1_samples=200, eval_samples=300))
    assert h.eval_step == [3, 6] and len(h.modes) == 2
    assert all(torch.isfinite(torch.tensor(h.exact_w1)))
