"""End-to-end runs of the workflow on tiny configs, plus dry-run, graphs, lint and bad input."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from prodembed import registry
from prodembed.artifacts import ModelArtifacts
from prodembed.scoring import score_pairs
from sklearn.metrics import roc_auc_score
from workflow import ROOT, deploy, snakemake, tiny_config

ALL_MODELS = list(registry.MODELS)
TORCH_RULE_LOGS = ("walks_", "train_mf", "train_node2vec", "train_torch_w2v", "train_mf_seq")
# One thread per pair trainer: the serial kernels, so a seed gives the same bytes.
ONE_THREAD = [f"train_{f}=1" for f in ("skipgram", "side_info", "mf_sequences")]
TINY = {"tiny": {"source": "synthetic", "synthetic": {"preset": "electronics", "scale": 0.004}}}
STAGE_FILES = [
    "raw/meta.json.gz",
    "products.parquet",
    "edges.parquet",
    "train_edges.parquet",
    "val_pairs.parquet",
    "val_pairs_dm.parquet",
    "graph/csr.npz",
    "walks/deepwalk.npy",
    "walks/node2vec.npy",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The whole matrix on a tiny synthetic dataset, with one GPU slot granted."""
    workdir = deploy(tmp_path_factory.mktemp("tiny"), tiny_config(TINY, ALL_MODELS))
    snakemake(workdir, "--cores", "2", "--resources", "gpu=1", "--set-threads", *ONE_THREAD)
    return workdir


def metrics_of(workdir: Path, dataset: str = "tiny", replicate: int = 0) -> dict[str, dict]:
    return {
        path.parent.parent.name: json.loads(path.read_text())
        for path in (workdir / "results" / dataset / "models").glob(
            f"*/rep{replicate}/metrics.json"
        )
    }


def test_default_config_dry_run_graphs_and_lint(tmp_path):
    default = deploy(tmp_path, yaml.safe_load((ROOT / "config.yaml").read_text()))
    assert "synthesize_raw" in snakemake(default, "-n").stdout
    assert "digraph" in snakemake(default, "--rulegraph", "dot").stdout
    assert "flowchart" in snakemake(default, "--dag", "mermaid-js").stdout
    lint = snakemake(default, "--lint")
    assert "Congratulations" in lint.stdout + lint.stderr


def test_readme_rule_graph_lists_every_rule():
    listing = snakemake(ROOT, "--list-rules").stdout.splitlines()
    rules = {line.split()[0] for line in listing if line.strip()}
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```mermaid\n(.*?)```", readme, re.DOTALL)
    assert block, "README has no mermaid rule graph"
    drawn = set(re.findall(r"\[(\w+)\]", block.group(1)))
    assert rules <= drawn, f"rules missing from the README graph: {sorted(rules - drawn)}"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"models": ["mf", "deepfm"]}, "deepfm"),
        ({"datasets": {"music": {"sorce": "x.json.gz"}}}, "sorce"),
        ({"datasets": {"music": {}}}, "source"),
        ({"walks": {"length": -3}}, "length"),
        ({"train": {"dim": "big"}}, "dim"),
        ({"train": {"mf": {"price_buckets": 4}}}, "price_buckets"),  # EGES's, not MF's
        ({"replicates": 0}, "replicates"),
    ],
)
def test_bad_config_is_rejected_before_any_job(tmp_path, change, named):
    config = tiny_config(TINY, ["degree"])
    config.update(change)
    workdir = deploy(tmp_path, config)
    result = snakemake(workdir, "--cores", "1", check=False)
    assert result.returncode != 0
    assert named in result.stderr
    assert not (workdir / "results").exists()


