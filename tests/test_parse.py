"""Dump parsing: exactness against ast.literal_eval / json.loads, normalisation, error paths."""

from __future__ import annotations

import ast
import gzip
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import amazon_sample
from prodembed import parse
from prodembed.parse import (
    PRODUCTS_SCHEMA,
    DumpError,
    parse_literal_lines,
    read_products,
    write_products,
)
from prodembed.pyliteral import _HEX, translate

DM = "meta_Digital_Music_2014_sample.json.gz"
DM_CUT = "meta_Digital_Music_2014_sample_truncated.json.gz"
MAG = "meta_Magazine_Subscriptions_2018.json.gz"
ELEC = "meta_Electronics_2014_head10.json"


def sample_lines(folder: Path, name: str) -> list[bytes]:
    opener = gzip.open if name.endswith(".gz") else open
    with opener(folder / name, "rb") as fh:
        return [line.rstrip(b"\n") for line in fh if line.strip()]


def reference_literal(line: bytes):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes warn, and still evaluate
            return ast.literal_eval(line.decode("utf-8"))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError, UnicodeDecodeError):
        return None


def assert_exact(lines: list[bytes]) -> None:
    """Values, types and reprs equal (repr tells -0.0 from 0.0 and keeps dict order)."""
    got = parse_literal_lines(lines)
    assert len(got) == len(lines)
    for line, value in zip(lines, got, strict=True):
        expected = reference_literal(line)
        assert type(value) is type(expected) and repr(value) == repr(expected), line


def write_lines(path: Path, lines: list[str | bytes], compress: bool = False) -> Path:
    data = b"".join((x.encode() if isinstance(x, str) else x) + b"\n" for x in lines)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# --- exactness --------------------------------------------------------------------------------


def shared(name: str) -> Path:
    return amazon_sample(name)


@pytest.fixture(scope="module")
def dm_lines() -> tuple[list[bytes], list]:
    """The Digital Music sample's lines and their ast.literal_eval values (computed once)."""
    lines = sample_lines(shared(DM).parent, DM)
    return lines, [reference_literal(line) for line in lines]


@pytest.fixture(scope="module")
def dm_read():
    """read_products of the Digital Music sample, the baseline of several tests."""
    return read_products(shared(DM))


@pytest.fixture(scope="module")
def mag_read():
    return read_products(shared(MAG))


def test_literal_exact_on_every_2014_sample_line(amazon_samples, dm_lines):
    lines, expected = dm_lines
    got = parse_literal_lines(lines)
    assert [repr(x) for x in got] == [repr(x) for x in expected]
    assert got == expected
    assert_exact(sample_lines(amazon_samples, ELEC))


TRICKY = [
    r"""{'a': 'it\'s', 'b': "it's", 'c': 'say "hi"', 'd': "say \"hi\""}""",
    r"""{'t': 'back\\slash \\\' \n \t \r \b \f \a \v \0 \01 \012 \0123 \777 \8 \d \& \é'}""",
    r"""['\x41\xff\xE9', '\u00e9\u20AC', '\U0001F600', '\U0000e9', '\ud83d\ude00', '\ud800']""",
    r"""['\x4', '\u00e', '\U00110000', '\N{BULLET}', '\N{NO SUCH NAME}']""",
    "{'raw': 'tab\there', 'ctl': '\x01\x1f\x7f', 'uni': 'Beyoncé — ☃ 😀', 'amp': 'A &amp; B'}",
    "{'asin': 'X', 'related': {'also_bought': [], 'also_viewed': []}, 'e': {}, 'n': [[], [{}]]}",
    "[None, True, False, 'None', 'True', 'False', 'true', \"null\"]",
    "[0, -0, 7, -7, 1.5, -2.25, 0.1, -0.0, 0.30000000000000004, 123456789012345678]",
    "[1e5, 1E-5, 1e400, -1e400, 1e-400, 1.5e+3, 00.5, 1_000, 0x1F, 0o17, 0b11, 5j, 1.]",
    "[18446744073709551616, 9223372036854775808, -9223372036854775809, 10**3]",
    "{'k': 1, 'k': 2, 'j': 3}",
    "{'a': (1, 2), 'b': {1, 2}, 'c': set(), 'd': frozenset()}",
    "{1: 'int key', 2.5: 'float key', None: 'x', (1,): 't'}",
    "['a' 'b', 'c''d', '''triple''', \"\"\"dq\"\"\", u'u', b'bytes', r'raw\\n', f'f']",
    "[1, 2,]",
    "{'a': 1,}",
    "  {'lead': 'spaces'}  ",
    "{'a': 1}  # comment",
    "{'a': - 1, 'b': +2, 'c': -True, 'd': --3}",
    "[" * 150 + "]" * 150,
    "[" * 250 + "]" * 250,
    "{'a': 1",
    "{'a': 'unterminated}",
    "",
    "   ",
    "true",
    "nan",
    "{'x': nan}",
    "{'a': 1}}",
    "[1,,2]",
    "__import__('os').system('echo no')",
    "{'a': 1}['a']",
    "'a\\\nb'",
]


