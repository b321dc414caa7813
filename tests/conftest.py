"""Shared fixtures: the library on sys.path, the shared real samples, the torch devices.

Tests of a torch path take the ``torch_device`` fixture and run once per device: on the CPU
everywhere and on CUDA where a GPU is present (skipped, and so visible, elsewhere). Their ids
end in ``[cpu]`` / ``[cuda]``, so ``pytest -k cuda`` checks a GPU machine's paths alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from devices import TORCH_DEVICES

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

SHARED_AMAZON = ROOT.parent / "shared" / "data" / "amazon"


@pytest.fixture(params=TORCH_DEVICES)
def torch_device(request) -> str:
    return request.param


@pytest.fixture
def shared_amazon() -> Path:
    """The shared real Amazon samples; tests that need them skip where they are absent."""
    if not SHARED_AMAZON.is_dir():
        pytest.skip(f"shared Amazon samples not found at {SHARED_AMAZON}")
    return SHARED_AMAZON
