"""Canaries per region: waves, steps, bake time, freeze, pause, abort, rollback, deploy/."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from modctl.errors import RefusedError
from modctl.model import Config, Origin, Wave
from modctl.state.rollout import (
    Canary,
    Freeze,
    RegionState,
    Situation,
    abort,
    pause,
    promote,
    rollback,
    stamp,
    start,
)
from modctl.state.store import Store
from tests.conftest import run

NOW = datetime(2026, 11, 25, 12, 0, 0)
CONFIG = Config(
    regions=("SG", "MY", "GB"),
    fields={"title": "string"},
    waves=(
        Wave("pilot", ("SG",), (10, 100), Origin("modctl.yaml")),
        Wave("rest", ("MY", "GB"), (50, 100), Origin("modctl.yaml")),
    ),
    min_bake="1h",
)


def situation(**states: RegionState) -> Situation:
    return Situation(CONFIG, "b", ["1.0.0", "1.1.0"], dict(states), {}, NOW)


def test_start_goes_to_the_next_wave_at_its_first_step() -> None:
    s = situation()
    assert start(s, "1.1.0", None) == "start b 1.1.0 canary in SG 10%"
    assert s.changed["SG"].canary == Canary("1.1.0", 10, 0, stamp(NOW))


def test_wave_order_frozen_and_unknown_release_are_refused() -> None:
    with pytest.raises(
        RefusedError, match=r"wave .pilot. comes first and 1\.1\.0 is not stable there yet \(SG\)"
    ):
        start(situation(), "1.1.0", ["MY"])
    s = situation()
    s.freezes["SG"] = Freeze(True)
    with pytest.raises(
        RefusedError, match="region SG is frozen; `modctl unfreeze --region SG` first"
    ):
        start(s, "1.1.0", None)
    with pytest.raises(RefusedError, match=r"has no release 2\.0\.0"):
        start(situation(), "2.0.0", None)
    s.freezes["SG"] = Freeze(True, incident="INC-7")
    with pytest.raises(
        RefusedError,
        match="region SG is frozen; `modctl unfreeze --region SG --incident INC-7` first",
    ):
        start(s, "1.1.0", None)


def test_next_wave_once_the_pilot_is_stable() -> None:
    s = situation(SG=RegionState("b", "SG", stable="1.1.0"))
    start(s, "1.1.0", None)
    assert sorted(s.changed) == ["GB", "MY"]


def test_promote_waits_for_min_bake_unless_forced() -> None:
    canary = Canary("1.1.0", 10, 0, stamp(NOW - timedelta(minutes=20)))
    s = situation(SG=RegionState("b", "SG", stable="1.0.0", canary=canary))
    with pytest.raises(RefusedError, match="baked 20m00s of 1h; wait 40m00s more or pass --force"):
        promote(s, "SG")
    assert promote(s, "SG", force=True) == "promote b 1.1.0 to stable in SG"
    assert s.changed["SG"] == RegionState("b", "SG", stable="1.1.0", history=("1.0.0",))


def test_promote_steps_then_stable() -> None:
    canary = Canary("1.1.0", 50, 0, stamp(NOW - timedelta(hours=2)))
    s = situation(
        SG=RegionState("b", "SG", stable="1.0.0"),
        MY=RegionState("b", "MY", stable="1.0.0", canary=canary),
    )
    assert promote(s, "MY") == "promote b 1.1.0 to stable in MY"


def test_paused_and_frozen_canaries_do_not_move_but_roll_back() -> None:
    canary = Canary("1.1.0", 10, 0, stamp(NOW - timedelta(hours=2)))
    s = situation(SG=RegionState("b", "SG", stable="1.0.0", history=("0.9.0",), canary=canary))
    pause(s, "SG", paused=True)
    with pytest.raises(RefusedError, match="paused; `modctl rollout resume` first"):
        promote(s, "SG")
    s.freezes["SG"] = Freeze(True)
    with pytest.raises(RefusedError, match="frozen"):
        promote(s, "SG")
    assert rollback(s, "SG") == (
        "rollback b in SG from 1.0.0 to 0.9.0, taking off the 1.1.0 canary at 10%"
    )
    assert s.changed["SG"] == RegionState("b", "SG", stable="0.9.0", history=(), canary=None)


def test_rollback_needs_history_or_a_named_release() -> None:
    s = situation(SG=RegionState("b", "SG", stable="1.1.0"))
    with pytest.raises(
        RefusedError, match="no earlier stable release in SG to roll back to; name one with --to"
    ):
        rollback(s, "SG")
    assert rollback(s, "SG", "1.0.0") == "rollback b in SG from 1.1.0 to 1.0.0"
    assert s.changed["SG"].history == ("1.1.0",)
    with pytest.raises(RefusedError, match="no canary of b in SG to abort"):
        abort(situation(), "SG")


# ------------------------------------------------------------------------ through the CLI


@pytest.fixture
def released(repo_after: Callable[..., Path]) -> git.Repo:
    return git.Repo(repo_after(("release", "cut", "demo"), ("release", "cut", "demo")))


def test_full_rollout_renders_deploy_and_journals(released: git.Repo, runner: CliRunner) -> None:
    root = Path(released.working_dir)
    code, out = run(runner, root, "rollout", "start", "demo", "0.1.0", "--reason", "first rollout")
    assert code == 0, out
    assert out.splitlines() == [
        out.splitlines()[0],
        "Undo: modctl rollout abort demo --region SG",
    ]
    deploy = json.loads(Store(root).read().files["deploy/SG/demo.json"])
    assert deploy["stable"] is None
    assert (deploy["canary"]["version"], deploy["canary"]["weight"]) == ("0.1.0", 10)
    assert deploy["canary"]["digest"].startswith("sha256:")
    assert [r["id"] for r in deploy["canary"]["config"]["rules"]] == ["fake-brand"]
    code, out = run(
        runner, root, "rollout", "promote", "demo", "--region", "SG", "--full", "--force"
    )
    assert code == 0, out
    code, out = run(runner, root, "rollout", "status", "--output", "json")
    shown = json.loads(out)
    assert (shown["commit"], shown["freezes"]) == (Store(root).tip(), [])
    assert shown["rows"] == [
        {
            "region": "SG",
            "wave": "pilot",
            "bundle": "demo",
            "stable": "0.1.0",
            "canary": None,
            "weight": None,
            "step": None,
            "steps": None,
            "at_step_since": None,
            "seconds_at_step": None,
            "minutes_at_step": None,
            "bake_remaining_seconds": None,
            "paused": False,
            "frozen": False,
            "promotable": None,
            "hold": None,
            "why": None,
            "hotpatches": 0,
            "expired_hotpatches": 0,
            "pending_hotpatches": 0,
            "gate": None,
            "gate_at": None,
            "gate_seconds_ago": None,
            "samples_missing": None,
        }
    ]
    journal = Store(root).journal()
    assert [e.action for e in journal] == ["promote", "start", "release", "release"]
    assert (journal[0].forced, journal[0].reason) == ("min_bake", None)
    assert journal[1].reason == "first rollout"


def test_refusals_exit_4_and_write_nothing(released: git.Repo, runner: CliRunner) -> None:
    root = Path(released.working_dir)
    tip = Store(root).tip()
    code, out = run(runner, root, "rollout", "start", "demo", "0.1.0", "--region", "MY")
    assert code == 4
    assert "wave 'pilot' comes first" in out
    code, out = run(runner, root, "rollout", "promote", "demo", "--region", "SG")
    assert code == 4
    assert "no canary of demo in SG" in out
    code, out = run(runner, root, "rollback", "demo", "--region", "SG")
    assert code == 4
    assert Store(root).tip() == tip


def test_freeze_blocks_promotion_not_rollback(released: git.Repo, runner: CliRunner) -> None:
    root = Path(released.working_dir)
    assert run(runner, root, "rollout", "start", "demo", "0.1.0")[0] == 0
    assert (
        run(runner, root, "rollout", "promote", "demo", "--region", "SG", "--full", "--force")[0]
        == 0
    )
    assert run(runner, root, "rollout", "start", "demo", "0.1.1")[0] == 0
    code, out = run(runner, root, "freeze", "--region", "SG", "--reason", "INC")
    assert code == 0, out
    assert "Undo: modctl unfreeze --region SG" in out
    code, out = run(runner, root, "rollout", "promote", "demo", "--region", "SG", "--force")
    assert code == 4
    assert "region SG is frozen" in out
    code, out = run(runner, root, "rollout", "abort", "demo", "--region", "SG")
    assert code == 0, out
    code, out = run(runner, root, "freeze")
    assert code == 2
    assert "name regions with --region, or pass --all" in out


def test_rollback_works_from_a_broken_dirty_checkout(released: git.Repo, runner: CliRunner) -> None:
    root = Path(released.working_dir)
    for args in (
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "SG", "--full", "--force"),
        ("rollout", "start", "demo", "0.1.1"),
        ("rollout", "promote", "demo", "--region", "SG", "--full", "--force"),
    ):
        assert run(runner, root, *args)[0] == 0
    (root / "modctl.yaml").write_text("this: [is broken\n")
    released.git.checkout("--detach")
    code, out = run(runner, root, "rollback", "demo", "--region", "SG", "--incident", "INC-1")
    assert code == 0, out
    assert "rollback demo in SG from 0.1.1 to 0.1.0" in out
    assert "Undo: modctl rollback demo --region SG --to 0.1.1" in out
    assert (root / "modctl.yaml").read_text() == "this: [is broken\n"
    assert Store(root).journal()[0].incident == "INC-1"


def test_dry_run_writes_nothing(released: git.Repo, runner: CliRunner) -> None:
    root = Path(released.working_dir)
    tip = Store(root).tip()
    code, out = run(runner, root, "rollout", "start", "demo", "0.1.0", "--dry-run")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[:4] == [
        "Would start demo 0.1.0 canary in SG 10%; the state would change:",
        "  deploy/SG/demo.json: rendered again",
        "  --- a/regions/SG/demo.yaml",
        "  +++ b/regions/SG/demo.yaml",
    ]
    assert "  +  version: 0.1.0" in lines
    assert "  +  weight: 10" in lines
    assert Store(root).tip() == tip


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The process's output lines as they come, then None when it closes its output."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for_line(lines: queue.Queue[str | None], text: str, timeout: float = 60.0) -> None:
    """Consume lines until one holds `text`; the deadline only bounds a hang."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.0))
        except queue.Empty:
            pytest.fail(f"no line with {text!r} within {timeout:.0f}s")
        assert line is not None, f"the output ended without a line with {text!r}"
        if text in line:
            return


