"""Pick the torch device and thread count a training job may use.

A job uses CUDA only when Snakemake granted it a GPU (``resources.gpu``) *and* one is visible:
a host with a GPU but a job scheduled without one must not grab it, and a job granted a GPU on
a host without CUDA falls back to the CPU instead of failing.

Importing this module before torch also makes idle OpenMP threads sleep rather than spin
(``OMP_WAIT_POLICY=PASSIVE`` unless already set): when other jobs share the cores, spinning
threads make every parallel op wait for a descheduled peer -- one SGNS epoch on 2 busy cores
took 16.3 s with torch's default and 0.9 s with PASSIVE (the same as 1 thread). Rule scripts
import it first; the variable is read once, when torch loads its OpenMP runtime.
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

log = logging.getLogger(__name__)


def cpu_path(device: torch.device, chosen: bool | None, what: str) -> bool:
    """Whether to run a CPU-only implementation (``what`` names it in the error): by default
    exactly when on the CPU; ``chosen`` overrides that, but never onto another device."""
    if chosen and device.type != "cpu":
        raise ValueError(f"{what} run on the CPU, not on {device}")
    return device.type == "cpu" if chosen is None else chosen


def select_device(gpus_given: int) -> torch.device:
    """CUDA when the job was given a GPU and torch sees one, else CPU; logs the reason."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
    if gpus_given > 0 and torch.cuda.is_available():
        device = torch.device("cuda")
        log.info(
            "device cuda: %s (resources.gpu=%d, CUDA_VISIBLE_DEVICES=%s)",
            torch.cuda.get_device_name(device),
            gpus_given,
            visible,
        )
        return device
    reason = (
        "no GPU granted to the job (resources.gpu=0)"
        if gpus_given <= 0
        else f"resources.gpu={gpus_given} but torch sees no CUDA device "
        f"(CUDA_VISIBLE_DEVICES={visible}, torch {torch.__version__})"
    )
    log.info("device cpu: %s", reason)
    return torch.device("cpu")


def configure_threads(n: int) -> None:
    """Use the job's ``threads`` for torch's intra-op pool (torch defaults to every core)."""
    n = max(1, int(n))
    torch.set_num_threads(n)
    log.info("torch threads: %d", n)


def job_device(snakemake) -> torch.device:
    """Device and thread count for a Snakemake job, from its ``threads`` and ``resources.gpu``."""
    configure_threads(snakemake.threads)
    return select_device(int(getattr(snakemake.resources, "gpu", 0)))