def test_literal_exact_on_tricky_lines():
    lines = [line.encode("utf-8") for line in TRICKY]
    lines += [b"{'bad': '\xff'}", b"'\xed\xa0\x80'", b"'nul\x00'", b"\xef\xbb\xbf{'bom': 1}"]
    lines += [b"{'cr': 'a\rb'}", b"{'crlf': 1}\r"]
    assert_exact(lines)


def test_translator_takes_safe_lines_and_refuses_the_rest():
    """Refused lines go to ast.literal_eval; taken ones must be the common, safe cases."""
    lines = [TRICKY[i].encode() for i in (0, 1, 4, 5, 6, 10, 16, 2, 3, 8, 9, 11, 20)]
    lengths = np.array([len(line) for line in lines])
    ends = np.cumsum(lengths)
    ok = translate(np.frombuffer(b"".join(lines), np.uint8), ends - lengths, ends, _HEX)[3]
    assert ok.tolist() == [True] * 7 + [False] * 6


def test_literal_exact_on_random_literals():
    rng = random.Random(7)
    alphabet = list("ab'\"\\ \t\x01\x7f") + ["é", "😀", "\ud800", "\\x", "True", "{", "]"]

    def value(depth=0):
        kind = rng.random()
        if depth > 3 or kind < 0.35:
            return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        if kind < 0.45:
            return rng.randint(-(10 ** rng.randint(1, 22)), 10 ** rng.randint(1, 22))
        if kind < 0.55:
            return rng.choice([rng.uniform(-1e6, 1e6), 1e16, 1e-7, -0.0, 0.1])
        if kind < 0.6:
            return rng.choice([True, False, None])
        if kind < 0.8:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {value(4): value(depth + 1) for _ in range(rng.randint(0, 4))}

    assert_exact([repr(value()).encode("utf-8", "surrogatepass") for _ in range(3000)])


def test_json_lines_equal_json_loads(amazon_samples):
    lines = sample_lines(amazon_samples, MAG) + [b'{"n": NaN, "big": 123456789012345678901234}']
    data = b"\n".join(lines)
    starts, ends, pos = [], [], 0
    for line in lines:
        starts.append(pos)
        ends.append(pos + len(line))
        pos += len(line) + 1
    values, fallbacks = parse._load_json(memoryview(data), starts, ends)
    expected = [json.loads(line) for line in lines]
    assert values[:-1] == expected[:-1] and not any(fallbacks[:-1])
    assert repr(values[-1]) == repr(expected[-1]) and fallbacks[-1]  # NaN, big int: fallback


# --- normalisation ----------------------------------------------------------------------------


