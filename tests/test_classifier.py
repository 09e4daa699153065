"""The digit classifier (gan_tutor.classifier): accuracy, determinism, and the metrics' rules.

One full training run (seed 0, on the CPU) is shared by the module; the rules of
``digit_metrics`` are checked against a stand-in classifier whose probabilities are known exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import gan_tutor as gt
from gan_tutor.classifier import DigitClassifier, digit_metrics, split_digits, train_digit_classifier

LOG10 = math.log(10)


@pytest.fixture(scope="module")
def digits() -> gt.MNISTData:
    return gt.load_mnist()


@pytest.fixture(scope="module")
def trained(digits):
    """``(classifier, accuracy, training digits, held-out digits)`` for seed 0."""
    model, acc = train_digit_classifier(digits, seed=0, device="cpu")
    train, held = split_digits(digits, 1000, seed=0)
    return model, acc, train, held


class KnownProbs(nn.Module):
    """A stand-in classifier with exact probabilities: pixel (0, 0) holds the class c as c / 10 and
    pixel (0, 1) a logit margin s; the logits are s for class c and 0 elsewhere, so the maximum
    softmax probability is e^s / (e^s + 9). Records the batch sizes and modes it was called in."""

    def __init__(self, dtype=torch.float32) -> None:
        super().__init__()
        self.unit = nn.Parameter(torch.ones((), dtype=dtype))
        self.calls: list[tuple[int, bool, torch.dtype]] = []

    def forward(self, x):
        self.calls.append((x.shape[0], self.training, x.dtype))
        x = x.reshape(-1, 784)
        cls = (x[:, 0] * 10).round().long()
        return nn.functional.one_hot(cls, 10).to(x.dtype) * x[:, 1:2] * self.unit


def known_images(classes, margins) -> torch.Tensor:
    """Images that :class:`KnownProbs` assigns to ``classes`` with logit ``margins``."""
    x = torch.zeros(len(classes), 1, 28, 28)
    x[:, 0, 0, 0] = torch.as_tensor(classes, dtype=torch.float32) / 10
    x[:, 0, 0, 1] = torch.as_tensor(margins, dtype=torch.float32)
    return x


def p_max(margin: float) -> float:
    return math.exp(margin) / (math.exp(margin) + 9)


# --- the trained classifier -------------------------------------------------------------------------


def test_held_out_accuracy_seed0(trained):
    model, acc, _, held = trained
    assert isinstance(model, DigitClassifier) and not model.training
    assert next(model.parameters()).device.type == "cpu"
    with torch.no_grad():
        recomputed = float((model(held.images).argmax(1) == held.labels).double().mean())
    assert acc == pytest.approx(recomputed, abs=1e-12)
    assert acc >= 0.96


def test_split_matches_mnist_split_and_is_disjoint(digits):
    train, held = split_digits(digits, 1000, seed=0)
    assert len(train) == len(digits) - 1000 and len(held) == 1000
    assert torch.equal(held.images, digits.split(1000, seed=0)[1])
    ids = lambda d: {bytes(img.numpy().tobytes()) for img in d.images}  # noqa: E731
    assert not ids(train) & ids(held)
    assert sorted(train.labels.tolist() + held.labels.tolist()) == sorted(digits.labels.tolist())


def test_real_digits_cover_every_class(trained):
    model, _, _, held = trained
    r = digit_metrics(model, held.images)
    assert r.n == 1000 and int(r.counts.sum()) == 1000
    assert r.coverage == 10
    assert r.kl_to_uniform < 0.02
    by_gt = gt.kl(r.counts.double().numpy() / 1000, np.full(10, 0.1))
    assert r.kl_to_uniform == pytest.approx(by_gt, abs=1e-12)
    assert r.confidence > 0.9


def test_flat_vectors_give_the_same_report(trained):
    model, _, _, held = trained
    a, b = digit_metrics(model, held.images[:300]), digit_metrics(model, held.images[:300].reshape(300, 784))
    assert torch.equal(a.counts, b.counts) and a.confidence == pytest.approx(b.confidence, abs=1e-9)
    with torch.no_grad():
        assert torch.allclose(model(held.images[:5]), model(held.images[:5].flatten(1)))
    with pytest.raises(ValueError, match="784"):
        model(torch.zeros(2, 28, 28))


def test_mean_digit_blob_is_one_class(trained):
    model, _, train, _ = trained
    blob = train.images.mean(0, keepdim=True).expand(1000, -1, -1, -1)
    r = digit_metrics(model, blob)
    assert r.coverage <= 2
    assert int((r.counts > 0).sum()) == 1  # identical images: one predicted class, exactly
    assert r.kl_to_uniform == pytest.approx(LOG10, abs=1e-12)
    assert r.kl_to_uniform > 1.5


def test_noise_gets_low_confidence(trained):
    model, _, _, held = trained
    noise = torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(5)) * 2 - 1
    real, fake = digit_metrics(model, held.images), digit_metrics(model, noise)
    assert fake.confidence < real.confidence - 0.5  # measured 0.15-0.22 vs 0.98 for seeds 0-2


def test_classes_0_to_4(trained):
    model, _, _, held = trained
    low = held.images[held.labels < 5]
    r = digit_metrics(model, low)
    assert r.coverage == 5
    assert int(r.counts[5:].sum()) <= 0.03 * r.n
    # log 2 for a perfect classifier on balanced classes; the ~2% of digits mistaken for one of the
    # five absent classes add about 0.05 nats of entropy (measured 0.62-0.67 for seeds 0-2).
    assert r.kl_to_uniform == pytest.approx(math.log(2), abs=0.1)


def test_kl_is_log2_exactly_on_five_balanced_recognised_classes(trained):
    model, _, _, held = trained
    with torch.no_grad():
        pred = model(held.images).argmax(1)
    picked = torch.cat([torch.nonzero((held.labels == c) & (pred == c)).flatten()[:60] for c in range(5)])
    r = digit_metrics(model, held.images[picked])
    assert r.kl_to_uniform == pytest.approx(math.log(2), abs=1e-12)


# --- training: determinism, randomness, validation ---------------------------------------------------


def test_training_is_deterministic_and_leaves_global_state_alone(digits):
    torch.manual_seed(123)
    rng, threads = torch.get_rng_state(), torch.get_num_threads()
    kw = dict(data=digits, held_out=500, device="cpu", epochs=1, max_train=256)
    a, acc_a = train_digit_classifier(seed=3, **kw)
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.get_num_threads() == threads
    b, acc_b = train_digit_classifier(seed=3, **kw)
    c, _ = train_digit_classifier(seed=4, **kw)
    assert acc_a == acc_b
    for (name, pa), pb, pc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.state_dict()["head.3.weight"], c.state_dict()["head.3.weight"])


@pytest.mark.parametrize("kw, err", [
    (dict(held_out=5000), ValueError),
    (dict(held_out=0), ValueError),
    (dict(epochs=0), ValueError),
    (dict(seed=-1), ValueError),
    (dict(seed=1.5), TypeError),
    (dict(max_train=0), ValueError),
])
def test_training_rejects_bad_arguments(digits, kw, err):
    with pytest.raises(err, match=next(iter(kw))):
        train_digit_classifier(digits, device="cpu", **kw)


def test_training_rejects_non_mnist_data():
    with pytest.raises(TypeError, match="MNISTData"):
        train_digit_classifier(torch.zeros(10, 1, 28, 28), device="cpu")


# --- digit_metrics' rules, on a classifier with known probabilities ---------------------------------


def test_confidence_and_counts_are_exact():
    clf = KnownProbs()
    r = digit_metrics(clf, known_images([0, 0, 3, 7], [2.0, 2.0, 0.5, 5.0]))
    assert r.counts.tolist() == [2, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    assert r.counts.device.type == "cpu" and r.counts.dtype == torch.int64
    expected = (2 * p_max(2.0) + p_max(0.5) + p_max(5.0)) / 4
    assert r.confidence == pytest.approx(expected, abs=1e-6)
    p = np.array([0.5, 0, 0, 0.25, 0, 0, 0, 0.25, 0, 0])
    assert r.kl_to_uniform == pytest.approx(float(np.sum(p[p > 0] * np.log(p[p > 0] * 10))), abs=1e-12)


def test_threshold_decides_what_is_confident():
    clf = KnownProbs()
    margin = 3.0  # p_max = 0.69
    x = known_images([1] * 100, [margin] * 100)
    assert digit_metrics(clf, x, threshold=p_max(margin) - 1e-4).coverage == 1
    r = digit_metrics(clf, x, threshold=p_max(margin) + 1e-4)
    assert r.coverage == 0 and int(r.confident_counts.sum()) == 0 and r.counts[1] == 100


def test_a_class_needs_one_percent_of_the_samples():
    clf = KnownProbs()
    at = digit_metrics(clf, known_images([0] * 990 + [1] * 10, [5.0] * 1000))
    below = digit_metrics(clf, known_images([0] * 991 + [1] * 9, [5.0] * 1000))
    assert at.coverage == 2 and below.coverage == 1
    unsure = digit_metrics(clf, known_images([0] * 900 + [1] * 100, [5.0] * 900 + [0.5] * 100))
    assert unsure.coverage == 1 and unsure.counts[1] == 100  # predicted, but not confidently
    assert digit_metrics(clf, known_images([2], [5.0])).coverage == 1
    assert digit_metrics(clf, known_images([0] * 999 + [1], [5.0] * 1000), min_share=0.0).coverage == 2


def test_measures_in_eval_mode_in_chunks_and_restores_mode():
    clf = KnownProbs(dtype=torch.float64).train()
    r = digit_metrics(clf, known_images([4] * 2500, [5.0] * 2500))
    assert r.n == 2500 and r.counts[4] == 2500
    assert [n for n, _, _ in clf.calls] == [1000, 1000, 500]
    assert all(not training and dtype == torch.float64 for _, training, dtype in clf.calls)
    assert clf.training


@pytest.mark.parametrize("images, match", [
    (torch.zeros(0, 1, 28, 28), r"empty \(0 images\)"),
    (torch.zeros(4, 28, 28), "shape"),
    (torch.zeros(4, 1, 32, 32), "shape"),
    (torch.zeros(4, 3, 28, 28), "shape"),
    (torch.full((4, 784), float("nan")), "NaN"),
    (torch.full((4, 1, 28, 28), float("inf")), "NaN"),
])
def test_bad_images_raise(images, match):
    with pytest.raises(ValueError, match=match):
        digit_metrics(KnownProbs(), images)


def test_bad_arguments_raise():
    x = known_images([0], [1.0])
    with pytest.raises(TypeError, match="tensor"):
        digit_metrics(KnownProbs(), x.numpy())
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="threshold"):
            digit_metrics(KnownProbs(), x, threshold=bad)
    with pytest.raises(ValueError, match="min_share"):
        digit_metrics(KnownProbs(), x, min_share=2.0)
    with pytest.raises(ValueError, match="logits of shape"):
        digit_metrics(nn.Flatten(), x)
