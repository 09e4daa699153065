import math

import pytest
import torch
import torch.nn.functional as F

import gan_tutor as gt


def test_mlp_shapes_and_raw_scores():
    G, D = gt.MLPGenerator(latent_dim=3, out_dim=2, width=16, depth=2), gt.MLPCritic(in_dim=2, width=16, depth=2)
    x = G(torch.randn(5, 3))
    assert x.shape == (5, 2) and D(x).shape == (5,)
    assert G.sample(4).shape == (4, 2)
    # no sigmoid: a scaled-up critic produces scores outside [0, 1]
    with torch.no_grad():
        for p in D.parameters():
            p.mul_(50)
    s = D(torch.randn(100, 2) * 10)
    assert s.min() < 0 or s.max() > 1


def test_dcgan_shapes():
    G, D = gt.DCGANGenerator(latent_dim=8, width=8), gt.DCGANCritic(width=8)
    x = G(torch.randn(3, 8))
    assert x.shape == (3, 1, 28, 28) and x.abs().max() <= 1
    assert D(x).shape == (3,)
    with pytest.raises(ValueError, match="28, 28"):
        D(torch.randn(3, 784))


def test_normalisation_options():
    assert gt.has_batch_norm(gt.MLPCritic(norm="batch"))
    assert not gt.has_batch_norm(gt.MLPCritic(norm="layer"))
    assert not gt.has_batch_norm(gt.DCGANCritic(width=4, norm="layer"))
    with pytest.raises(ValueError, match="normalisation"):
        gt.MLPCritic(norm="group")
    with pytest.raises(ValueError, match="activation"):
        gt.MLPCritic(activation="swish")


S_REAL = torch.tensor([2.0, -1.0])
S_FAKE = torch.tensor([0.5, -3.0])


def sig(v):
    return 1 / (1 + math.exp(-v))


def test_losses_by_hand():
    # standard GAN: -mean log D(x) - mean log(1 - D(G(z)))
    expected = -(math.log(sig(2)) + math.log(sig(-1))) / 2 - (math.log(1 - sig(0.5)) + math.log(1 - sig(-3))) / 2
    for name in ("minimax", "nonsaturating"):
        assert gt.d_loss(name, S_REAL, S_FAKE).item() == pytest.approx(expected, rel=1e-6)
    assert gt.g_loss("minimax", S_FAKE).item() == pytest.approx((math.log(1 - sig(0.5)) + math.log(1 - sig(-3))) / 2, rel=1e-6)
    assert gt.g_loss("nonsaturating", S_FAKE).item() == pytest.approx(-(math.log(sig(0.5)) + math.log(sig(-3))) / 2, rel=1e-6)
    # Wasserstein: E f(fake) - E f(real) = (0.5 - 3)/2 - (2 - 1)/2 = -1.75
    assert gt.d_loss("wasserstein", S_REAL, S_FAKE).item() == pytest.approx(-1.75)
    assert gt.g_loss("wasserstein", S_FAKE).item() == pytest.approx(1.25)
    # hinge: mean relu(1 - r) = (0 + 2)/2 = 1; mean relu(1 + f) = (1.5 + 0)/2 = 0.75
    assert gt.d_loss("hinge", S_REAL, S_FAKE).item() == pytest.approx(1.75)
    assert gt.g_loss("hinge", S_FAKE).item() == pytest.approx(1.25)


def test_saturating_vs_nonsaturating_gradients():
    s = torch.tensor([-6.0], requires_grad=True)  # D(G(z)) ~ 0.0025: a confident discriminator
    (g_sat,) = torch.autograd.grad(gt.g_loss("minimax", s), s)
    (g_ns,) = torch.autograd.grad(gt.g_loss("nonsaturating", s), s)
    d = torch.sigmoid(torch.tensor(-6.0)).item()
    assert abs(g_sat.item()) == pytest.approx(d, rel=1e-5)
    assert abs(g_ns.item()) == pytest.approx(1 - d, rel=1e-5)


def test_large_scores_stay_finite():
    big = torch.tensor([200.0, -200.0])
    for name in gt.LOSSES:
        assert torch.isfinite(gt.d_loss(name, big, -big)) and torch.isfinite(gt.g_loss(name, big))
    # softplus(-s) + softplus(s) averaged over s = +-200: (0 + 200) / 2 per term, two terms
    assert gt.d_loss("minimax", big, -big).item() == pytest.approx(200.0, rel=1e-6)


def test_unknown_loss():
    with pytest.raises(ValueError, match="unknown loss"):
        gt.d_loss("kl", S_REAL, S_FAKE)
