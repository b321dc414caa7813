"""Run every benchmark at one scale and keep each table beside the command that made it.

    python benchmarks/run_all.py [--scale smoke|default|electronics|books] [--gpu]
                                 [--only walks,skipgram,mf,parser,neighbours,intervals] [--out DIR]
                                 [--deadline SECONDS]

Scales: ``smoke`` (seconds each: checks the scripts still run), ``default`` (each script's own
defaults, the sizes of benchmarks/RESULTS.md's main tables), ``electronics`` (the study's
Electronics graph: ~420k products, ~3.8M edges, 10 walks of length 10 per node, one
skip-gram epoch) and ``books`` (~1.95M products, ~26.6M edges). ``--gpu`` keeps the methods a
GPU machine is lent for: the CUDA paths and the all-cores CPU alternative each is compared
with (gensim skip-gram, numba walks), leaving out the single-core and per-pair baselines whose
numbers are already recorded, the parser and the neighbours (faiss-cpu: no GPU path); without
a GPU it is refused.

Each benchmark runs as its own process (its own peak RSS, no shared warm state), prints its
table as it goes and writes it to ``DIR/<name>.md`` (default ``benchmarks/out/<scale>``); a
benchmark that fails is reported and the rest still run; the exit status says if any failed.
``--deadline`` skips the benchmarks not yet started once that many seconds have passed.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ORDER = ["walks", "skipgram", "mf", "parser", "neighbours", "intervals"]

ELECTRONICS = ["--nodes", "420000", "--avg-degree", "18"]
BOOKS = ["--nodes", "1950000", "--avg-degree", "27"]
SCALES = {
    "smoke": {
        "walks": ["--nodes", "2000", "--avg-degree", "6", "--walks-per-node", "2", "--length", "8",
                  "--pq", "0.5:2,1:0.5"],
        "skipgram": ["--nodes", "600", "--groups", "20", "--walks-per-node", "2", "--epochs", "1",
                     "--dim", "16"],
        "mf": ["--nodes", "600", "--groups", "20", "--epochs", "1", "--dim", "16", "--subset",
               "200"],
        "parser": ["--lines", "400", "--repeat", "1"],
        "neighbours": ["--nodes", "3000", "--dim", "16", "--groups", "60", "--sample", "300",
                       "--faiss-knn"],
        "intervals": ["--pairs", "20000", "--baseline-resamples", "2"],
    },
    "default": {name: [] for name in ORDER},
    "electronics": {
        "walks": [*ELECTRONICS, "--walks-per-node", "10", "--length", "10"],
        "skipgram": [*ELECTRONICS, "--groups", "2000", "--walks-per-node", "10", "--length", "10",
                     "--epochs", "1"],
        "mf": [*ELECTRONICS, "--groups", "2000", "--epochs", "3"],
        "parser": ["--lines", "500000", "--repeat", "1"],
        "neighbours": ["--nodes", "454081", "--faiss-knn"],
        "intervals": [],
    },
    "books": {
        "walks": [*BOOKS, "--walks-per-node", "10", "--length", "10"],
        "skipgram": [*BOOKS, "--groups", "5000", "--walks-per-node", "10", "--length", "10",
                     "--epochs", "1"],
        "mf": [*BOOKS, "--groups", "5000", "--epochs", "1"],
        "parser": ["--lines", "2370000", "--repeat", "1"],
        "neighbours": ["--nodes", "1950000", "--groups", "5000", "--sample", "500"],
        "intervals": ["--pairs", "21920000", "--baseline-resamples", "2"],
    },
}  # fmt: skip
GPU_ONLY = {  # the parser has no GPU path, and its sample stays behind on a lent machine
    "walks": ["--methods", "numba,node2vec,torch-cuda,torch-n2v-cuda"],
    "skipgram": ["--methods", "engine-cuda,ours-cuda,gensim-sample0"],
    "mf": ["--devices", "cuda", "--subset", "2000"],
}


def commands(scale: str, gpu: bool, only: list[str]) -> dict[str, list[str]]:
    """The command line of each chosen benchmark at ``scale``."""
    out = {}
    for name in only:
        args = SCALES[scale][name] + (GPU_ONLY[name] if gpu else [])
        out[name] = [sys.executable, str(HERE / f"bench_{name}.py"), *args]
    return out


def run(name: str, command: list[str], out_dir: Path) -> bool:
    """Run one benchmark, echoing its output and writing it with its command line."""
    print(f"\n## {name}\n\n$ {shlex.join(command)}\n", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    ok = proc.wait() == 0
    seconds = time.perf_counter() - started
    status = "ok" if ok else f"FAILED (exit {proc.returncode})"
    print(f"\n[{name}: {status} in {seconds:.0f} s]", flush=True)
    body = "".join(lines)
    (out_dir / f"{name}.md").write_text(
        f"$ {shlex.join(command)}\n\n{body}\n[{status} in {seconds:.0f} s]\n"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="default")
    parser.add_argument("--gpu", action="store_true", help="the CUDA paths and their rivals")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(ORDER)}")
    parser.add_argument("--out", type=Path, help="default benchmarks/out/<scale>")
    parser.add_argument("--deadline", type=float, help="start nothing after this many seconds")
    args = parser.parse_args()
    known = list(GPU_ONLY) if args.gpu else ORDER
    only = args.only.split(",") if args.only else known
    if unknown := sorted(set(only) - set(known)):
        parser.error(f"unknown benchmarks: {', '.join(unknown)}; expected some of {known}")
    if args.gpu and not torch.cuda.is_available():
        parser.error("--gpu needs a CUDA device, and none is available")
    out_dir = args.out or HERE / "out" / (args.scale + ("-gpu" if args.gpu else ""))
    out_dir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    failed, skipped = [], []
    for name, command in commands(args.scale, args.gpu, only).items():
        if args.deadline is not None and time.perf_counter() - started > args.deadline:
            skipped.append(name)
            continue
        if not run(name, command, out_dir):
            failed.append(name)
    print(f"\ntables in {out_dir}; failed: {failed or 'none'}; skipped (deadline): "
          f"{skipped or 'none'}")  # fmt: skip
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