def reference_2014(rec: dict) -> dict:
    """The products row of a 2014 record, written out independently of the parser."""
    related = rec.get("related", {})
    ranks = list(rec.get("salesRank", {}).items())
    categories = rec.get("categories")
    return {
        "asin": rec["asin"],
        "title": rec.get("title") or None,
        "brand": rec.get("brand") or None,
        "price": float(rec["price"]) if "price" in rec else None,
        "categories": None if categories is None else (categories[0] if categories else []),
        "sales_rank": ranks[0][1] if ranks else None,
        "sales_rank_category": ranks[0][0] if ranks else None,
        **{key: related.get(key, []) for key in parse.RELATED},
    }


def test_2014_sample_normalised(dm_lines, dm_read):
    table, report = dm_read
    expected = [reference_2014(rec) for rec in dm_lines[1]]
    assert table.schema == PRODUCTS_SCHEMA
    assert table.to_pylist() == expected
    first = expected[0]
    assert first["asin"] == "5555991584" and first["sales_rank"] == 939190
    assert first["categories"] == ["CDs & Vinyl", "New Age", "Celtic New Age"]
    assert report.format == "2014-literal" and report.compressed and not report.truncated
    assert (report.lines_read, report.records_kept, report.malformed) == (7419, 7419, 0)
    assert report.fallback_parsed == 0 and report.duplicates_merged == 0


def test_2018_sample_normalised_and_merged(amazon_samples, mag_read):
    table, report = mag_read
    recs = [json.loads(line) for line in sample_lines(amazon_samples, MAG)]
    order = list(dict.fromkeys(r["asin"] for r in recs))
    assert table.column("asin").to_pylist() == order
    assert (report.lines_read, report.records_kept, report.duplicates_merged) == (3385, 2320, 1065)
    assert report.format == "2018-json" and report.malformed == 0
    rows = {row["asin"]: row for row in table.to_pylist()}
    groups: dict[str, list[dict]] = {}
    for rec in recs:
        groups.setdefault(rec["asin"], []).append(rec)
    for asin, group in groups.items():
        row = rows[asin]
        assert row["also_bought"] == list(dict.fromkeys(x for r in group for x in r["also_buy"]))
        assert row["also_viewed"] == list(dict.fromkeys(x for r in group for x in r["also_view"]))
        assert row["categories"] == group[0]["category"]
        assert row["brand"] == next((r["brand"] for r in group if r["brand"]), None)
        rank = next((r["rank"] for r in group if isinstance(r["rank"], str)), None)
        assert row["sales_rank"] == (int(rank.split(" in ")[0].replace(",", "")) if rank else None)
        expected_category = rank.split(" in ", 1)[1].rstrip(" (") if rank else None
        assert row["sales_rank_category"] == expected_category
        assert row["price"] is None  # the sample's prices are all "" or CSS fragments
    assert rows["B00005N7OC"]["sales_rank"] == 742


