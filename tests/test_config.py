"""The config schema holds, per model family, exactly the settings its trainer accepts."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml
from prodembed import config_check
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


def test_nested_config_overrides_take_the_schemas_types():
    schema = yaml.safe_load((ROOT / "config.schema.yaml").read_text())
    # What Snakemake hands over for --config 'train={"dim": 64, "gensim": {"sg": "false"}}'.
    given = {"train": {"dim": "64", "gensim": {"sg": "false", "lr": "0.05"}}, "seed": "7"}
    coerced = config_check.coerce(given, schema)
    assert coerced == {"train": {"dim": 64, "gensim": {"sg": False, "lr": 0.05}}, "seed": 7}
    # Strings that are not what the schema wants stay strings, so validation names them.
    assert config_check.coerce({"train": {"dim": "big"}}, schema) == {"train": {"dim": "big"}}
    assert config_check.coerce({"walks": {"length": "true"}}, schema)["walks"]["length"] == "true"
    sources = {"datasets": {"x": {"source": "123"}}}
    assert config_check.coerce(sources, schema) == sources  # a string field stays a string


def test_settings_that_cannot_work_are_named():
    base = {"datasets": {"logs": {"source": "synthetic"}, "b": {"source": "synthetic"}}}
    assert config_check.problems(base) == [
        (
            "datasets.logs: the name is taken by the workflow's own results/logs/ folder; "
            "rename the dataset"
        )
    ]
    off = {"datasets": {"a": {"source": "synthetic", "enabled": False}}}
    assert "nothing to run" in config_check.problems(off)[0]
    zero = {"edges": {"weights": {"also_bought": 0, "also_viewed": 0.0}}}
    assert "no edges" in config_check.problems(zero)[0]
    assert config_check.problems(yaml.safe_load((ROOT / "config.yaml").read_text())) == []


def test_a_dataset_defined_in_two_config_files_is_named(tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("datasets:\n  shop:\n    source: synthetic\n")
    second.write_text("datasets:\n  shop:\n    source: /data/shop.json\n  other: {source: x}\n")
    (warning,) = config_check.redefined([first, second])
    assert warning.startswith(f"datasets.shop is defined in both {first} and {second}")
    # Turning a default off is not a redefinition.
    second.write_text("datasets:\n  shop:\n    enabled: false\n")
    assert config_check.redefined([first, second]) == []


def test_nested_override_runs_and_a_reserved_name_fails_the_dry_run(tmp_path):
    from workflow import deploy, snakemake

    workdir = deploy(tmp_path, yaml.safe_load((ROOT / "config.yaml").read_text()))
    plan = snakemake(workdir, "-n", "--config", 'train={"dim": 64, "epochs": 2}')
    assert "train_mf" in plan.stdout
    bad = snakemake(
        workdir, "-n", "--config", 'datasets={"logs": {"source": "synthetic"}}', check=False
    )
    assert bad.returncode != 0 and "datasets.logs: the name is taken" in bad.stdout + bad.stderr


@pytest.mark.parametrize("family", FAMILIES)
def test_schema_defaults_are_the_trainers_own(family):
    """Defaults live in the trainer; the schema may repeat one only if it is the same."""
    defaults = {}
    for function in [*FAMILIES[family], encode_side_info]:
        for name, param in inspect.signature(function).parameters.items():
            defaults.setdefault(name, param.default)
    for key, spec in schema_block(family)["properties"].items():
        if "default" in spec:
            assert spec["default"] == defaults[key], (family, key)
