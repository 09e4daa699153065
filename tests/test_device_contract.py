"""The device contract (DESIGN.md, "Device contract"): the module decides device and dtype; the
measuring functions move their points to it, measure in evaluation mode and restore every
submodule's mode; where each result lives is fixed.

The dtype half runs everywhere (a float64 critic fed float32 points); the device half runs on the
``meta`` device here (no values, but a real device mismatch) and on CUDA when there is one."""

from __future__ import annotations

import copy
import math

import matplotlib
import pytest
import torch
from torch import nn

import gan_tutor as gt

matplotlib.use("Agg")

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def points(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g) + torch.tensor([1.0, 0.5])


def critic64() -> nn.Module:
    torch.manual_seed(1)
    return gt.MLPCritic(width=32, depth=2).double()


# --- (a) the dtype half: a float64 critic fed float32 points ------------------------------------

def test_float64_critic_fed_float32_points_measures_as_with_float64_points():
    critic = critic64()
    xr, xf = points()
    xr64, xf64 = xr.double(), xf.double()   # the independent truth: the same points in float64

    g32, g64 = gt.grad_norms(critic, xr), gt.grad_norms(critic, xr64)
    assert g32.dtype == torch.float64 and torch.equal(g32, g64)
    assert gt.lipschitz_estimate(critic, xr) == gt.lipschitz_estimate(critic, xr64)
    assert gt.critic_w1_estimate(critic, xr, xf) == gt.critic_w1_estimate(critic, xr64, xf64)
    assert gt.critic_vs_exact(critic, xr, xf) == gt.critic_vs_exact(critic, xr64, xf64)
    torch.manual_seed(5)
    pen32, n32 = gt.gradient_penalty(critic, xr, xf)
    torch.manual_seed(5)
    pen64, n64 = gt.gradient_penalty(critic, xr64, xf64)
    assert pen32.dtype == torch.float64 and pen32.item() == pen64.item() and torch.equal(n32, n64)


def test_float32_critic_fed_float64_points_measures_in_float32():
    torch.manual_seed(2)
    critic = gt.MLPCritic(width=32, depth=2)
    xr, xf = points()
    assert gt.grad_norms(critic, xr.double()).dtype == torch.float32
    assert torch.equal(gt.grad_norms(critic, xr.double()), gt.grad_norms(critic, xr))
    assert gt.critic_w1_estimate(critic, xr.double(), xf.double()) == gt.critic_w1_estimate(critic, xr, xf)


def test_interpolates_and_power_iteration_follow_the_first_argument():
    for dtype, other in ((torch.float32, torch.float64), (torch.float64, torch.float32)):
        real, fake = torch.zeros(10, 2, dtype=dtype), torch.ones(10, 2, dtype=other)
        x = gt.interpolates(real, fake)
        assert x.dtype == dtype and ((x >= 0) & (x <= 1)).all()
    W = torch.randn(6, 4, dtype=torch.float64)
    sigma, u, _ = gt.power_iteration(W, torch.randn(6), n_iter=300)           # u in float32
    assert u.dtype == torch.float64
    assert sigma.item() == pytest.approx(torch.linalg.svdvals(W)[0].item(), rel=1e-9)


def test_critic_contours_follow_the_critic_dtype_and_keep_its_mode():
    import matplotlib.pyplot as plt

    critic = critic64().train()
    critic.net[1].eval()                   # mixed modes come back as they were
    before = [m.training for m in critic.modules()]
    seen = _record_modes(critic)
    fig, ax = plt.subplots()
    gt.plotting.plot_samples_2d(ax, *points(50), critic=critic, n_grid=20)
    plt.close(fig)
    assert seen and not any(seen) and [m.training for m in critic.modules()] == before


# --- the device half on the CPU: the meta device is a real second device ------------------------

def test_tensors_follow_a_module_on_another_device():
    critic = gt.MLPCritic(width=8).to("meta")
    xr, xf = points(5)
    with pytest.raises(RuntimeError):      # the mismatch is real: the raw module refuses CPU points
        critic(xr)
    pen, norms = gt.gradient_penalty(critic, xr, xf)
    assert pen.device.type == "meta" and norms.device.type == "meta" and norms.shape == (5,)
    assert gt.interpolates(xr.to("meta"), xf).device.type == "meta"
    sigma, u, v = gt.power_iteration(torch.empty(4, 3, device="meta"), torch.randn(4))
    assert sigma.device.type == u.device.type == v.device.type == "meta"


