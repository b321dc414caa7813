"""Names, wildcard constraints and input functions shared by every rule file."""

import re
from pathlib import Path

from prodembed import registry

# Datasets to build: every one in the config unless it says `enabled: false` (a preset for
# the real dumps turns the default synthetic ones off that way).
DATASETS = [name for name, ds in config["datasets"].items() if ds.get("enabled", True)]
MODELS = list(config["models"])
# Training replicates: the same data and walks, a seed derived per replicate (training.py).
REPLICATES = list(range(config.get("replicates", 1)))
WALKERS = ["deepwalk", "node2vec"]

MODEL_FILES = [
    "embeddings.npy",
    "bias.npy",
    "index.parquet",
    "model.json",
    "curves.parquet",
    "vectors.bin",
]


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
    replicate=alternatives([str(r) for r in REPLICATES]),


def raw_dump(wildcards):
    """The dump to parse: a local path is read where it lies, anything else is fetched first."""
    if source_kind(wildcards.dataset) == "path":
        return config["datasets"][wildcards.dataset]["source"]
    return f"results/{wildcards.dataset}/raw/meta.json.gz"


def walks_for(wildcards):
    """The walks the model trains on (registry.py)."""
    return f"results/{wildcards.dataset}/walks/{registry.MODELS[wildcards.model].walker}.npy"


def all_replicates(name):
    """``name`` in the folder of every dataset x model x replicate."""
    return expand(
        f"results/{{dataset}}/models/{{model}}/rep{{replicate}}/{name}",
        dataset=DATASETS,
        model=MODELS,
        replicate=REPLICATES,
    )


def first_replicates(name, dataset=None):
    """``name`` of replicate 0 of every model (of ``dataset``, or of every dataset)."""
    return expand(
        f"results/{{dataset}}/models/{{model}}/rep0/{name}",
        dataset=[dataset] if dataset else DATASETS,
        model=MODELS,
    )


def all_neighbours():
    """Neighbour lists (and their index) are served from replicate 0 only."""
    return first_replicates("neighbours.parquet")


def models_of(family):
    """The configured models that ``family`` trains (registry.py)."""
    return registry.models_of(family, MODELS)


# The files of a trained model (see scripts/prodembed/artifacts.py).
MODEL_OUTPUT = {
    Path(name).stem: f"results/{{dataset}}/models/{{model}}/rep{{replicate}}/{name}"
    for name in MODEL_FILES
}


# What a trainer may read (registry.INPUTS); walks are the model's own (registry.Model.walker).
TRAIN_INPUTS = {
    "train": "results/{dataset}/train_edges.parquet",
    "nodes": "results/{dataset}/graph/nodes.parquet",
    "walks": walks_for,
    "products": "results/{dataset}/products.parquet",
}


def train_inputs(family):
    """Rule train_<family>'s inputs: the learning-curve sample and what the family reads."""
    spec = registry.FAMILIES[family]
    paths = {name: TRAIN_INPUTS[name] for name in spec.inputs}
    return {"curve_pairs": "results/{dataset}/curve_pairs.parquet", **paths}


def share_of_cores(threads):
    """``threads``, but at most a quarter of --cores, so four multi-threaded jobs share the
    machine: 4 each with --cores 16, one on a 2-core laptop, where two jobs side by side use
    the cores better than one job on two threads (and one thread is the byte-reproducible
    path). Without --cores (a cluster) the full request."""
    try:
        cores = workflow.cores
    except WorkflowError:
        return threads
    return max(1, min(threads, cores // 4))
