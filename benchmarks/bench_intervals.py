"""PR-AUC bootstrap: our Poisson pass against drawn positions, numpy matrices and sklearn.

    python benchmarks/bench_intervals.py [--pairs N] [--baseline-resamples R]

An evaluation job draws ``intervals.BOOTSTRAP_PAIRS`` resamples of every protocol's scored
pairs (2.8M per protocol at Electronics size, the default). Four ways to weigh them, on the
same binormal pairs:

- ours (``intervals.pr_auc``): pairs sorted once; each resample one numba pass that draws a
  Poisson(1) weight per pair as it goes; run in full;
- drawn positions (the previous implementation): n positions per resample drawn by numpy,
  counted into one int32 buffer, then the same compiled pass over the counts; run in full;
- numpy matrices (the one before): (resamples, pairs) count matrices, AP from weighted
  cumulative sums; ``--baseline-resamples`` timed, extrapolated;
- sklearn ``average_precision_score`` per resample with sample weights (sorts every time);
  ``--baseline-resamples`` timed, extrapolated.

The two extrapolated baselines are timed on ready-made counts (no sort, no draws), so their
gap is if anything understated. The first resamples' APs of the last two are compared with
the compiled pass on the same counts, and the two full bootstraps' intervals are printed
side by side: different draws, so they agree to bootstrap noise, not digits.
"""

from __future__ import annotations

import argparse

import numba
import numpy as np
from bench_skipgram import Clock, machine
from prodembed import intervals
from sklearn.metrics import average_precision_score


@numba.njit(cache=True, nogil=True)
def counted_ap(positive, last, draws) -> np.ndarray:
    """AP of each row of ``draws`` (positions drawn with replacement) via one int32 count
    buffer: the previous implementation's kernel."""
    counts = np.zeros(positive.shape[0], np.int32)
    out = np.empty(draws.shape[0])
    for r in range(draws.shape[0]):
        counts[:] = 0
        for i in draws[r]:
            counts[i] += 1
        out[r] = intervals.weighted_average_precision(positive, last, counts[None, :])[0]
    return out


def drawn_positions(labels, scores, resamples: int, chunk: int = 10) -> tuple[float, float]:
    """The previous bootstrap: sort once, draw positions ``chunk`` resamples at a time."""
    order, last = intervals.by_score(scores)
    positive = labels[order].astype(np.float64)
    rng, n = np.random.default_rng(0), len(labels)
    values = np.concatenate(
        [
            counted_ap(positive, last, rng.integers(0, n, (rows, n), dtype=np.int32))
            for rows in np.diff(np.r_[0:resamples:chunk, resamples])
        ]
    )
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


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
    intervals.pr_auc(labels[:100], scores[:100])  # numba compiles outside the clock
    drawn_positions(labels[:100], scores[:100], 2)

    with Clock() as ours:
        _, lo, hi = intervals.pr_auc(labels, scores)
    with Clock() as drawn:
        drawn_lo, drawn_hi = drawn_positions(labels, scores, total)
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
    print(
        f"95% interval: Poisson [{lo:.5f}, {hi:.5f}], drawn positions [{drawn_lo:.5f}, {drawn_hi:.5f}]"
    )
    print(
        f"On the first {few} resamples' counts the compiled pass agrees with numpy matrices to "
        f"{np.abs(by_matrices - reference).max():.1e} and sklearn to "
        f"{np.abs(np.array(by_sklearn) - reference).max():.1e}\n"
    )
    print(f"| method | resamples timed | wall s ({total} resamples) | CPU s | ours faster by |")
    print("|---|---:|---:|---:|---:|")
    scale = total / few
    rows = [
        ("ours: sort once, Poisson weights drawn in the pass", total, ours.wall, ours.cpu),
        ("drawn positions, int32 counts, compiled pass", total, drawn.wall, drawn.cpu),
        ("numpy (resamples, pairs) matrices", few, matrices.wall * scale, matrices.cpu * scale),
        ("sklearn per resample", few, per_resample.wall * scale, per_resample.cpu * scale),
    ]
    for name, timed, wall, cpu in rows:
        print(f"| {name} | {timed} | {wall:,.1f} | {cpu:,.1f} | {wall / ours.wall:.1f}x |")


if __name__ == "__main__":
    main()
