"""2014 dump parsing throughput: ast.literal_eval against the numba/orjson translator.

    python benchmarks/bench_parser.py [--lines N] [--threads T] [--repeat R]

Replicates the Digital Music sample (real 2014 lines, ~1.5 KB each) to N lines, giving
each copy its own asins so that nothing is merged away, and times (a) ``ast.literal_eval`` per
line, (b) ``parse_literal_lines`` on one core (and its numba translation step alone), and (c)
``read_products`` with one and with T workers on a gzip of the same lines (decompression,
normalisation, Arrow conversion and the pool start included; the start alone is reported too).
Numba is warmed first and its first-call time (compile, or cache load) reported apart. Best of
R runs; (a) and (b) take turns on slices of the lines. CPU seconds (this
process plus the pool's workers) give the per-core comparison, which holds on a busy machine
where wall times do not.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import gzip
import os
import platform
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from prodembed.parse import read_products
from prodembed.pyliteral import _HEX, parse_literal_lines, translate

# The real sample is not part of the repository: PRODEMBED_SAMPLES names its folder (as for
# the tests; a relative path is taken from the repository root).
SAMPLE = (
    Path(__file__).resolve().parents[1]
    / os.environ.get("PRODEMBED_SAMPLES", "PRODEMBED_SAMPLES-is-unset")
    / "meta_Digital_Music_2014_sample.json.gz"
)
_ASIN = re.compile(rb"'asin': '")
SLICE = 5_000


def replicated_lines(n: int) -> list[bytes]:
    with gzip.open(SAMPLE, "rb") as fh:
        base = [line.rstrip(b"\n") for line in fh if line.strip()]
    return [
        _ASIN.sub(b"'asin': 'r%d-" % (i // len(base)), base[i % len(base)], count=1)
        for i in range(n)
    ]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def best(fn, repeat: int) -> tuple[float, float]:
    """Fastest (wall, CPU) seconds of ``repeat`` runs."""
    runs = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), cpu_seconds()
        fn()
        runs.append((time.perf_counter() - wall, cpu_seconds() - cpu))
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not SAMPLE.is_file():
        sys.exit(f"sample not found: {SAMPLE} (set PRODEMBED_SAMPLES to the samples' folder)")

    lines = replicated_lines(args.lines)
    n = len(lines)
    megabytes = sum(map(len, lines)) / 1e6

    start = time.perf_counter()
    parse_literal_lines(lines[:2])
    warm = time.perf_counter() - start
    cached = bool(translate.stats.cache_hits)

    # In-memory methods take turns slice by slice, so a busy machine slows them alike.
    totals = {"ast": np.zeros(2), "fast": np.zeros(2), "translate": np.zeros(2)}
    for first in range(0, n, SLICE):
        part = lines[first : first + SLICE]
        lengths = np.array([len(line) for line in part])
        ends = np.cumsum(lengths)
        src = np.frombuffer(b"".join(part), np.uint8)
        totals["ast"] += best(
            lambda p=part: [ast.literal_eval(x.decode("utf-8")) for x in p], args.repeat
        )
        totals["translate"] += best(
            lambda s=src, e=ends, k=lengths: translate(s, e - k, e, _HEX), args.repeat
        )
        totals["fast"] += best(lambda p=part: parse_literal_lines(p), args.repeat)
    t_ast = tuple(totals["ast"])
    rows = [
        ("ast.literal_eval, per line", t_ast),
        ("parse_literal_lines, 1 core", tuple(totals["fast"])),
        ("  of which numba translation to JSON", tuple(totals["translate"])),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "dump.json.gz"
        dump.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", compresslevel=6))
        for threads in sorted({1, args.threads}):
            timing = best(
                lambda t=threads: read_products(dump, threads=t, chunk_lines=5_000), args.repeat
            )
            rows.append((f"read_products, gzip, threads={threads}", timing))
        if args.threads > 1:  # the fixed cost of a pool: 2T+1 one-line chunks force one
            tiny = Path(tmp) / "tiny.json"
            tiny.write_bytes(b"\n".join(lines[: 2 * args.threads + 1]) + b"\n")
            startup = best(lambda: read_products(tiny, threads=args.threads, chunk_lines=1), 1)

    print(f"## Parser ({datetime.date.today().isoformat()})\n")
    print(
        f"Machine: {cpu_model()}, {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}); "
        f"Python {platform.python_version()}, numba {numba.__version__}. "
        f"{n:,} lines of the Digital Music 2014 sample ({megabytes:.1f} MB), best of "
        f"{args.repeat}, the in-memory methods taking turns per {SLICE:,} lines. "
        f"Numba first call {warm:.2f} s "
        f"({'cache load' if cached else 'compile'}). CPU time counts the pool's workers; "
        f"load average at the end: {os.getloadavg()[0]:.1f}.\n"
    )
    print(
        "| method | wall s | CPU s | records/s | records per CPU-s | speedup per core "
        "(CPU) | speedup (wall) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (wall, cpu) in rows:
        print(
            f"| {name} | {wall:.3f} | {cpu:.3f} | {n / wall:,.0f} | {n / cpu:,.0f} "
            f"| {t_ast[1] / cpu:.1f}x | {t_ast[0] / wall:.1f}x |"
        )
    if args.threads > 1:
        print(
            f"\nStarting a pool of {args.threads} spawned workers (imports, numba cache load) "
            f"costs {startup[0]:.2f} s wall, {startup[1]:.2f} CPU s, included above."
        )


if __name__ == "__main__":
    main()
