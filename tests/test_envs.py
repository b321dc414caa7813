"""Static checks of the per-rule conda envs (conda channels are out of reach in CI).

Every rule names an env; every env parses, pins exactly what requirements.txt pins, and
holds every third-party module that its rules' scripts import, directly or through the
library package.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml
from prodembed import registry

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "scripts" / "prodembed"

# import name -> distribution name in requirements.txt
DISTRIBUTIONS = {
    "numpy": "numpy",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "orjson": "orjson",
    "numba": "numba",
    "llvmlite": "llvmlite",
    "torch": "torch",
    "gensim": "gensim",
    "scipy": "scipy",
    "sklearn": "scikit-learn",
    "faiss": "faiss-cpu",
    "matplotlib": "matplotlib",
    "yaml": "PyYAML",
}


def requirement_pins() -> dict[str, str]:
    """The pinned distributions; options such as ``-e .`` (the library itself) are no pins."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def env_pins(env_file: Path) -> dict[str, str]:
    env = yaml.safe_load(env_file.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep["pip"]:
                name, version = spec.split("==")
                pins[name.lower()] = version
    return pins


def rules() -> list[dict]:
    """Each rule's name, conda env and script: the training rules from the registry (they are
    built in a loop), the others read from the rule files."""
    found = [
        {
            "name": f"train_{family}",
            "env": ROOT / "envs" / f"{spec.env}.yaml",
            "script": ROOT / "scripts" / f"train_{family}.py",
            "log": True,
        }
        for family, spec in registry.FAMILIES.items()
    ]
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.MULTILINE)[1:]:
            name = block.split(":", 1)[0]
            env = re.search(r'conda:\s*\n\s*"([^"]+)"', block)
            script = re.search(r'script:\s*\n\s*"([^"]+)"', block)
            found.append(
                {
                    "name": name,
                    "env": (smk.parent / env.group(1)).resolve() if env else None,
                    "script": (smk.parent / script.group(1)).resolve() if script else None,
                    "log": "log:" in block,
                }
            )
    return found


def third_party_imports(path: Path, seen: set[Path] | None = None) -> set[str]:
    """Top-level third-party modules imported by a script and the library modules it uses."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import inside the library
                base = path.parent
                targets = [node.module] if node.module else [a.name for a in node.names]
                for target in targets:
                    module = base / (target.replace(".", "/") + ".py")
                    if module.exists():
                        modules |= third_party_imports(module, seen)
                continue
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top == "prodembed":
                module = LIBRARY / (name.split(".", 1)[1].replace(".", "/") + ".py")
                if "." in name and module.exists():
                    modules |= third_party_imports(module, seen)
            elif top not in sys.stdlib_module_names:
                modules.add(top)
    return modules


RULES = rules()
SCRIPTED = [r for r in RULES if r["script"]]


def test_rules_were_found():
    assert len(SCRIPTED) >= 15


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r["name"])
def test_every_rule_has_env_and_log(rule):
    if rule["name"] == "all":
        return
    assert rule["env"] is not None and rule["env"].exists(), f"rule {rule['name']} has no env"
    assert rule["log"], f"rule {rule['name']} has no log"


@pytest.mark.parametrize("env_file", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_pins_match_requirements(env_file):
    pins, required = env_pins(env_file), requirement_pins()
    assert pins, f"{env_file.name} pins nothing"
    for name, version in pins.items():
        assert required.get(name) == version, f"{env_file.name}: {name}=={version} vs requirements"


@pytest.mark.parametrize("rule", SCRIPTED, ids=lambda r: r["name"])
def test_env_has_every_import_of_its_script(rule):
    pins = env_pins(rule["env"])
    for module in third_party_imports(rule["script"]):
        if module == "snakemake":
            continue
        dist = DISTRIBUTIONS.get(module)
        assert dist is not None, f"{rule['script'].name} imports {module}: add it to DISTRIBUTIONS"
        assert dist.lower() in pins, (
            f"rule {rule['name']}: {module} missing from {rule['env'].name}"
        )
