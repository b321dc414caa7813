"""The model registry is the one table the rules, schema, report and profiles agree with."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prodembed import registry
from prodembed.report import MODEL_ORDER

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", registry.MODELS)
def test_every_model_names_a_family_walks_and_a_scoring_rule(name):
    model = registry.MODELS[name]
    assert model.family in registry.FAMILIES
    assert model.walker in (None, "deepwalk", "node2vec")
    assert model.similarity in ("cosine", "dot")
    family = registry.FAMILIES[model.family]
    assert ("walks" in family.inputs) == (model.walker is not None)


@pytest.mark.parametrize("family", registry.FAMILIES)
def test_every_family_has_its_rule_script_env_and_settings(family):
    spec = registry.FAMILIES[family]
    assert (ROOT / "scripts" / f"train_{family}.py").is_file()
    assert (ROOT / "envs" / f"{spec.env}.yaml").is_file()
    assert set(spec.inputs) <= set(registry.INPUTS)
    schema = yaml.safe_load((ROOT / "config.schema.yaml").read_text())
    blocks = schema["properties"]["train"]["properties"]
    assert family in blocks or family == "degree"  # the baseline has nothing to set


def test_report_order_and_default_config_follow_the_registry():
    assert MODEL_ORDER == tuple(registry.MODELS)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert config["models"] == list(registry.MODELS)


def test_the_cluster_profile_places_every_gpu_family():
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    for family, spec in registry.FAMILIES.items():
        if spec.gpu:
            assert profile["set-resources"][f"train_{family}"]["slurm_partition"] == "gpu"


def test_unknown_models_are_named_with_the_known_ones():
    (problem,) = registry.check(["mf", "deepfm"])
    assert problem.startswith("models: deepfm not in the model registry")
    assert "torch_w2v_side_info" in problem
    assert registry.check(list(registry.MODELS)) == []
