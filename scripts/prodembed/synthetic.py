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
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prodembed.runtime import atomic_path

# Sizes are at scale 1.0, where they approximate the real dumps (docs SEED_NOTES.md); the
# preset's own ``scale`` is the small default the whole workflow runs on in minutes.
PRESETS: dict[str, dict] = {
    "electronics": {
        "scale": 0.024,
        "records": 498_196,  # record lines at scale 1
        "record_share": 0.25,  # share of the product universe that has a record line
        "group_size": 40,  # mean products per latent co-purchase group
        "brands": 2_000,  # at scale 1; grows as sqrt(scale)
        "popularity_exponent": 0.8,  # Zipf exponent of a product's chance of being a target
        "also_bought_share": 0.42,
        "also_bought_median": 16.0,
        "also_bought_sigma": 1.1,
        "also_bought_mix": (0.7, 0.2, 0.1),  # same group, same leaf category, anywhere
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
        "scale": 0.0075,
        "records": 2_370_000,
        "record_share": 0.3,
        "group_size": 40,
        "brands": 3_000,
        "popularity_exponent": 0.8,
        "also_bought_share": 0.55,
        "also_bought_median": 24.0,
        "also_bought_sigma": 1.0,
        "also_bought_mix": (0.7, 0.2, 0.1),
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

# Category trees: level-2 name -> (median price, node); a node is a leaf's title word or a
# dict of child nodes. Depth (root included) is therefore 2 to 4, as in the real dumps.
_ELECTRONICS_TREE = {
    "Computers & Accessories": (
        35.0,
        {
            "Laptops": "Laptop",
            "Monitors": "LED Monitor",
            "Tablets": "Tablet",
            "Computer Components": {
                "Memory": "DDR3 RAM Module",
                "Graphics Cards": "Graphics Card",
                "Internal Hard Drives": "Internal Hard Drive",
                "CPUs": "Processor",
            },
            "Cables & Accessories": {
                "Monitor Accessories": "Monitor Stand",
                "Cables & Interconnects": "HDMI Cable",
                "Keyboards, Mice & Input Devices": "Keyboard",
            },
            "Networking Products": {"Routers": "Router", "Network Adapters": "USB WiFi Adapter"},
            "Data Storage": {
                "External Hard Drives": "Portable Hard Drive",
                "USB Flash Drives": "USB Flash Drive",
            },
        },
    ),
    "Camera & Photo": (
        60.0,
        {
            "Digital Cameras": {
                "Point & Shoot Digital Cameras": "Digital Camera",
                "DSLR Cameras": "DSLR Camera",
            },
            "Lenses": "Zoom Lens",
            "Flashes": "Speedlite Flash",
            "Accessories": {
                "Bags & Cases": "Camera Bag",
                "Tripods & Monopods": "Tripod",
                "Batteries & Chargers": "Battery Charger",
                "Memory Cards": "SDHC Memory Card",
            },
        },
    ),
    "Cell Phones & Accessories": (
        15.0,
        {
            "Cell Phones": "Unlocked Smartphone",
            "Accessories": {
                "Cases": "Case",
                "Screen Protectors": "Screen Protector",
                "Chargers & Adapters": "Car Charger",
                "Headsets": "Bluetooth Headset",
            },
        },
    ),
    "Home Audio & Theater": (
        90.0,
        {
            "Speakers": {"Bookshelf Speakers": "Bookshelf Speaker", "Subwoofers": "Subwoofer"},
            "Home Theater Systems": "Home Theater System",
            "Receivers & Amplifiers": "AV Receiver",
            "Turntables": "Turntable",
        },
    ),
    "Portable Audio & Video": (
        25.0,
        {
            "MP3 & MP4 Players": "MP3 Player",
            "Headphones": "Headphones",
            "Portable Speakers & Docks": "Bluetooth Speaker",
            "Radios": "AM/FM Radio",
        },
    ),
    "Television & Video": (
        120.0,
        {
            "Televisions": "LED TV",
            "Blu-ray Players": "Blu-ray Player",
            "Streaming Media Players": "Streaming Media Player",
            "Projectors": "Projector",
        },
    ),
    "Car & Vehicle Electronics": (
        45.0,
        {
            "Car Electronics": {"Car Audio": "Car Stereo", "Car Video": "Backup Camera"},
            "GPS & Navigation": "GPS Navigator",
            "Radar Detectors": "Radar Detector",
        },
    ),
    "Office Electronics": (30.0, {"Printers": "Printer", "Calculators": "Calculator"}),
    "eBook Readers & Accessories": (20.0, "eReader Cover"),
    "Security & Surveillance": (50.0, "Security Camera"),
}

_BOOKS_TREE = {
    "Literature & Fiction": (
        11.0,
        {
            "Genre Fiction": {"Historical": "Empire", "Family Saga": "Family"},
            "Contemporary": "City",
            "Classics": "Pilgrim",
            "Short Stories": "Stories",
            "Poetry": "Poems",
        },
    ),
    "Mystery, Thriller & Suspense": (
        9.0,
        {
            "Mystery": "Murder",
            "Thrillers & Suspense": {
                "Legal": "Verdict",
                "Psychological": "Stranger",
                "Espionage": "Agent",
            },
        },
    ),
    "Science Fiction & Fantasy": (
        9.5,
        {
            "Fantasy": {"Epic": "Dragon", "Urban": "Witch"},
            "Science Fiction": {"Space Opera": "Starship", "Dystopian": "Rebellion"},
        },
    ),
    "Romance": (7.0, {"Contemporary": "Heart", "Historical": "Duke", "Paranormal": "Vampire"}),
    "Children's Books": (
        8.0,
        {"Animals": "Bunny", "Fairy Tales, Folk Tales & Myths": "Princess", "Early Learning": "ABC"},
    ),
    "Teen & Young Adult": (10.0, "Academy"),
    "Biographies & Memoirs": (14.0, {"Leaders & Notable People": "Life", "Memoirs": "Memory"}),
    "History": (
        16.0,
        {
            "Americas": "Frontier",
            "Europe": "Crown",
            "Military": {"World War II": "Battle", "Civil War": "Union"},
        },
    ),
    "Business & Money": (
        18.0,
        {"Management & Leadership": "Leadership", "Investing": "Money", "Marketing & Sales": "Brand"},
    ),
    "Cookbooks, Food & Wine": (
        17.0,
        {"Baking": "Bread", "Regional & International": "Kitchen", "Quick & Easy": "Dinner"},
    ),
    "Health, Fitness & Dieting": (13.0, {"Diets & Weight Loss": "Diet", "Exercise & Fitness": "Body"}),
    "Self-Help": (12.0, "Habits"),
    "Religion & Spirituality": (
        12.0,
        {"Christian Books & Bibles": "Faith", "Buddhism": "Mindfulness"},
    ),
    "Science & Math": (
        30.0,
        {"Physics": "Universe", "Biological Sciences": "Evolution", "Mathematics": "Numbers"},
    ),
    "Computers & Technology": (
        35.0,
        {"Programming": {"Python": "Python", "Java": "Java"}, "Networking & Cloud Computing": "Cloud"},
    ),
    "Arts & Photography": (25.0, {"Photography & Video": "Light", "Music": "Song"}),
    "Travel": (15.0, {"Europe": "Paris", "United States": "Road Trip"}),
    "Comics & Graphic Novels": (14.0, "Hero"),
    "Crafts, Hobbies & Home": (16.0, {"Knitting": "Knits", "Gardening": "Garden"}),
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
_KEY_ORDERS = (
    ("asin", "categories", "description", "title", "price", "salesRank", "imUrl", "related", "brand"),
    ("asin", "title", "price", "imUrl", "related", "salesRank", "brand", "categories", "description"),
    ("asin", "related", "title", "price", "salesRank", "imUrl", "brand", "categories", "description"),
)
_RELATIONS = ("also_bought", "also_viewed", "bought_together", "buy_after_viewing")


@dataclass(frozen=True)
class _Vocab:
    root: str
    tree: dict
    brand_parts: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    brand_sep: str
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    extras: tuple[tuple[str, float], ...]  # title decorations with weights: quotes live here
    titles: tuple[str, ...]
    descriptions: tuple[str, ...]


_VOCAB = {
    "electronics": _Vocab(
        root="Electronics",
        tree=_ELECTRONICS_TREE,
        brand_parts=(
            (
                *("Aver", "Blu", "Cyber", "Digi", "Ever", "Flex", "Giga", "Hyper", "Inno", "Kin"),
                *("Lumi", "Maxi", "Nex", "Omni", "Pro", "Quanti", "Rex", "Sky", "Tek", "Ultra"),
                *("Vox", "Wave", "Xen", "Zen", "Accu", "Bolt", "Clear", "Dura", "Echo", "Fusion"),
                *("Gold", "Halo", "Iso", "Jet", "Kora", "Luxe", "Mag", "Nova", "Opti", "Pixel"),
                *("Sono", "Terra", "Vanta", "Volt", "Astro"),
            ),
            (
                *("tek", "tron", "link", "wave", "core", "max", "sonic", "view", "cell", "gear"),
                *("pro", "lux", "tone", "cam", "net", "power", "byte", "flow", "star", "logic"),
                *("sound", "vision", "tech", "wire", "port"),
            ),
            ("", " Audio", " Digital", " Electronics", " Labs", " Inc.", " USA", " Systems"),
        ),
        brand_sep="",
        adjectives=(
            *("Wireless", "Portable", "Ultra-Slim", "Compact", "Premium", "Universal"),
            *("Rechargeable", "Heavy Duty", "Professional", "High-Speed", "Waterproof"),
            *("Digital", "Mini", "Ergonomic", "HD", "Dual-Band", "Noise-Cancelling", "Replacement"),
        ),
        nouns=("Black", "White", "Silver", "Blue", "Red", "Pink"),
        extras=(
            (" - Retail Packaging", 3.0),
            (" 2-Pack", 2.0),
            (" with USB Cable", 2.0),
            (" for iPhone 5/5S", 1.0),
            (" 32GB", 1.0),
            (" 1080p", 1.0),
            (" - 6 ft", 1.0),
            (' 12" Screen', 1.0),
            (' 15.6" HD Display', 0.8),
            (" Kid's Edition", 0.5),
            (' "Deluxe" Edition', 0.5),
            (" 10' Cable", 0.5),
            (" [Newest Version]", 0.7),
            (" &amp; Carrying Case", 0.4),
            (" AC\\DC Adapter", 0.05),
        ),
        titles=(
            "{brand} {adj} {word}{extra} ({noun})",
            "{brand} {word}{extra}",
            "{adj} {word} by {brand}{extra}",
            "{brand} {adj} {word}{extra}",
        ),
        descriptions=(
            "The {brand} {word} delivers {adj} performance for everyday use.",
            "Package includes: 1 x {word}, 1 x user manual. Color: {noun}.",
            "Features:\n- {adj} design\n- Works with most devices\n- 1 year warranty",
            "Don't settle for less: this {adj} {word} is built to last.",
            'Our best-selling {word}. Rated "excellent" by customers.',
        ),
    ),
    "books": _Vocab(
        root="Books",
        tree=_BOOKS_TREE,
        brand_parts=(
            (
                *("Penguin", "Harper", "Random", "Vintage", "Simon", "Little", "Scholastic"),
                *("Oxford", "Beacon", "Bloom", "Crown", "Dover", "Faber", "Grove", "Hachette"),
                *("Knopf", "Norton", "Orbit", "Picador", "Riverhead", "Tor", "Wiley", "Anchor"),
                *("Ballantine", "Bantam", "Berkley", "Chronicle", "Del Rey", "Signet", "Tyndale"),
                *("Candlewick", "Houghton", "Mariner", "Perennial", "Quill", "Ecco", "Graywolf"),
                *("Sourcebooks", "Kensington", "Avon", "Baker", "Revell", "Holt", "Pantheon"),
                *("O'Reilly", "Sterling", "Workman", "Chelsea", "Atlantic", "Harbor"),
            ),
            (
                *("Books", "Press", "House", "Publishing", "Classics", "Editions", "Media"),
                *("Group", "Children's Books", "Paperbacks", "University Press", "Kids"),
            ),
            ("", " USA", " UK", " Inc.", " Ltd", " Trade"),
        ),
        brand_sep=" ",
        adjectives=(
            *("Silent", "Lost", "Last", "Hidden", "Broken", "Secret", "Forgotten", "Golden"),
            *("Long", "Dark", "Wild", "Quiet", "Burning", "Invisible", "Little", "Complete"),
            *("Essential", "Practical"),
        ),
        nouns=(
            *("Garden", "River", "House", "Road", "Letters", "Season", "Promise", "Kingdom"),
            *("Daughter", "Journey", "Winter", "Shadow", "Island", "Map", "Storm", "Voice"),
        ),
        extras=(
            ("", 6.0),
            (": A Novel", 2.0),
            (": A Memoir", 0.6),
            (", 2nd Edition", 0.6),
            (": A Beginner's Guide", 0.6),
            (" (Book 2)", 0.6),
            (" (Penguin Classics)", 0.3),
            (": Stories", 0.4),
            (" \\ Collected", 0.03),
        ),
        titles=(
            "The {adj} {noun}{extra}",
            "Anna's {word}{extra}",
            "The {word} {noun}{extra}",
            'The "{adj}" {noun}{extra}',
            "{word}: The {adj} {noun}{extra}",
            "A {noun} of {word}{extra}",
            "Don't Forget the {word}{extra}",
        ),
        descriptions=(
            "A {adj} story of {word} and the {noun} that changed everything.",
            "From {brand}: the {adj} {noun}, now in paperback.",
            "'Unforgettable' - The New York Times. A {word} tale for every reader.",
            'The "{adj} {noun}" series continues.\n\nPraise for the author...',
        ),
    ),
}


@dataclass(frozen=True)
class Latent:
    """The hidden structure behind a dump; ``latent_structure`` rebuilds it for tests/analysis.

    Products are numbered so that every group, and every leaf category, is a contiguous range:
    sampling a popular product of a group is then one search in a cumulative weight array.
    """

    asin: np.ndarray  # S10 per universe product
    group: np.ndarray  # int32 per product
    brand: np.ndarray  # int32 per product
    price: np.ndarray  # float64 per product
    popularity: np.ndarray  # float64 per product, Zipf weights
    sales_rank: np.ndarray  # int64 per product, rank within its salesRank category
    records: np.ndarray  # product ids that get a record line, in asin order
    group_leaf: np.ndarray  # int32 per group
    group_start: np.ndarray  # int64 per group (+1 sentinel)
    leaf_start: np.ndarray  # int64 per leaf (+1 sentinel)
    cum_popularity: np.ndarray  # float64, n+1, leading 0
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
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
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
    powers = base ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % base


def _make_asins(rng: np.random.Generator, n: int, preset: str) -> np.ndarray:
    """Real-looking asins: ISBN-10 with check digit for books; 'B00' + 7 chars (a few ISBNs)
    for electronics, as in the real dumps. The two kinds cannot collide (letter vs digit)."""
    isbn = np.ones(n, bool) if preset == "books" else rng.random(n) < 0.04
    out = np.empty((n, 10), np.uint8)
    plain = ~isbn
    out[plain, :3] = np.frombuffer(b"B00", np.uint8)
    out[plain, 3:] = _ALNUM[_digits(_unique_codes(rng, int(plain.sum()), 36**7), 36, 7)]
    d = _digits(_unique_codes(rng, int(isbn.sum()), 10**9), 10, 9)
    check = (d * np.arange(1, 10)).sum(axis=1) % 11
    out[isbn, :9] = _ALNUM[d]
    out[isbn, 9] = np.where(check == 10, ord("X"), _ALNUM[np.minimum(check, 9)])
    return out.view("S10").ravel()
