"""The (center, context, negatives) engine shared by every skip-gram-style trainer.

The study fed pairs through a per-pair Python DataLoader (~13k walks/s), which set its run
times. Here an epoch's pairs are built in bulk and cut into large batches, two ways:

- on a GPU, with a handful of whole-tensor operations, shuffled with a seeded
  ``torch.Generator``, negatives from a word2vec-style lookup table on the device. Nothing in
  the batch loop touches Python per pair or synchronises with the host, so the trainer's
  kernels run back to back (the only host syncs are one boolean-mask compaction per window
  offset per chunk of walks);
- on a CPU, with the numba kernels of :mod:`.pair_kernels` (one pass over the walks, exact
  alias-table negatives), several times cheaper than the same torch operations there.

Both draw the same distributions; their random streams differ, so a seed gives different
(equally distributed) batches on the two devices.

Pairs follow word2vec: for each center position a window ``b ~ U{1..window}`` is drawn and
every token within ``b`` positions on the same walk is a context, in both directions.
Negative ids of walks (``-1``) are treated as padding and never form pairs.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from . import pair_kernels
from .device import cpu_path
from .walk_kernels import alias_tables

#: Pairs built at once on the CPU: 2**24 pairs are two 64 MiB int32 buffers (the torch path
#: needs ~0.4 GiB with its shuffle); more only thrashes caches. On a GPU the whole
#: Electronics epoch (~2e8 pairs, ~5 GiB) fits at once.
CPU_MAX_PAIRS = 2**24
CUDA_MAX_PAIRS = 2**28


def epoch_seed(seed: int, epoch: int) -> int:
    """A well-mixed 63-bit seed per (seed, epoch), so epochs never share a random stream."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(2, np.uint64)[0] >> 1)


def unigram_table(counts: torch.Tensor, power: float = 0.75, size: int | None = None):
    """word2vec's negative-sampling table: node i fills ~ size * p_i of the slots, p ~ count^power.

    Sampling is then one uniform ``randint`` plus a gather, the cheapest draw on a GPU. Slot
    boundaries are rounded cumulative probabilities, so every node is off by < 1 slot; the
    default size (>= 64 slots per node on average) keeps that error small.
    """
    n = len(counts)
    size = size or int(min(max(2**20, 64 * n), 2**25))
    p = counts.double().pow(power)
    bounds = torch.round(torch.cumsum(p / p.sum(), 0) * size).long()
    slots = torch.diff(bounds, prepend=bounds.new_zeros(1))
    nodes = torch.arange(n, device=counts.device, dtype=torch.int32)
    return torch.repeat_interleave(nodes, slots)