def test_status_watch_renders_again_on_change(released: git.Repo) -> None:
    root = Path(released.working_dir)
    modctl = [sys.executable, "-m", "modctl", "--repo", str(root)]
    watcher = subprocess.Popen(
        [*modctl, "rollout", "status", "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = lines_of(watcher)
        wait_for_line(lines, "Nothing staged yet")
        subprocess.run(
            [*modctl, "rollout", "start", "demo", "0.1.0"], check=True, capture_output=True
        )
        wait_for_line(lines, "0.1.0@10%")
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=60)
    assert watcher.stderr is not None
    assert watcher.returncode == 0, watcher.stderr.read()


def test_render_log_and_release_show(released: git.Repo, runner: CliRunner) -> None:
    root = Path(released.working_dir)
    assert run(runner, root, "rollout", "start", "demo", "0.1.0", "--incident", "INC-7")[0] == 0
    code, out = run(runner, root, "render", "demo", "--region", "SG")
    assert code == 0, out
    rendered = json.loads(out)
    assert (rendered["bundle"], rendered["region"], rendered["canary"]["weight"]) == (
        "demo",
        "SG",
        10,
    )
    code, out = run(runner, root, "render", "demo", "--region", "MY")
    assert code == 2
    assert "nothing deployed for demo in MY" in out
    code, out = run(runner, root, "release", "show", "demo", "0.1.0")
    assert out.strip().endswith("deployed: SG canary at 10%")
    code, out = run(runner, root, "log", "--incident", "INC-7", "--output", "json")
    (entry,) = json.loads(out)
    assert (entry["action"], entry["bundle"], entry["region"], entry["release"]) == (
        "start",
        "demo",
        "SG",
        "0.1.0",
    )
    code, out = run(runner, root, "log", "--action", "release")
    assert [entry.split()[1] for entry in out.split("\n\n")] == ["release", "release"]
    code, out = run(runner, root, "log", "--region", "GB")
    assert out.strip() == "No journal entries match."
