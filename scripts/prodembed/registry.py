"""The one table of models: what trains each, on what, how it scores, what it needs.

The workflow builds its training rules from :data:`FAMILIES` (one rule ``train_<family>``
each, running ``scripts/train_<family>.py``) and maps each configured model to its family,
walks and report position from :data:`MODELS`; config checks, the report's order, the examples
page and the tests read the same table. Adding a model is one :class:`Model` entry here, plus a
:class:`Family` and its rule script when no existing trainer fits (see the README's "Add a
model"). A family's settings live in the config under ``train.<family>``; their defaults are
the trainer's keyword defaults, and the schema lists exactly those keys (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

INPUTS = ("train", "nodes", "walks", "products")
"""What a trainer can read: training edges, the graph's node ids, its model's walks, the
parsed products (paths in ``rules/train.smk``)."""


@dataclass(frozen=True)
class Family:
    """One trainer: the rule ``train_<name>`` that runs ``scripts/train_<name>.py``."""

    env: str  # envs/<env>.yaml
    inputs: tuple[str, ...]  # from INPUTS
    threads: int = 1  # at most; see share_of_cores in rules/common.smk
    gpu: bool = False  # asks for resources.gpu=1 (granted only with --resources gpu=N)
    summary: str = ""


@dataclass(frozen=True)
class Model:
    """A configurable model: its family, the walks it trains on, how it scores a pair."""

    family: str
    walker: str | None  # "deepwalk", "node2vec" or None (trains on the edges)
    similarity: str  # "cosine" or "dot" (sigmoid of dot + biases), see artifacts.py
    summary: str = ""


# Threads are the most a job asks for; rules/common.smk's share_of_cores gives each at most a
# quarter of --cores: with --cores 16 the four pair trainers (Hogwild kernels, pairtrain.py)
# get 4 each and keep every core busy, on a 2-core laptop each runs its serial kernel.
FAMILIES: dict[str, Family] = {
    "degree": Family("data", ("train",), summary="popularity: log(1 + training degree)"),
    "mf": Family("torch", ("train", "nodes"), threads=2, gpu=True, summary="MF on edges"),
    "gensim": Family("gensim", ("walks", "nodes"), threads=8, summary="gensim Word2Vec"),
    "skipgram": Family("torch", ("walks", "nodes"), threads=4, gpu=True, summary="SGNS"),
    "side_info": Family(
        "torch", ("walks", "nodes", "products"), threads=4, gpu=True, summary="EGES"
    ),
    "mf_sequences": Family(
        "torch", ("walks", "nodes"), threads=4, gpu=True, summary="MF on walk pairs"
    ),
}

# In report order: the popularity baseline first, then the study's order.
MODELS: dict[str, Model] = {
    "degree": Model("degree", None, "dot", "popularity baseline"),
    "mf": Model("mf", None, "dot", "matrix factorisation on edges"),
    "mf_bias": Model("mf", None, "dot", "matrix factorisation with biases"),
    "node2vec": Model("skipgram", "node2vec", "cosine", "node2vec walks + skip-gram"),
    "gensim_w2v": Model("gensim", "deepwalk", "cosine", "DeepWalk walks + gensim Word2Vec"),
    "torch_w2v": Model("skipgram", "deepwalk", "cosine", "DeepWalk walks + our skip-gram"),
    "torch_w2v_side_info": Model("side_info", "deepwalk", "cosine", "EGES (side information)"),
    "mf_sequences": Model("mf_sequences", "deepwalk", "dot", "MF with biases on walk pairs"),
}


def models_of(family: str, names) -> list[str]:
    """The models among ``names`` that ``family`` trains."""
    return [name for name in names if MODELS[name].family == family]


def check(names) -> list[str]:
    """Problems with a config's model list, each naming the key to change."""
    unknown = [name for name in names if name not in MODELS]
    if not unknown:
        return []
    where = "the model registry (scripts/prodembed/registry.py)"
    return [f"models: {', '.join(unknown)} not in {where}; known: {', '.join(MODELS)}"]
