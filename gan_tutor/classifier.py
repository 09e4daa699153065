"""A small digit classifier, trained on the course's MNIST digits, as a sample-quality metric.

Pixel-space W1 cannot rank MNIST generators (a blurry mean digit is close to every real digit in
pixels). A classifier can: :func:`digit_metrics` reports which classes a generator's samples are
recognised as (coverage and KL to uniform, for mode collapse) and how confidently (for quality).

* :class:`DigitClassifier`: two convolutions and two linear layers; logits ``(n, 10)``.
* :func:`train_digit_classifier`: a fixed recipe (AdamW with a one-cycle schedule, random shifts
  of up to 2 pixels, 8 epochs on 4,000 digits, and pixel-shuffled digits taught to give a flat
  softmax so that noise is not recognised as a digit); about 98% held-out accuracy on the offline
  digits, under 10 s on one CPU core.
* :func:`split_digits`: the held-out digits with their labels (the same digits as
  ``MNISTData.split(held_out, seed)`` holds out).
* :func:`digit_metrics` and :class:`DigitReport`.

Device contract (as in :mod:`gan_tutor.lipschitz`): the classifier decides device and dtype;
images are moved to it chunk by chunk, it is measured in evaluation mode and every submodule's
mode is restored. Results are Python numbers and CPU tensors.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import MNISTData, load_mnist
from .lipschitz import _measuring, _to_module
from .runtime import flush_denormals, get_device

__all__ = ["DigitClassifier", "DigitReport", "digit_metrics", "split_digits", "train_digit_classifier"]

N_CLASSES = 10
_CHUNK = 1000  # images per forward pass when measuring (bounds memory)
_CPU_THREADS = 1  # intra-op threads while training on a CPU (see train_digit_classifier)


class DigitClassifier(nn.Module):
    """A small CNN for 28x28 digits in ``[-1, 1]``: conv 5x5 (16) - pool - conv 5x5 (32) - pool -
    linear 64 - linear 10, with ReLUs; about 0.11 M parameters.

    ``forward`` takes ``(n, 1, 28, 28)`` images or flat ``(n, 784)`` vectors (what an MLP generator
    outputs) and returns logits ``(n, 10)`` on the module's device.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, N_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(_as_images(x, "x")))


def _as_images(x: torch.Tensor, name: str) -> torch.Tensor:
    """``x`` as ``(n, 1, 28, 28)``: flat ``(n, 784)`` rows are reshaped; other shapes raise ValueError."""
    if x.ndim == 2 and x.shape[1] == 28 * 28:
        return x.reshape(-1, 1, 28, 28)
    if x.ndim == 4 and tuple(x.shape[1:]) == (1, 28, 28):
        return x
    raise ValueError(f"{name} must have shape (n, 1, 28, 28) or (n, 784), got {tuple(x.shape)}; "
                     "reshape the generator's output to one of them")


