"""Shared fixtures: the optional real samples, the torch devices.

The library `prodembed` is imported as installed (`pip install -e .`, part of
requirements.txt).

Tests of a torch path take the ``torch_device`` fixture and run once per device: on the CPU
everywhere and on CUDA where a GPU is present (skipped, and so visible, elsewhere). Their ids
end in ``[cpu]`` / ``[cuda]``, so ``pytest -k cuda`` checks a GPU machine's paths alone.

Some tests read small real excerpts of the Amazon dumps, which are not part of the repository.
They take the ``amazon_samples`` fixture and skip, saying why, unless the samples' folder is
named by ``--samples=DIR`` or the ``PRODEMBED_SAMPLES`` environment variable (a relative path
in the variable is taken from the repository root). ``--samples`` sets the variable for this
run, so subprocesses the tests start (benchmarks, workflow runs) see the same folder. Write
it with ``=`` when no test path follows: the option is defined here, not at the root, and
pytest takes a separate ``DIR`` for a test path before this file is loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from devices import TORCH_DEVICES

ROOT = Path(__file__).resolve().parents[1]

SAMPLES_VAR = "PRODEMBED_SAMPLES"


def pytest_addoption(parser):
    parser.addoption(
        "--samples",
        metavar="DIR",
        help=f"folder of the real Amazon samples (default: ${SAMPLES_VAR}; tests skip without)",
    )


def pytest_configure(config):
    samples = config.getoption("--samples")
    if samples:
        os.environ[SAMPLES_VAR] = str(Path(samples).expanduser().resolve())


def samples_dir() -> Path | None:
    """The configured samples folder, whether or not it exists; None where none is named."""
    value = os.environ.get(SAMPLES_VAR, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else (ROOT / path).resolve()


def samples_missing(name: str = "") -> str | None:
    """Why the samples (or the sample file ``name``) cannot be used; None when they can."""
    folder = samples_dir()
    if folder is None:
        return (
            f"real Amazon samples not configured: set {SAMPLES_VAR}=DIR or pass --samples=DIR "
            "(the folder holding meta_Digital_Music_2014_sample.json.gz and the others)"
        )
    if not folder.is_dir():
        return f"real Amazon samples not found: {SAMPLES_VAR} names {folder}, not a folder"
    if name and not (folder / name).is_file():
        return f"real Amazon sample {name} not found in {folder}"
    return None


def amazon_sample(name: str) -> Path:
    """One sample file; skips the calling test where it is unavailable."""
    reason = samples_missing(name)
    if reason:
        pytest.skip(reason)
    return samples_dir() / name


@pytest.fixture(params=TORCH_DEVICES)
def torch_device(request) -> str:
    return request.param


@pytest.fixture
def amazon_samples() -> Path:
    """The folder of real Amazon samples; the test skips where it is not configured."""
    reason = samples_missing()
    if reason:
        pytest.skip(reason)
    return samples_dir()


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a module of tiny batches (``pytest.mark.usefixtures``): they gain
    nothing from threads, and spinning threads stall a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