class PairEngine:
    """Yields ``(center, targets)`` batches of one epoch on ``device`` (:meth:`epoch`).

    Each pair's negatives are drawn from unigram^power over the node frequencies in
    ``walks``. ``dynamic_window=False`` uses the full window at every position
    (tests use it to check the exact pair set). ``max_pairs`` caps the pairs held at once:
    the walks are shuffled and cut into chunks whose pairs fit, each chunk's pairs shuffled
    on their own. ``numba``: build batches with the CPU kernels (the default on the CPU;
    ``False`` runs the torch path there, as benchmarks and tests do). The same seed, device
    and path give the same batches.
    """

    def __init__(
        self,
        walks: np.ndarray | torch.Tensor,
        n_nodes: int,
        *,
        window: int = 5,
        negatives: int = 5,
        batch_size: int = 16384,
        seed: int = 0,
        device: str | torch.device = "cpu",
        dynamic_window: bool = True,
        max_pairs: int | None = None,
        power: float = 0.75,
        table_size: int | None = None,
        numba: bool | None = None,
    ) -> None:
        if window < 1 or negatives < 0 or batch_size < 1:
            raise ValueError("window and batch_size must be >= 1 and negatives >= 0")
        self.device = torch.device(device)
        self.numba = cpu_path(self.device, numba, "the numba pair kernels")
        self.walks = torch.as_tensor(walks, dtype=torch.int32, device=self.device)
        if self.walks.ndim != 2 or self.walks.shape[1] < 2:
            raise ValueError(f"walks must be (n_walks, length >= 2), got {tuple(self.walks.shape)}")
        self.n_nodes = int(n_nodes)
        if self.walks.numel() and int(self.walks.max()) >= self.n_nodes:
            raise ValueError("walks hold node ids >= n_nodes")
        self.window = min(window, self.walks.shape[1] - 1)
        self.negatives = negatives
        self.batch_size = batch_size
        self.seed = seed
        self.dynamic_window = dynamic_window
        self.padded = bool((self.walks < 0).any())
        tokens = self.walks[self.walks >= 0] if self.padded else self.walks.reshape(-1)
        self.counts = torch.bincount(tokens.long(), minlength=self.n_nodes)
        if self.numba:
            self.alias = alias_row(self.counts.numpy(), power)
        else:
            self.table = unigram_table(self.counts, power, table_size)
        if max_pairs is None:
            max_pairs = CUDA_MAX_PAIRS if self.device.type == "cuda" else CPU_MAX_PAIRS
        per_walk = 2 * self.window * (self.walks.shape[1] - 1)
        self.chunk_walks = max(1, max_pairs // per_walk)
        self.pairs_per_epoch = self._expected_pairs()

    def _expected_pairs(self) -> float:
        """Expected pairs per epoch (exact with a fixed window), for linear lr schedules."""
        total = 0.0
        for d in range(1, self.window + 1):
            left, right = self.walks[:, :-d], self.walks[:, d:]
            valid = int(((left >= 0) & (right >= 0)).sum()) if self.padded else left.numel()
            keep = (self.window - d + 1) / self.window if self.dynamic_window else 1.0
            total += 2 * valid * keep
        return total

    def pairs(self, walks: torch.Tensor, generator: torch.Generator):
        """All (center, context) pairs of ``walks`` (int32), in walk-major order."""
        shape, kw = walks.shape, {"dtype": torch.int8, "device": self.device}
        if self.dynamic_window:  # each position's own window b ~ U{1..window}
            b = torch.randint(1, self.window + 1, shape, generator=generator, **kw)
        else:
            b = torch.full(shape, self.window, **kw)
        if self.padded:
            b.masked_fill_(walks < 0, 0)  # padding is no one's center ...
        centers, contexts = [], []
        for d in range(1, self.window + 1):
            left, right, b_left, b_right = walks[:, :-d], walks[:, d:], b[:, :-d], b[:, d:]
            for center, context, b_center in ((left, right, b_left), (right, left, b_right)):
                keep = b_center >= d
                if self.padded:
                    keep &= context >= 0  # ... and no one's context
                centers.append(center[keep])
                contexts.append(context[keep])
        return torch.cat(centers), torch.cat(contexts)

    def sample_negatives(self, n: int, generator: torch.Generator) -> torch.Tensor:
        slot = torch.randint(
            len(self.table), (n, self.negatives), generator=generator, device=self.device
        )
        return self.table[slot].long()

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches of int64 ``center`` (B,) and ``targets`` (B, 1 + negatives): each pair's
        context, then its negatives."""
        if self.numba:
            yield from self._cpu_epoch(epoch)
            return
        g = torch.Generator(device=self.device)
        g.manual_seed(epoch_seed(self.seed, epoch))
        order = torch.randperm(len(self.walks), generator=g, device=self.device)
        for start in range(0, len(order), self.chunk_walks):
            centers, contexts = self.pairs(self.walks[order[start : start + self.chunk_walks]], g)
            perm = torch.randperm(len(centers), generator=g, device=self.device)
            centers, contexts = centers[perm], contexts[perm]
            for s in range(0, len(centers), self.batch_size):
                c = centers[s : s + self.batch_size].long()
                x = contexts[s : s + self.batch_size].long()
                yield c, torch.cat([x[:, None], self.sample_negatives(len(c), g)], 1)

    def _cpu_epoch(self, epoch: int):
        """:meth:`epoch` by the numba kernels: one splitmix64 stream for every draw."""
        walks = self.walks.numpy()
        stream = pair_kernels.stream(epoch_seed(self.seed, epoch))
        order = pair_kernels.permutation(len(walks), stream)
        most = min(self.chunk_walks, len(walks)) * 2 * self.window * (walks.shape[1] - 1)
        centers, contexts = np.empty(most, np.int32), np.empty(most, np.int32)
        for start in range(0, len(order), self.chunk_walks):
            n = pair_kernels.walk_pairs(
                walks, order[start : start + self.chunk_walks], self.window,
                self.dynamic_window, stream, centers, contexts,
            )  # fmt: skip
            for s in range(0, n, self.batch_size):
                e = min(s + self.batch_size, n)
                c = torch.from_numpy(centers[s:e].astype(np.int64))
                targets = np.empty((e - s, 1 + self.negatives), np.int64)
                pair_kernels.targets(contexts[s:e], *self.alias, stream, targets)
                yield c, torch.from_numpy(targets)


def alias_row(counts: np.ndarray, power: float) -> tuple[np.ndarray, ...]:
    """(bounds, table, prob) of one alias row drawing node i with probability ~ count_i^power
    (:func:`.walk_kernels.draw` on row 0). Only walked nodes enter it, so a node that never
    occurs is never drawn, whatever the rounding."""
    support = np.flatnonzero(counts).astype(np.int32)
    weights = counts[support].astype(np.float64) ** power
    bounds = np.array([0, len(support)], dtype=np.int64)
    table, _ = alias_tables(bounds, support, weights)
    return bounds, table, table.view(np.float32)
