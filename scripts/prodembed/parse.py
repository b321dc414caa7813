"""Parse Amazon product-metadata dumps (2014 Python-literal or 2018 JSON lines) into products.

The dumps are large (Books 2014: 2.4 million lines), so lines are parsed in chunks, in a
process pool when ``threads`` > 1, and each chunk comes back as an Arrow record batch. 2014
lines go through the exact numba/orjson translator in :mod:`prodembed.pyliteral`; 2018 lines
through orjson, with :func:`json.loads` as the reference fallback. Nothing is ever ``eval``-ed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import math
import os
import re
import sys
import threading
import time
import types
import zlib
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from itertools import chain, islice
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from prodembed.pyliteral import (
    Unparsed,
    gc_paused,
    load_translated,
    parse_literal_lines,
    split_lines,
    why_unparsed,
)
from prodembed.runtime import atomic_path

__all__ = [
    "PRODUCTS_SCHEMA",
    "DumpError",
    "ParseReport",
    "parse_literal_lines",
    "read_products",
    "write_products",
]

log = logging.getLogger(__name__)

_STRINGS = pa.list_(pa.string())
RELATED = ("also_bought", "also_viewed", "bought_together", "buy_after_viewing")
PRODUCTS_SCHEMA = pa.schema(
    [
        pa.field("asin", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("brand", pa.string()),
        pa.field("price", pa.float64()),
        pa.field("categories", _STRINGS),
        pa.field("sales_rank", pa.int64()),
        pa.field("sales_rank_category", pa.string()),
        *(pa.field(name, _STRINGS, nullable=False) for name in RELATED),
    ]
)
_SCALARS = ("title", "brand", "price", "categories", "sales_rank", "sales_rank_category")
LITERAL, JSON = "2014-literal", "2018-json"
MAX_EXAMPLES = 20
SHOWN_EXAMPLES = 5  # bad lines (number: reason) named in an error message
_INT64_MAX = 2**63 - 1
_PRICE = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")
_RANK = re.compile(r"(\d[\d,]{0,30})(?:\s+in\s+([^(]*))?")
_READ_BYTES = 1 << 20
_JSON_BLOCK_LINES = 1000  # records held at once before normalisation
_SNIFF_LINES = 20
_BOM = b"\xef\xbb\xbf"
_WATCH_SECONDS = 0.5  # how often a pool worker checks that the parse process is alive
_join_strings = "".join


class DumpError(Exception):
    """The dump cannot be turned into a trustworthy products table.

    The message says why and which config key or file to change; ``report`` is the parse
    report so far (None when the file could not be read), for the log of a failed run.
    """

    def __init__(self, message: str, report: ParseReport | None = None):
        super().__init__(message)
        self.report = report


class _Bad(Exception):
    """A record that parses but does not fit the products schema."""


@dataclasses.dataclass
class ParseReport:
    """What happened while reading a dump; written beside the table as the parse report."""

    path: str
    format: str = ""
    compressed: bool = False
    lines_read: int = 0
    blank_lines: int = 0
    records_kept: int = 0
    malformed: int = 0
    malformed_examples: list[dict] = dataclasses.field(default_factory=list)
    fallback_parsed: int = 0
    duplicates_merged: int = 0
    truncated: bool = False
    truncated_line: int | None = None  # the line cut short by the truncation, dropped
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class _Chunk:
    """One chunk's records (columnar, in line order) and counts, as sent back by a worker."""

    batch: pa.RecordBatch
    lines: int
    blank: int
    fallback: int
    malformed: int
    examples: list[dict]
    cut: int | None  # the number of the line cut short by a truncated stream, if it was dropped


# --- normalisation of one record -------------------------------------------------------------


def _text(value, key: str) -> str | None:
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise _Bad(f"{key!r} is {type(value).__name__}, expected a string")
    return value


def _strings(value, key: str) -> list:
    if value is None:
        return []
    try:
        if type(value) is list:
            _join_strings(value)  # raises TypeError on any non-string, in C: 6x faster than all()
            return value
    except TypeError:
        pass
    raise _Bad(f"{key!r} is not a list of strings")


