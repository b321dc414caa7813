"""The config schema holds, per model family, exactly the settings its trainer accepts."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml
from prodembed.eges import train_eges
from prodembed.gensim_w2v import train_gensim
from prodembed.mf import train_mf
from prodembed.side_info import encode_side_info
from prodembed.skipgram import train_mf_sequences, train_skipgram

ROOT = Path(__file__).resolve().parents[1]

# What the rule scripts pass themselves: data, the shared train keys, the run's facts.
FROM_THE_RUN = {
    "walks", "n_nodes", "side_info", "a_idx", "b_idx", "weights", "use_weights", "bias",
    "dim", "window", "negatives", "epochs", "seed", "device", "curve", "threads", "workers",
    "fused", "log_every",
}  # fmt: skip
FAMILIES = {
    "skipgram": [train_skipgram],
    "side_info": [train_eges],
    "mf": [train_mf],
    "mf_sequences": [train_mf_sequences],
    "gensim": [train_gensim],
}


def schema_block(family: str) -> dict:
    schema = yaml.safe_load((ROOT / "config.schema.yaml").read_text())
    block = schema["properties"]["train"]["properties"][family]
    if "$ref" in block:
        block = schema["definitions"][block["$ref"].rsplit("/", 1)[1]]
    return block


@pytest.mark.parametrize("family", FAMILIES)
def test_schema_block_is_exactly_what_the_trainer_takes(family):
    accepted = set()
    for function in FAMILIES[family]:
        params = inspect.signature(function).parameters
        keyword = {n for n, p in params.items() if p.default is not inspect.Parameter.empty}
        accepted |= keyword - FROM_THE_RUN
    if family == "side_info":  # the rule script hands it to encode_side_info
        assert "price_buckets" in inspect.signature(encode_side_info).parameters
        accepted.add("price_buckets")
    block = schema_block(family)
    assert block["additionalProperties"] is False
    assert set(block["properties"]) == accepted


def test_default_config_sets_only_schema_keys():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for family in FAMILIES:
        assert set(config["train"].get(family, {})) <= set(schema_block(family)["properties"])


@pytest.mark.parametrize("preset", sorted((ROOT / "presets").glob("*.yaml")), ids=lambda p: p.stem)
def test_presets_replace_the_synthetic_datasets_and_dry_run(preset, tmp_path):
    """Each preset validates, turns the synthetic defaults off and plans a download per dump."""
    from workflow import deploy, snakemake

    workdir = deploy(tmp_path, yaml.safe_load((ROOT / "config.yaml").read_text()))
    (workdir / "presets").mkdir()
    (workdir / "presets" / preset.name).write_text(preset.read_text())
    plan = snakemake(workdir, "-n", "--configfile", f"presets/{preset.name}").stdout
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", plan, re.MULTILINE))
    real = [n for n, d in yaml.safe_load(preset.read_text())["datasets"].items() if "source" in d]
    assert jobs.get("download_raw") == str(len(real)) and "synthesize_raw" not in jobs
    for name in real:
        assert f"results/{name}/raw/meta.json.gz" in plan
