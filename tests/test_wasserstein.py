import json
import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import ot
import pytest
import torch
from scipy.optimize import linear_sum_assignment, linprog
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance

import gan_tutor as gt
from gan_tutor import wasserstein as W


def assignment_w1(x, y):
    """W1 between two equal-size uniform clouds: the mean distance of the optimal matching."""
    c = cdist(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    r, k = linear_sum_assignment(c)
    return c[r, k].mean()


def linprog_w1(x, y, a, b):
    """W1 by solving the transport LP with scipy's HiGHS (not POT's network simplex)."""
    c = cdist(x, y)
    n, m = c.shape
    rows = np.kron(np.eye(n), np.ones((1, m)))  # sum_j plan_ij = a_i
    cols = np.kron(np.ones((1, n)), np.eye(m))  # sum_i plan_ij = b_j
    res = linprog(c.ravel(), A_eq=np.vstack([rows, cols]), b_eq=np.concatenate([a, b]), method="highs")
    assert res.status == 0
    return res.fun


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
    assert gt.exact_w1(x, y) == pytest.approx(assignment_w1(x, y), rel=1e-10)


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


def test_1d_matches_scipy_wasserstein_distance():
    # scipy integrates |F - G| between the empirical CDFs: a different algorithm from POT's LP
    rng = np.random.default_rng(2)
    x, y = rng.exponential(size=150), rng.normal(size=110)
    a = rng.random(150)
    a /= a.sum()
    b = rng.random(110)
    b /= b.sum()
    truth = wasserstein_distance(x, y)
    assert gt.exact_w1(x, y) == pytest.approx(truth, rel=1e-9)
    assert gt.w1_1d(x, y) == pytest.approx(truth, rel=1e-9)
    weighted = wasserstein_distance(x, y, a, b)
    assert gt.exact_w1(x, y, a, b) == pytest.approx(weighted, rel=1e-9)
    assert gt.w1_1d(x, y, a, b) == pytest.approx(weighted, rel=1e-9)


def test_transport_plan_is_feasible_and_optimal():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(7, 2)), rng.normal(size=(9, 2))
    a = rng.random(7)
    a /= a.sum()
    b = rng.random(9)
    b /= b.sum()
    tp = gt.transport_plan(x, y, a, b)
    assert tp.plan.min() >= 0
    np.testing.assert_allclose(tp.plan.sum(1), a, atol=1e-12)
    np.testing.assert_allclose(tp.plan.sum(0), b, atol=1e-12)
    truth = linprog_w1(x, y, a, b)
    assert (tp.plan * cdist(x, y)).sum() == pytest.approx(truth, rel=1e-9)  # the plan is optimal
    assert tp.cost == pytest.approx(truth, rel=1e-9)
    np.testing.assert_allclose(tp.cost_matrix, cdist(x, y), atol=1e-9)


def test_potential_attains_w1_and_is_1_lipschitz():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(80, 2)), rng.normal(0.5, 1.3, size=(60, 2))
    # uniform 80 vs 60 points = uniform 240 vs 240 with each x thrice and each y four times
    truth = assignment_w1(np.repeat(x, 3, axis=0), np.repeat(y, 4, axis=0))
    pot = gt.kantorovich_potential(x, y)
    assert pot.f_x.mean() - pot.f_y.mean() == pytest.approx(truth, rel=1e-9)
    assert pot.dual_value == pytest.approx(truth, rel=1e-9)
    assert pot.primal_value == pytest.approx(truth, rel=1e-9)
    # 1-Lipschitz over every pair of the points, checked directly
    pts = np.vstack([x, y])
    vals = np.concatenate([pot.f_x, pot.f_y])
    assert np.all(np.abs(vals[:, None] - vals[None, :]) <= cdist(pts, pts) + 1e-9)


