"""`modctl demo`: the installed command tells the whole loop, leaves an auditable repository
with --keep and nothing without it; its seeded metrics make the gate fail the same way each run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from modctl import yamlio
from modctl.demo import metrics, workspace
from modctl.errors import UsageError
from modctl.gates.judge import Counts, Gate, judge
from tests.conftest import PROJECT, modctl, run_git

# The commands the demo types, in order: the first three words of each `$ modctl ...` line.
STORY = [
    "init",
    "validate",
    "test",
    "backtest ipr-counterfeit",
    "release cut",
    *["rollout start", "rollout promote"],
    *["rollout start", *["rollout promote"] * 5],
    *["rollout start", *["rollout promote"] * 2],
    "release cut",
    "rollout start",
    "rollout analyze",
    "rollout advance",
    "emergency run",
    "rollout status",
    "log --region",
    "incident report",
    "audit verify",
]


def typed(stdout: str) -> list[str]:
    return [" ".join(line.split()[2:4]) for line in stdout.splitlines() if line.startswith("$ ")]


def test_demo_tells_the_loop_and_keeps_a_repository_that_passes_audit(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    done = modctl("demo", "--keep", "--dir", folder, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert typed(out) == STORY
    assert "Traceback" not in out + done.stderr
    assert "\x1b[" not in out  # no colour when stdout is no terminal
    changed = re.search(r"Compared with main: (\d+) decisions change", out)
    assert changed is not None, out
    assert int(changed.group(1)) > 0
    # The canary's overturned appeals fail the gate, and the auto-rollback aborts it.
    assert re.search(r"SG +1\.1\.0@1% +1 +overturn-rate .* fail\n", out), out
    assert "SG ipr-counterfeit 1.1.0@1%: aborted; gate overturn-rate failed" in out
    # The playbook mitigates in every region, and the report times it.
    assert "Mitigated in " in out
    assert "disable_rule lux-unauthorized-cheap in SG, MY, TH, ID, PH, VN, GB, US" in out
    assert re.search(r"^\| Time to mitigate \| \d+s \|$", out, re.M), out
    assert re.search(r"^\d+ state commits verified\.$", out, re.M), out
    repo = folder / "repo"
    assert f"The repository is kept in {repo} " in out
    assert f"#   cd {repo}" in out

    audit = modctl("audit", "verify", cwd=repo)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "state commits verified" in audit.stdout
    # The state branch went to the remote too, every change of it.
    state = run_git(repo, "rev-parse", "modctl-state")
    assert run_git(folder / "remote.git", "rev-parse", "modctl-state") == state
    assert run_git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_demo_without_keep_leaves_nothing_behind(tmp_path: Path) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    done = modctl("demo", cwd=tmp_path, env={**os.environ, "TMPDIR": str(temp)}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "folder is removed again" in done.stdout
    assert list(temp.iterdir()) == []


def test_demo_refuses_a_dir_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    done = modctl("demo", "--dir", tmp_path, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"modctl: error: --dir {tmp_path} is not empty; give an empty or new folder, or leave "
        "--dir out\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    refused = modctl("demo", "--dir", tmp_path / "notes.txt", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "is not a folder" in refused.stderr


def test_a_failing_step_stops_the_demo_in_one_line_and_cleans_up(tmp_path: Path) -> None:
    """An actor that is no one line of text makes the first state write refuse (exit 2)."""
    folder = tmp_path / "demo"
    env = {**os.environ, "MODCTL_ACTOR": "two\nlines"}
    done = modctl("demo", "--dir", folder, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    last = done.stderr.splitlines()[-1]
    assert last == (
        "modctl: error: the demo stopped at act 4, Release 1.0.0 and roll it out everywhere: "
        "`modctl release cut ipr-counterfeit --version 1.0.0` exited 2 where 0 was expected"
    )
    assert not folder.exists()


def test_the_seeded_metrics_fail_the_overturn_gate_and_pass_the_takedown_gate() -> None:
    assert metrics.counts() == metrics.counts(metrics.SEED)
    assert metrics.counts() != metrics.counts(metrics.SEED + 1)
    config = yamlio.loads((PROJECT / "modctl.yaml").read_text())
    canary, stable = metrics.counts()["canary"], metrics.counts()["stable"]
    verdicts = {}
    for name, gate in config["gates"].items():
        top, bottom = gate["numerator"], gate["denominator"]
        counts = Counts(canary[top], canary[bottom], stable[top], stable[bottom])
        verdicts[name] = judge(Gate.from_config(name, gate), counts).verdict
    assert verdicts == {"overturn-rate": "fail", "takedown-rate": "pass"}
    text = metrics.csv_text("SG", "ipr-counterfeit", "2026-11-29T10:00:00Z", "2026-11-29T11:00Z")
    header, *rows = text.splitlines()
    assert header.split(",") == [*metrics.HEADER]
    assert header.split(",")[5:] == config["metrics"]["names"]
    assert [row.split(",")[2] for row in rows] == ["stable", "canary"]


def test_an_empty_dir_is_emptied_again_and_a_new_one_removed(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    place = workspace.claim(empty)
    (place.folder / "repo" / "sub").mkdir(parents=True)
    (place.folder / "file").write_text("x")
    workspace.clear(place)
    assert empty.is_dir()
    assert list(empty.iterdir()) == []
    new = workspace.claim(tmp_path / "a" / "new")
    assert new.created
    workspace.clear(new)
    assert not (tmp_path / "a" / "new").exists()


@pytest.mark.parametrize("kind", ["file", "full folder"])
def test_claim_refuses_what_is_not_an_empty_folder(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("x")
    else:
        target.mkdir()
        (target / "x").write_text("x")
    with pytest.raises(UsageError):
        workspace.claim(target)
    assert target.exists()
