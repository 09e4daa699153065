import math

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

import gan_tutor as gt
from gan_tutor import wasserstein as W


def test_point_masses():
    assert gt.exact_w1([[0.0, 0.0]], [[3.0, 4.0]]) == pytest.approx(5.0, abs=1e-12)
    # two masses each: weights 0.3/0.7 at 0 and 1 vs all mass at 2
    assert gt.exact_w1([[0.0], [1.0]], [[2.0]], a=[0.3, 0.7]) == pytest.approx(0.3 * 2 + 0.7 * 1)


@pytest.mark.parametrize("d", [1, 2, 5, 20])
def test_translation_gives_the_shift_length_exactly(d):
    rng = np.random.default_rng(d)
    x = rng.normal(size=(200, d))
    t = rng.normal(size=d)
    assert gt.exact_w1(x, x + t) == pytest.approx(np.linalg.norm(t), rel=1e-9)


def test_not_squared_euclidean():
    x = np.zeros((1, 2))
    y = np.array([[2.0, 0.0]])
    assert gt.exact_w1(x, y) == pytest.approx(2.0)  # squared cost would give 4


def test_equal_size_clouds_match_assignment():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)), rng.normal(1.0, 2.0, size=(60, 3))
    c = cdist(x, y)
    r, k = linear_sum_assignment(c)
    assert gt.exact_w1(x, y) == pytest.approx(c[r, k].mean(), rel=1e-10)


def test_1d_gaussians_closed_form():
    # E|dmu + dsigma Z| for dmu=1, dsigma=0.5, by direct numerical integration
    z = np.linspace(-12, 12, 400_001)
    phi = np.exp(-z**2 / 2) / math.sqrt(2 * math.pi)
    expected = np.trapezoid(np.abs(1.0 + 0.5 * z) * phi, z)
    assert gt.gaussian_w1_1d(0.0, 1.0, 1.0, 1.5) == pytest.approx(expected, abs=1e-9)
    assert gt.gaussian_w1_1d(2.0, 1.0, -1.0, 1.0) == pytest.approx(3.0)
    # sample version converges to it
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1, 200_000), rng.normal(1, 1.5, 200_000)
    assert gt.w1_1d(x, y) == pytest.approx(expected, abs=0.01)


def test_w1_1d_agrees_with_lp():
    rng = np.random.default_rng(2)
    x, y = rng.exponential(size=150), rng.normal(size=110)
    assert gt.w1_1d(x, y) == pytest.approx(gt.exact_w1(x, y), rel=1e-9)
    assert gt.w1_1d(x[:100], y[:100]) == pytest.approx(np.abs(np.sort(x[:100]) - np.sort(y[:100])).mean(), rel=1e-12)


def test_transport_plan_marginals_and_cost():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(7, 2)), rng.normal(size=(9, 2))
    a = rng.random(7); a /= a.sum()
    b = rng.random(9); b /= b.sum()
    tp = gt.transport_plan(x, y, a, b)
    np.testing.assert_allclose(tp.plan.sum(1), a, atol=1e-12)
    np.testing.assert_allclose(tp.plan.sum(0), b, atol=1e-12)
    assert tp.cost == pytest.approx(gt.exact_w1(x, y, a, b))


def test_dual_value_equals_primal_and_potential_is_1_lipschitz():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(80, 2)), rng.normal(0.5, 1.3, size=(60, 2))
    pot = gt.kantorovich_potential(x, y)
    assert pot.dual_value == pytest.approx(pot.primal_value, rel=1e-9)
    assert pot.primal_value == pytest.approx(gt.exact_w1(x, y), rel=1e-12)
    assert pot.lipschitz_ratio(x, y) <= 1 + 1e-9


def test_sliced_is_smaller_and_matches_translation_formula():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(500, 2))
    t = np.array([1.0, 0.0])
    # in 2D, E|<theta, e>| over uniform directions = 2/pi
    assert gt.sliced_w1(x, x + t, n_projections=4000) == pytest.approx(2 / math.pi, rel=0.02)
    assert gt.sliced_w1(x, x + t) < gt.exact_w1(x, x + t)


def test_accepts_torch_tensors():
    x = torch.randn(50, 2)
    assert gt.exact_w1(x, x + torch.tensor([0.0, 1.0])) == pytest.approx(1.0, rel=1e-6)


def test_images_are_points_in_pixel_space():
    # (n, 1, 28, 28) batches are flattened: the same W1 as on explicit (n, 784) rows, and a
    # constant brightness shift of every pixel moves each image by |shift| * sqrt(784)
    x = torch.rand(30, 1, 28, 28)
    y = torch.rand(40, 1, 28, 28)
    assert gt.exact_w1(x, y) == pytest.approx(gt.exact_w1(x.reshape(30, -1), y.reshape(40, -1)), rel=1e-12)
    assert gt.exact_w1(x, x + 0.1) == pytest.approx(0.1 * 28, rel=1e-6)
    with pytest.raises(ValueError, match="scalar"):
        gt.exact_w1(np.float64(1.0), np.zeros(3))


def test_bad_input_is_explained(monkeypatch):
    with pytest.raises(ValueError, match="different dimensions"):
        gt.exact_w1(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN or inf"):
        gt.exact_w1([[np.nan, 0.0]], [[0.0, 0.0]])
    with pytest.raises(ValueError, match="empty"):
        gt.exact_w1(np.zeros((0, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="sum to 1"):
        gt.exact_w1(np.zeros((2, 1)), np.zeros((2, 1)), a=[0.5, 0.6])
    monkeypatch.setattr(W, "MAX_COST_MATRIX_BYTES", 1000)
    with pytest.raises(ValueError, match="sliced_w1"):
        gt.exact_w1(np.zeros((20, 2)), np.zeros((20, 2)))
    with pytest.raises(ValueError, match="1D samples"):
        gt.w1_1d(np.zeros((3, 2)), np.zeros((3, 2)))


def test_iteration_limit_is_an_error_not_a_wrong_answer():
    rng = np.random.default_rng(6)
    with pytest.raises(RuntimeError, match="did not converge"):
        gt.exact_w1(rng.normal(size=(200, 2)), rng.normal(size=(200, 2)), max_iter=5)
