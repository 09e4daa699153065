"""GAN losses, written on raw critic scores (no sigmoid in the models).

For the standard GAN, ``D(x) = sigmoid(s(x))`` where ``s`` is the raw score, and
``log D = -softplus(-s)``, ``log(1 - D) = -softplus(s)`` (stable for any ``s``).

=================  ===========================================  ================================
loss               critic / discriminator minimises             generator minimises
=================  ===========================================  ================================
``minimax``        ``-E log D(x) - E log(1 - D(G(z)))``         ``E log(1 - D(G(z)))`` (saturating)
``nonsaturating``  same as minimax                              ``-E log D(G(z))``
``wasserstein``    ``E f(G(z)) - E f(x)``                       ``-E f(G(z))``
``hinge``          ``E relu(1 - f(x)) + E relu(1 + f(G(z)))``   ``-E f(G(z))``
=================  ===========================================  ================================
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "d_loss", "g_loss"]

LOSSES = ("minimax", "nonsaturating", "wasserstein", "hinge")


def _check(name: str) -> None:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {LOSSES}")


def d_loss(name: str, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The critic's (discriminator's) loss to minimise, from raw scores on real and fake batches.

    Scores of shape ``(n,)`` give a scalar; ``(K, n)`` (K independent copies, as in
    :func:`gan_tutor.train_seeds`) give one loss per copy, shape ``(K,)``: means run over the last axis.
    """
    _check(name)
    if name in ("minimax", "nonsaturating"):
        return F.softplus(-real_scores).mean(-1) + F.softplus(fake_scores).mean(-1)
    if name == "wasserstein":
        return fake_scores.mean(-1) - real_scores.mean(-1)
    return F.relu(1 - real_scores).mean(-1) + F.relu(1 + fake_scores).mean(-1)


def g_loss(name: str, fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator's loss to minimise, from raw critic scores on a fake batch (``(n,)`` gives a
    scalar, ``(K, n)`` one loss per copy)."""
    _check(name)
    if name == "minimax":
        return -F.softplus(fake_scores).mean(-1)  # = E log(1 - sigmoid(s))
    if name == "nonsaturating":
        return F.softplus(-fake_scores).mean(-1)  # = -E log sigmoid(s)
    return -fake_scores.mean(-1)
