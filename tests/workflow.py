"""Run the workflow in a scratch copy with its own config, as a user's deployment would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ["Snakefile", "config.schema.yaml", "rules", "scripts", "envs", "profiles"]

# Small and quick, but big enough that the models learn something.
TINY_TRAIN = {
    "dim": 32,
    "epochs": 3,
    "window": 5,
    "negatives": 5,
    "skipgram": {},
    "side_info": {"price_buckets": 10},
    "mf": {"lr": 0.01, "l2": 1e-2},
    "mf_sequences": {},
    "gensim": {"sg": True, "lr": 0.025},
}


def tiny_config(datasets: dict, models: list[str], **extra) -> dict:
    base = yaml.safe_load((ROOT / "config.yaml").read_text())
    base.update(datasets=datasets, models=models, train=TINY_TRAIN)
    base["evaluate"] = {"k": 10, "ranking_sample": 500, "curve_pairs": 1000}
    base.update(extra)
    return base


def deploy(directory: Path, config: dict) -> Path:
    """Copy the workflow into ``directory`` with ``config`` as its config.yaml."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, directory / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, directory / name)
    # Share the repository's compiled-kernel cache. numba keys each entry by a hash of its
    # source file, so a copy reuses what an earlier run compiled instead of every job
    # compiling its kernels again (most of a tiny run's time), and a changed file misses.
    cache = ROOT / "scripts/prodembed/__pycache__"
    cache.mkdir(exist_ok=True)
    (directory / "scripts/prodembed/__pycache__").symlink_to(cache, target_is_directory=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return directory


def snakemake(directory: Path, *args: str, check: bool = True, timeout: int = 900):
    """Run Snakemake from this interpreter's environment; return the completed process."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        check=False,
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
        )
    return result