def test_2018_hand_built_prices_ranks_and_duplicates(tmp_path):
    lines = [
        {
            "asin": "A1",
            "title": "",
            "brand": "Acme",
            "price": "$1,299.00",
            "rank": "1,234 in Books (",
            "category": ["Books", "Fiction"],
            "also_buy": ["B1", "B2"],
            "also_view": ["V1"],
        },
        {
            "asin": "A2",
            "title": "Second",
            "price": "$5.00 - $9.99",
            "rank": ["#12 in Kindle Store (See top 100)", "#3 in Fiction"],
            "also_buy": [],
        },
        {
            "asin": "A1",
            "title": "Later title",
            "brand": "Other",
            "price": "$3.50",
            "rank": [],
            "category": [],
            "also_buy": ["B2", "B3"],
            "also_view": ["V2", "V1"],
        },
        {"asin": "A3", "price": ".a-box-inner{background-color:#fff}", "rank": "no number"},
        {"asin": "A2", "brand": "Late brand", "also_buy": ["B9"]},
        {"asin": "A4", "price": "$12.99", "rank": ">#2,360,341 in Toys & Games (See Top 100)"},
        {"asin": "A5", "price": "7", "rank": "88"},
    ]
    table, report = read_products(write_lines(tmp_path / "m.json", [json.dumps(x) for x in lines]))
    empty = {"bought_together": [], "buy_after_viewing": []}
    assert table.to_pylist() == [
        {
            "asin": "A1",
            "title": "Later title",
            "brand": "Acme",
            "price": 1299.0,
            "categories": ["Books", "Fiction"],
            "sales_rank": 1234,
            "sales_rank_category": "Books",
            "also_bought": ["B1", "B2", "B3"],
            "also_viewed": ["V1", "V2"],
            **empty,
        },
        {
            "asin": "A2",
            "title": "Second",
            "brand": "Late brand",
            "price": None,
            "categories": None,
            "sales_rank": 12,
            "sales_rank_category": "Kindle Store",
            "also_bought": ["B9"],
            "also_viewed": [],
            **empty,
        },
        {
            "asin": "A3",
            "title": None,
            "brand": None,
            "price": None,
            "categories": None,
            "sales_rank": None,
            "sales_rank_category": None,
            "also_bought": [],
            "also_viewed": [],
            **empty,
        },
        {
            "asin": "A4",
            "title": None,
            "brand": None,
            "price": 12.99,
            "categories": None,
            "sales_rank": 2360341,
            "sales_rank_category": "Toys & Games",
            "also_bought": [],
            "also_viewed": [],
            **empty,
        },
        {
            "asin": "A5",
            "title": None,
            "brand": None,
            "price": 7.0,
            "categories": None,
            "sales_rank": 88,
            "sales_rank_category": None,
            "also_bought": [],
            "also_viewed": [],
            **empty,
        },
    ]
    assert report.duplicates_merged == 2 and report.records_kept == 5


# --- errors, malformed lines, truncation ------------------------------------------------------

MIXED = [
    "{'asin': 'X1', 'title': 'ok', 'price': 10}",
    "",
    "{'asin': 'X2', 'title': 'unterminated",
    "{'title': 'no asin'}",
    "['asin', 'a list']",
    "{'asin': 'X3', 'related': {'also_bought': ['a', 1]}}",
    "{'asin': 'X4', 'price': 'n/a', 'x': (1, 2)}",
    b"\x80\x81\xfe\xff binary \x00 garbage",
    "{'asin': 'X5', 'salesRank': {}}",
]


def test_malformed_lines_counted_and_warned(tmp_path, caplog):
    path = write_lines(tmp_path / "mixed.json", MIXED)
    with caplog.at_level(logging.WARNING, logger="prodembed.parse"):
        table, report = read_products(path, max_bad_fraction=0.6)
    assert table.column("asin").to_pylist() == ["X1", "X4", "X5"]
    assert table.column("price").to_pylist() == [10.0, None, None]
    assert (report.lines_read, report.blank_lines, report.malformed) == (9, 1, 5)
    assert report.fallback_parsed == 1  # the tuple
    assert [ex["line"] for ex in report.malformed_examples] == [3, 4, 5, 6, 8]
    reasons = [ex["reason"] for ex in report.malformed_examples]
    assert reasons[1] == "no asin" and "not a dict" in reasons[2] and "also_bought" in reasons[3]
    assert "5 malformed lines of 9" in caplog.text


def test_too_many_malformed_lines_raise(tmp_path):
    path = write_lines(tmp_path / "mixed.json", MIXED)
    with pytest.raises(DumpError, match=r"5 malformed lines of 9 .*line 3: .*line 8: "):
        read_products(path)


def test_malformed_examples_capped_at_20(tmp_path):
    lines = ["{'asin': 'ok'}"] + ["{'no': 'asin'}"] * 30
    _, report = read_products(write_lines(tmp_path / "m.json", lines), max_bad_fraction=1.0)
    assert report.malformed == 30 and len(report.malformed_examples) == 20
    assert report.malformed_examples[-1]["line"] == 21


