"""The benchmark scripts still run: every one at the smoke scale, through run_all.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
from conftest import samples_missing

RUN_ALL = Path(__file__).resolve().parents[1] / "benchmarks" / "run_all.py"


def run_all(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RUN_ALL), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_every_benchmark_prints_its_table_at_the_smoke_scale(tmp_path):
    only = ["walks", "skipgram", "mf", "neighbours", "intervals"] + ["parser"] * (
        samples_missing() is None
    )
    proc = run_all("--scale", "smoke", "--only", ",".join(only), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.md" for n in only)
    for name in only:
        text = (tmp_path / f"{name}.md").read_text()
        assert text.startswith(f"$ {sys.executable} ") and f"bench_{name}.py" in text
        assert "|---|" in text and "[ok in " in text, text
    walks = (tmp_path / "walks.md").read_text()
    assert "| numpy reference, first-order |" in walks and "| numba node2vec p=1.0 q=0.5 |" in walks
    assert "| 0.5 | 2 | " in walks and "x (1)" in walks  # proposals and ratio per (p, q)
    neighbours = (tmp_path / "neighbours.md").read_text()
    assert "| torch brute force (old path) |" in neighbours and "(top_k_neighbours) |" in neighbours
    assert "(per-list step faiss.knn) |" in neighbours
    bootstrap = (tmp_path / "intervals.md").read_text()
    assert "| sklearn per resample |" in bootstrap and "| drawn positions, " in bootstrap


def test_unknown_benchmark_and_missing_gpu_are_refused(tmp_path):
    proc = run_all("--only", "walks,sorting", "--out", str(tmp_path))
    assert proc.returncode == 2 and "unknown benchmarks: sorting" in proc.stderr
    if not torch.cuda.is_available():
        proc = run_all("--gpu", "--out", str(tmp_path))
        assert proc.returncode == 2 and "--gpu needs a CUDA device" in proc.stderr
    assert not any(tmp_path.iterdir())


def test_a_failing_benchmark_is_reported_with_its_output(tmp_path, capsys):
    sys.path.insert(0, str(RUN_ALL.parent))
    try:
        from run_all import run
    finally:
        sys.path.remove(str(RUN_ALL.parent))
    crash = [sys.executable, "-c", "print('| half a table |'); raise SystemExit(3)"]
    assert run("broken", crash, tmp_path) is False
    text = (tmp_path / "broken.md").read_text()
    assert "| half a table |" in text and "[FAILED (exit 3) in " in text
    assert "[broken: FAILED (exit 3)" in capsys.readouterr().out
