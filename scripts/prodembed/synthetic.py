"""Seeded synthetic Amazon 2014 metadata dumps: the workflow's embedded default data.

The real dumps are large and not redistributable, so the default workflow runs on a generated
dump that has their format and their statistical shape: one ``repr(dict)`` line per record,
optional keys, a category tree, Zipf-popular brands and products, heavy-tailed ``related``
lists whose targets mostly have no record of their own. Co-purchase is driven by latent
product groups (one leaf category, a few preferred brands, a price band each), so the graph is
predictable from itself and, for products without training edges, partly from side
information. Everything is vectorised numpy; only the final per-record formatting loops.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from prodembed.runtime import atomic_path

# Sizes are at scale 1.0, where they approximate the real dumps (docs/STUDY.md); the
# preset's own ``scale`` is the small default the whole workflow runs on in minutes.
PRESETS: dict[str, dict] = {
    "electronics": {
        "scale": 0.012,
        "records": 498_196,  # record lines at scale 1
        # Related targets mostly lie outside the dump (other departments): record-less
        # products per record, and how much more popular (in log-weight sd) they are.
        "recordless_per_record": 0.52,
        "recordless_boost": 3.0,
        "group_size": 40,  # mean products per latent co-purchase group
        "brands": 2_000,  # at scale 1; grows as sqrt(scale)
        # A product's chance of being a target: log-normal within its group (sd of the log;
        # the group's best-sellers take most of its co-purchases) times Zipf by group rank.
        "popularity_sigma": 2.5,
        "group_popularity_exponent": 0.8,
        "also_bought_share": 0.26,
        "also_bought_median": 15.0,
        "also_bought_sigma": 1.1,
        "also_bought_mix": (0.85, 0.12, 0.03),  # same group, same leaf category, anywhere
        "also_viewed_share": 0.3,
        "also_viewed_median": 7.0,
        "also_viewed_mix": (0.45, 0.45, 0.1),
        "bought_together_probs": (0.4, 0.35, 0.17, 0.08),  # 0..3 entries, given also_bought
        "buy_after_viewing_share": 0.35,
        "density_exponent": 0.12,  # list lengths scale as scale**this, as denser big catalogs
        "brand_loyalty": 0.8,  # share of a group's products made by its preferred brands
        "brand_share": 0.5,
        "price_share": 0.85,
        "sales_rank_share": 0.85,
        "description_share": 0.6,
        "title_share": 0.98,
        "price_sigma": 0.25,
    },
    "books": {
        "scale": 0.0035,
        "records": 2_370_000,
        "recordless_per_record": 0.45,
        "recordless_boost": 3.0,
        "group_size": 40,
        "brands": 3_000,
        "popularity_sigma": 2.5,
        "group_popularity_exponent": 0.8,
        "also_bought_share": 0.3,
        "also_bought_median": 28.0,
        "also_bought_sigma": 1.0,
        "also_bought_mix": (0.85, 0.12, 0.03),
        "also_viewed_share": 0.25,
        "also_viewed_median": 8.0,
        "also_viewed_mix": (0.45, 0.45, 0.1),
        "bought_together_probs": (0.35, 0.35, 0.2, 0.1),
        "buy_after_viewing_share": 0.3,
        "density_exponent": 0.12,
        "brand_loyalty": 0.8,
        "brand_share": 0.35,
        "price_share": 0.9,
        "sales_rank_share": 0.9,
        "description_share": 0.7,
        "title_share": 0.99,
        "price_sigma": 0.2,
    },
}

_RANK_KEYS = {
    "Camera & Photo": "Camera &amp; Photo",
    "Cell Phones & Accessories": "Cell Phones & Accessories",
    "Computers & Accessories": "Computers & Accessories",
}

_IMAGE_PREFIX = "http://ecx.images-amazon.com/images/I/"
_IMAGE_SUFFIXES = np.array([".jpg", "._SX300_.jpg", "._SY300_.jpg"], dtype=object)
_ALNUM = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)

# Key orders seen in the real dumps: parsers must not rely on one.
_KEY_ORDERS = tuple(
    tuple(order.split())
    for order in (
        "asin categories description title price salesRank imUrl related brand",
        "asin title price imUrl related salesRank brand categories description",
        "asin related title price salesRank imUrl brand categories description",
    )
)
_RELATIONS = ("also_bought", "also_viewed", "bought_together", "buy_after_viewing")
_CHUNK = 20_000  # records generated and formatted at a time: bounds memory at any scale


@dataclass(frozen=True)
class _Vocab:
    """One preset's words: its category tree, brand-name parts, title and description templates."""

    root: str
    tree: dict  # level-2 name -> (median price, node); a node is a leaf's title word or a dict
    brand_parts: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    brand_sep: str
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    extras: tuple[tuple[str, float], ...]  # title decorations with weights: quotes live here
    titles: tuple[str, ...]
    descriptions: tuple[str, ...]


