"""The repository stands on its own: no file names a path outside it, the optional real
samples come through one setting, and the README's commands run as written."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SAMPLES_VAR, samples_dir, samples_missing
from workflow import deploy

README = ROOT / "README.md"
PLACEHOLDER = "${" + SAMPLES_VAR + "}"

# What a path outside the repository looks like. Spelled so that this file does not match.
OUTSIDE = {
    "the team workspace beside the clone": re.compile(r"\.\./shared\b"),
    "a path joined onto a sibling 'shared' folder": re.compile(r"""/\s*["']shared["']"""),
    "an absolute path of one machine": re.compile(
        r"(?<![\w.~:/-])/(?:work|root|home/[\w.-]+|Users/[\w.-]+|tmp/bash_jobs[\w.]*)(?=/)"
    ),
    "the team's notes, which a clone does not have": re.compile(r"SEED_NOTE[S]"),
    "a section of the team's design notes": re.compile(r"(?<!docs/)DESIGN\.md,? section"),
}
SKIP_DIRS = {".git", ".venv", "results", "__pycache__", ".snakemake", ".pytest_cache"}


def dry_run(workdir, *args: str) -> subprocess.CompletedProcess:
    """``snakemake -n`` with these arguments in ``workdir``, from this interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", *args],
        check=False,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )


def repository_files() -> list[Path]:
    """Tracked files and new ones git would track; a plain walk where git is unavailable."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        names = [n for n in out.decode().split("\0") if n]
        return [ROOT / n for n in names if (ROOT / n).is_file()]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for folder, dirs, names in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith("_cache")]
            files += [Path(folder) / n for n in names]
        return files


def test_no_file_names_a_path_outside_the_repository():
    found = []
    for path in repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary
        for number, line in enumerate(text.splitlines(), 1):
            for what, pattern in OUTSIDE.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()}")
    assert not found, "files that point outside the repository:\n" + "\n".join(found)


# --- the samples setting ----------------------------------------------------------------------


def test_samples_setting_skips_with_a_reason(monkeypatch, tmp_path):
    monkeypatch.delenv(SAMPLES_VAR, raising=False)
    assert samples_dir() is None
    assert SAMPLES_VAR in samples_missing() and "--samples" in samples_missing()
    monkeypatch.setenv(SAMPLES_VAR, str(tmp_path / "absent"))
    assert "not a folder" in samples_missing() and str(tmp_path / "absent") in samples_missing()
    monkeypatch.setenv(SAMPLES_VAR, str(tmp_path))
    assert samples_missing() is None
    assert "x.json.gz not found" in samples_missing("x.json.gz")
    monkeypatch.setenv(SAMPLES_VAR, "tests/data")  # relative: from the repository root
    assert samples_dir() == ROOT / "tests" / "data" and samples_missing() is None


def test_ci_points_the_tests_at_the_samples_before_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = ".venv/bin/python -m pytest -q"
    assert test_command in README.read_text()
    assert ci.index(f"export {SAMPLES_VAR}=") < ci.index(test_command)


# --- the README's commands ----------------------------------------------------------------------


