"""Where code runs and how long it runs: device choice, seeding and quick mode.

Every lesson starts with ``device = gt.get_device()`` and ``gt.seed_everything(0)``.
Training budgets go through :func:`budget`, so that ``GAN_TUTOR_QUICK=1`` (used by the
test suite) shrinks every lesson to a smoke run while ``make book`` runs the full lesson.
``GAN_TUTOR_SEED_OFFSET=k`` adds k to every seed :func:`seed_everything` receives, so that a
lesson's checks can be rerun under other seeds without editing it (``make seeds``).
"""

from __future__ import annotations

import os
import random
from contextlib import contextmanager
from typing import Iterator, TypeVar

import numpy as np
import torch

__all__ = ["get_device", "seed_everything", "seed_offset", "quick_mode", "budget", "flush_denormals"]

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def get_device() -> torch.device:
    """Return the device lessons should compute on.

    Order: the ``GAN_TUTOR_DEVICE`` environment variable if set (e.g. ``cpu``, ``cuda``,
    ``cuda:1``, ``mps``), else CUDA when available, else Apple's MPS, else the CPU.

    Raises:
        ValueError: ``GAN_TUTOR_DEVICE`` names a device torch does not know, or one that is
            not available on this machine.
    """
    requested = os.environ.get("GAN_TUTOR_DEVICE", "").strip()
    if requested:
        try:
            dev = torch.device(requested)
        except RuntimeError as err:
            raise ValueError(
                f"GAN_TUTOR_DEVICE={requested!r} is not a torch device name; "
                "use 'cpu', 'cuda', 'cuda:0' or 'mps', or unset it to choose automatically."
            ) from err
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"GAN_TUTOR_DEVICE={requested!r} but CUDA is not available on this machine; "
                "unset GAN_TUTOR_DEVICE or set it to 'cpu'."
            )
        if dev.type == "mps" and not _mps_available():
            raise ValueError(
                f"GAN_TUTOR_DEVICE={requested!r} but MPS is not available on this machine; "
                "unset GAN_TUTOR_DEVICE or set it to 'cpu'."
            )
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_offset() -> int:
    """The shift ``GAN_TUTOR_SEED_OFFSET`` adds to every seed (0 when unset).

    ``make seeds`` runs the lessons with offsets 1 and 2: every ``seed_everything(k)`` then
    seeds with ``k + 1`` or ``k + 2``, and so does every training seed (``config.seed`` and
    ``train_seeds``), which go through :func:`seed_everything`.

    Raises:
        ValueError: the variable is not a non-negative integer.
    """
    raw = os.environ.get("GAN_TUTOR_SEED_OFFSET", "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise ValueError(f"GAN_TUTOR_SEED_OFFSET={raw!r} is not a non-negative integer; "
                         "use e.g. 1 to rerun every seed shifted by one, or unset it")
    return int(raw)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every GPU).

    The seed used is ``seed + seed_offset()``: ``GAN_TUTOR_SEED_OFFSET`` (unset: 0) shifts every
    seed of a lesson at once, to check that its claims do not depend on one seed.

    Args:
        seed: a non-negative integer below 2**32 (after the offset).
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    seed = int(seed) + seed_offset()
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must lie in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def quick_mode() -> bool:
    """True when ``GAN_TUTOR_QUICK`` is set to 1/true/yes/on (the test suite's setting).

    Raises:
        ValueError: the variable holds something that is neither true nor false.
    """
    raw = os.environ.get("GAN_TUTOR_QUICK", "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(
        f"GAN_TUTOR_QUICK={raw!r} is neither true nor false; use 1 for quick mode or 0 / unset "
        "for the full lessons."
    )


def budget(full: T, quick: T) -> T:
    """Pick a budget: ``quick`` in quick mode, ``full`` otherwise.

    Example: ``steps = gt.budget(full=3000, quick=200)``.
    """
    return quick if quick_mode() else full


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Inside this block the CPU rounds denormal floats (below about 1.2e-38) to zero.

    Adam's second-moment estimate of a weight whose gradient stays zero (a dead ReLU unit)
    shrinks by ``beta2`` every step and, after a few hundred steps with ``beta2 = 0.9``, turns
    denormal; the CPU computes with denormals many times more slowly, and a WGAN-GP step on
    the 25-Gaussian grid went from 6.1 to 9.5 ms over 6,000 steps. Flushing them changes no result that matters (they are 1e-38 of the
    largest values). The previous setting is restored on exit. On GPUs it has no effect.
    """
    was_flushing = denormals_flushed()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was_flushing)


def denormals_flushed() -> bool:
    """Whether the CPU currently rounds denormal floats to zero (``torch.set_flush_denormal``)."""
    return (torch.tensor([1e-30]) * 1e-10).item() == 0.0  # 1e-40 is denormal in float32
