"""Shared pytest settings: tests see the package in quick mode unless they set it themselves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _deterministic_cpu(monkeypatch):
    """Unit tests run on the CPU with a fixed seed, whatever the machine has."""
    monkeypatch.setenv("GAN_TUTOR_DEVICE", "cpu")
    torch.manual_seed(0)
    yield


@pytest.fixture
def root() -> Path:
    return ROOT


def pytest_collection_modifyitems(config, items):
    # Give notebook items a readable id in the summary; nothing else to change.
    os.environ.setdefault("MPLBACKEND", "Agg")