def _price(value) -> float | None:
    """2014 prices are numbers; 2018 ones are text such as "$1,299.00" (ranges, CSS: null)."""
    if value is None:
        return None
    if type(value) is str:
        match = _PRICE.fullmatch(value.strip())
        if match is None:
            return None
        value = match[1].replace(",", "") + (match[2] or "")
    elif type(value) not in (int, float):
        raise _Bad(f"'price' is {type(value).__name__}")
    value = float(value)
    return value if math.isfinite(value) else None


def _rank_text(text) -> tuple[int | None, str | None]:
    """Parse 2018 rank text such as ">#1,234 in Books (See Top 100 in Books)"."""
    if type(text) is not str:
        raise _Bad("'rank' is not a string or a list of strings")
    match = _RANK.search(text)
    if match is None:
        return None, None
    rank = int(match[1].replace(",", ""))
    if rank > _INT64_MAX:
        return None, None
    return rank, (match[2] or "").strip() or None


def _require_unicode(row: tuple) -> None:
    """Refuse lone surrogates, which only the fallbacks produce and Arrow cannot store."""
    try:
        for value in row:
            if type(value) is str:
                value.encode()
            elif type(value) is list:
                _join_strings(value).encode()
    except UnicodeEncodeError as err:
        raise _Bad("text is not valid Unicode (lone surrogate)") from err


def _sales_rank(rec: dict) -> tuple[int | None, str | None]:
    if "salesRank" in rec:  # 2014: {category: rank}, the first item
        ranks = rec["salesRank"]
        if ranks is None or ranks == {}:
            return None, None
        if type(ranks) is not dict:
            raise _Bad("'salesRank' is not a dict")
        category, rank = next(iter(ranks.items()))
        if type(rank) is not int:
            raise _Bad("'salesRank' value is not an integer")
        if abs(rank) > _INT64_MAX:
            return None, None
        return rank, _text(category, "salesRank")
    ranks = rec.get("rank")  # 2018: one text or a list of texts, the first that parses
    if ranks is None:
        return None, None
    for text in ranks if type(ranks) is list else [ranks]:
        rank, category = _rank_text(text)
        if rank is not None:
            return rank, category
    return None, None


def _categories(rec: dict) -> list | None:
    """2014: the first category path; 2018: the flat ``category`` list."""
    if "categories" not in rec:
        value = rec.get("category")
        return None if value is None else _strings(value, "category")
    paths = rec["categories"]
    if paths is None:
        return None
    if type(paths) is not list:
        raise _Bad("'categories' is not a list of category paths")
    return _strings(paths[0], "categories") if paths else []


def _normalise(rec) -> tuple:
    """One record as a row of PRODUCTS_SCHEMA (2014 and 2018 keys are both understood)."""
    if type(rec) is not dict:
        raise _Bad(f"record is {type(rec).__name__}, not a dict")
    asin = rec.get("asin")
    if type(asin) is not str or not asin:
        raise _Bad("no asin")
    related = rec.get("related")
    if related is None:
        related = {}
    elif type(related) is not dict:
        raise _Bad("'related' is not a dict")
    return (
        asin,
        _text(rec.get("title"), "title"),
        _text(rec.get("brand"), "brand"),
        _price(rec.get("price")),
        _categories(rec),
        *_sales_rank(rec),
        _strings(related.get("also_bought", rec.get("also_buy")), "also_bought"),
        _strings(related.get("also_viewed", rec.get("also_view")), "also_viewed"),
        _strings(related.get("bought_together"), "bought_together"),
        _strings(related.get("buy_after_viewing"), "buy_after_viewing"),
    )


# --- one chunk of lines (runs in the workers) ------------------------------------------------


def _load_json_blocks(data: bytes, starts: np.ndarray, ends: np.ndarray):
    """Like ``load_translated`` for JSON lines: (values, fallbacks) per block of lines."""
    view = memoryview(data)
    for first in range(0, len(starts), _JSON_BLOCK_LINES):
        last = first + _JSON_BLOCK_LINES
        yield _load_json(view, starts[first:last].tolist(), ends[first:last].tolist())