def test_every_stage_output_and_metrics_in_range(tiny_run):
    results = tiny_run / "results"
    for name in STAGE_FILES:
        assert (results / "tiny" / name).stat().st_size > 0, name
    metrics = metrics_of(tiny_run)
    assert sorted(metrics) == sorted(ALL_MODELS)
    sample = pd.read_parquet(results / "tiny" / "curve_pairs.parquet")
    for model, m in metrics.items():
        for key in ("auc_all", "auc_seen", "auc_all_dm", "auc_seen_dm", "pr_auc", "coverage"):
            assert 0.0 <= m[key] <= 1.0 and math.isfinite(m[key]), (model, key, m[key])
        for key in ("recall_at_10", "ndcg_at_10"):
            assert 0.0 <= m[key] <= 1.0, (model, key)
        assert m["train_seconds"] >= 0
        for key in ("auc_seen_dm", "recall_at_10"):
            assert m[f"{key}_lo"] <= m[key] <= m[f"{key}_hi"], (model, key)
        folder = results / "tiny" / "models" / model / "rep0"
        curve = pd.read_parquet(folder / "curves.parquet")
        assert curve["final"].iloc[-1] and curve["final"].sum() == 1, model
        assert curve["step"].is_monotonic_increasing, model
        if model == "gensim_w2v":  # gensim has hooks at epoch ends only
            assert len(curve) == 4 and curve["epoch_end"].sum() == 3, model
        elif model != "degree":  # trained: ~20 points and every epoch's end
            assert len(curve) >= 15 and curve["epoch_end"].sum() == 3, model
        saved = ModelArtifacts.load(folder)
        for protocol, column in (("uniform", "auc_seen"), ("degree_matched", "auc_seen_dm")):
            pairs = sample[sample["protocol"] == protocol]
            scores, _ = score_pairs(saved, pairs["a"], pairs["b"])
            assert curve[column].iloc[-1] == roc_auc_score(pairs["label"], scores), model
        neighbours = pd.read_parquet(folder / "neighbours.parquet")
        assert set(neighbours.columns) >= {"asin", "rank", "neighbour", "score"}
        assert (neighbours.asin != neighbours.neighbour).all()
    report = pd.read_csv(results / "report.csv")
    assert len(report) == len(ALL_MODELS)
    assert {"dataset", "model", "auc_all", "auc_seen", "coverage", "recall_at_10"} <= set(
        report.columns
    )
    assert "tiny" in (results / "report.md").read_text()
    examples = (results / "tiny" / "examples.md").read_text()
    assert examples.count("\n## ") == 12  # four queries from each degree bucket
    for model in ALL_MODELS:
        assert "| " + model.replace("_", r"\_") + " |" in examples, model


def test_models_really_learn_and_popularity_is_neutralised(tiny_run):
    m = metrics_of(tiny_run)
    assert m["torch_w2v"]["auc_seen"] > 0.8
    assert m["torch_w2v"]["auc_seen_dm"] > m["degree"]["auc_seen_dm"] + 0.15
    assert abs(m["degree"]["auc_all_dm"] - 0.5) < 0.05  # popularity alone is no help here
    # ... but it is under the study's uniform negatives
    assert m["degree"]["auc_all"] > m["degree"]["auc_all_dm"] + 0.15
    # side information embeds cold products, so it covers more validation pairs
    assert m["torch_w2v_side_info"]["coverage"] > m["torch_w2v"]["coverage"]


def test_second_run_has_nothing_to_do(tiny_run):
    result = snakemake(tiny_run, "--cores", "2", "-n")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_one_gpu_slot_serialises_torch_jobs_and_jobs_log_their_device(tiny_run):
    spans = []
    for log in (tiny_run / "results" / "tiny" / "logs").glob("*.log"):
        if not log.name.startswith(TORCH_RULE_LOGS):
            continue
        text = log.read_text()
        assert "resources.gpu=1" in text and "device cpu" in text, log.name
        stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+)", text, re.MULTILINE)
        spans.append(
            [datetime.strptime(s, "%Y-%m-%d %H:%M:%S,%f") for s in (stamps[0], stamps[-1])]
        )
    assert len(spans) >= 7
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, "two torch jobs ran at the same time with gpu=1"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_config_same_bytes_and_metrics(tiny_run, tmp_path):
    """Replicate 0 reproduces the first run; replicate 1 trains with another seed."""
    workdir = deploy(tmp_path, tiny_config(TINY, ["degree", "torch_w2v"], replicates=2))
    snakemake(
        workdir, "--cores", "2", "--profile", "profiles/local-cluster", "--set-threads", *ONE_THREAD
    )
    for name in STAGE_FILES:
        if "node2vec" in name:  # neither model here needs node2vec walks
            continue
        here, there = workdir / "results/tiny" / name, tiny_run / "results/tiny" / name
        assert digest(here) == digest(there), name
    again, first = metrics_of(workdir), metrics_of(tiny_run)
    for model in ("degree", "torch_w2v"):
        for key in ("auc_all", "auc_seen", "auc_seen_dm", "recall_at_10"):
            assert again[model][key] == first[model][key], (model, key)
    other = metrics_of(workdir, replicate=1)["torch_w2v"]
    assert other["seed"] != again["torch_w2v"]["seed"] == first["torch_w2v"]["seed"]
    assert other["auc_seen_dm"] != again["torch_w2v"]["auc_seen_dm"]
    report = pd.read_csv(workdir / "results/report.csv").set_index("model")
    assert (report["n_replicates"] == 2).all()
    assert report.loc["torch_w2v", "auc_seen_dm_sd"] > 0
    # every job went through the local cluster stand-in's submit script
    spool = workdir / ".snakemake" / "local-cluster"
    submitted = list(spool.glob("*.exit"))
    assert len(submitted) >= 10 and all(p.read_text().strip() == "0" for p in submitted)
    # and each torch job says which device it used and why
    log = workdir / "results/tiny/logs/train_torch_w2v_rep1.log"
    assert "device cpu: " in log.read_text()


