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
    "TransportPlan",
    "KantorovichPotential",
    "MAX_COST_MATRIX_BYTES",
    "DEFAULT_MAX_ITER",
]

#: Largest cost matrix exact_w1 will build (float64): 2 GB, i.e. about 16,000 x 16,000 points.
MAX_COST_MATRIX_BYTES = 2 * 1024**3
#: Network-simplex iteration limit; ample for the clouds of a few thousand points we use.
DEFAULT_MAX_ITER = 10_000_000


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


def _prepare(x, y, a, b):
    xs, ys = _to_numpy(x, "x"), _to_numpy(y, "y")
    if xs.shape[1] != ys.shape[1]:
        raise ValueError(
            f"x and y live in different dimensions ({xs.shape[1]} vs {ys.shape[1]}); "
            "W1 compares distributions on the same space"
        )
    need = xs.shape[0] * ys.shape[0] * 8
    if need > MAX_COST_MATRIX_BYTES:
        raise ValueError(
            f"exact W1 between {xs.shape[0]:,} and {ys.shape[0]:,} points needs a "
            f"{need / 1024**3:.1f} GB cost matrix (limit {MAX_COST_MATRIX_BYTES / 1024**3:.0f} GB); "
            "subsample both sets, or use sliced_w1 (cheap, a different quantity) or w1_1d for 1D data"
        )
    return xs, ys, _weights(a, xs.shape[0], "a"), _weights(b, ys.shape[0], "b")


def _emd(a, b, cost, max_iter: int, log: bool):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        try:
            return ot.emd(a, b, cost, numItermax=max_iter, log=log)
        except UserWarning as w:
            raise RuntimeError(
                f"POT's exact solver did not converge ({w}); raise max_iter above {max_iter:,} "
                "or use fewer points"
            ) from None


def exact_w1(x, y, a=None, b=None, max_iter: int = DEFAULT_MAX_ITER) -> float:
    """Exact Wasserstein-1 distance between two weighted point clouds (Euclidean cost).

    Args:
        x: ``(n, d)`` or ``(n,)`` points of the first distribution; ``(n, ...)`` (images) is
            flattened, so that each point is a vector of ``d`` pixels.
        y: ``(m, d)``, ``(m,)`` or ``(m, ...)`` points of the second.
        a, b: weights of the points (non-negative, summing to 1); uniform when omitted.
        max_iter: network-simplex iteration limit; hitting it raises instead of returning a
            sub-optimal value.

    Returns:
        W1 in the units of the data.
    """
    return transport_plan(x, y, a, b, max_iter=max_iter).cost


@dataclass
class TransportPlan:
    """An optimal coupling: ``plan[i, j]`` mass moved from ``x[i]`` to ``y[j]``; ``cost`` is W1."""

    plan: np.ndarray
    cost: float
    cost_matrix: np.ndarray


def transport_plan(x, y, a=None, b=None, max_iter: int = DEFAULT_MAX_ITER) -> TransportPlan:
    """The optimal transport plan for W1 (Euclidean cost) and its cost."""
    xs, ys, a, b = _prepare(x, y, a, b)
    cost = ot.dist(xs, ys, metric="euclidean")
    plan = _emd(a, b, cost, max_iter, log=False)
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
    """
    xs, ys, a, b = _prepare(x, y, a, b)
    cost = ot.dist(xs, ys, metric="euclidean")
    plan, log = _emd(a, b, cost, max_iter, log=True)
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
