"""What a command imports before it answers: start-up is part of an emergency command's time.

These check which modules are loaded when a command is done (deterministic), never how long
anything takes; the figures are in `benchmarks/rollback_bench.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import MINIMAL, write_files

PROBE = """\
import atexit, json, os, sys
atexit.register(lambda: open(os.environ["MODULES_OUT"], "w").write(json.dumps(sorted(sys.modules))))
from modctl.cli import main
sys.argv = ["modctl", *sys.argv[1:]]
main()
"""


def imported(tmp_path: Path, *args: str | Path) -> set[str]:
    """The modules a fresh modctl process has imported when ARGS are done, as the console
    script runs them."""
    out = tmp_path / "modules.json"
    env = {**os.environ, "MODULES_OUT": str(out)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(out.read_text()))


def test_version_answers_without_typer(tmp_path: Path) -> None:
    modules = imported(tmp_path, "--version")
    assert "modctl" in modules
    assert not {m for m in modules if m.startswith(("typer", "yaml", "modctl.cli."))}


def test_a_state_command_loads_only_its_own_command(tmp_path: Path) -> None:
    write_files(tmp_path, MINIMAL)
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    first = imported(tmp_path, "--repo", tmp_path, "freeze", "--region", "SG")
    assert "modctl.cli.rollout" in first
    unrelated = {"modctl.cli.backtest", "modctl.cli.validate", "numpy", "pyarrow", "git", "re2"}
    assert not first & unrelated
    # modctl.yaml at HEAD passed its schema on the first run: the next one reuses that result
    # from the parse cache and never loads the schema validator.
    assert "jsonschema_rs" in first
    second = imported(tmp_path, "--repo", tmp_path, "unfreeze", "--region", "SG")
    assert "jsonschema_rs" not in second
    assert "logging" not in second


def test_the_status_shortcut_loads_only_the_rollout_commands(tmp_path: Path) -> None:
    write_files(tmp_path, MINIMAL)
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    modules = imported(tmp_path, "--repo", tmp_path, "status")
    assert "modctl.cli.rollout" in modules
    unrelated = {"modctl.cli.backtest", "modctl.cli.validate", "modctl.cli.journal", "numpy"}
    assert not modules & unrelated


def test_a_local_backtest_loads_no_spark(tmp_path: Path) -> None:
    """PySpark and py4j (and the JVM they start) are for --engine spark only."""
    repo = tmp_path / "repo"
    write_files(repo, MINIMAL)
    data = tmp_path / "rows.jsonl"
    data.write_text('{"id": "1", "region": "SG", "title": "Gucci bag", "price": 5}\n')
    modules = imported(tmp_path, "--repo", repo, "backtest", "demo", "--data", data)
    assert "modctl.backtest.run" in modules
    assert not {
        m
        for m in modules
        if m.startswith(("pyspark", "py4j", "modctl.backtest.spark", "modctl.backtest.session"))
    }