TOY_TRAINER = """# Rule train_toy: a test model, one seeded random vector per trained product.
import numpy as np
import pandas as pd
from prodembed.runtime import read_parquet, setup_logging
from prodembed.training import TrainingRun

setup_logging(snakemake.log[0])
run = TrainingRun(snakemake)
train = read_parquet(snakemake.input.train)
asins = np.asarray(pd.unique(pd.concat([train["a"], train["b"]])), dtype=object)
emb = np.random.default_rng(run.seed).normal(size=(len(asins), 8)).astype(np.float32)
run.save(emb, asins, "cosine", method="toy")
"""


def test_a_model_added_through_the_registry_runs(tmp_path):
    """One registry entry plus a trainer script: the rules, checks and evaluation pick it up."""
    workdir = deploy(tmp_path, tiny_config(TINY, ["degree", "toy"]))
    with open(workdir / "scripts/prodembed/registry.py", "a") as registry_file:
        registry_file.write(
            '\nFAMILIES["toy"] = Family("data", ("train",), summary="random vectors")\n'
            'MODELS["toy"] = Model("toy", None, "cosine", "a toy model")\n'
        )
    (workdir / "scripts/train_toy.py").write_text(TOY_TRAINER)
    snakemake(workdir, "--cores", "2", "results/tiny/models/toy/rep0/metrics.json")
    metrics = metrics_of(workdir)["toy"]
    assert 0.4 < metrics["auc_seen_dm"] < 0.6  # random vectors know nothing
    curve = pd.read_parquet(workdir / "results/tiny/models/toy/rep0/curves.parquet")
    assert curve["final"].all() and len(curve) == 1


def test_truncated_real_dump_fails_clearly_and_leaves_no_output(tmp_path, amazon_samples):
    dump = amazon_samples / "meta_Digital_Music_2014_sample_truncated.json.gz"
    workdir = deploy(tmp_path, tiny_config({"cut": {"source": str(dump)}}, ["degree"]))
    result = snakemake(workdir, "--cores", "1", check=False)
    assert result.returncode != 0
    log = (workdir / "results/cut/logs/parse_products.log").read_text()
    assert "truncated" in log
    assert not (workdir / "results/cut/products.parquet").exists()


@pytest.fixture
def http_server(amazon_samples):
    """The real samples served over HTTP on 127.0.0.1, as a remote dump would be."""
    import http.server
    import threading
    from functools import partial

    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(amazon_samples))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_real_music_sample_downloaded_and_every_model_in_range(tmp_path, http_server):
    """The whole matrix on a real dump, fetched by the workflow and checked against its sha256."""
    name = "meta_Digital_Music_2014_sample.json.gz"
    sha = "f53724e22b832ada5f40289ecc4ce05378deca36af7ba02e63b8d929e7c8e018"
    config = tiny_config(
        {"music": {"source": f"{http_server}/{name}", "sha256": sha}},
        ALL_MODELS,
        walks={"walks_per_node": 2, "length": 10, "node2vec": {"p": 0.5, "q": 2.0}},
    )
    config["train"].update(dim=16, epochs=1)
    workdir = deploy(tmp_path, config)
    snakemake(workdir, "--cores", "2")
    parse = json.loads((workdir / "results/music/products_report.json").read_text())
    assert parse["records_kept"] == 7419 and parse["malformed"] == 0
    metrics = metrics_of(workdir, "music")
    assert sorted(metrics) == sorted(ALL_MODELS)
    for model, m in metrics.items():
        for key in ("auc_all", "auc_seen", "auc_all_dm", "auc_seen_dm", "coverage", "recall_at_10"):
            assert math.isfinite(m[key]) and 0.0 <= m[key] <= 1.0, (model, key)


def test_wrong_checksum_stops_before_parsing(tmp_path, http_server):
    name = "meta_Electronics_2014_head10.json"
    config = tiny_config(
        {"head": {"source": f"{http_server}/{name}", "sha256": "0" * 64}}, ["degree"]
    )
    workdir = deploy(tmp_path, config)
    result = snakemake(workdir, "--cores", "1", check=False)
    assert result.returncode != 0
    assert "sha256 mismatch" in (workdir / "results/head/logs/download_raw.log").read_text()
    assert not (workdir / "results/head/raw/meta.json.gz").exists()
