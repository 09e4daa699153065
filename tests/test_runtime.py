import random

import numpy as np
import pytest
import torch

import gan_tutor as gt


def test_get_device_default_is_cpu_without_accelerators(monkeypatch):
    monkeypatch.delenv("GAN_TUTOR_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert gt.get_device() == torch.device("cpu")


def test_get_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.delenv("GAN_TUTOR_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gt.get_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert gt.get_device() == torch.device("mps")


def test_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv("GAN_TUTOR_DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gt.get_device() == torch.device("cpu")


def test_bad_device_variable_explains(monkeypatch):
    monkeypatch.setenv("GAN_TUTOR_DEVICE", "gpu-please")
    with pytest.raises(ValueError, match="not a torch device name"):
        gt.get_device()
    monkeypatch.setenv("GAN_TUTOR_DEVICE", "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        gt.get_device()


def test_seed_everything_repeats_python_numpy_torch():
    gt.seed_everything(123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    gt.seed_everything(123)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b
    gt.seed_everything(124)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) != a


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises((TypeError, ValueError)):
        gt.seed_everything(bad)


def test_seed_offset_shifts_every_seed(monkeypatch):
    gt.seed_everything(5)
    shifted_by_hand = torch.rand(3)
    monkeypatch.setenv("GAN_TUTOR_SEED_OFFSET", "2")
    assert gt.seed_offset() == 2
    gt.seed_everything(3)
    assert torch.equal(torch.rand(3), shifted_by_hand)
    monkeypatch.delenv("GAN_TUTOR_SEED_OFFSET")
    gt.seed_everything(3)
    assert not torch.equal(torch.rand(3), shifted_by_hand)


@pytest.mark.parametrize("bad", ["-1", "1.5", "one"])
def test_seed_offset_rejects_bad_values(monkeypatch, bad):
    monkeypatch.setenv("GAN_TUTOR_SEED_OFFSET", bad)
    with pytest.raises(ValueError, match="GAN_TUTOR_SEED_OFFSET"):
        gt.seed_everything(0)


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False), ("off", False)])
def test_quick_mode_reads_variable(monkeypatch, value, expected):
    monkeypatch.setenv("GAN_TUTOR_QUICK", value)
    assert gt.quick_mode() is expected
    assert gt.budget(full=100, quick=5) == (5 if expected else 100)


def test_quick_mode_unset_is_full(monkeypatch):
    monkeypatch.delenv("GAN_TUTOR_QUICK", raising=False)
    assert gt.quick_mode() is False
    assert gt.budget(full="full", quick="quick") == "full"


def test_quick_mode_rejects_garbage(monkeypatch):
    monkeypatch.setenv("GAN_TUTOR_QUICK", "maybe")
    with pytest.raises(ValueError, match="GAN_TUTOR_QUICK"):
        gt.quick_mode()


def test_flush_denormals_flushes_inside_and_restores_outside():
    from gan_tutor.runtime import denormals_flushed

    assert (torch.tensor([1e-30]) * 1e-10).item() != 0.0  # torch's default keeps 1e-40 (denormal)
    assert not denormals_flushed()
    with gt.flush_denormals():
        assert denormals_flushed()
    assert not denormals_flushed()
    torch.set_flush_denormal(True)
    try:
        with gt.flush_denormals():
            pass
        assert denormals_flushed()  # a caller's own setting is kept
    finally:
        torch.set_flush_denormal(False)
