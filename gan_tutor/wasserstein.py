"""Exact and approximate Wasserstein-1 distances, computed with POT.

``exact_w1`` solves the optimal-transport linear program between two weighted point clouds
with a Euclidean ground cost (POT's ``ot.dist`` defaults to the *squared* Euclidean cost, which
would give W2 squared, not W1). The critics trained in the lessons are checked against it.

Inputs may be NumPy arrays or torch tensors of shape ``(n, d)`` (or ``(n,)`` for 1D data);
they are moved to the CPU as float64.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import ot
from scipy.special import ndtr

__all__ = [
    "exact_w1",
    "transport_plan",
    "kantorovich_potential",
    "w1_1d",
    "sliced_w1",
    "gaussian_w1_1d",
    "exact_w1_peak_bytes",
    "TransportPlan",
    "KantorovichPotential",
    "DEFAULT_MAX_ITER",
]

#: Network-simplex iteration limit; ample for the clouds of a few thousand points we use.
DEFAULT_MAX_ITER = 10_000_000
#: Peak memory of one exact solve per pair of points (cost matrix 8, POT's network-simplex
#: workspace about 25, dense plan 8 bytes): peak RSS growth measured at 39.9-41.5 bytes per pair
#: for n = m = 1,000 / 1,500 / 2,000 / 4,000 in 2D and 1,000 x 4,000, 42.2 for 2,000 x 2,000 in
#: 784 dimensions (POT 0.9.7); rounded up.
EXACT_W1_BYTES_PER_PAIR = 44
#: kantorovich_potential then keeps the cost matrix and plan (16 bytes per x-y pair) and builds the
#: m x m distances between the y points with temporaries: measured 24-27 bytes per y-y pair
#: (100 x 3,000, 300 x 4,000 and 1,000 x 3,000 points in 2D).
POTENTIAL_BYTES_PER_Y_PAIR = 28
#: exact_w1 refuses a problem whose estimated peak exceeds this fraction of the memory available
#: now: the kernel, the notebook's tensors and other processes need the rest.
MEMORY_FRACTION = 0.5
#: Memory assumed available where it cannot be read (no /proc/meminfo, e.g. macOS or Windows).
FALLBACK_AVAILABLE_BYTES = 4 * 1024**3
#: Deprecated, no longer enforced: the old cost-matrix-only cap (it allowed a 10 GB peak).
#: Kept because benchmarks/pot_scaling.py reads it; use exact_w1_peak_bytes instead.
MAX_COST_MATRIX_BYTES = 2 * 1024**3

_MEMINFO = Path("/proc/meminfo")
# (limit, usage) files of cgroup v2 and v1; a limit of "max" (or v1's huge number) means none
_CGROUP_FILES = (
    (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory.current")),
    (
        Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        Path("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ),
)
# POT's network-simplex result codes (ot.lp.emd_wrap.check_result, POT 0.9.x)
_EMD_OPTIMAL = 1
_EMD_MAX_ITER_REACHED = 3
_EMD_CODES = {0: "the problem is infeasible", 2: "the problem is unbounded"}
_EMD_WARNINGS = r"(Problem infeasible|Problem unbounded|numItermax reached)"
_MAX_ITER_CEILING = 2**63 - 1  # POT passes the limit to C as an unsigned 64-bit integer


def _to_numpy(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have shape (n,), (n, d) or (n, ...), got a scalar")
    # one point per row: (n,) is n points on the line, (n, ...) e.g. images is flattened to (n, d)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim > 2:
        arr = arr.reshape(arr.shape[0], int(np.prod(arr.shape[1:])))
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; W1 needs at least one point on each side")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; check the generator's output before measuring W1")
    return arr


def _weights(w, n: int, name: str) -> np.ndarray:
    if w is None:
        return np.full(n, 1.0 / n)
    if hasattr(w, "detach"):
        w = w.detach().cpu().numpy()
    w = np.asarray(w, dtype=np.float64).ravel()
    if w.shape != (n,):
        raise ValueError(f"{name} must have one weight per point ({n}), got shape {w.shape}")
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    if not math.isclose(w.sum(), 1.0, rel_tol=0, abs_tol=1e-7):
        raise ValueError(f"{name} sums to {w.sum():.9g}; weights must sum to 1 (divide by their sum)")
    return w / w.sum()


def _check_max_iter(max_iter) -> int:
    # POT reads 0 as "no limit", and a float or bool is silently truncated: accept only ints >= 1
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
        raise TypeError(
            f"max_iter must be a positive int, got {type(max_iter).__name__} {max_iter!r}; "
            f"the default is {DEFAULT_MAX_ITER:,}"
        )
    if not 1 <= max_iter <= _MAX_ITER_CEILING:
        raise ValueError(
            f"max_iter must be between 1 and 2**63 - 1, got {max_iter}; it bounds the solver's "
            f"iterations (POT would read 0 as unlimited); the default is {DEFAULT_MAX_ITER:,}"
        )
    return int(max_iter)


def _available_memory_bytes() -> int:
    """Memory this process may still use: MemAvailable, capped by a cgroup limit minus its usage.

    Falls back to ``FALLBACK_AVAILABLE_BYTES`` where ``/proc/meminfo`` cannot be read.
    """
    avail = None
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024  # the value is in kB
    except (OSError, ValueError, IndexError):
        avail = None
    if avail is None:
        avail = FALLBACK_AVAILABLE_BYTES
    for limit_file, usage_file in _CGROUP_FILES:
        try:
            limit = limit_file.read_text().strip()
            if limit != "max":
                avail = min(avail, max(int(limit) - int(usage_file.read_text().strip()), 0))
        except (OSError, ValueError):
            continue
    return avail


def exact_w1_peak_bytes(n: int, m: int, d: int = 1, potential: bool = False) -> int:
    """Estimated peak memory (bytes) of ``exact_w1`` between ``n`` and ``m`` points in ``d`` dimensions.

    ``EXACT_W1_BYTES_PER_PAIR * n * m`` (cost matrix, POT's network-simplex workspace and the
    dense plan; measured) plus float64 copies of the points. With ``potential=True``, the peak of
    ``kantorovich_potential``, which afterwards also builds the ``m x m`` distances between the
    ``y`` points. ``exact_w1``, ``transport_plan`` and ``kantorovich_potential`` raise
    ``MemoryError`` before allocating anything when the estimate exceeds ``MEMORY_FRACTION`` of
    the memory available when they are called.
    """
    peak = EXACT_W1_BYTES_PER_PAIR * n * m
    if potential:
        peak = max(peak, 16 * n * m + POTENTIAL_BYTES_PER_Y_PAIR * m * m)
    return peak + 8 * (n + m) * d


def _size(nbytes: float) -> str:
    return f"{nbytes / 1e9:.2f} GB" if nbytes >= 1e8 else f"{nbytes / 1e6:.1f} MB"


def _check_memory(n: int, m: int, d: int, potential: bool) -> None:
    peak = exact_w1_peak_bytes(n, m, d, potential)
    avail = _available_memory_bytes()
    if peak > MEMORY_FRACTION * avail:
        what = "the Kantorovich potential" if potential else "exact W1"
        raise MemoryError(
            f"{what} between {n:,} and {m:,} points needs about {_size(peak)} at its peak "
            f"(cost matrix, solver and plan: {EXACT_W1_BYTES_PER_PAIR} bytes per pair), but only "
            f"{_size(avail)} is available now and the exact solver uses at most "
            f"{MEMORY_FRACTION:.0%} of it; subsample both sets (memory grows as n * m), use w1_1d "
            "for 1D data, or sliced_w1 (cheap, but a different, smaller quantity)"
        )


def _prepare(x, y, a, b, potential: bool = False):
    xs, ys = _to_numpy(x, "x"), _to_numpy(y, "y")
    if xs.shape[1] != ys.shape[1]:
        raise ValueError(
            f"x and y live in different dimensions ({xs.shape[1]} vs {ys.shape[1]}); "
            "W1 compares distributions on the same space"
        )
    _check_memory(xs.shape[0], ys.shape[0], xs.shape[1], potential)
    return xs, ys, _weights(a, xs.shape[0], "a"), _weights(b, ys.shape[0], "b")


def _emd(a: np.ndarray, b: np.ndarray, cost: np.ndarray, max_iter: int) -> tuple[np.ndarray, dict]:
    """``ot.emd`` with its convergence report read from ``log["result_code"]``; raises unless optimal."""
    with warnings.catch_warnings():
        # POT also warns with the same text; the RuntimeError below replaces that warning
        warnings.filterwarnings("ignore", message=_EMD_WARNINGS, category=UserWarning)
        plan, log = ot.emd(a, b, cost, numItermax=max_iter, log=True)
    code = int(log["result_code"])
    if code == _EMD_MAX_ITER_REACHED:
        raise RuntimeError(
            f"POT's exact solver did not converge: it stopped at max_iter = {max_iter:,} iterations "
            f"before reaching the optimum (the plan would be sub-optimal); raise max_iter "
            f"(default {DEFAULT_MAX_ITER:,}) or use fewer points"
        )
    if code != _EMD_OPTIMAL:
        meaning = _EMD_CODES.get(code, "an unknown result code")
        raise RuntimeError(
            f"POT's exact solver did not converge: {meaning} (result code {code}, POT says "
            f"{log['warning']!r}); with valid weights this should not happen: check that a and b "
            f"are non-negative and sum to 1, and that POT {ot.__version__} is installed correctly"
        )
    return plan, log


def exact_w1(x, y, a=None, b=None, max_iter: int = DEFAULT_MAX_ITER) -> float:
    """Exact Wasserstein-1 distance between two weighted point clouds (Euclidean cost).

    Args:
        x: ``(n, d)`` or ``(n,)`` points of the first distribution; ``(n, ...)`` (images) is
            flattened, so that each point is a vector of ``d`` pixels.
        y: ``(m, d)``, ``(m,)`` or ``(m, ...)`` points of the second.
        a, b: weights of the points (non-negative, summing to 1); uniform when omitted.
        max_iter: network-simplex iteration limit, a positive int; hitting it raises instead
            of returning a sub-optimal value.

    Returns:
        W1 in the units of the data.

    Raises:
        ValueError: shapes, dimensions, weights or ``max_iter`` are invalid, or a point is NaN/inf.
        TypeError: ``max_iter`` is not an int.
        MemoryError: the solve's estimated peak (``exact_w1_peak_bytes``) exceeds
            ``MEMORY_FRACTION`` of the memory available now; nothing is allocated.
        RuntimeError: POT's solver did not reach the optimum (e.g. ``max_iter`` was too small).
    """
    return transport_plan(x, y, a, b, max_iter=max_iter).cost


@dataclass
class TransportPlan:
    """An optimal coupling: ``plan[i, j]`` mass moved from ``x[i]`` to ``y[j]``; ``cost`` is W1."""

    plan: np.ndarray
    cost: float
    cost_matrix: np.ndarray


def transport_plan(x, y, a=None, b=None, max_iter: int = DEFAULT_MAX_ITER) -> TransportPlan:
    """The optimal transport plan for W1 (Euclidean cost) and its cost.

    Arguments and errors as for ``exact_w1``.
    """
    max_iter = _check_max_iter(max_iter)
    xs, ys, a, b = _prepare(x, y, a, b)
    cost = ot.dist(xs, ys, metric="euclidean")
    plan, _ = _emd(a, b, cost, max_iter)
    return TransportPlan(plan=plan, cost=float((plan * cost).sum()), cost_matrix=cost)


@dataclass
class KantorovichPotential:
    """A 1-Lipschitz potential ``f`` attaining the Kantorovich-Rubinstein dual.

    ``f_x[i] = f(x[i])``, ``f_y[j] = f(y[j])`` and ``dual_value = sum a f_x - sum b f_y``, which
    equals ``primal_value`` (= W1) at the optimum.
    """

    f_x: np.ndarray
    f_y: np.ndarray
    dual_value: float
    primal_value: float

    def lipschitz_ratio(self, x, y) -> float:
        """Largest ``|f(p) - f(q)| / |p - q|`` over all pairs of the given points (<= 1 + rounding)."""
        pts = np.vstack([_to_numpy(x, "x"), _to_numpy(y, "y")])
        vals = np.concatenate([self.f_x, self.f_y])
        dist = ot.dist(pts, pts, metric="euclidean")
        diff = np.abs(vals[:, None] - vals[None, :])
        mask = dist > 1e-12
        return float((diff[mask] / dist[mask]).max()) if mask.any() else 0.0


def kantorovich_potential(x, y, a=None, b=None, max_iter: int = DEFAULT_MAX_ITER) -> KantorovichPotential:
    """The Kantorovich-Rubinstein dual potential of W1 between two clouds.

    POT's exact solver returns LP duals ``u, v`` with ``u_i + v_j <= C_ij``. Their c-transform
    ``f(z) = min_j (|z - y_j| - v_j)`` is 1-Lipschitz (a minimum of 1-Lipschitz functions),
    satisfies ``f(x_i) >= u_i`` and ``f(y_j) <= -v_j``, so
    ``sum a f(x) - sum b f(y) >= sum a u + sum b v = W1``; weak duality gives equality.
    Arguments and errors as for ``exact_w1``.
    """
    max_iter = _check_max_iter(max_iter)
    xs, ys, a, b = _prepare(x, y, a, b, potential=True)
    cost = ot.dist(xs, ys, metric="euclidean")
    plan, log = _emd(a, b, cost, max_iter)
    v = log["v"]
    f_x = (cost - v[None, :]).min(axis=1)
    f_y = (ot.dist(ys, ys, metric="euclidean") - v[None, :]).min(axis=1)
    shift = f_y.mean()  # potentials are defined up to a constant; centre them on y
    f_x, f_y = f_x - shift, f_y - shift
    return KantorovichPotential(
        f_x=f_x,
        f_y=f_y,
        dual_value=float(a @ f_x - b @ f_y),
        primal_value=float((plan * cost).sum()),
    )


def w1_1d(x, y, a=None, b=None) -> float:
    """W1 between two 1D samples via their quantile functions: ``integral |F^-1 - G^-1|``.

    O(n log n); for equal sizes and uniform weights this is ``mean |sort(x) - sort(y)|``.
    """
    xs, ys = _to_numpy(x, "x"), _to_numpy(y, "y")
    if xs.shape[1] != 1 or ys.shape[1] != 1:
        raise ValueError(
            f"w1_1d needs 1D samples, got dimensions {xs.shape[1]} and {ys.shape[1]}; "
            "use exact_w1 or sliced_w1 in higher dimensions"
        )
    a = _weights(a, xs.shape[0], "a")
    b = _weights(b, ys.shape[0], "b")
    return float(ot.wasserstein_1d(xs[:, 0], ys[:, 0], a, b, p=1))


def sliced_w1(x, y, n_projections: int = 500, seed: int | None = 0) -> float:
    """Sliced W1: the average of 1D W1 distances along random directions.

    A different (smaller) quantity than W1: for a translation by ``t`` in ``d`` dimensions it is
    ``|t| * E|<theta, e>|``, about ``|t| sqrt(2 / (pi d))``. Cost O(P n log n) instead of an LP.
    """
    xs, ys = _to_numpy(x, "x"), _to_numpy(y, "y")
    if xs.shape[1] != ys.shape[1]:
        raise ValueError(f"x and y live in different dimensions ({xs.shape[1]} vs {ys.shape[1]})")
    if n_projections <= 0:
        raise ValueError("n_projections must be positive")
    return float(ot.sliced_wasserstein_distance(xs, ys, n_projections=n_projections, p=1, seed=seed))


def gaussian_w1_1d(mu1: float, sigma1: float, mu2: float, sigma2: float) -> float:
    """Exact W1 between N(mu1, sigma1^2) and N(mu2, sigma2^2).

    The monotone (quantile) coupling is optimal in 1D, so W1 = E|dmu + dsigma Z| with
    ``dmu = mu2 - mu1``, ``dsigma = sigma2 - sigma1`` and Z standard normal:
    ``|dsigma| sqrt(2/pi) exp(-dmu^2 / (2 dsigma^2)) + dmu (1 - 2 Phi(-dmu/|dsigma|))``.
    """
    if sigma1 < 0 or sigma2 < 0:
        raise ValueError("standard deviations must be non-negative")
    m, s = mu2 - mu1, abs(sigma2 - sigma1)
    if s == 0:
        return abs(m)
    return float(s * math.sqrt(2 / math.pi) * math.exp(-(m**2) / (2 * s**2)) + m * (1 - 2 * ndtr(-m / s)))