def _load_vocabularies() -> dict[str, _Vocab]:
    """The presets' words, kept as data in ``synthetic_vocabulary.json`` (the fields of
    ``_Vocab``, lists for tuples). A category tree's leaves sit 2 to 4 levels deep (root
    included), as in the real dumps."""
    text = resources.files(__package__).joinpath("synthetic_vocabulary.json").read_text("utf-8")
    vocabularies = {}
    for preset, words in json.loads(text).items():
        vocabularies[preset] = _Vocab(
            root=words["root"],
            tree={name: tuple(entry) for name, entry in words["tree"].items()},
            brand_parts=tuple(tuple(part) for part in words["brand_parts"]),
            brand_sep=words["brand_sep"],
            adjectives=tuple(words["adjectives"]),
            nouns=tuple(words["nouns"]),
            extras=tuple((extra, weight) for extra, weight in words["extras"]),
            titles=tuple(words["titles"]),
            descriptions=tuple(words["descriptions"]),
        )
    return vocabularies


_VOCAB = _load_vocabularies()


@dataclass(frozen=True)
class Latent:
    """The hidden structure behind a dump; ``latent_structure`` rebuilds it for tests/analysis.

    Products are numbered by group and groups by leaf category, so each is a contiguous range:
    a popularity-weighted draw from a group (or of a group from a leaf) is one binary search
    in a cumulative weight array.
    """

    asin: np.ndarray  # S10 per universe product
    group: np.ndarray  # int32 per product
    brand: np.ndarray  # int32 per product
    price: np.ndarray  # float64 per product
    popularity: np.ndarray  # float64 per product: share of its group's co-purchases
    sales_rank: np.ndarray  # int64 per product, rank within its salesRank category
    records: np.ndarray  # product ids that get a record line, in asin order
    record_quantile: np.ndarray  # per record: popularity quantile among records, 1 = top
    group_leaf: np.ndarray  # int32 per group
    group_start: np.ndarray  # int64 per group (+1 sentinel): its first product
    leaf_group_start: np.ndarray  # int64 per leaf (+1 sentinel): its first group
    cum_popularity: np.ndarray  # float64, n+1, leading 0 (each group adds 1)
    cum_group_weight: np.ndarray  # float64, groups+1, leading 0: Zipf over groups
    leaf_paths: tuple[tuple[str, ...], ...]
    leaf_words: tuple[str, ...]
    leaf_rank_key: tuple[str, ...]
    brand_names: tuple[str, ...]


def _resolve(preset: str, scale: float | None, overrides: dict) -> tuple[dict, float]:
    if preset not in PRESETS:
        raise ValueError(f"unknown synthetic preset {preset!r}; choose from {sorted(PRESETS)}")
    params = dict(PRESETS[preset])
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        raise ValueError(f"unknown synthetic parameter(s) for preset {preset!r}: {unknown}")
    params.update(overrides)
    scale = params["scale"] if scale is None else scale
    if isinstance(scale, bool) or not (
        isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0
    ):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    return params, float(scale)


