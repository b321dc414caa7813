"""The torch devices a test of a torch path runs on: the CPU always, CUDA where present."""

import pytest
import torch

NEEDS_CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
TORCH_DEVICES = ["cpu", pytest.param("cuda", marks=NEEDS_CUDA)]


def on_devices(names):
    """Parametrize ids, marking those that name a CUDA path as needing a GPU."""
    return [pytest.param(x, marks=NEEDS_CUDA) if "cuda" in x else x for x in names]
