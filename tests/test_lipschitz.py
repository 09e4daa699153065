import pytest
import torch
from torch import nn

import gan_tutor as gt


def linear_critic(w):
    lin = nn.Linear(len(w), 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([w]))
        lin.bias.fill_(0.3)
    return nn.Sequential(lin, nn.Flatten(0))


def test_clip_weights():
    m = nn.Linear(4, 4)
    with torch.no_grad():
        m.weight.mul_(100)
    gt.clip_weights_(m, 0.01)
    assert all(p.abs().max() <= 0.01 for p in m.parameters())
    with pytest.raises(ValueError):
        gt.clip_weights_(m, 0.0)


def test_gradient_penalty_on_a_linear_critic_is_exact():
    f = linear_critic([3.0, 4.0])  # gradient norm 5 everywhere
    real, fake = torch.randn(64, 2), torch.randn(64, 2)
    pen, norms = gt.gradient_penalty(f, real, fake)
    torch.testing.assert_close(norms, torch.full((64,), 5.0))
    assert pen.item() == pytest.approx(16.0)
    f2 = linear_critic([0.3, 0.4])  # norm 0.5: only the two-sided penalty is active
    assert gt.gradient_penalty(f2, real, fake)[0].item() == pytest.approx(0.25)
    assert gt.gradient_penalty(f2, real, fake, one_sided=True)[0].item() == 0.0
    # the penalty is differentiable in the critic's parameters
    pen.backward()
    assert f[0].weight.grad is not None and f[0].weight.grad.abs().sum() > 0


def test_interpolates_lie_on_segments():
    real, fake = torch.zeros(1000, 3), torch.ones(1000, 3)
    x = gt.interpolates(real, fake)
    assert torch.allclose(x, x[:, :1].expand_as(x)) and x.min() >= 0 and x.max() <= 1
    with pytest.raises(ValueError, match="differ in shape"):
        gt.interpolates(torch.zeros(2, 2), torch.zeros(3, 2))


def test_power_iteration_matches_svdvals():
    torch.manual_seed(0)
    W = torch.randn(40, 30, dtype=torch.float64)
    sigma, u, v = gt.power_iteration(W, n_iter=500)
    assert abs(sigma.item() - torch.linalg.svdvals(W)[0].item()) < 1e-4
    # continuing from the returned u keeps it
    sigma2, _, _ = gt.power_iteration(W, u, n_iter=1)
    assert abs(sigma2.item() - sigma.item()) < 1e-10


@pytest.mark.parametrize("method", ["hand", "torch"])
def test_spectral_norm_makes_layers_unit_norm(method):
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
    gt.apply_spectral_norm(net, method=method)
    net.train()
    for _ in range(100):  # each training-mode forward pass runs one power-iteration step
        net(torch.randn(4, 5))
    net.eval()
    for layer in (net[0], net[2], net[4]):
        s = torch.linalg.svdvals(layer.weight.detach())[0].item()
        assert abs(s - 1.0) < 1e-4, s
    assert abs(gt.layerwise_bound(net) - 1.0) < 3e-4


def test_hand_sn_on_conv_uses_reshaped_weight():
    torch.manual_seed(2)
    conv = nn.Conv2d(3, 8, 3)
    gt.apply_spectral_norm(conv, method="hand")
    for _ in range(100):
        conv(torch.randn(1, 3, 8, 8))
    w = conv.weight.detach().reshape(8, -1)
    assert abs(torch.linalg.svdvals(w)[0].item() - 1.0) < 1e-4


def test_lipschitz_estimate_and_layerwise_bound():
    f = linear_critic([3.0, 4.0])
    assert gt.lipschitz_estimate(f, torch.randn(10, 2)) == pytest.approx(5.0)
    net = nn.Sequential(nn.Linear(3, 7), nn.ReLU(), nn.Linear(7, 2))
    expected = torch.linalg.svdvals(net[0].weight)[0] * torch.linalg.svdvals(net[2].weight)[0]
    assert gt.layerwise_bound(net) == pytest.approx(expected.item(), rel=1e-6)


def test_conv_operator_norm_matches_dense_matrix():
    torch.manual_seed(3)
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1).double()
    shape = (2, 6, 6)
    n = 2 * 6 * 6

    def op(x):
        return torch.nn.functional.conv2d(x.reshape(1, *shape), conv.weight, stride=2, padding=1).reshape(-1)

    A = torch.autograd.functional.jacobian(op, torch.zeros(n, dtype=torch.float64))
    exact = torch.linalg.svdvals(A)[0].item()
    assert gt.conv_operator_norm(conv, shape, n_iter=300) == pytest.approx(exact, rel=1e-4)