def _flatten_tree(vocab: _Vocab):
    """Leaves as (path, title word, level-2 index, median price, salesRank key)."""
    leaves = []

    def walk(node, path, l2, price):
        if isinstance(node, str):
            leaves.append((path, node, l2, price, _RANK_KEYS.get(path[1], vocab.root)))
        else:
            for name, child in node.items():
                walk(child, (*path, name), l2, price)

    for l2, (name, (price, node)) in enumerate(vocab.tree.items()):
        walk(node, (vocab.root, name), l2, price)
    return leaves


def _unique_codes(rng: np.random.Generator, n: int, high: int) -> np.ndarray:
    """n distinct integers in [0, high), drawn with replacement and deduplicated in draw order."""
    extra = n // 100 + 16
    while True:
        codes = rng.integers(0, high, n + extra)
        _, first = np.unique(codes, return_index=True)
        if len(first) >= n:
            return codes[np.sort(first)[:n]]
        extra *= 4


def _digits(values: np.ndarray, base: int, width: int) -> np.ndarray:
    """Base-``base`` digits of each value, most significant first, as a (n, width) uint8 array
    (column by column: a Books-sized universe would need gigabytes as one int64 broadcast)."""
    out = np.empty((len(values), width), np.uint8)
    for j in range(width - 1, -1, -1):
        values, out[:, j] = np.divmod(values, base)
    return out


def _make_asins(rng: np.random.Generator, n: int, preset: str) -> np.ndarray:
    """Real-looking asins: ISBN-10 with check digit for books; 'B00' + 7 chars (a few ISBNs)
    for electronics, as in the real dumps. The two kinds cannot collide (letter vs digit)."""
    isbn = np.ones(n, bool) if preset == "books" else rng.random(n) < 0.04
    out = np.empty((n, 10), np.uint8)
    plain = ~isbn
    out[plain, :3] = np.frombuffer(b"B00", np.uint8)
    out[plain, 3:] = _ALNUM[_digits(_unique_codes(rng, int(plain.sum()), 36**7), 36, 7)]
    d = _digits(_unique_codes(rng, int(isbn.sum()), 10**9), 10, 9)
    check = sum(d[:, i].astype(np.int32) * (i + 1) for i in range(9)) % 11
    out[isbn, :9] = _ALNUM[d]
    out[isbn, 9] = np.where(check == 10, ord("X"), _ALNUM[np.minimum(check, 9)])
    return out.view("S10").ravel()


def _range_sample(rng: np.random.Generator, cum: np.ndarray, lo, hi) -> np.ndarray:
    """Weighted draw of one index in each [lo, hi) range, weights given by their cumsum ``cum``."""
    u = cum[lo] + rng.random(np.shape(lo)) * (cum[hi] - cum[lo])
    return np.clip(np.searchsorted(cum, u, side="right") - 1, lo, hi - 1)


def _quantile(values: np.ndarray) -> np.ndarray:
    """Quantile of each value among all of them (largest -> 1.0)."""
    q = np.empty(len(values))
    q[np.argsort(values, kind="stable")] = (1.0 + np.arange(len(values))) / len(values)
    return q


def _sizes(params: dict, scale: float, n_l2: int, brand_space: int) -> tuple[int, int, int, int]:
    n_records = max(1, round(params["records"] * scale))
    n_products = n_records + max(1, round(n_records * params["recordless_per_record"]))
    n_groups = max(1, round(n_products / params["group_size"]))
    # Brand counts grow sub-linearly with the catalogue: a few hundred at the default scale.
    n_brands = min(brand_space, max(2 * n_l2, round(params["brands"] * math.sqrt(scale))))
    return n_records, n_products, n_groups, n_brands


def latent_structure(
    preset: str = "electronics", *, scale: float | None = None, seed: int = 0, **overrides
) -> Latent:
    """The latent groups, brands, prices and popularity that ``generate_dump`` draws from."""
    params, scale = _resolve(preset, scale, overrides)
    return _latent(preset, params, scale, seed)