def _load_json(view: memoryview, starts: list, ends: list) -> tuple[list, list]:
    """Values (:class:`Unparsed`: not JSON) and fallback flags.

    orjson first, else :func:`json.loads`, which also takes NaN and big integers.
    """
    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    values, fallbacks = [], []
    for s, e in zip(starts, ends, strict=True):
        try:
            values.append(loads(view[s:e]))
            fallbacks.append(False)
            continue
        except decode_error:
            pass
        try:
            values.append(json.loads(bytes(view[s:e]).decode("utf-8")))
        except (ValueError, RecursionError) as err:
            values.append(Unparsed(why_unparsed(err)))
        fallbacks.append(True)
    return values, fallbacks


def _parse_chunk(
    data: bytes, first_line: int, cut_tail: bool, fmt: str, max_line_mb: float
) -> _Chunk:
    """Parse and normalise the lines of ``data``; line numbers start at ``first_line``.

    With ``cut_tail`` the last line is where a truncated stream stops: if it does not parse,
    it is the truncation (``cut``), not a malformed line. Lines longer than ``max_line_mb``
    are refused unparsed: the exact fallback parser needs about 90 times a line's size.
    """
    src = np.frombuffer(data, dtype=np.uint8)
    starts, ends, blank = split_lines(src)
    cut_line = first_line + len(blank) - 1 if cut_tail else -1
    sizes = ends - starts
    too_long = ~blank & (sizes > _line_bytes(max_line_mb))
    why = f"longer than parse.max_line_mb ({max_line_mb:g} MB)"
    bad = [(int(i) + first_line, why) for i in np.flatnonzero(too_long)]
    keep = ~blank & ~too_long
    numbers = (np.flatnonzero(keep) + first_line).tolist()
    rows, fallback = [], 0
    # Rows are dropped before the collector resumes, so it never has to scan them.
    with gc_paused():
        for line, value, fell_back in _values(data, src, starts[keep], ends[keep], numbers, fmt):
            try:
                if type(value) is _Bad:
                    raise value
                row = _normalise(value)
                if fell_back:
                    _require_unicode(row)
                    fallback += 1
                rows.append(row)
            except _Bad as err:
                bad.append((line, str(err)))
        batch = _batch(rows)
    cut = cut_line if any(line == cut_line for line, _ in bad) else None
    bad = sorted(b for b in bad if b[0] != cut)
    examples = [{"line": line, "reason": reason} for line, reason in bad[:MAX_EXAMPLES]]
    return _Chunk(batch, len(blank), int(blank.sum()), fallback, len(bad), examples, cut)


def _line_bytes(max_line_mb: float) -> int:
    return int(max_line_mb * 1e6)


def _values(data: bytes, src: np.ndarray, starts, ends, numbers: list, fmt: str):
    """Yield ``(line number, value, parsed by the fallback)``; the value is a :class:`_Bad`
    (saying why) for a line that does not parse."""
    if fmt == LITERAL:
        blocks, unparsable = load_translated(src, starts, ends), "not a Python literal"
    else:
        blocks, unparsable = _load_json_blocks(data, starts, ends), "not valid JSON"
    done = 0
    for values, fallbacks in blocks:
        lines = numbers[done : done + len(values)]
        done += len(values)
        for line, value, fell_back in zip(lines, values, fallbacks, strict=True):
            if type(value) is Unparsed:
                value = _Bad(f"{unparsable}: {value.reason}")
            yield line, value, fell_back


def _batch(rows: list) -> pa.RecordBatch:
    """The rows as a PRODUCTS_SCHEMA record batch (the list is emptied to free it early)."""
    columns = list(zip(*rows, strict=True)) or [()] * len(PRODUCTS_SCHEMA)
    rows.clear()
    arrays = [pa.array(c, type=f.type) for c, f in zip(columns, PRODUCTS_SCHEMA, strict=True)]
    del columns
    return pa.RecordBatch.from_arrays(arrays, schema=PRODUCTS_SCHEMA)


# --- reading the dump ------------------------------------------------------------------------