@pytest.mark.parametrize("method", ["hand", "torch"])
def test_layer_sigmas_reads_without_a_power_step(method):
    torch.manual_seed(4)
    net = gt.apply_spectral_norm(nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1)), method=method)
    net.train()
    buffers = [b.clone() for b in net.buffers()]
    first = gt.layer_sigmas(net)
    assert len(first) == 2 and net.training                         # one value per layer; mode restored
    assert all(torch.equal(a, b) for a, b in zip(buffers, net.buffers()))   # u was not advanced
    assert gt.layer_sigmas(net) == first
    assert gt.layerwise_bound(net) == pytest.approx(first[0] * first[1], rel=1e-12)
    net.eval()
    assert gt.layer_sigmas(net) == first and not net.training


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_gradient_measurements_refuse_non_finite_points(bad):
    f = linear_critic([3.0, 4.0])
    x = torch.randn(10, 2)
    x[4, 1] = bad
    with pytest.raises(ValueError, match="x .*contains NaN or inf"):
        gt.lipschitz_estimate(f, x)
    with pytest.raises(ValueError, match="x .*contains NaN or inf"):
        gt.grad_norms(f, x)


def test_gradient_measurements_refuse_empty_or_non_tensor_points():
    f = linear_critic([3.0, 4.0])
    with pytest.raises(ValueError, match="at least one point"):
        gt.lipschitz_estimate(f, torch.zeros(0, 2))
    with pytest.raises(TypeError, match="torch.Tensor"):
        gt.grad_norms(f, [[0.0, 1.0]])
    with pytest.raises(TypeError, match="torch.Tensor"):
        gt.interpolates([[0.0, 1.0]], torch.zeros(1, 2))


def test_grad_norms_works_inside_no_grad():
    f = linear_critic([3.0, 4.0])
    with torch.no_grad():
        torch.testing.assert_close(gt.grad_norms(f, torch.randn(5, 2)), torch.full((5,), 5.0))


def test_power_iteration_checks_its_start_vector():
    W = torch.randn(5, 3)
    with pytest.raises(ValueError, match="length 5"):
        gt.power_iteration(W, torch.randn(3))
    with pytest.raises(ValueError, match="n_iter must be >= 1, got 0"):
        gt.power_iteration(W, n_iter=0)


def test_conv_operator_norm_checks_its_arguments():
    conv = nn.Conv2d(1, 2, 3)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        gt.conv_operator_norm(conv, (8, 8))
    with pytest.raises(ValueError, match="n_iter"):
        gt.conv_operator_norm(conv, (1, 8, 8), n_iter=0)


def _update_setup(kind):
    gt.seed_everything(0)
    critic = gt.MLPCritic(width=16)
    if kind.startswith("SN"):
        gt.apply_spectral_norm(critic)
    calls = []
    critic.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    return critic, torch.optim.Adam(critic.parameters(), lr=1e-2), calls


@pytest.mark.parametrize("kind,passes", [("none", [16]), ("clip", [16]), ("SN, 1 pass", [16]),
                                         ("SN, 2 passes", [8, 8])])
def test_critic_update_makes_the_named_forward_passes(kind, passes):
    critic, opt, calls = _update_setup(kind)
    real, fake = torch.randn(8, 2), torch.randn(8, 2) + 3
    gt.critic_update(critic, opt, real, fake, kind)
    assert calls == passes
    if kind == "clip":
        assert all(p.abs().max() <= 0.01 for p in critic.parameters())


def test_critic_update_with_the_penalty_adds_its_pass_and_changes_the_step():
    real, fake = torch.randn(8, 2), torch.randn(8, 2) + 3
    (c_none, o_none, _), (c_gp, o_gp, calls) = _update_setup("none"), _update_setup("GP")
    gt.critic_update(c_none, o_none, real, fake, "none")
    gt.critic_update(c_gp, o_gp, real, fake, "GP")
    assert calls == [16, 8]  # real and fake together, then the interpolates
    assert not all(torch.equal(a, b) for a, b in zip(c_none.parameters(), c_gp.parameters()))
    with pytest.raises(ValueError, match="kind must be one of"):
        gt.critic_update(c_none, o_none, real, fake, "dropout")


def test_critic_update_seconds_times_every_kind_in_every_round():
    real, fake = torch.randn(32, 2), torch.randn(32, 2, dtype=torch.float64)  # fake: other dtype
    seconds = gt.critic_update_seconds(real, fake, width=16, rounds=3, updates=2)
    assert list(seconds) == list(gt.CONSTRAINT_KINDS)
    assert all(len(v) == 3 and all(s > 0 for s in v) for v in seconds.values())
