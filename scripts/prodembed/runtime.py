"""Logging, atomic file writes and resource accounting shared by every rule script."""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PROGRESS_SECONDS = 60.0  # long loops log at most this often: an Electronics epoch is 7-15 min


class Progress:
    """When a long loop should log again (at most every ``PROGRESS_SECONDS``), and its rate."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()

    def due(self) -> bool:
        now = time.perf_counter()
        if now - self.last <= PROGRESS_SECONDS:
            return False
        self.last = now
        return True

    def rate(self, done: int) -> float:
        return done / max(time.perf_counter() - self.started, 1e-9)


def setup_logging(
    log_path: str | os.PathLike | None = None, name: str = "prodembed"
) -> logging.Logger:
    """Log to the rule's log file, where Snakemake keeps it (stderr when there is none).

    Parallel jobs would interleave on the console; Snakemake shows a failed job's log instead.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers = [logging.FileHandler(log_path, mode="w")]
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, handlers=handlers, force=True)
    return logging.getLogger(name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path`` and move it into place only on success.

    A failed or interrupted step therefore never leaves an output that looks complete; the
    temporaries a killed one left (SIGKILL skips all cleanup) go when ``path`` is next written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs should read like any file
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def numba_threads(threads: int | None):
    """Temporarily cap numba's thread pool (results do not depend on it, only speed does)."""
    import numba  # here, not at the top: most users of this module never start numba

    if threads is None:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _remove_stale_temporaries(path: Path) -> None:
    """Remove this target's ``.<name>.XXXXXXXX.tmp`` files (as mkstemp names them below).

    Snakemake runs one job per output at a time, so any such file is a dead run's.
    """
    own = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}\.tmp")
    for sibling in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        if own.fullmatch(sibling.name):
            sibling.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """Load an array without ever unpickling (files may come from elsewhere)."""
    return np.load(path, allow_pickle=False)


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Stopwatch:
    """Wall-clock timer used for the ``train_seconds`` figures in metrics and the report."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def seed_everything(seed: int) -> None:
    """Seed numpy's and torch's global generators (where torch is imported) from the config."""
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def write_parquet(frame, path: str | os.PathLike) -> None:
    """Write a DataFrame (or pyarrow Table) to parquet atomically, without the pandas index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = (
        frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_parquet(path: str | os.PathLike):
    """Read a parquet file into pandas with plain object strings (stable across pandas versions)."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas()