def _latent(preset: str, params: dict, scale: float, seed: int) -> Latent:
    """Draw the universe from its own seed stream, so tests can rebuild it without the dump."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    vocab = _VOCAB[preset]
    leaves = _flatten_tree(vocab)
    n_leaves, n_l2 = len(leaves), len(vocab.tree)
    first, middle, last = vocab.brand_parts
    n_records, n_products, n_groups, n_brands = _sizes(
        params, scale, n_l2, len(first) * len(middle) * len(last)
    )

    combos = rng.choice(len(first) * len(middle) * len(last), n_brands, replace=False)
    brand_names = tuple(
        f"{first[c // (len(middle) * len(last))]}{vocab.brand_sep}"
        f"{middle[c // len(last) % len(middle)]}{last[c % len(last)]}"
        for c in combos.tolist()
    )
    brand_home = rng.permutation(n_brands) % n_l2  # the level-2 category a brand sells in
    brand_pop = (1.0 + rng.permutation(n_brands)) ** -1.0
    by_home = np.argsort(brand_home, kind="stable")
    brand_cum = np.concatenate([[0.0], np.cumsum(brand_pop[by_home])])
    home_start = np.searchsorted(brand_home[by_home], np.arange(n_l2 + 1))

    # Groups sit in leaf categories of Zipf-ish sizes; numbering groups by leaf and products
    # by group makes both contiguous ranges.
    leaf_weight = rng.lognormal(0.0, 0.8, n_leaves)
    group_leaf = np.sort(rng.choice(n_leaves, n_groups, p=leaf_weight / leaf_weight.sum()))
    size_weight = rng.lognormal(0.0, 0.6, n_groups)
    group_sizes = rng.multinomial(n_products, size_weight / size_weight.sum())
    group_start = np.concatenate([[0], np.cumsum(group_sizes)])
    group = np.repeat(np.arange(n_groups, dtype=np.int32), group_sizes)

    leaf_l2 = np.array([leaf[2] for leaf in leaves])
    g_l2 = leaf_l2[group_leaf]
    lo = np.repeat(home_start[g_l2][:, None], 3, axis=1)
    preferred = by_home[_range_sample(rng, brand_cum, lo, home_start[g_l2 + 1][:, None])]
    slot = np.searchsorted([0.6, 0.9], rng.random(n_products), side="right")
    brand = preferred[group, slot].astype(np.int32)
    stray = rng.random(n_products) >= params["brand_loyalty"]
    brand[stray] = rng.choice(n_brands, int(stray.sum()), p=brand_pop / brand_pop.sum())

    leaf_price = np.array([leaf[3] for leaf in leaves]) * rng.lognormal(0.0, 0.35, n_leaves)
    band = leaf_price[group_leaf] * rng.lognormal(0.0, 0.5, n_groups)
    price = band[group] * rng.lognormal(0.0, params["price_sigma"], n_products)
    price = np.where(rng.random(n_products) < 0.4, np.floor(price) + 0.99, np.round(price, 2))
    price = np.maximum(price, 0.49)

    records = rng.choice(n_products, n_records, replace=False)
    recordless = np.ones(n_products, bool)
    recordless[records] = False
    score = rng.normal(0.0, 1.0, n_products) + params["recordless_boost"] * recordless
    # In-group shares are normalised per group, so the cumulative array resolves even the
    # tiny shares of obscure records however many products come before them.
    weight = np.exp(params["popularity_sigma"] * (score - score.max()))
    popularity = weight / np.bincount(group, weight, n_groups)[group]
    group_weight = (1.0 + rng.permutation(n_groups)) ** -params["group_popularity_exponent"]
    group_weight[group_sizes == 0] = 0.0
    rank_keys = tuple(leaf[4] for leaf in leaves)
    key_names = sorted(set(rank_keys))
    key = np.array([key_names.index(k) for k in rank_keys])[group_leaf][group]
    noisy = np.log(group_weight[group] * popularity) + rng.normal(0.0, 0.7, n_products)
    order = np.lexsort((-noisy, key))
    sales_rank = np.empty(n_products, np.int64)
    sales_rank[order] = np.arange(n_products) - np.searchsorted(key[order], key[order]) + 1

    asin = _make_asins(rng, n_products, preset)
    records = records[np.argsort(asin[records], kind="stable")]
    return Latent(
        asin=asin,
        group=group,
        brand=brand,
        price=price,
        popularity=popularity,
        sales_rank=sales_rank,
        records=records,
        record_quantile=_quantile(score[records]),
        group_leaf=group_leaf.astype(np.int32),
        group_start=group_start,
        leaf_group_start=np.searchsorted(group_leaf, np.arange(n_leaves + 1)),
        cum_popularity=np.concatenate([[0.0], np.cumsum(popularity)]),
        cum_group_weight=np.concatenate([[0.0], np.cumsum(group_weight)]),
        leaf_paths=tuple(leaf[0] for leaf in leaves),
        leaf_words=tuple(leaf[1] for leaf in leaves),
        leaf_rank_key=rank_keys,
        brand_names=brand_names,
    )


def _ragged_arange(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for every c in ``counts``, concatenated."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _draw_lists(rng, lat: Latent, ids: np.ndarray, length: np.ndarray, mix) -> tuple:
    """Related lists for records ``ids``: targets from the same group, leaf category or anywhere
    (shares ``mix``), popular ones more often; self-links and repeats dropped, strongest first.

    Group targets are a weighted sample without replacement (Gumbel top-k over the group's
    members), so a long list takes the group's best-sellers first and its obscure records
    rarely; the others are independent draws of a Zipf-weighted group, then of its member.
    Sorting uses one float key per entry (row + a fraction) as it is much faster than lexsort.
    """
    mix = np.asarray(mix, float) / np.sum(mix)
    g = lat.group[ids]
    start, size = lat.group_start[g], lat.group_start[g + 1] - lat.group_start[g]
    # At most half a group: a niche's obscure records stay off the lists (and out of the graph).
    n_group = np.minimum(rng.binomial(length, mix[0]), size // 2)
    size = np.where(n_group > 0, size, 0)
    row = np.repeat(np.arange(len(ids)), size)
    member = np.repeat(start, size) + _ragged_arange(size)
    key = np.log(lat.popularity[member]) + rng.gumbel(size=len(member))
    key[member == ids[row]] = -np.inf
    order = np.argsort(row + _unit(-key))
    group_target = member[order[_ragged_arange(size) < np.repeat(n_group, size)]]

    n_other = length - n_group
    row = np.repeat(np.arange(len(ids)), n_other)
    leaf = lat.group_leaf[g[row]]
    in_leaf = rng.random(len(row)) < mix[1] / max(mix[1] + mix[2], 1e-12)
    lo = np.where(in_leaf, lat.leaf_group_start[leaf], 0)
    hi = np.where(in_leaf, lat.leaf_group_start[leaf + 1], len(lat.group_leaf))
    other = _range_sample(rng, lat.cum_group_weight, lo, hi)
    target = _range_sample(
        rng, lat.cum_popularity, lat.group_start[other], lat.group_start[other + 1]
    )

    n_products = len(lat.group)
    pairs = np.concatenate(
        [
            np.repeat(np.arange(len(ids), dtype=np.int64), n_group) * n_products + group_target,
            row.astype(np.int64) * n_products + target,
        ]
    )
    pairs = np.sort(pairs)  # then drop repeats: np.unique's hashing is ~20x slower here
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    row, target = pairs // n_products, pairs % n_products
    keep = target != ids[row]
    row, target = row[keep], target[keep]
    # Strength: same group, then same leaf, then elsewhere; popular first within each.
    tg, sg = lat.group[target], g[row]
    kind = np.where(tg == sg, 0, np.where(lat.group_leaf[tg] == lat.group_leaf[sg], 1, 2))
    strength = kind - _unit(np.log(lat.popularity[target]) + rng.gumbel(size=len(target)))
    target = target[np.argsort(row * 4 + strength)]
    return np.bincount(row, minlength=len(ids)), target


def _unit(x: np.ndarray) -> np.ndarray:
    """Map reals monotonically into [0, 1), so a sort key can carry them after an integer."""
    return 0.5 + 0.4999 * np.tanh(x / 8.0)


def _chunk_related(
    rng, lat: Latent, start: int, ids: np.ndarray, params: dict, scale: float
) -> dict:
    """Per relation: (entries per record, flat targets). Popular products get longer lists, so
    co-purchase is roughly symmetric: they are both listed and listing more often."""
    n = len(ids)
    q = lat.record_quantile[start : start + len(ids)]
    density = scale ** params["density_exponent"]

    def lengths(has, median, sigma):
        mu = np.log(median * density)
        drawn = np.ceil(rng.lognormal(mu, sigma, n))
        return np.where(has, np.clip(drawn, 1, 100), 0).astype(int)

    # The most popular records carry also_bought lists, the longest ones: records that are
    # targets are then mostly sources too, as in the real graph.
    p_ab = 1.0 / (1.0 + np.exp((1.0 - params["also_bought_share"] - q) / 0.08))
    ab_median = params["also_bought_median"] * np.exp(q - 0.5)
    ab_len = lengths(rng.random(n) < p_ab, ab_median, params["also_bought_sigma"])
    ab = _draw_lists(rng, lat, ids, ab_len, params["also_bought_mix"])
    av_len = lengths(rng.random(n) < params["also_viewed_share"], params["also_viewed_median"], 0.8)
    av = _draw_lists(rng, lat, ids, av_len, params["also_viewed_mix"])

    # Bought together: the strongest also_bought entries, as on the real pages.
    bt_probs = np.asarray(params["bought_together_probs"], float)
    k = np.minimum(rng.choice(len(bt_probs), n, p=bt_probs / bt_probs.sum()), ab[0])
    ab_start = np.cumsum(ab[0]) - ab[0]
    bt = (k, ab[1][np.repeat(ab_start, k) + _ragged_arange(k)])

    bav_len = np.where(rng.random(n) < params["buy_after_viewing_share"], rng.integers(1, 5, n), 0)
    bav = _draw_lists(rng, lat, ids, bav_len, params["also_viewed_mix"])
    return dict(zip(_RELATIONS, (ab, av, bt, bav), strict=True))


def _weighted_choice(rng, options, n: int) -> np.ndarray:
    """n draws from (value, weight) pairs, as an object array of the values."""
    weights = np.array([w for _, w in options])
    return np.array([o for o, _ in options], dtype=object)[
        rng.choice(len(options), n, p=weights / weights.sum())
    ]


def _format_chunk(rng, lat: Latent, vocab: _Vocab, params: dict, ids, related: dict) -> str:
    """One ``repr(dict)`` line per record, with the real dumps' optional keys and key orders."""
    n = len(ids)
    leaf = lat.group_leaf[lat.group[ids]]
    words = np.array(vocab.adjectives, dtype=object)[rng.integers(len(vocab.adjectives), size=n)]
    nouns = np.array(vocab.nouns, dtype=object)[rng.integers(len(vocab.nouns), size=n)]
    extras = _weighted_choice(rng, vocab.extras, n)
    title_t = rng.integers(len(vocab.titles), size=n)
    desc_t = rng.integers(len(vocab.descriptions), size=n)
    second = np.where(rng.random(n) < 0.15, rng.integers(len(lat.leaf_paths), size=n), -1)
    image = _ALNUM[rng.integers(62, size=(n, 11))].view("S11").ravel().astype("U11")
    image_plus = rng.random(n) < 0.1
    image_suffix = _IMAGE_SUFFIXES[rng.integers(len(_IMAGE_SUFFIXES), size=n)]
    has = {
        key: rng.random(n) < params[f"{key}_share"]
        for key in ("title", "price", "sales_rank", "brand", "description")
    }
    has["image"] = rng.random(n) < 0.995
    empty_brand = rng.random(n) < 0.15  # the real dumps carry many 'brand': ''
    key_order = rng.integers(len(_KEY_ORDERS), size=n)

    lists = {
        name: (
            np.concatenate([[0], np.cumsum(counts)]).tolist(),
            lat.asin[flat].astype("U10").tolist(),
        )
        for name, (counts, flat) in related.items()
    }
    asins = lat.asin[ids].astype("U10").tolist()
    brands = [lat.brand_names[b] for b in lat.brand[ids].tolist()]
    prices = lat.price[ids].tolist()
    ranks = lat.sales_rank[ids].tolist()
    flags = {key: v.tolist() for key, v in has.items()}
    lines = []
    for i, (asin, lf, brand) in enumerate(zip(asins, leaf.tolist(), brands, strict=True)):
        fields = {
            "brand": brand,
            "adj": words[i],
            "noun": nouns[i],
            "word": lat.leaf_words[lf],
            "extra": extras[i],
        }
        rec = {"asin": asin}
        if flags["title"][i]:
            rec["title"] = vocab.titles[title_t[i]].format(**fields)
        if flags["price"][i]:
            rec["price"] = prices[i]
        if flags["image"][i]:
            code = image[i][:4] + "%2B" + image[i][4:10] if image_plus[i] else image[i]
            rec["imUrl"] = _IMAGE_PREFIX + code + image_suffix[i]
        rel = {}
        for name, (offsets, flat) in lists.items():
            if offsets[i + 1] > offsets[i]:
                rel[name] = flat[offsets[i] : offsets[i + 1]]
        if rel:
            rec["related"] = rel
        if flags["sales_rank"][i]:
            rec["salesRank"] = {lat.leaf_rank_key[lf]: ranks[i]}
        if flags["brand"][i]:
            rec["brand"] = "" if empty_brand[i] else brand
        paths = [list(lat.leaf_paths[lf])]
        if second[i] >= 0:
            paths.append(list(lat.leaf_paths[second[i]]))
        rec["categories"] = paths
        if flags["description"][i]:
            rec["description"] = vocab.descriptions[desc_t[i]].format(**fields)
        lines.append(repr({key: rec[key] for key in _KEY_ORDERS[key_order[i]] if key in rec}))
    lines.append("")
    return "\n".join(lines)


