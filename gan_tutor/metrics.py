"""Sample-quality metrics for the toy mixtures, and the critic's W1 estimate.

Mode coverage and high-quality share follow VEEGAN (Srivastava et al., 2017) and PacGAN
(Lin et al., 2018): a sample is *high quality* when it lies within 3 standard deviations of its
nearest mode centre; a mode is *captured* when at least one high-quality sample is nearest to
it. They are computed on 2,500 generator samples by default.

Device contract (as in :mod:`gan_tutor.lipschitz`): the critic decides device and dtype; the
points are moved to it, the critic is measured in evaluation mode and every submodule's mode is
restored. Results are Python numbers; :attr:`ModeReport.counts` is a CPU tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .lipschitz import _measuring, _to_module
from .wasserstein import exact_w1

__all__ = ["ModeReport", "mode_metrics", "critic_w1_estimate", "critic_vs_exact"]


@dataclass
class ModeReport:
    """``modes``: modes captured (of ``n_modes``); ``high_quality``: share of samples within
    ``threshold`` standard deviations of their nearest centre; ``counts``: high-quality samples
    per mode (an int64 tensor on the CPU)."""

    modes: int
    n_modes: int
    high_quality: float
    counts: torch.Tensor

    def __str__(self) -> str:
        return f"{self.modes}/{self.n_modes} modes, {100 * self.high_quality:.1f}% high quality"


def mode_metrics(samples: torch.Tensor, centers: torch.Tensor, std: float,
                 threshold: float = 3.0) -> ModeReport:
    """Modes captured and high-quality share of ``samples`` ``(n, d)`` for a mixture with
    ``centers`` ``(k, d)`` and common ``std``.

    Samples on any device are accepted; distances are computed on the CPU in float64. The report
    holds Python numbers and a CPU ``counts`` tensor.

    Raises:
        ValueError: the batch is empty or contains NaN/inf, shapes disagree, or ``std`` or
            ``threshold`` is not positive.
    """
    if not std > 0:
        raise ValueError(f"std must be > 0 (the mixture's common standard deviation), got {std}")
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0 (in standard deviations; VEEGAN uses 3), got {threshold}")
    samples = torch.as_tensor(samples).detach().cpu().double()
    centers = torch.as_tensor(centers).detach().cpu().double()
    if centers.ndim != 2 or centers.shape[0] == 0:
        raise ValueError(f"centers must have shape (k, d) with k >= 1, got {tuple(centers.shape)}")
    if samples.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples must have shape (n, {centers.shape[1]}), got {tuple(samples.shape)}")
    if samples.shape[0] == 0:
        raise ValueError("samples is empty (0 samples); the metrics need at least one (2,500 by default)")
    if not torch.isfinite(samples).all():
        raise ValueError("samples contain NaN or inf; the generator diverged")
    dist = torch.cdist(samples, centers)
    d_min, nearest = dist.min(dim=1)
    good = d_min <= threshold * std
    counts = torch.bincount(nearest[good], minlength=centers.shape[0])
    return ModeReport(
        modes=int((counts > 0).sum()),
        n_modes=int(centers.shape[0]),
        high_quality=float(good.double().mean()),
        counts=counts,
    )


def _scores(critic: nn.Module, x: torch.Tensor, name: str) -> torch.Tensor:
    """The critic's scores on the batch ``x`` (moved to the critic), checked; on the critic's device."""
    x = _to_module(x, critic, name)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); the estimate needs at least one "
                         "sample per side")
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf; check the samples before measuring the critic")
    s = critic(x)
    if not bool(torch.isfinite(s).all()):
        raise ValueError(f"the critic's scores on {name} are NaN or inf (its inputs are finite): the critic "
                         "diverged; retrain it with a smaller learning rate or check its weights")
    return s


@torch.no_grad()
def critic_w1_estimate(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> float:
    """The critic's estimate of (K times) W1: ``mean f(real) - mean f(fake)``, a Python float.

    ``real`` and ``fake`` are moved to the critic's device and dtype; the critic is measured in
    evaluation mode (batch norm uses running statistics, spectral norm makes no power step) and
    every submodule's mode is restored.

    Raises:
        ValueError: a batch is empty or contains NaN/inf, or the critic's scores are not finite
            (the message says which).
    """
    with _measuring(critic):
        return float(_scores(critic, real, "real").mean() - _scores(critic, fake, "fake").mean())


def critic_vs_exact(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    """The critic's estimate next to the exact W1 of the same samples (POT).

    Returns ``{"estimate", "exact", "rel_error"}`` (Python floats) with
    ``rel_error = (estimate - exact) / exact``. The estimate is measured as in
    :func:`critic_w1_estimate` (same checks); the exact W1 is computed on the CPU.
    """
    est = critic_w1_estimate(critic, real, fake)
    ex = exact_w1(real, fake)
    return {"estimate": est, "exact": ex, "rel_error": (est - ex) / ex if ex > 0 else float("nan")}
