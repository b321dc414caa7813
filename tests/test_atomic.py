"""atomic_path: outputs appear whole or not at all, and a killed run's temporaries go away."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prodembed.runtime import atomic_path, write_json

KILLED_WRITER = """
import sys, time
sys.path.insert(0, {scripts!r})
from prodembed.runtime import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    print(tmp, flush=True)
    time.sleep(60)
"""


def test_failed_write_leaves_nothing(tmp_path):
    out = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_sigkilled_write_is_cleaned_by_the_next_one(tmp_path):
    """SIGKILL skips every cleanup: the rerun of the rule must remove the temporary."""
    out = tmp_path / "report.json"
    script = tmp_path / "writer.py"
    scripts = str(Path(__file__).resolve().parents[1] / "scripts")
    script.write_text(KILLED_WRITER.format(scripts=scripts))
    proc = subprocess.Popen([sys.executable, str(script), str(out)], stdout=subprocess.PIPE)
    stale = Path(proc.stdout.readline().decode().strip())
    proc.kill()
    proc.wait()
    proc.stdout.close()
    assert stale.exists() and stale.parent == tmp_path
    write_json(out, {"ok": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "writer.py"]


def test_only_the_targets_own_temporaries_are_removed(tmp_path):
    out = tmp_path / "a.json"
    keep = [".a.json.tmp", ".a.json.backup.tmp", ".b.json.x1y2z3_w.tmp", "a.json.abcdefgh.tmp"]
    for name in [*keep, ".a.json.abc_1234.tmp"]:
        (tmp_path / name).write_text("x")
    write_json(out, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*keep, "a.json"])