class _Source:
    """Decompressed bytes of a dump (gzip detected by magic bytes), noting a truncated stream."""

    def __init__(self, path: Path, key: str):
        if path.is_dir():
            raise DumpError(f"{path} is a directory, not a dump file: point {key} at the dump")
        if not path.is_file():
            raise DumpError(f"{path}: no such file: point {key} in your config at the dump")
        self.path, self.key = path, key
        try:
            with open(path, "rb") as fh:
                self.compressed = fh.read(2) == b"\x1f\x8b"
        except OSError as err:
            raise DumpError(f"{path} cannot be read ({err}): check it or {key}") from err
        self.truncated = False

    def blocks(self):
        with open(self.path, "rb") as fh:
            if not self.compressed:
                yield from iter(lambda: fh.read(_READ_BYTES), b"")
                return
            inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
            try:
                while raw := fh.read(_READ_BYTES):
                    yield inflate.decompress(raw)
                    # Concatenated gzip members, possibly zero-padded (as gzip.open accepts).
                    while inflate.eof and (rest := inflate.unused_data.lstrip(b"\0")):
                        inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
                        yield inflate.decompress(rest)
                yield inflate.flush()
            except zlib.error as err:
                raise DumpError(
                    f"{self.path}: corrupt gzip stream ({err}): fetch the dump again or point "
                    f"{self.key} at an intact copy"
                ) from err
            self.truncated = not inflate.eof


def _nth_newline(block: bytes, n: int) -> int:
    pos = -1
    for _ in range(n):
        pos = block.index(b"\n", pos + 1)
    return pos


def _without_bom(blocks):
    """The blocks without a leading UTF-8 byte order mark (Windows tools write one)."""
    blocks = iter(blocks)
    for block in blocks:
        if block:
            yield block.removeprefix(_BOM)
            break
    yield from blocks


def _capped(blocks, max_line_bytes: int):
    """Yield the blocks with each line that runs on over blocks cut after ``max_line_bytes`` + 1
    bytes: enough to refuse it as too long, and a file without line breaks is never held whole.
    """
    run = 0  # bytes of the current line held so far
    for block in blocks:
        first = block.find(b"\n")
        end = len(block) if first < 0 else first
        if run + end > max_line_bytes:
            block = block[: max(0, max_line_bytes + 1 - run)] + block[end:]
        last = block.rfind(b"\n")
        run = run + len(block) if last < 0 else len(block) - last - 1
        if block:
            yield block


def _chunks(source: _Source, chunk_lines: int, max_line_bytes: int):
    """Yield ``(data, first_line, cut_tail)`` with ``chunk_lines`` lines each (the last: fewer).

    ``cut_tail`` marks the final chunk of a truncated stream whose last line has no newline.
    Lines are cut after ``max_line_bytes`` + 1 bytes (see :func:`_capped`).
    """
    pieces, count, first = [], 0, 1
    for block in _capped(_without_bom(source.blocks()), max_line_bytes):
        n = block.count(b"\n")
        while count + n >= chunk_lines:
            cut = _nth_newline(block, chunk_lines - count) + 1
            pieces.append(block[:cut])
            yield b"".join(pieces), first, False
            first += chunk_lines
            n -= chunk_lines - count
            pieces, count, block = [], 0, block[cut:]
        pieces.append(block)
        count += n
    tail = b"".join(pieces)
    if tail:
        yield tail, first, source.truncated and not tail.endswith(b"\n")


def _sniff(data: bytes) -> str | None:
    """Format from the first key's quote of the first record lines; None when undecided."""
    seen = 0
    for line in io.BytesIO(data):
        line = line.strip()
        if not line:
            continue
        if line.startswith(b"{"):
            quote = line[1:].lstrip()[:1]
            if quote == b"'":
                return LITERAL
            if quote == b'"':
                return JSON
        seen += 1
        if seen >= _SNIFF_LINES:
            break
    return None