# --- (b) the mode: measured in eval mode, every submodule's flag restored -----------------------

def _record_modes(critic: nn.Module) -> list[bool]:
    """Every forward pass of every submodule appends that submodule's training flag."""
    seen: list[bool] = []
    for m in critic.modules():
        m.register_forward_pre_hook(lambda mod, args: seen.append(mod.training))
    return seen


MEASURING = {
    "grad_norms": lambda c, xr, xf: gt.grad_norms(c, xr),
    "lipschitz_estimate": lambda c, xr, xf: gt.lipschitz_estimate(c, xr),
    "critic_w1_estimate": lambda c, xr, xf: gt.critic_w1_estimate(c, xr, xf),
    "critic_vs_exact": lambda c, xr, xf: gt.critic_vs_exact(c, xr, xf),
}


@pytest.mark.parametrize("name", list(MEASURING))
@pytest.mark.parametrize("start", ["train", "eval", "mixed"])
def test_measuring_runs_in_eval_mode_and_restores_every_flag(name, start):
    torch.manual_seed(3)
    critic = gt.MLPCritic(width=16, depth=2)
    critic.train(start != "eval")
    if start == "mixed":
        critic.net[1].eval()               # one submodule in eval mode, the rest training
    before = [m.training for m in critic.modules()]
    seen = _record_modes(critic)
    MEASURING[name](critic, *points(32))
    assert seen and not any(seen)                                   # every forward pass in eval mode
    assert [m.training for m in critic.modules()] == before         # each flag as it was


def test_the_mode_is_restored_when_the_measurement_fails():
    critic = gt.MLPCritic(width=16).train()
    with torch.no_grad():
        critic.net[-1].bias.fill_(float("nan"))
    with pytest.raises(ValueError, match="scores"):
        gt.critic_w1_estimate(critic, *points(8))
    assert all(m.training for m in critic.modules())


@pytest.mark.parametrize("start", ["train", "eval"])
def test_gradient_penalty_leaves_the_mode_alone(start):
    critic = gt.MLPCritic(width=16).train(start == "train")
    seen = _record_modes(critic)
    gt.gradient_penalty(critic, *points(16))
    assert seen and all(flag == (start == "train") for flag in seen)
    assert all(m.training == (start == "train") for m in critic.modules())


@pytest.mark.parametrize("method", ["torch", "hand"])
def test_measuring_a_spectrally_normalised_critic_makes_no_power_step(method):
    torch.manual_seed(4)
    critic = gt.apply_spectral_norm(gt.MLPCritic(width=16, depth=2), method=method).train()
    xr, xf = points(32)
    u0 = [b.clone() for b in critic.buffers()]
    gt.grad_norms(critic, xr)
    gt.lipschitz_estimate(critic, xr)
    gt.critic_w1_estimate(critic, xr, xf)
    assert all(torch.equal(a, b) for a, b in zip(u0, critic.buffers()))
    assert critic.training
    critic(xr)                             # a training-mode forward pass does advance u: the check can fail
    assert not all(torch.equal(a, b) for a, b in zip(u0, critic.buffers()))


# --- (c) batch norm: measured with its running statistics ----------------------------------------

def test_batch_norm_critic_is_measured_with_running_statistics():
    # f(x) = (x_1 + 2 x_2 + 0.5 - 3) / sqrt(4 + 1e-5): a Linear layer, then batch norm whose
    # running mean is 3 and running variance 4 (affine part the identity)
    lin, bn = nn.Linear(2, 1), nn.BatchNorm1d(1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0]]))
        lin.bias.fill_(0.5)
        bn.running_mean.fill_(3.0)
        bn.running_var.fill_(4.0)
    critic = nn.Sequential(lin, bn, nn.Flatten(0)).train()
    xr, xf = points(200)
    expected = ((xr[:, 0] + 2 * xr[:, 1]).double().mean() - (xf[:, 0] + 2 * xf[:, 1]).double().mean()).item()
    expected /= math.sqrt(4.0 + bn.eps)
    assert gt.critic_w1_estimate(critic, xr, xf) == pytest.approx(expected, rel=1e-5)
    assert bn.running_mean.item() == 3.0 and bn.running_var.item() == 4.0   # not updated
    assert critic.training


