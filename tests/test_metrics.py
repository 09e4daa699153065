import pytest
import torch

import gan_tutor as gt


def test_all_modes_and_full_quality_on_real_samples():
    grid = gt.grid25()
    rep = gt.mode_metrics(grid.sample(2500), grid.centers, grid.std)
    # within 3 std in 2D: P(|X - c| <= 3 std) = 1 - exp(-9/2) = 98.9% of the mass
    assert rep.modes == 25 and rep.high_quality > 0.98
    assert "25/25" in str(rep)


def test_collapsed_and_off_target_samples():
    grid = gt.grid25()
    one_mode = grid.centers[:1].repeat(100, 1) + 0.001
    rep = gt.mode_metrics(one_mode, grid.centers, grid.std)
    assert rep.modes == 1 and rep.high_quality == 1.0 and rep.counts[0] == 100
    midway = (grid.centers[:1] + grid.centers[1:2]) / 2  # between two modes: low quality
    rep = gt.mode_metrics(midway.repeat(10, 1), grid.centers, grid.std)
    assert rep.modes == 0 and rep.high_quality == 0.0


def test_threshold_is_three_standard_deviations():
    ring = gt.ring8()
    c = ring.centers[0]
    inside = (c + torch.tensor([2.99 * ring.std, 0.0])).unsqueeze(0)
    outside = (c + torch.tensor([3.01 * ring.std, 0.0])).unsqueeze(0)
    assert gt.mode_metrics(inside, ring.centers, ring.std).high_quality == 1.0
    assert gt.mode_metrics(outside, ring.centers, ring.std).high_quality == 0.0


def test_nan_samples_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        gt.mode_metrics(torch.full((3, 2), float("nan")), gt.ring8().centers, 0.1)


def test_critic_estimate_of_a_linear_critic():
    lin = torch.nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.0]]))
        lin.bias.zero_()
    f = torch.nn.Sequential(lin, torch.nn.Flatten(0))
    x = torch.randn(300, 2)
    y = x - torch.tensor([0.7, 0.0])
    # f(x) = x_1 is the optimal 1-Lipschitz critic for a translation along e_1
    res = gt.critic_vs_exact(f, x, y)
    assert res["estimate"] == pytest.approx(0.7, rel=1e-5)
    assert res["exact"] == pytest.approx(0.7, rel=1e-6)
    assert abs(res["rel_error"]) < 1e-5


def linear_critic():
    lin = torch.nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.0]]))
        lin.bias.zero_()
    return torch.nn.Sequential(lin, torch.nn.Flatten(0))


@pytest.mark.parametrize("side", ["real", "fake"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_critic_estimate_refuses_non_finite_inputs(side, bad):
    x, y = torch.randn(20, 2), torch.randn(20, 2)
    (x if side == "real" else y)[3, 0] = bad
    with pytest.raises(ValueError, match=f"{side} contains NaN or inf"):
        gt.critic_w1_estimate(linear_critic(), x, y)
    with pytest.raises(ValueError, match=f"{side} contains NaN or inf"):
        gt.critic_vs_exact(linear_critic(), x, y)


@pytest.mark.parametrize("side", ["real", "fake"])
def test_critic_estimate_refuses_an_empty_batch(side):
    x, y = torch.randn(20, 2), torch.randn(20, 2)
    args = (torch.zeros(0, 2), y) if side == "real" else (x, torch.zeros(0, 2))
    with pytest.raises(ValueError, match=f"{side} is empty"):
        gt.critic_w1_estimate(linear_critic(), *args)


def test_critic_estimate_refuses_non_finite_scores():
    f = linear_critic()
    x, y = torch.randn(20, 2), torch.randn(20, 2)
    y[0, 0] = 1e30
    with torch.no_grad():
        f[0].weight.mul_(1e10)           # finite inputs, scores overflow to inf on the second batch
    with pytest.raises(ValueError, match="scores on fake are NaN or inf"):
        gt.critic_w1_estimate(f, x, y)


def test_mode_metrics_refuses_an_empty_batch_and_bad_scales():
    ring = gt.ring8()
    with pytest.raises(ValueError, match="empty"):
        gt.mode_metrics(torch.zeros(0, 2), ring.centers, ring.std)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="threshold must be > 0"):
            gt.mode_metrics(ring.sample(10), ring.centers, ring.std, threshold=bad)
        with pytest.raises(ValueError, match="std must be > 0"):
            gt.mode_metrics(ring.sample(10), ring.centers, bad)
    with pytest.raises(ValueError, match="samples must have shape"):
        gt.mode_metrics(torch.zeros(5, 3), ring.centers, ring.std)


def test_mode_report_holds_python_numbers_and_cpu_counts():
    grid = gt.grid25()
    rep = gt.mode_metrics(grid.sample(500).double(), grid.centers, grid.std)   # float64 samples too
    assert type(rep.modes) is int and type(rep.n_modes) is int and type(rep.high_quality) is float
    assert rep.counts.device.type == "cpu" and int(rep.counts.sum()) == round(rep.high_quality * 500)
