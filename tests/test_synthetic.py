"""The synthetic dump must look like a real 2014 Amazon dump to every later stage."""

from __future__ import annotations

import ast
import gzip
import re
import statistics

import numpy as np
import pytest
from prodembed.synthetic import PRESETS, generate_dump, latent_structure

RECORD_KEYS = {
    "asin",
    "title",
    "price",
    "imUrl",
    "related",
    "salesRank",
    "brand",
    "categories",
    "description",
}
RELATIONS = {"also_bought", "also_viewed", "bought_together", "buy_after_viewing"}


def _parse(path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [ast.literal_eval(line) for line in fh]


def _graph(records: list[dict]) -> tuple[set, set]:
    """Edges the simple way: unordered pairs from sources with >= 2 also_bought entries."""
    pairs = set()
    for rec in records:
        related = rec.get("related", {})
        if len(related.get("also_bought", [])) < 2:
            continue
        for relation in ("also_bought", "also_viewed", "bought_together"):
            for target in related.get(relation, []):
                if target != rec["asin"]:
                    pairs.add(tuple(sorted((rec["asin"], target))))
    return pairs, {asin for pair in pairs for asin in pair}


@pytest.fixture(scope="module")
def dumps(tmp_path_factory):
    """Default-scale dumps of both presets, parsed once: (summary, records, edges, nodes)."""
    out = {}
    for preset in PRESETS:
        path = tmp_path_factory.mktemp(preset) / "meta.json.gz"
        summary = generate_dump(path, preset=preset, seed=0)
        records = _parse(path)
        out[preset] = (summary, records, *_graph(records))
    return out


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_line_is_a_2014_record(dumps, preset):
    summary, records, _, _ = dumps[preset]
    assert len(records) == summary["records"]
    assert len({r["asin"] for r in records}) == len(records)
    for rec in records:
        assert set(rec) <= RECORD_KEYS and "asin" in rec
        assert set(rec.get("related", {})) <= RELATIONS
        assert all(rec.get("related", {}).values())  # no empty lists: absent instead
        assert isinstance(rec.get("price", 0.0), float)
        assert all(isinstance(v, int) for v in rec.get("salesRank", {}).values())
        assert all(isinstance(c, str) for path in rec["categories"] for c in path)
    for relation in RELATIONS:
        entries = sum(len(r.get("related", {}).get(relation, [])) for r in records)
        assert entries == summary["related_entries"][relation] > 0


def test_asins_look_real(dumps):
    electronics = [r["asin"] for r in dumps["electronics"][1]]
    assert all(re.fullmatch(r"B00[0-9A-Z]{7}|\d{9}[\dX]", a) for a in electronics)
    assert sum(a.startswith("B00") for a in electronics) > 0.9 * len(electronics)
    for asin in (r["asin"] for r in dumps["books"][1]):
        assert re.fullmatch(r"\d{9}[\dX]", asin)
        check = sum(int(d) * i for i, d in enumerate(asin[:9], 1)) % 11
        assert asin[9] == ("X" if check == 10 else str(check))


def test_deterministic_bytes_and_plain_gzip_header(tmp_path):
    a, b, c = (tmp_path / name for name in ("a.gz", "b.gz", "c.gz"))
    generate_dump(a, scale=0.002, seed=3)
    generate_dump(b, scale=0.002, seed=3)
    generate_dump(c, scale=0.002, seed=4)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    header = a.read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # mtime 0
    assert header[3] & 0x08 == 0  # no file name


def test_most_targets_have_no_record(dumps):
    for summary, records, _, nodes in dumps.values():
        asins = {r["asin"] for r in records}
        targets = {t for r in records for lst in r.get("related", {}).values() for t in lst}
        assert len(targets & asins) / len(targets) < 0.6
        assert len(nodes & asins) / len(nodes) < 0.6
        assert summary["also_bought_with_record_share"] < 0.6


def test_optional_fields_missing_like_the_real_dumps(dumps):
    records = dumps["electronics"][1]
    no_brand = statistics.mean(not r.get("brand") for r in records)
    assert 0.3 < no_brand < 0.8
    assert 0.05 < statistics.mean("price" not in r for r in records) < 0.4
    assert 0.1 < statistics.mean("related" not in r for r in records) < 0.6
    assert any(r.get("brand") == "" for r in records)


def test_category_paths_two_to_four_levels(dumps):
    for preset, (_, records, _, _) in dumps.items():
        depths = {len(path) for r in records for path in r["categories"]}
        assert depths <= {2, 3, 4} and len(depths) >= 2
        root = {path[0] for r in records for path in r["categories"]}
        assert root == {"Electronics" if preset == "electronics" else "Books"}


def test_also_bought_lengths_heavy_tailed(dumps):
    lengths = np.array(
        [
            len(r["related"]["also_bought"])
            for r in dumps["electronics"][1]
            if "also_bought" in r.get("related", {})
        ]
    )
    median = np.median(lengths)
    assert lengths.max() <= 100
    assert 5 <= median <= 25
    assert np.percentile(lengths, 99) > 4 * median and lengths.mean() > median


def test_titles_carry_quotes(dumps):
    for _, records, _, _ in dumps.values():
        titles = [r["title"] for r in records if "title" in r]
        assert any("'" in t for t in titles) and any('"' in t for t in titles)


def test_within_group_targets_dominate(dumps):
    summary, records, _, _ = dumps["electronics"]
    lat = latent_structure("electronics", seed=0)
    group = dict(zip(lat.asin.astype("U10").tolist(), lat.group.tolist(), strict=True))
    same = [
        group[r["asin"]] == group[t]
        for r in records
        for t in r.get("related", {}).get("also_bought", [])
    ]
    assert statistics.mean(same) == pytest.approx(summary["also_bought_same_group_share"])
    assert statistics.mean(same) > 0.5


def test_default_graph_sizes(dumps):
    expected = {"electronics": (5_400, 28_000), "books": (8_000, 57_000)}
    for preset, (nodes_target, edges_target) in expected.items():
        _, _, edges, nodes = dumps[preset]
        assert 0.6 * nodes_target < len(nodes) < 1.4 * nodes_target
        assert 0.6 * edges_target < len(edges) < 1.4 * edges_target


def test_books_denser_than_electronics(dumps):
    density = {p: len(edges) / len(records) for p, (_, records, edges, _) in dumps.items()}
    assert density["books"] > 1.2 * density["electronics"]
    per_node = {p: len(edges) / len(nodes) for p, (_, _, edges, nodes) in dumps.items()}
    assert per_node["books"] > per_node["electronics"]


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="toys"):
        generate_dump(tmp_path / "x.gz", preset="toys")
    with pytest.raises(ValueError, match="brand_sharee"):
        generate_dump(tmp_path / "x.gz", brand_sharee=0.1)
    for scale in (0, -1.0):
        with pytest.raises(ValueError, match="scale"):
            generate_dump(tmp_path / "x.gz", scale=scale)
    assert not list(tmp_path.iterdir())