def test_a_point_scores_the_same_alone_or_in_a_batch():
    torch.manual_seed(6)
    critic = gt.MLPCritic(width=16, depth=2, norm="batch").train()
    with torch.no_grad():                  # running statistics far from any one batch's
        for _ in range(20):
            critic(3 * torch.randn(64, 2) + 2)
    xr, xf = points(10)
    ref = torch.zeros(1, 2)
    alone = [gt.critic_w1_estimate(critic, xr[i:i + 1], ref) for i in range(10)]   # f(x_i) - f(0)
    together = gt.critic_w1_estimate(critic, xr, ref)                              # mean_i f(x_i) - f(0)
    assert together == pytest.approx(sum(alone) / 10, rel=1e-5, abs=1e-6)
    # and the same with the other points of the batch swapped for different ones
    mixed = gt.critic_w1_estimate(critic, torch.cat([xr[:1], xf[1:]]), ref)
    rest = gt.critic_w1_estimate(critic, xf[1:], ref)
    assert mixed == pytest.approx((alone[0] + 9 * rest) / 10, rel=1e-5, abs=1e-6)


# --- (d) CUDA: a CUDA critic fed CPU points ------------------------------------------------------

@cuda
def test_cuda_critic_fed_cpu_points():
    torch.manual_seed(7)
    cpu_critic = gt.MLPCritic(width=32, depth=2)
    critic = copy.deepcopy(cpu_critic).cuda()
    xr, xf = points(128)                                         # on the CPU

    g = gt.grad_norms(critic, xr)
    assert g.device.type == "cuda"                               # documented: on the critic's device
    torch.testing.assert_close(g.cpu(), gt.grad_norms(cpu_critic, xr), rtol=1e-4, atol=1e-5)
    lip = gt.lipschitz_estimate(critic, xr)
    assert isinstance(lip, float) and lip == pytest.approx(gt.lipschitz_estimate(cpu_critic, xr), rel=1e-4)
    est = gt.critic_w1_estimate(critic, xr, xf)
    assert isinstance(est, float)
    assert est == pytest.approx(gt.critic_w1_estimate(cpu_critic, xr, xf), rel=1e-4, abs=1e-6)
    res = gt.critic_vs_exact(critic, xr, xf)
    assert all(isinstance(v, float) for v in res.values())
    pen, norms = gt.gradient_penalty(critic, xr, xf)
    assert pen.device.type == "cuda" and norms.device.type == "cuda"
    pen.backward()                                               # differentiable into the CUDA weights
    assert all(p.grad is None or p.grad.device.type == "cuda" for p in critic.parameters())
    assert gt.interpolates(xr.cuda(), xf).device.type == "cuda"
    sigma, u, _ = gt.power_iteration(torch.randn(6, 4, device="cuda"), torch.randn(6))
    assert sigma.device.type == "cuda" and u.device.type == "cuda"
    assert all(isinstance(s, float) for s in gt.layer_sigmas(critic))


@cuda
def test_cuda_spectral_norm_critic_keeps_its_power_iteration():
    torch.manual_seed(8)
    critic = gt.apply_spectral_norm(gt.MLPCritic(width=16).cuda()).train()
    u0 = [b.clone() for b in critic.buffers()]
    xr, xf = points(32)
    gt.grad_norms(critic, xr)
    gt.critic_w1_estimate(critic, xr, xf)
    assert critic.training and all(torch.equal(a, b) for a, b in zip(u0, critic.buffers()))


@cuda
def test_cuda_mode_metrics_and_plot():
    grid = gt.grid25()
    samples = grid.sample(2500, device="cuda")
    rep = gt.mode_metrics(samples, grid.centers, grid.std)
    assert rep.counts.device.type == "cpu"                       # documented: counts on the CPU
    assert isinstance(rep.modes, int) and isinstance(rep.high_quality, float) and rep.modes == 25
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    gt.plotting.plot_samples_2d(ax, samples[:100], samples[100:200], critic=gt.MLPCritic(width=8).cuda())
    plt.close(fig)
