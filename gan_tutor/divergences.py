"""KL, JS and total variation, for discrete distributions and for densities on a grid.

Natural logarithms throughout, so ``0 <= JS <= log 2``. Pass ``x`` (a 1D grid) to integrate
densities with the trapezoidal rule; omit it for probability vectors. KL is ``+inf`` where
``p > 0`` and ``q = 0`` (the supports disagree).

Inputs are checked: probability vectors must sum to 1 (within ``SUM_TOL``; they are then divided
by their sum), and densities must integrate to 1 on the grid (within ``GRID_MASS_TOL``), so that
a grid too narrow or too coarse for the densities raises instead of returning a wrong value.
"""

from __future__ import annotations

import numpy as np

__all__ = ["kl", "js", "tv", "entropy"]

#: Largest ``|sum - 1|`` accepted for a probability vector (float32 rounding passes).
SUM_TOL = 1e-6
#: Largest ``|trapezoid(p, x) - 1|`` accepted for a density on a grid. The lessons' grids
#: integrate their densities to 1 within 4e-5; 1e-3 allows coarse grids, and refuses a grid
#: that misses more than 0.1% of the mass.
GRID_MASS_TOL = 1e-3
#: Rounding allowed outside ``[0, log 2]`` before ``js`` clamps; anything larger is an error.
JS_ROUNDING_TOL = 1e-9


def _check_mass(v: np.ndarray, x: np.ndarray | None, name: str) -> np.ndarray:
    """Raise unless ``v`` is a probability vector (``x is None``) or a density on ``x``."""
    if x is None:
        total = float(v.sum())
        if abs(total - 1.0) > SUM_TOL:
            raise ValueError(
                f"{name} sums to {total:.9g}, not 1; normalise it ({name} / {name}.sum()), or pass "
                "the grid x if these are density values"
            )
        return v / total
    mass = float(np.trapezoid(v, x))
    if not abs(mass - 1.0) <= GRID_MASS_TOL:  # also catches an overflow to inf or nan
        raise ValueError(
            f"density {name} integrates to {mass:.6g} on the grid x [{x[0]:.4g}, {x[-1]:.4g}] "
            f"({x.size:,} points), not 1 (tolerance {GRID_MASS_TOL:g}): widen the grid to cover "
            f"its mass, refine it if {name} is narrower than the grid step, or normalise it "
            f"({name} / np.trapezoid({name}, x)) if it is truncated on purpose"
        )
    return v


def _prepare(p, q, x) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"p and q must be non-empty 1D arrays, got shape {p.shape}")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(q))):
        raise ValueError("p and q must be finite")
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("p and q must be non-negative (probabilities or density values)")
    if x is not None:
        x = np.asarray(x, dtype=np.float64)
        if x.shape != p.shape or not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
            raise ValueError("x must be an increasing grid with one point per value of p and q")
    return _check_mass(p, x, "p"), _check_mass(q, x, "q"), x


def _integrate(values: np.ndarray, x: np.ndarray | None) -> float:
    if x is None:
        return float(values.sum())
    return float(np.trapezoid(values, x))


def _kl_terms(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    out = np.zeros_like(p)
    pos = p > 0
    with np.errstate(divide="ignore"):
        out[pos] = p[pos] * (np.log(p[pos]) - np.log(q[pos]))
    return out


def kl(p, q, x=None) -> float:
    """KL(P || Q) = sum/integral of p log(p/q), in nats; ``inf`` if p > 0 somewhere q = 0.

    Args:
        p, q: probability vectors (summing to 1), or density values on the grid ``x``.
        x: increasing 1D grid for densities; ``None`` for discrete distributions.

    Raises:
        ValueError: shapes differ, a value is negative or not finite, a probability vector does
            not sum to 1, or a density does not integrate to 1 on ``x`` (the message names it).
    """
    p, q, x = _prepare(p, q, x)
    if np.any((p > 0) & (q == 0)):
        return float("inf")
    return _integrate(_kl_terms(p, q), x)


def js(p, q, x=None) -> float:
    """Jensen-Shannon divergence, ``KL(P||M)/2 + KL(Q||M)/2`` with ``M = (P+Q)/2``; in [0, log 2].

    Only rounding (``JS_ROUNDING_TOL``) is clamped into ``[0, log 2]``. A value further outside
    raises ``ValueError``: on a grid it means the densities carry more mass than 1 there.
    Arguments and other errors as for ``kl``.
    """
    p, q, x = _prepare(p, q, x)
    m = 0.5 * (p + q)
    val = 0.5 * _integrate(_kl_terms(p, m), x) + 0.5 * _integrate(_kl_terms(q, m), x)
    log2 = float(np.log(2.0))
    if not -JS_ROUNDING_TOL <= val <= log2 + JS_ROUNDING_TOL:
        masses = "" if x is None else f" (p, q integrate to {_integrate(p, x):.12g}, {_integrate(q, x):.12g})"
        raise ValueError(
            f"JS = {val:.12g} lies outside [0, log 2 = {log2:.12g}] by more than rounding{masses}; "
            "on a grid, refine or widen it, or normalise p and q so that each integrates to 1"
        )
    return min(max(val, 0.0), log2)


def tv(p, q, x=None) -> float:
    """Total variation distance ``sup_A |P(A) - Q(A)| = (1/2) sum |p - q|``; in [0, 1].

    Arguments and errors as for ``kl``.
    """
    p, q, x = _prepare(p, q, x)
    return _integrate(0.5 * np.abs(p - q), x)


def entropy(p, x=None) -> float:
    """Shannon entropy (discrete) or differential entropy (density on grid ``x``), in nats.

    Arguments and errors as for ``kl``.
    """
    p, _, x = _prepare(p, p, x)
    terms = np.zeros_like(p)
    pos = p > 0
    terms[pos] = -p[pos] * np.log(p[pos])
    return _integrate(terms, x)
