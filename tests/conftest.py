"""Shared fixtures: the library on sys.path, the shared real samples, tiny workflow copies."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

SHARED_AMAZON = ROOT.parent / "shared" / "data" / "amazon"


@pytest.fixture
def shared_amazon() -> Path:
    """The shared real Amazon samples; tests that need them skip where they are absent."""
    if not SHARED_AMAZON.is_dir():
        pytest.skip(f"shared Amazon samples not found at {SHARED_AMAZON}")
    return SHARED_AMAZON
