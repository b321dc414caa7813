"""Config checks that run before any job: what the JSON schema cannot say.

- ``--config`` values nested in YAML (``--config 'train={"dim": 64}'``) reach the workflow as
  strings: Snakemake parses nested values with YAML's BaseLoader. :func:`coerce` converts them
  where the schema asks for a number or a boolean, so nested overrides work.
- :func:`problems` refuses settings that pass the schema but cannot produce a result, and
  dataset names that would write into the workflow's own folders.
- :func:`redefined` names datasets that two config files both define: their keys are merged,
  which is rarely what was meant.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from . import registry

RESERVED = {"logs", "report_plots"}
"""Names of the workflow's own folders under results/, which a dataset folder would share."""

_SCALARS = {"integer": int, "number": (int, float), "boolean": bool}


def _resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        schema = root["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def coerce(value, schema: dict, root: dict | None = None):
    """``value`` with strings converted where ``schema`` wants a number or a boolean."""
    root = root or schema
    schema = _resolve(schema, root)
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        return {
            key: coerce(item, props.get(key, extra if isinstance(extra, dict) else {}), root)
            for key, item in value.items()
        }
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [coerce(item, schema["items"], root) for item in value]
    wanted = schema.get("type")
    if isinstance(value, str) and wanted in _SCALARS:
        parsed = yaml.safe_load(value)
        if isinstance(parsed, _SCALARS[wanted]) and (wanted == "boolean") == isinstance(
            parsed, bool
        ):
            return parsed
    return value


def problems(config: dict) -> list[str]:
    """Settings that validate but cannot work, each naming its key."""
    found = registry.check(config.get("models", []))
    datasets = config.get("datasets", {})
    for name in sorted(set(datasets) & RESERVED):
        found.append(
            f"datasets.{name}: the name is taken by the workflow's own results/{name}/ folder; "
            "rename the dataset"
        )
    if datasets and not any(d.get("enabled", True) for d in datasets.values()):
        found.append("datasets: every dataset has enabled: false, so there is nothing to run")
    weights = config.get("edges", {}).get("weights", {})
    if weights and not any(weights.values()):
        found.append("edges.weights: every relation weighs 0, so there would be no edges")
    return found


def redefined(configfiles: list[str | Path]) -> list[str]:
    """Datasets defined in more than one of ``configfiles`` (merged key by key)."""
    seen: dict[str, str] = {}
    found = []
    for path in configfiles:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        for name, dataset in (loaded.get("datasets") or {}).items():
            if name in seen and set(dataset or {}) - {"enabled"}:
                found.append(
                    f"datasets.{name} is defined in both {seen[name]} and {path}; their keys "
                    f"are merged (the later file wins); rename one if they are different dumps"
                )
            seen.setdefault(name, str(path))
    return found
