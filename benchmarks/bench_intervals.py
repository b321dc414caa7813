"""PR-AUC bootstrap: our sort-once compiled pass against numpy matrices and sklearn.

    python benchmarks/bench_intervals.py [--pairs N] [--baseline-resamples R]

An evaluation job draws ``intervals.BOOTSTRAP_PAIRS`` resamples of every protocol's scored
pairs (2.8M per protocol at Electronics size, the default). Three ways to weigh them, on the
same binormal pairs:

- ours (``intervals.pr_auc_interval``): pairs sorted once, each resample counted into one int32
  buffer and weighed in one numba pass; run in full;
- numpy matrices (the previous implementation): the same draws as (resamples, pairs) count
  matrices, AP from weighted cumulative sums; ``--baseline-resamples`` timed, extrapolated;
- sklearn ``average_precision_score`` per resample with sample weights (sorts every time);
  ``--baseline-resamples`` timed, extrapolated.

The baselines are timed on ready-made counts (no sort, no draws), ours with both, so its
speed-up is if anything understated. The first resamples' APs are compared across the three.
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_skipgram import Clock, machine
from prodembed import intervals
from sklearn.metrics import average_precision_score


def numpy_matrices(positive, last, counts) -> np.ndarray:
    """AP per row of ``counts`` by cumulative sums over (rows, pairs) matrices."""
    tp = np.cumsum(counts * positive, axis=1)[:, last]
    fp = np.cumsum(counts * (1.0 - positive), axis=1)[:, last]
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    recall = tp / tp[:, -1:]
    return (np.diff(recall, axis=1, prepend=0.0) * precision).sum(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2_786_736)
    parser.add_argument("--baseline-resamples", type=int, default=10)
    args = parser.parse_args()
    n, total, few = args.pairs, intervals.BOOTSTRAP_PAIRS, args.baseline_resamples
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n)
    scores = rng.normal(size=n) + labels
    intervals.pr_auc_interval(labels[:100], scores[:100])  # numba compiles outside the clock

    with Clock() as ours:
        lo, hi = intervals.pr_auc_interval(labels, scores)
    order, last = intervals.by_score(scores)
    positive = labels[order].astype(np.float64)
    draws = np.random.default_rng(0).integers(0, n, (few, n), dtype=np.int32)
    counts = np.stack([np.bincount(row, minlength=n) for row in draws])
    reference = intervals.weighted_average_precision(positive, last, counts)
    with Clock() as matrices:
        by_matrices = numpy_matrices(positive, last, counts.astype(np.float64))
    with Clock() as per_resample:
        by_sklearn = [
            average_precision_score(labels[order], scores[order], sample_weight=row)
            for row in counts
        ]

    print(f"{machine()}; {n:,} pairs, {total} resamples, one protocol")
    print(f"ours: 95% interval [{lo:.5f}, {hi:.5f}]; the first {few} resamples' APs agree with")
    print(
        f"numpy matrices to {np.abs(by_matrices - reference).max():.1e} and sklearn to "
        f"{np.abs(np.array(by_sklearn) - reference).max():.1e}\n"
    )
    print("| method | resamples timed | wall s (400 resamples) | CPU s | ours faster by |")
    print("|---|---:|---:|---:|---:|")
    scale = total / few
    rows = [
        ("ours: sort once, int32 counts, numba pass", total, ours.wall, ours.cpu),
        ("numpy (resamples, pairs) matrices", few, matrices.wall * scale, matrices.cpu * scale),
        ("sklearn per resample", few, per_resample.wall * scale, per_resample.cpu * scale),
    ]
    for name, timed, wall, cpu in rows:
        print(f"| {name} | {timed} | {wall:,.1f} | {cpu:,.1f} | {wall / ours.wall:.1f}x |")


if __name__ == "__main__":
    main()