def generate_dump(
    path, *, preset: str = "electronics", scale: float | None = None, seed: int = 0, **overrides
) -> dict:
    """Write a synthetic 2014-format gzip dump to ``path`` (atomically) and summarise it.

    The bytes depend only on (preset, scale, seed, overrides): each chunk of records draws from
    its own seed stream and the gzip header carries no time or file name.
    """
    params, scale = _resolve(preset, scale, overrides)
    vocab = _VOCAB[preset]
    lat = _latent(preset, params, scale, seed)
    has_record = np.zeros(len(lat.group), bool)
    has_record[lat.records] = True
    entries = dict.fromkeys(_RELATIONS, 0)
    sources = same_group = targets_with_record = 0
    with (
        atomic_path(path) as tmp,
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=5, fileobj=raw, mtime=0) as gz,
    ):
        for chunk, start in enumerate(range(0, len(lat.records), _CHUNK)):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, chunk)))
            ids = lat.records[start : start + _CHUNK]
            related = _chunk_related(rng, lat, start, ids, params, scale)
            for name, (counts, _) in related.items():
                entries[name] += int(counts.sum())
            counts, targets = related["also_bought"]
            sources += int((counts >= 2).sum())
            same_group += int((lat.group[targets] == lat.group[np.repeat(ids, counts)]).sum())
            targets_with_record += int(has_record[targets].sum())
            gz.write(_format_chunk(rng, lat, vocab, params, ids, related).encode())
    ab = max(entries["also_bought"], 1)
    return {
        "path": str(Path(path)),
        "preset": preset,
        "scale": scale,
        "seed": seed,
        "records": len(lat.records),
        "universe_products": len(lat.group),
        "groups": len(lat.group_leaf),
        "brands": len(lat.brand_names),
        "categories": len(lat.leaf_paths),
        "related_entries": entries,
        "sources": sources,
        "also_bought_same_group_share": same_group / ab,
        "also_bought_with_record_share": targets_with_record / ab,
    }