def _check_int(value, name: str, low: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if int(value) < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _held_out_perm(data: MNISTData, held_out: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(held-out indices, training indices)`` (CPU) from one permutation drawn with ``generator``:
    the same draw as :meth:`MNISTData.split` makes from a generator seeded the same way."""
    if not isinstance(data, MNISTData):
        raise TypeError(f"data must be an MNISTData (from gt.load_mnist()), got {type(data).__name__}")
    held_out = _check_int(held_out, "held_out", 1)
    if held_out >= len(data):
        raise ValueError(f"held_out must be below the number of digits ({len(data)}), got {held_out}; "
                         "leave digits to train on")
    perm = torch.randperm(len(data), generator=generator)
    return perm[:held_out], perm[held_out:]


def split_digits(data: MNISTData, held_out: int = 1000, seed: int = 0) -> tuple[MNISTData, MNISTData]:
    """``(training digits, held-out digits)``, both with labels, split at random by ``seed``.

    The held-out digits are those :meth:`MNISTData.split` ``(held_out, seed)`` sets aside and those
    :func:`train_digit_classifier` ``(data, seed, held_out)`` measures its accuracy on. They stay on
    ``data``'s device.
    """
    held, kept = _held_out_perm(data, held_out, torch.Generator().manual_seed(seed))
    held, kept = held.to(data.images.device), kept.to(data.images.device)
    pick = lambda idx: MNISTData(data.images[idx], data.labels[idx], data.source, data.name)  # noqa: E731
    return pick(kept), pick(held)


def _random_shifts(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, max_shift: int) -> torch.Tensor:
    """``x`` ``(n, 1, 28, 28)`` with image ``i`` shifted by ``(dy[i] - max_shift, dx[i] - max_shift)``
    pixels; the uncovered border is background (-1). Same device as ``x``."""
    n = x.shape[0]
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    grid = torch.arange(28, device=x.device)
    rows = (dy[:, None] + grid)[:, :, None]
    cols = (dx[:, None] + grid)[:, None, :]
    return padded[torch.arange(n, device=x.device)[:, None, None], 0, rows, cols].unsqueeze(1)


@contextmanager
def _cpu_threads(device: torch.device, n: int) -> Iterator[None]:
    """At most ``n`` intra-op threads inside the block when ``device`` is the CPU; restored after."""
    old = torch.get_num_threads()
    if device.type == "cpu" and old > n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


@torch.no_grad()
def _logits(classifier: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Logits of ``images`` in chunks of :data:`_CHUNK`, in evaluation mode (mode restored); on the CPU."""
    with _measuring(classifier):
        return torch.cat([classifier(_to_module(images[i:i + _CHUNK], classifier, "images")).cpu()
                          for i in range(0, images.shape[0], _CHUNK)])


def train_digit_classifier(
    data: MNISTData | None = None,
    seed: int = 0,
    held_out: int = 1000,
    device=None,
    epochs: int = 8,
    max_train: int | None = 4000,
) -> tuple[DigitClassifier, float]:
    """Train a :class:`DigitClassifier` with the course's fixed recipe.

    Recipe: ``held_out`` random digits are set aside (see :func:`split_digits`); the classifier
    trains on at most ``max_train`` of the rest (the offline set leaves exactly 4,000; the full
    torchvision MNIST is subsampled to the same size so the time stays a few seconds) for
    ``epochs`` epochs of batches of 64, each image shifted at random by up to 2 pixels each way,
    with AdamW (weight decay 5e-4) under a one-cycle schedule peaking at 3e-3.

    Non-digits: a classifier trained on digits alone calls pixel noise a digit with 80-90%
    confidence, which would make confidence useless as a quality score. So each step also shows
    16 of the batch's digits with their pixels shuffled (one random permutation per step: a digit's
    ink without its shape) and adds ``0.5 *`` their cross-entropy to the uniform distribution to the
    loss (outlier exposure, Hendrycks et al., 2019). Uniform or Gaussian pixel noise, which it never
    sees, then gets a mean confidence of about 0.15-0.3, real digits about 0.98.

    Randomness: the split, the shuffling and the shifts come from a local generator seeded with
    ``seed``; the initial weights from ``torch.manual_seed(seed)`` inside ``torch.random.fork_rng``.
    The caller's global random streams are not consumed. On a CPU the training runs on one
    intra-op thread (restored afterwards): this small network gains little from more, threads
    competing with other processes for the cores slowed it more than tenfold (measured on 2 shared
    cores), and the result does not depend on the machine's core count. On a GPU, cuDNN may pick
    non-deterministic convolution algorithms, so weights can differ in the last bits between runs.

    Args:
        data: the digits (default ``gt.load_mnist()``).
        seed: selects the split, the batches, the shifts and the initial weights.
        held_out: digits set aside to measure the accuracy on.
        device: where to train and where the model stays (default ``gt.get_device()``).
        epochs: passes over the training digits (8 reach about 98% on the offline digits).
        max_train: cap on the training digits (``None``: all that are not held out).

    Returns:
        ``(classifier, accuracy)``: the classifier in evaluation mode on ``device``, and its accuracy on
        the held-out digits (a Python float in ``[0, 1]``).
    """
    data = load_mnist() if data is None else data
    seed = _check_int(seed, "seed", 0)
    epochs = _check_int(epochs, "epochs", 1)
    if max_train is not None:
        max_train = _check_int(max_train, "max_train", 1)
    device = get_device() if device is None else torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    held, kept = _held_out_perm(data, held_out, gen)
    if tuple(data.images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"data.images must have shape (N, 1, 28, 28), got {tuple(data.images.shape)}")
    kept = kept[:max_train]
    x_train = data.images[kept.to(data.images.device)].to(device, torch.float32)
    y_train = data.labels[kept.to(data.labels.device)].to(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier()
    model.to(device).train()
    batch, max_shift, n_junk, junk_weight, n = 64, 2, 16, 0.5, len(kept)
    steps_per_epoch = math.ceil(n / batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * steps_per_epoch)
    with _cpu_threads(device, _CPU_THREADS), flush_denormals():
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen).to(device)
            shifts = torch.randint(0, 2 * max_shift + 1, (2, n), generator=gen).to(device)
            for i in range(0, n, batch):
                idx = order[i:i + batch]
                x = _random_shifts(x_train[idx], shifts[0, i:i + batch], shifts[1, i:i + batch], max_shift)
                pixels = torch.randperm(28 * 28, generator=gen).to(device)
                junk = x[:n_junk].flatten(1)[:, pixels].reshape(-1, 1, 28, 28)
                to_uniform = -F.log_softmax(model(junk), dim=1).mean()
                loss = F.cross_entropy(model(x), y_train[idx]) + junk_weight * to_uniform
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
        model.eval()
        predicted = _logits(model, data.images[held.to(data.images.device)]).argmax(dim=1)
    accuracy = float((predicted == data.labels[held.to(data.labels.device)].cpu()).double().mean())
    return model, accuracy


@dataclass
class DigitReport:
    """What a digit classifier sees in a batch of images (see :func:`digit_metrics`).

    Attributes:
        n: number of images.
        counts: ``(10,)`` int64 CPU tensor, images predicted as each class (argmax, whatever the
            confidence).
        confident_counts: ``(10,)`` int64 CPU tensor, images predicted as each class with maximum
            softmax probability ``>= threshold``.
        coverage: classes covered (0 to 10): a class is covered when at least ``min_share`` of the
            images (1% by default) are confidently predicted as it.
        kl_to_uniform: KL(``counts / n`` || uniform over 10 classes) in nats: 0 for a perfectly
            balanced batch, ``log 10 = 2.303`` when every image is predicted as one class.
        confidence: mean maximum softmax probability (at least 0.1); low for blurry or noise images.
    """

    n: int
    counts: torch.Tensor
    confident_counts: torch.Tensor
    coverage: int
    kl_to_uniform: float
    confidence: float

    def __str__(self) -> str:
        return (f"{self.coverage}/10 classes covered, KL to uniform {self.kl_to_uniform:.3f} nats, "
                f"mean confidence {self.confidence:.3f} ({self.n:,} images)")


def digit_metrics(classifier: nn.Module, images: torch.Tensor, threshold: float = 0.5,
                  min_share: float = 0.01) -> DigitReport:
    """Class coverage, KL to uniform and confidence of ``images`` as seen by ``classifier``.

    Rules: every image gets its argmax class; ``counts`` is the histogram of those classes and
    ``kl_to_uniform`` its KL divergence to the uniform distribution (natural log). An image is
    *confident* when its maximum softmax probability is ``>= threshold``; a class is *covered* when
    at least ``min_share`` of the images (and at least one) are confidently predicted as it. The
    share rule keeps a stray sample or two that happen to look like a digit from counting as a
    mode the generator has learnt (with 1,000 samples, a class needs 10 confident ones).

    ``images`` ``(n, 1, 28, 28)`` or ``(n, 784)`` in ``[-1, 1]``, on any device: chunks of 1,000 are
    moved to the classifier's device and dtype; the classifier runs in evaluation mode without
    gradients and every submodule's mode is restored. The report holds Python numbers and CPU
    tensors.

    Raises:
        TypeError: ``images`` is not a tensor.
        ValueError: ``images`` is empty, has another shape or holds NaN/inf; ``threshold`` or
            ``min_share`` lies outside ``[0, 1]``; the classifier does not return ``(n, 10)`` logits.
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}; "
                        "wrap it with torch.as_tensor")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1] (a softmax probability; 0.5 by default), "
                         f"got {threshold}")
    if not 0.0 <= min_share <= 1.0:
        raise ValueError(f"min_share must lie in [0, 1] (a share of the images; 0.01 by default), "
                         f"got {min_share}")
    images = _as_images(images.detach(), "images")
    n = int(images.shape[0])
    if n == 0:
        raise ValueError("images is empty (0 images); the metrics need at least one "
                         "(1,000 or more for coverage)")
    if not bool(torch.isfinite(images).all()):
        raise ValueError("images contain NaN or inf; the generator diverged")
    logits = _logits(classifier, images)
    if tuple(logits.shape) != (n, N_CLASSES):
        raise ValueError(f"the classifier must return logits of shape ({n}, 10), got {tuple(logits.shape)}")
    if not bool(torch.isfinite(logits).all()):
        raise ValueError("the classifier's logits are NaN or inf (its inputs are finite); check its weights")
    prob, pred = logits.double().softmax(dim=1).max(dim=1)
    counts = torch.bincount(pred, minlength=N_CLASSES)
    confident_counts = torch.bincount(pred[prob >= threshold], minlength=N_CLASSES)
    covered = (confident_counts >= min_share * n) & (confident_counts > 0)
    p = counts.double() / n
    kl = float((p[p > 0] * (p[p > 0] * N_CLASSES).log()).sum())
    return DigitReport(n=n, counts=counts, confident_counts=confident_counts, coverage=int(covered.sum()),
                       kl_to_uniform=kl, confidence=float(prob.mean()))