def test_shared_truncated_sample(amazon_samples, dm_read):
    with pytest.raises(DumpError, match=r"truncated.* 7419 complete records"):
        read_products(amazon_samples / DM_CUT)
    table, report = read_products(amazon_samples / DM_CUT, allow_truncated=True)
    assert report.truncated and report.truncated_line == 7420
    assert report.malformed == 0 and report.malformed_examples == []
    full, _ = dm_read
    assert table.equals(full)


def test_hand_made_truncated_gzip(tmp_path):
    lines = [f"{{'asin': 'P{i:03d}', 'title': 'Title {i}'}}" for i in range(200)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    cut = whole[: len(whole) * 2 // 3]
    available = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(cut)
    complete = available.count(b"\n")
    assert 0 < complete < 200 and not available.endswith(b"\n")
    path = tmp_path / "cut.json.gz"
    path.write_bytes(cut)
    with pytest.raises(DumpError, match=rf"truncated.* {complete} complete records"):
        read_products(path)
    table, report = read_products(path, allow_truncated=True)
    assert table.num_rows == complete and report.truncated
    assert report.truncated_line == complete + 1 and report.malformed == 0


def test_lone_surrogates_are_malformed_not_a_crash(tmp_path):
    literal = write_lines(
        tmp_path / "l.json", ["{'asin': 'A'}", r"{'asin': 'B', 'title': '\ud800'}"]
    )
    json_ = write_lines(tmp_path / "j.json", ['{"asin": "A"}', r'{"asin": "B", "brand": "\ud800"}'])
    for path in (literal, json_):
        table, report = read_products(path, max_bad_fraction=0.5)
        assert table.column("asin").to_pylist() == ["A"]
        assert report.malformed_examples == [
            {"line": 2, "reason": "text is not valid Unicode (lone surrogate)"}
        ]


def test_concatenated_and_padded_gzip_members(tmp_path):
    lines = [f"{{'asin': 'P{i}'}}" for i in range(10)]
    first = gzip.compress(("\n".join(lines[:4]) + "\n").encode())
    second = gzip.compress(("\n".join(lines[4:]) + "\n").encode())
    (tmp_path / "m.gz").write_bytes(first + second + b"\0" * 64)
    table, report = read_products(tmp_path / "m.gz")
    assert table.column("asin").to_pylist() == [f"P{i}" for i in range(10)]
    assert not report.truncated


def test_corrupt_gzip(tmp_path):
    data = bytearray(gzip.compress(b"{'asin': 'A'}\n" * 1000))
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
    (tmp_path / "bad.gz").write_bytes(bytes(data))
    with pytest.raises(DumpError, match="corrupt gzip"):
        read_products(tmp_path / "bad.gz")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", gzip.compress(b""), gzip.compress(b"\n")])
def test_empty_input(tmp_path, content):
    (tmp_path / "empty").write_bytes(content)
    with pytest.raises(DumpError, match="no records"):
        read_products(tmp_path / "empty")


def test_missing_file_and_garbage(tmp_path):
    with pytest.raises(DumpError, match="no such file"):
        read_products(tmp_path / "absent.json.gz")
    (tmp_path / "garbage").write_bytes(random.Random(1).randbytes(50_000).replace(b"\x1f", b""))
    with pytest.raises(DumpError, match="not an Amazon metadata dump"):
        read_products(tmp_path / "garbage")


def test_only_malformed_records_is_an_error(tmp_path):
    with pytest.raises(DumpError, match="no records in 2 lines"):
        read_products(
            write_lines(tmp_path / "m.json", ["{'x': 1}", "{'y': 2}"]), max_bad_fraction=1
        )


# --- equivalences and output ------------------------------------------------------------------


def test_plain_and_gzip_give_identical_tables(amazon_samples, tmp_path, dm_read):
    plain = tmp_path / "dm.json"
    plain.write_bytes(gzip.decompress((amazon_samples / DM).read_bytes()))
    table_gz, report_gz = dm_read
    table_plain, report_plain = read_products(plain)
    assert table_plain.equals(table_gz)
    assert not report_plain.compressed and report_gz.compressed


def test_crlf_and_leading_blank_lines(tmp_path):
    lines = ["", '{"asin": "J1", "also_buy": ["J2"]}\r', '{"asin": "J2"}\r']
    table, report = read_products(write_lines(tmp_path / "crlf.json", lines))
    assert report.format == "2018-json" and report.blank_lines == 1
    assert table.column("also_bought").to_pylist() == [["J2"], []]


def synthetic_2014(n: int) -> list[str]:
    """Python-literal records with quotes, escapes and duplicate asins spread over the file."""
    rng = random.Random(3)
    lines = []
    for i in range(n):
        rec = {"asin": f"P{rng.randrange(n // 2):05d}", "title": f'It\'s "{i}" \\ é'}
        if rng.random() < 0.7:
            rec["related"] = {"also_bought": [f"P{rng.randrange(n):05d}" for _ in range(5)]}
        if rng.random() < 0.5:
            rec["salesRank"] = {"Books": rng.randrange(1, 10**6)}
        if rng.random() < 0.5:
            rec["price"] = round(rng.uniform(1, 100), 2)
        lines.append(repr(rec))
    return lines


UNGUARDED_SCRIPT = """
import json, logging, sys
sys.path.insert(0, {scripts!r})
from prodembed.parse import read_products, write_products
logging.basicConfig(level=logging.INFO)
print("script body ran", flush=True)
table, report = read_products(sys.argv[1], threads=2, chunk_lines=40, progress_every=100)
write_products(table, sys.argv[2])
print(json.dumps(report.to_dict()))
"""


def test_threads_and_chunks_give_identical_tables(tmp_path):
    """A pool of 2 workers over 10 chunks gives the in-process table, duplicates merged, even
    when called from a script without a ``__main__`` guard (as Snakemake runs rule scripts)."""
    path = write_lines(tmp_path / "syn.json.gz", synthetic_2014(400), compress=True)
    script = tmp_path / "run.py"
    script.write_text(UNGUARDED_SCRIPT.format(scripts=str(Path(parse.__file__).parents[1])))
    out = tmp_path / "products.parquet"
    done = subprocess.run(
        [sys.executable, str(script), str(path), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("script body ran") == 1
    assert "120 lines parsed" in done.stderr  # logged after the chunk that crosses 100
    one, report_one = read_products(path)
    report_two = json.loads(done.stdout.splitlines()[-1])
    assert report_one.duplicates_merged > 100
    assert pq.read_table(out).equals(one)
    assert {**report_two, "seconds": 0} == {**report_one.to_dict(), "seconds": 0}


def test_chunk_boundaries_split_real_duplicates(mag_read):
    one, report_one = mag_read
    two, report_two = read_products(shared(MAG), chunk_lines=300)
    assert two.equals(one)
    assert {**report_two.to_dict(), "seconds": 0} == {**report_one.to_dict(), "seconds": 0}


def test_report_is_json_able(amazon_samples):
    _, report = read_products(amazon_samples / ELEC)
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data) == {
        "path",
        "format",
        "compressed",
        "lines_read",
        "blank_lines",
        "records_kept",
        "malformed",
        "malformed_examples",
        "fallback_parsed",
        "duplicates_merged",
        "truncated",
        "truncated_line",
        "seconds",
    }
    assert data["records_kept"] == 10


def test_write_products_round_trip(amazon_samples, tmp_path):
    table, _ = read_products(amazon_samples / ELEC)
    out = tmp_path / "out" / "products.parquet"
    write_products(table, out)
    assert pq.read_table(out).equals(table)
    assert [p.name for p in out.parent.iterdir()] == ["products.parquet"]
    with pytest.raises(KeyError):
        write_products(table.drop_columns(["brand"]), out)


# --- bad input answered clearly ---------------------------------------------------------------


def cut_gzip(path: Path, n: int) -> int:
    """A gzip of ``n`` records cut mid-stream and mid-line; return the complete lines kept."""
    lines = [f"{{'asin': 'P{i:03d}', 'title': 'Title {i}'}}" for i in range(n)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    cut = whole[: len(whole) * 2 // 3]
    available = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(cut)
    assert not available.endswith(b"\n")
    path.write_bytes(cut)
    return available.count(b"\n")


def test_allow_truncated_keeps_small_dump_and_reports_the_cut_line(tmp_path):
    """One cut line of 200 is 0.5%, above max_bad_fraction: it must not count as malformed."""
    complete = cut_gzip(tmp_path / "cut.json.gz", 200)
    table, report = read_products(tmp_path / "cut.json.gz", allow_truncated=True)
    assert table.num_rows == complete and report.truncated
    assert report.truncated_line == complete + 1
    assert report.malformed == 0 and report.malformed_examples == []


def test_truncation_error_names_the_config_key(tmp_path):
    cut_gzip(tmp_path / "cut.json.gz", 200)
    with pytest.raises(DumpError) as err:
        read_products(tmp_path / "cut.json.gz", dataset="music")
    message = str(err.value)
    assert "parse.allow_truncated: true" in message and "allow_truncated=True" not in message
    assert "datasets.music.source" in message and "\n" not in message


def test_too_many_malformed_names_reasons_and_config_key(tmp_path):
    path = write_lines(tmp_path / "mixed.json", MIXED)
    with pytest.raises(DumpError) as err:
        read_products(path, dataset="music")
    message = str(err.value)
    assert "raise parse.max_bad_fraction (now 0.001)" in message and "\n" not in message
    assert "line 3: not a Python literal: unterminated string literal" in message
    assert "line 4: no asin" in message
    examples = err.value.report.malformed_examples  # the rule script logs the whole report
    assert [ex["line"] for ex in examples] == [3, 4, 5, 6, 8]
    assert examples[4]["reason"] == "not a Python literal: not UTF-8 (byte 1)"


def test_unparsable_json_lines_say_why(tmp_path):
    lines = ['{"asin": "A"}'] * 8 + ['{"asin": "B", "title": "cut', '{"asin": "C",}']
    _, report = read_products(write_lines(tmp_path / "j.json", lines), max_bad_fraction=0.5)
    assert report.malformed_examples == [
        {"line": 9, "reason": "not valid JSON: Unterminated string starting at column 24"},
        {
            "line": 10,
            "reason": "not valid JSON: Expecting property name enclosed in double "
            "quotes at column 14",
        },
    ]


def bad_source(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "meta.json.gz"
    if kind == "missing":
        return path
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "not gzip, named .gz":
        path.write_bytes(b"<!DOCTYPE html><html><body>Not Found</body></html>\n")
    elif kind == "corrupt gzip":
        data = bytearray(gzip.compress(b"{'asin': 'A'}\n" * 1000))
        data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
        path.write_bytes(bytes(data))
    elif kind == "json array":
        path.write_text(json.dumps([{"asin": "A"}, {"asin": "B"}]))
    return path


@pytest.mark.parametrize(
    ("kind", "cause"),
    [
        ("missing", "no such file"),
        ("directory", "is a directory"),
        ("empty", "the file is empty"),
        ("not gzip, named .gz", "not an Amazon metadata dump"),
        ("corrupt gzip", "corrupt gzip stream"),
        ("json array", "one JSON array"),
    ],
)
def test_bad_sources_fail_in_one_line_naming_cause_and_key(tmp_path, kind, cause):
    with pytest.raises(DumpError) as err:
        read_products(bad_source(tmp_path, kind), dataset="music")
    message = str(err.value)
    assert cause in message and "datasets.music.source" in message and "\n" not in message


def test_plain_json_lines_named_gz_are_parsed(tmp_path):
    path = write_lines(tmp_path / "meta.json.gz", ['{"asin": "A", "also_buy": ["B"]}'])
    table, report = read_products(path)
    assert table.column("also_bought").to_pylist() == [["B"]] and not report.compressed


@pytest.mark.parametrize("line", ['{"asin": "A"}', "{'asin': 'A'}"])
def test_byte_order_mark_is_skipped(tmp_path, line):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + f"{line}\n{line.replace('A', 'B')}\n".encode())
    table, report = read_products(path)
    assert table.column("asin").to_pylist() == ["A", "B"] and report.malformed == 0


def test_overlong_line_refused_before_the_fallback(tmp_path):
    """A tuple sends a line to ast.literal_eval, whose syntax tree costs ~90x the line."""
    big = "{'asin': 'BIG', 'x': (1,), 'also': [" + "'B000000000', " * 300_000 + "]}"
    path = write_lines(tmp_path / "big.json", ["{'asin': 'A'}", big, "{'asin': 'C'}"])
    tracemalloc.start()
    try:
        table, report = read_products(path, max_line_mb=1, max_bad_fraction=0.5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert table.column("asin").to_pylist() == ["A", "C"]
    assert report.malformed_examples == [
        {"line": 2, "reason": "longer than parse.max_line_mb (1 MB)"}
    ]
    assert peak < 10 * len(big)


def test_capped_lines_keep_short_lines_whole_across_blocks():
    rng = random.Random(5)
    lines = [
        bytes(rng.choice(b"ab") for _ in range(rng.choice([0, 3, 9, 10, 11, 40])))
        for _ in range(300)
    ]
    data = b"\n".join(lines)
    cuts = sorted(rng.sample(range(1, len(data)), 60))
    blocks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    got = b"".join(parse._capped(blocks, 10)).split(b"\n")
    assert len(got) == len(lines)
    for line, capped in zip(lines, got, strict=True):
        assert capped == line if len(line) <= 10 else line.startswith(capped) and len(capped) > 10


def test_file_without_line_breaks_is_never_held_whole(tmp_path):
    path = tmp_path / "array.json"
    path.write_text("[" + '{"asin": "A"}, ' * 2_000_000 + "]")  # 30 MB
    tracemalloc.start()
    try:
        with pytest.raises(DumpError, match="one JSON array"):
            read_products(path, max_line_mb=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8e6


KILL_SCRIPT = """
import logging, sys
sys.path.insert(0, {scripts!r})
from prodembed.parse import read_products
logging.basicConfig(level=logging.INFO)
read_products(sys.argv[1], threads=2, chunk_lines=50, progress_every=50)
"""


def children(pid: int) -> list[int]:
    """Live (not zombie) child processes of ``pid``, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_exit_when_the_parse_process_is_killed(tmp_path):
    slow = [line[:-1] + ", 'tuple': (1,)}" for line in synthetic_2014(20_000)]  # fallback
    path = write_lines(tmp_path / "syn.json.gz", slow, compress=True)
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT.format(scripts=str(Path(parse.__file__).parents[1])))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path)], stderr=subprocess.PIPE, text=True
    )
    workers: list[int] = []
    try:
        for line in proc.stderr:
            if "lines parsed" in line:  # the pool is running
                break
        workers = children(proc.pid)
        assert workers, "no worker processes: the pool was not used"
        assert proc.poll() is None, "the parse ended before it could be killed"
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 10
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(w) for w in workers)
    finally:
        proc.kill()
        proc.stderr.close()
        for worker in filter(alive, workers):  # a failed run must not leak them
            os.kill(worker, signal.SIGKILL)