def _parse_all(chunks, threads: int, **options):
    """Yield parsed chunks in input order, in a spawn pool for dumps of many chunks.

    A worker needs a second or so to start (imports, numba cache), so a dump of at most
    ``2 * threads`` chunks is parsed in-process. ``options`` go to :func:`_parse_chunk`.
    """
    head = list(islice(chunks, 2 * threads + 1)) if threads > 1 else []
    if len(head) <= 2 * threads:
        for chunk in chain(head, chunks):
            yield _parse_chunk(*chunk, **options)
        return
    pool = ProcessPoolExecutor(
        max_workers=threads,
        mp_context=get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    with pool:
        pending: deque = deque()
        for chunk in chain(head, chunks):
            with _main_hidden():  # workers are started on submit
                pending.append(pool.submit(_parse_chunk, *chunk, **options))
            if len(pending) >= 2 * threads:  # bounded: the dump never sits in memory whole
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _exit_with_parent(parent: int) -> None:
    """Pool initializer: end this worker once the parse process is gone (SIGKILL included).

    Workers wait on a queue whose pipe the other workers hold open too, so a dead parent
    would otherwise leave them blocked forever; its death shows as a new parent process id.
    """

    def watch():
        while os.getppid() == parent:
            time.sleep(_WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@contextlib.contextmanager
def _main_hidden():
    """Start spawned workers without re-running the caller's script in each of them.

    Spawn re-imports ``__main__`` in every worker, so a script without an
    ``if __name__ == "__main__":`` guard (a Snakemake rule script, say) would run again there
    and fail. The workers need nothing from it: show them an empty main module instead.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _merge_duplicates(table: pa.Table) -> tuple[pa.Table, int]:
    """One row per asin in first-seen order: first non-null scalars, related lists unioned."""
    encoded = table.column("asin").combine_chunks().dictionary_encode()
    codes = encoded.indices.to_numpy()
    n_unique = len(encoded.dictionary)
    if n_unique == table.num_rows:
        return table, 0
    first_rows = np.unique(codes, return_index=True)[1]  # codes number asins in first-seen order
    counts = np.bincount(codes, minlength=n_unique)
    groups: dict[str, list[dict]] = {}
    for row in table.take(np.flatnonzero(counts[codes] > 1)).to_pylist():
        groups.setdefault(row["asin"], []).append(row)
    merged = []
    for rows in groups.values():
        out = dict(rows[0])
        for key in _SCALARS:
            out[key] = next((r[key] for r in rows if r[key] is not None), None)
        for key in RELATED:
            out[key] = list(dict.fromkeys(chain.from_iterable(r[key] for r in rows)))
        merged.append(out)
    single = counts == 1
    parts = pa.concat_tables(
        [
            table.take(first_rows[single]),
            pa.Table.from_pylist(merged, schema=PRODUCTS_SCHEMA),
        ]
    )
    order = np.argsort(np.concatenate([np.flatnonzero(single), np.flatnonzero(~single)]))
    return parts.take(order), table.num_rows - n_unique


def read_products(
    path,
    *,
    threads: int = 1,
    max_bad_fraction: float = 0.001,
    allow_truncated: bool = False,
    max_line_mb: float = 16.0,
    dataset: str = "<name>",
    chunk_lines: int = 10_000,
    progress_every: int = 500_000,
) -> tuple[pa.Table, ParseReport]:
    """Read a dump of either release into a PRODUCTS_SCHEMA table (one row per asin).

    Raises DumpError for a missing, empty, unrecognised or corrupt file, a truncated gzip
    stream (unless ``allow_truncated``), or more than ``max_bad_fraction`` malformed lines;
    its message names the config key to change (``dataset`` names the dataset in it). Lines
    longer than ``max_line_mb`` are malformed. Large dumps with ``threads`` > 1 are parsed by
    spawned worker processes (which do not re-run the calling script).
    """
    clock = time.perf_counter()
    path = Path(path)
    key = f"datasets.{dataset}.source"
    source = _Source(path, key)
    report = ParseReport(path=str(path), compressed=source.compressed)
    chunks = _chunks(source, chunk_lines, _line_bytes(max_line_mb))
    head = list(_take_until_sniffed(chunks))
    head_data = b"".join(data for data, _, _ in head)
    if head_data.isspace() or not head_data:
        raise DumpError(f"{path}: no records (the file is empty): check {key}", report)
    report.format = _sniff(head_data)
    if report.format is None:
        raise DumpError(f"{path}: {_not_a_dump(head_data)}: point {key} at a metadata dump")
    log.info("%s: %s dump (%s)", path, report.format, "gzip" if report.compressed else "plain")

    batches, logged = [], 0
    parsed_chunks = _parse_all(
        chain(head, chunks), threads, fmt=report.format, max_line_mb=max_line_mb
    )
    for chunk in parsed_chunks:
        batches.append(chunk.batch)
        _add(report, chunk)
        if report.lines_read - logged >= progress_every:
            logged = report.lines_read
            log.info("%s: %d lines parsed, %d malformed", path, logged, report.malformed)
    report.truncated = source.truncated
    parsed = sum(batch.num_rows for batch in batches)
    _check(report, parsed, max_bad_fraction, allow_truncated, key)

    table, report.duplicates_merged = _merge_duplicates(
        pa.Table.from_batches(batches, schema=PRODUCTS_SCHEMA)
    )
    report.records_kept = table.num_rows
    report.seconds = round(time.perf_counter() - clock, 3)
    log.info(
        "%s: %d products from %d lines (%d duplicates merged, %d malformed, %d by fallback) "
        "in %.1f s",
        path,
        report.records_kept,
        report.lines_read,
        report.duplicates_merged,
        report.malformed,
        report.fallback_parsed,
        report.seconds,
    )
    return table, report


def _add(report: ParseReport, chunk: _Chunk) -> None:
    """Count one parsed chunk into the report."""
    report.lines_read += chunk.lines
    report.blank_lines += chunk.blank
    report.fallback_parsed += chunk.fallback
    report.malformed += chunk.malformed
    report.malformed_examples += chunk.examples[: MAX_EXAMPLES - len(report.malformed_examples)]
    report.truncated_line = chunk.cut or report.truncated_line


def _not_a_dump(head: bytes) -> str:
    """Why the first lines are no dump, with the one common near miss named."""
    if head.lstrip()[:1] == b"[":
        return "one JSON array, not an Amazon metadata dump of one record per line"
    return (
        "not an Amazon metadata dump: the first lines are neither 2014 Python-literal nor "
        "2018 JSON records"
    )


def _take_until_sniffed(chunks):
    """Yield leading chunks until they hold enough lines to tell the format."""
    lines = 0
    for chunk in chunks:
        yield chunk
        lines += chunk[0].count(b"\n")
        if lines >= _SNIFF_LINES:
            return


def _check(
    report: ParseReport, parsed: int, max_bad_fraction: float, allow_truncated: bool, key: str
):
    """Fail loudly on truncation, too many malformed lines or no records; warn otherwise.

    Each message names the cause and the config key that changes the outcome.
    """
    path = report.path
    if report.truncated and not allow_truncated:
        raise DumpError(
            f"{path} is truncated: the gzip stream ends without its trailer after "
            f"{report.lines_read} lines; set parse.allow_truncated: true in your config to keep "
            f"the {parsed} complete records before the cut, or fetch the whole dump again ({key})",
            report,
        )
    if report.truncated:
        log.warning(
            "%s is truncated (parse.allow_truncated is true): keeping the %d complete records "
            "before the cut; the cut line %s is dropped",
            path,
            parsed,
            report.truncated_line or "(none: the cut fell between lines)",
        )
    if report.malformed:
        fraction = report.malformed / report.lines_read
        message = (
            f"{path}: {report.malformed} malformed lines of {report.lines_read} "
            f"({fraction:.4%}; {_first_bad(report)})"
        )
        if fraction > max_bad_fraction:
            raise DumpError(
                f"{message}: more than parse.max_bad_fraction allows; raise "
                f"parse.max_bad_fraction (now {max_bad_fraction}) in your config to skip them, "
                f"or fix the dump ({key})",
                report,
            )
        log.warning("%s; skipped (parse.max_bad_fraction is %s)", message, max_bad_fraction)
    if parsed == 0:
        raise DumpError(f"{path}: no records in {report.lines_read} lines: check {key}", report)


def _first_bad(report: ParseReport) -> str:
    shown = report.malformed_examples[:SHOWN_EXAMPLES]
    return "; ".join(f"line {ex['line']}: {ex['reason']}" for ex in shown)


def write_products(table: pa.Table, path) -> None:
    """Write the products table as parquet, atomically, checked against PRODUCTS_SCHEMA."""
    table = table.select(PRODUCTS_SCHEMA.names).cast(PRODUCTS_SCHEMA)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
