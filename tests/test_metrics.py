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
