"""KL, JS and total variation, for discrete distributions and for densities on a grid.

Natural logarithms throughout, so ``0 <= JS <= log 2``. Pass ``x`` (a 1D grid) to integrate
densities with the trapezoidal rule; omit it for probability vectors. KL is ``+inf`` where
``p > 0`` and ``q = 0`` (the supports disagree).
"""

from __future__ import annotations

import numpy as np

__all__ = ["kl", "js", "tv", "entropy"]


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
    if x is None:
        for name, v in (("p", p), ("q", q)):
            if not np.isclose(v.sum(), 1.0, atol=1e-6):
                raise ValueError(
                    f"{name} sums to {v.sum():.6g}, not 1; normalise it, or pass the grid x if "
                    "these are density values"
                )
        return p, q, None
    x = np.asarray(x, dtype=np.float64)
    if x.shape != p.shape or np.any(np.diff(x) <= 0):
        raise ValueError("x must be an increasing grid with one point per value of p and q")
    return p, q, x


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
    """
    p, q, x = _prepare(p, q, x)
    if np.any((p > 0) & (q == 0)):
        return float("inf")
    return _integrate(_kl_terms(p, q), x)


def js(p, q, x=None) -> float:
    """Jensen-Shannon divergence, ``KL(P||M)/2 + KL(Q||M)/2`` with ``M = (P+Q)/2``; in [0, log 2]."""
    p, q, x = _prepare(p, q, x)
    m = 0.5 * (p + q)
    val = 0.5 * _integrate(_kl_terms(p, m), x) + 0.5 * _integrate(_kl_terms(q, m), x)
    return float(min(max(val, 0.0), np.log(2.0)))


def tv(p, q, x=None) -> float:
    """Total variation distance ``sup_A |P(A) - Q(A)| = (1/2) sum |p - q|``; in [0, 1]."""
    p, q, x = _prepare(p, q, x)
    return _integrate(0.5 * np.abs(p - q), x)


def entropy(p, x=None) -> float:
    """Shannon entropy (discrete) or differential entropy (density on grid ``x``), in nats."""
    p, _, x = _prepare(p, p, x)
    terms = np.zeros_like(p)
    pos = p > 0
    terms[pos] = -p[pos] * np.log(p[pos])
    return _integrate(terms, x)
