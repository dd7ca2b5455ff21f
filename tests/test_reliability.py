"""Many writers at once, and writers killed mid-write: the state branch stays whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from itertools import takewhile
from pathlib import Path
from typing import Any

import git
import pytest

from modctl import yamlio
from modctl.model import Config
from modctl.source.config import config_at
from modctl.state import rollout
from modctl.state.rollout import RegionState, Situation
from modctl.state.store import Entry, Snapshot, Store

MODCTL = [sys.executable, "-m", "modctl"]


@pytest.fixture
def live(repo_after: Callable[..., Path]) -> Path:
    """A strategy repository with two releases, the first stable in SG and MY."""
    return repo_after(
        ("release", "cut", "demo"),
        ("release", "cut", "demo"),
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "SG", "--full", "--force"),
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "MY", "--full", "--force"),
        ("rollout", "start", "demo", "0.1.1"),
    )


def modctl(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MODCTL, "--repo", str(root), *args], capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_sixteen_processes_at_once_lose_nothing(live: Path) -> None:
    commands = [
        ("freeze", "--region", "SG"),
        ("unfreeze", "--region", "SG"),
        ("freeze", "--region", "MY"),
        ("unfreeze", "--region", "MY"),
        ("rollout", "promote", "demo", "--region", "SG", "--force"),
        ("rollback", "demo", "--region", "MY", "--to", "0.1.1"),
        ("rollback", "demo", "--region", "SG", "--to", "0.1.0"),
        ("rollback", "demo", "--region", "MY", "--to", "0.1.0"),
    ] * 2
    store = Store(live)
    start, initial = store.tip(), store.read()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda args: modctl(live, *args, "--reason", "load"), commands))
    for result in results:
        assert result.returncode in (0, 3, 4), result.stderr  # 3 or 4: it no longer applied
        assert "Traceback" not in result.stderr
    succeeded = [r for r in results if r.returncode == 0]
    new = list(takewhile(lambda e: e.commit != start, store.journal()))
    assert len(new) == len(succeeded)
    reported = {
        line.split("state commit ")[1][:12]
        for r in succeeded
        for line in r.stdout.splitlines()
        if "state commit" in line
    }
    assert reported == {(e.commit or "")[:12] for e in new}
    assert replay(config_at(live), initial, list(reversed(new))) == region_states(store.read())
    assert modctl(live, "audit", "verify").returncode == 0


def region_states(snapshot: Snapshot) -> dict[str, Any]:
    """The region states, and each region's freeze as a plain flag."""
    found: dict[str, Any] = {}
    for path, content in sorted(snapshot.files.items()):
        if path.startswith("regions/"):
            data = yamlio.loads(content.decode())
            found[path] = data["frozen"] if path.endswith("/_region.yaml") else data
    return found


def replay(config: Config, initial: Snapshot, entries: list[Entry]) -> dict[str, Any]:
    """The final state computed from the journal alone, oldest entry first, with the same pure
    transitions the commands use."""
    states = region_states(initial)
    for entry in entries:
        region = str(entry.region)
        if entry.action in ("freeze", "unfreeze"):
            states[f"regions/{region}/_region.yaml"] = entry.action == "freeze"
            continue
        path = f"regions/{region}/demo.yaml"
        state = RegionState.from_dict(states[path])
        s = Situation(config, "demo", ["0.1.0", "0.1.1"], {region: state}, {}, datetime(2030, 1, 1))
        if entry.action == "promote":
            rollout.promote(s, region, force=True)
        else:
            rollout.rollback(s, region, entry.release)
        states[path] = s.changed[region].to_dict()
    return states


@pytest.mark.slow
def test_killed_writers_leave_a_whole_branch(live: Path) -> None:
    rng = random.Random(7)
    kills = 0
    for i in range(200):
        args = ("freeze", "--region", "SG") if i % 2 else ("unfreeze", "--region", "SG")
        process = subprocess.Popen(
            [*MODCTL, "--repo", str(live), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.0, 0.35))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        tip = Store(live).tip()
        assert tip is not None
        assert git.Repo(live).commit(tip).message.startswith(("freeze", "unfreeze", "start"))
    assert kills > 20
    fsck = subprocess.run(
        ["git", "fsck", "--strict"], cwd=live, capture_output=True, text=True, check=False
    )
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    audit = modctl(live, "audit", "verify")
    assert audit.returncode == 0, audit.stderr