def test_weighted_potential_attains_the_lp_optimum():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(6, 3)), rng.normal(1.0, 1.0, size=(5, 3))
    a = rng.random(6)
    a /= a.sum()
    b = rng.random(5)
    b /= b.sum()
    pot = gt.kantorovich_potential(x, y, a, b)
    assert a @ pot.f_x - b @ pot.f_y == pytest.approx(linprog_w1(x, y, a, b), rel=1e-9)


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
    # (n, 1, 28, 28) batches are flattened into vectors of 784 pixels, and a constant brightness
    # shift of every pixel moves each image by |shift| * sqrt(784)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(30, 1, 28, 28, generator=gen)
    y = torch.rand(30, 1, 28, 28, generator=gen)
    assert gt.exact_w1(x, y) == pytest.approx(assignment_w1(x.reshape(30, -1), y.reshape(30, -1)), rel=1e-9)
    assert gt.exact_w1(x, x + 0.1) == pytest.approx(0.1 * 28, rel=1e-6)
    with pytest.raises(ValueError, match="scalar"):
        gt.exact_w1(np.float64(1.0), np.zeros(3))


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="different dimensions"):
        gt.exact_w1(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN or inf"):
        gt.exact_w1([[np.nan, 0.0]], [[0.0, 0.0]])
    with pytest.raises(ValueError, match="empty"):
        gt.exact_w1(np.zeros((0, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="sum to 1"):
        gt.exact_w1(np.zeros((2, 1)), np.zeros((2, 1)), a=[0.5, 0.6])
    with pytest.raises(ValueError, match="1D samples"):
        gt.w1_1d(np.zeros((3, 2)), np.zeros((3, 2)))


@pytest.mark.parametrize("fn", [gt.exact_w1, gt.transport_plan, gt.kantorovich_potential])
def test_max_iter_must_be_a_positive_int(fn):
    x, y = np.zeros((3, 2)), np.ones((3, 2))
    for bad in (0, -1, 2**64):  # POT reads 0 as "no limit"
        with pytest.raises(ValueError, match="max_iter must be between 1 and"):
            fn(x, y, max_iter=bad)
    for bad in (True, 1.5, 1e6, "1000", None):  # POT truncates a float; True would mean 1
        with pytest.raises(TypeError, match="max_iter must be a positive int"):
            fn(x, y, max_iter=bad)
    fn(x, y, max_iter=np.int64(1000))  # numpy ints are fine


def test_iteration_limit_is_an_error_not_a_wrong_answer():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(200, 2)), rng.normal(size=(200, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # POT's own warning is replaced by the error
        with pytest.raises(RuntimeError, match="stopped at max_iter = 5 iterations"):
            gt.exact_w1(x, y, max_iter=5)
        with pytest.raises(RuntimeError, match="raise max_iter"):
            gt.kantorovich_potential(x, y, max_iter=5)
    assert gt.exact_w1(x, y) == pytest.approx(assignment_w1(x, y), rel=1e-10)  # default suffices


@pytest.mark.parametrize("code,meaning", [(0, "infeasible"), (2, "unbounded"), (7, "unknown result code")])
def test_other_solver_failures_are_errors(monkeypatch, code, meaning):
    def failing_emd(a, b, cost, numItermax, log):
        return np.zeros_like(cost), {"result_code": code, "warning": "solver message", "v": np.zeros(len(b))}

    monkeypatch.setattr(ot, "emd", failing_emd)
    with pytest.raises(RuntimeError, match=f"{meaning} \\(result code {code}, POT says 'solver message'"):
        gt.exact_w1(np.zeros((3, 2)), np.ones((3, 2)))


def test_memory_guard_refuses_before_allocating(monkeypatch):
    peak = 44 * 100 * 100 + 8 * 200 * 2  # 100 x 100 points in 2D, by hand
    assert W.exact_w1_peak_bytes(100, 100, 2) == peak
    x, y = np.zeros((100, 2)), np.ones((100, 2))
    monkeypatch.setattr(W, "_available_memory_bytes", lambda: 2 * peak)  # exactly the budget
    assert gt.exact_w1(x, y) == pytest.approx(math.sqrt(2))
    monkeypatch.setattr(W, "_available_memory_bytes", lambda: 2 * peak - 2)
    for fn in (gt.exact_w1, gt.transport_plan, gt.kantorovich_potential):
        with pytest.raises(MemoryError) as err:
            fn(x, y)
        msg = str(err.value)
        for part in ("between 100 and 100 points", "0.4 MB at its peak", "0.9 MB is available",
                     "subsample", "w1_1d", "sliced_w1"):
            assert part in msg


def test_potential_budgets_the_y_by_y_distances(monkeypatch):
    # 10 x 300 points: 137 kB for the solve, but the potential also builds 300 x 300 distances
    x, y = np.zeros((10, 2)), np.ones((300, 2))
    monkeypatch.setattr(W, "_available_memory_bytes", lambda: 2 * 10**6)
    assert gt.exact_w1(x, y) == pytest.approx(math.sqrt(2))
    with pytest.raises(MemoryError, match="the Kantorovich potential between 10 and 300 points"):
        gt.kantorovich_potential(x, y)


def test_available_memory_reads_meminfo_and_cgroups(monkeypatch, tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n")
    v2_max, v2_cur = tmp_path / "memory.max", tmp_path / "memory.current"
    v2_max.write_text("max\n")
    v2_cur.write_text("123\n")
    missing = (tmp_path / "no_limit", tmp_path / "no_usage")
    monkeypatch.setattr(W, "_MEMINFO", meminfo)
    monkeypatch.setattr(W, "_CGROUP_FILES", ((v2_max, v2_cur), missing))
    assert W._available_memory_bytes() == 8_000_000 * 1024  # no cgroup limit
    v2_max.write_text(f"{2 * 1024**3}\n")
    v2_cur.write_text(f"{512 * 1024**2}\n")
    assert W._available_memory_bytes() == 1536 * 1024**2  # the cgroup's remaining 1.5 GiB
    monkeypatch.setattr(W, "_MEMINFO", tmp_path / "absent")
    monkeypatch.setattr(W, "_CGROUP_FILES", (missing,))
    assert W._available_memory_bytes() == W.FALLBACK_AVAILABLE_BYTES


_PEAK_SCRIPT = """
import importlib.util, json, sys
import numpy as np

def high_water_mark():  # peak RSS of this process image; ru_maxrss would include the parent's
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

spec = importlib.util.spec_from_file_location("w", sys.argv[1])
w = sys.modules["w"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(w)
n, m, which = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(0)
x, y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2)) + 1.0
getattr(w, which)(x[:30], y[:30])  # warm-up: lazy imports and allocator pools
base = high_water_mark()
getattr(w, which)(x, y)
print(json.dumps(high_water_mark() - base))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("n,m,which", [(1500, 1500, "exact_w1"), (200, 2000, "kantorovich_potential")])
def test_peak_estimate_matches_measured_memory(n, m, which):
    # the guard's estimate against the real peak RSS growth of a fresh process
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_PEAK_SCRIPT), W.__file__, str(n), str(m), which],
        capture_output=True, text=True, check=True, timeout=300,
        env={**os.environ, "POT_BACKEND_DISABLE_PYTORCH": "1"},  # a small, quick process
    )
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    estimate = W.exact_w1_peak_bytes(n, m, 2, potential=which == "kantorovich_potential")
    assert 0.8 * estimate <= measured <= estimate, (measured, estimate)