def readme_section(title: str) -> str:
    """The text under a README heading, up to the next heading (code blocks may hold '#')."""
    lines, inside, fenced = [], False, False
    for line in README.read_text().splitlines(keepends=True):
        fenced ^= line.startswith("```")
        heading = not fenced and re.match(r"#+ ", line)
        if heading and inside:
            break
        if heading and line.rstrip("\n") == heading.group(0) + title:
            inside = True
        elif inside:
            lines.append(line)
    assert inside, f"README has no section {title!r}"
    return "".join(lines)


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def shell_lines(block: str) -> list[str]:
    """The commands of a shell block: continuations joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    lines = (re.sub(r"(^|\s+)#.*$", "", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def snakemake_commands() -> list[str]:
    """Every Snakemake command line in the README, from code blocks and inline code."""
    text = README.read_text()
    lines = [line for block in code_blocks(text, "bash") for line in shell_lines(block)]
    lines += re.findall(r"`([^`\n]*\bsnakemake [^`\n]*)`", text)
    commands = []
    for line in lines:
        for part in re.split(r"&&|;|\|", line):
            if re.match(r"^(?:[A-Z_]+=\S+ )*(?:\S*/)?snakemake ", part.strip()):
                commands.append(part.strip())
    return commands


def snakemake_args(command: str) -> list[str]:
    words = shlex.split(command)
    start = next(i for i, w in enumerate(words) if w.endswith("snakemake"))
    args = words[start + 1 :]
    stop = next((i for i, w in enumerate(args) if w.startswith(">")), len(args))
    return args[:stop]


def test_every_readme_snakemake_command_parses_as_meant():
    """Options that take several values (--configfile, --resources, ...) swallow any target
    written after them: Snakemake then reads the target as a config file or a resource."""
    from snakemake.cli import get_argument_parser

    commands = snakemake_commands()
    assert len(commands) >= 10 and any("--configfile" in c for c in commands)
    for command in commands:
        try:
            args = get_argument_parser().parse_args(snakemake_args(command))
        except (ValueError, TypeError, SystemExit) as error:
            pytest.fail(f"README command does not parse: {command}\n{error!r}")
        for configfile in args.configfile or []:
            assert str(configfile).endswith((".yaml", ".yml")), (command, configfile)


def test_readme_real_dump_command_dry_runs(tmp_path):
    """The 'Point it at a real dump' recipe, as written, against a small local dump."""
    section = readme_section("Point it at a real dump")
    config_text = code_blocks(section, "yaml")[0]
    (command,) = shell_lines(code_blocks(section, "bash")[0])
    filename = re.match(r"#\s*(\S+\.ya?ml)", config_text).group(1)
    extra = yaml.safe_load(config_text)
    (dataset,) = extra["datasets"]

    workdir = deploy(tmp_path / "wf", yaml.safe_load((ROOT / "config.yaml").read_text()))
    dump = tmp_path / "meta_Tiny.json.gz"
    dump.write_bytes(gzip.compress((ROOT / "tests/data/tiny_2014.json").read_bytes()))
    extra["datasets"][dataset].update(
        source=str(dump), sha256=hashlib.sha256(dump.read_bytes()).hexdigest()
    )
    (workdir / filename).write_text(yaml.safe_dump(extra))

    words = shlex.split(command)
    assert words[0] == "snakemake", command
    assert filename in words, f"the README command does not use {filename}: {command}"
    targets = [w for w in words if w.startswith("results/")]
    assert targets and all(t.startswith(f"results/{dataset}/") for t in targets), command
    result = dry_run(workdir, *words[1:])
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    assert "parse_products" in result.stdout and "synthesize_raw" not in result.stdout
    for target in targets:
        assert target in result.stdout


def graph_edges(mermaid: str) -> set[tuple[str, str]]:
    names = dict(re.findall(r"^\s*(id\d+)\[(\w+)\]", mermaid, re.MULTILINE))
    pairs = re.findall(r"^\s*(id\d+) --> (id\d+)", mermaid, re.MULTILINE)
    return {(names[a], names[b]) for a, b in pairs}


def test_readme_rule_graph_is_what_its_command_draws():
    (command,) = {c for c in snakemake_commands() if "--rulegraph mermaid-js" in c}
    configs = [w for w in shlex.split(command) if w.startswith("tests/data/")]
    assert configs and all((ROOT / c).is_file() for c in configs), command
    drawn = subprocess.run(
        [sys.executable, "-m", "snakemake", *snakemake_args(command)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert drawn.returncode == 0, drawn.stderr[-4000:]
    (block,) = code_blocks(README.read_text(), "mermaid")
    assert graph_edges(block) == graph_edges(drawn.stdout), (
        f"the README's rule graph is stale; regenerate it with: {command}"
    )


# --- the test configs that name a real sample ---------------------------------------------------


def test_music_sample_config_names_the_sample_through_the_setting(amazon_samples, tmp_path):
    """The README's recipe for the real sample, as written: fill in the folder, dry-run."""
    template = (ROOT / "tests/data/music_sample.yaml").read_text()
    assert PLACEHOLDER in template
    fill, command = shell_lines(
        code_blocks(readme_section("The real Digital Music sample"), "bash")[0]
    )
    assert fill.startswith("sed ") and "tests/data/music_sample.yaml" in fill, fill

    workdir = deploy(tmp_path, yaml.safe_load((ROOT / "config.yaml").read_text()))
    (workdir / "tests" / "data").mkdir(parents=True)
    (workdir / "tests/data/music_sample.yaml").write_text(template)
    env = {**os.environ, SAMPLES_VAR: str(amazon_samples)}
    subprocess.run(["bash", "-c", fill], check=True, cwd=workdir, env=env, timeout=60)
    filled = re.search(r"> *(\S+)$", fill).group(1)
    config = yaml.safe_load((workdir / filled).read_text())
    (dataset,) = config["datasets"]
    entry = config["datasets"][dataset]
    source = Path(entry["source"])
    if not source.is_file():
        pytest.skip(samples_missing(source.name) or f"{source} not found")
    assert hashlib.sha256(source.read_bytes()).hexdigest() == entry["sha256"]

    words = shlex.split(command)
    assert words[0] == "snakemake" and filled in words, command
    target = f"results/{dataset}/products.parquet"
    result = dry_run(workdir, target, *words[1:])
    assert result.returncode == 0, f"{command}\n{result.stderr[-4000:]}"
    assert "parse_products" in result.stdout and str(source) in result.stdout
