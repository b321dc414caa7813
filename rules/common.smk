"""Names, wildcard constraints and input functions shared by every rule file."""

import re
from pathlib import Path

DATASETS = list(config["datasets"])
MODELS = list(config["models"])
WALKERS = ["deepwalk", "node2vec"]

# Which walks each walk-based model trains on; the others train on the edges.
WALKER_OF = {
    "node2vec": "node2vec",
    "gensim_w2v": "deepwalk",
    "torch_w2v": "deepwalk",
    "torch_w2v_side_info": "deepwalk",
    "mf_sequences": "deepwalk",
}
MODEL_FILES = ["embeddings.npy", "bias.npy", "index.parquet", "model.json"]


def alternatives(names):
    """A regex matching exactly these names (and nothing when the list is empty)."""
    return "|".join(re.escape(n) for n in names) or "(?!x)x"


def source_kind(dataset):
    source = config["datasets"][dataset]["source"]
    if source == "synthetic":
        return "synthetic"
    if source.startswith(("http://", "https://")):
        return "url"
    return "path"


def datasets_of_kind(kind):
    return [d for d in DATASETS if source_kind(d) == kind]


wildcard_constraints:
    dataset=alternatives(DATASETS),
    model=alternatives(MODELS),
    walker=alternatives(WALKERS),


def raw_dump(wildcards):
    """The dump to parse: a local path is read where it lies, anything else is fetched first."""
    if source_kind(wildcards.dataset) == "path":
        return config["datasets"][wildcards.dataset]["source"]
    return f"results/{wildcards.dataset}/raw/meta.json.gz"


def model_files(dataset, model):
    return [f"results/{dataset}/models/{model}/{name}" for name in MODEL_FILES]


def walks_for(wildcards):
    return f"results/{wildcards.dataset}/walks/{WALKER_OF[wildcards.model]}.npy"


def all_metrics():
    return expand(
        "results/{dataset}/models/{model}/metrics.json", dataset=DATASETS, model=MODELS
    )


def all_neighbours():
    return expand(
        "results/{dataset}/models/{model}/neighbours.parquet",
        dataset=DATASETS,
        model=MODELS,
    )


def models_of(family):
    return [m for m in MODELS if m in family]


# The files of a trained model (see scripts/prodembed/artifacts.py).
MODEL_OUTPUT = {
    Path(name).stem: f"results/{{dataset}}/models/{{model}}/{name}"
    for name in MODEL_FILES
}
