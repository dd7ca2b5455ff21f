"""Many writers at once, and writers killed mid-write: the state branch stays whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
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
from tests.conftest import MODCTL, assert_fsck_clean, modctl


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
        results = list(
            pool.map(lambda args: modctl("--repo", live, *args, "--reason", "load"), commands)
        )
    for result in results:
        assert result.returncode in (0, 3, 4), result.stderr  # 3 or 4: it no longer applied
        assert "Traceback" not in result.stderr
    # Exit 0 without a commit: the region already was as asked ("Nothing written.").
    succeeded = [r for r in results if r.returncode == 0 and "state commit" in r.stdout]
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
    assert modctl("--repo", live, "audit", "verify").returncode == 0


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
        if entry.action == "freeze":
            states[f"regions/{region}/_region.yaml"] = True
            continue
        if entry.action == "unfreeze":  # lifting a freeze deletes its file
            states.pop(f"regions/{region}/_region.yaml", None)
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


# git subcommands that write objects or refs: a writer with one of them alive is writing. Its
# `cat-file --batch` reader lives for the whole run and writes nothing, so a live git child alone
# does not mean a write is under way. The store uses fast-import and update-ref today; the
# others are here so that other plumbing is still seen, and a store writing through none of
# these would leave the test with no kill in flight, which it reports.
WRITING = {"fast-import", "update-ref", "hash-object", "mktree", "commit-tree", "push"}


def writing_git_children(pid: int) -> set[int]:
    """The live git processes started by `pid` that write objects or refs (Linux /proc)."""
    found: set[int] = set()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        children = [int(c) for task in tasks for c in (task / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return found  # the writer has exited
    for child in children:
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
        except (FileNotFoundError, ProcessLookupError):
            continue
        # An exited child not yet reaped has an empty command line, so it is not counted.
        if Path(argv[0]).name == "git" and WRITING.intersection(argv[1:]):
            found.add(child)
    return found


@pytest.mark.slow
@pytest.mark.skipif(
    not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
    reason="finding a writer's git children needs Linux's /proc/PID/task/TID/children",
)
def test_killed_writers_leave_a_whole_branch(live: Path) -> None:
    """Writers are killed while git writes their commit or moves the branch, and some are left
    to finish: after each, the branch tip is a commit modctl made, each writer that finished
    succeeded, and at the end git and modctl find nothing broken."""
    rng = random.Random(7)
    in_flight = finished = 0
    for i in range(120):
        args = ("freeze", "--region", "SG") if i % 2 else ("unfreeze", "--region", "SG")
        process = subprocess.Popen(
            [str(MODCTL), "--repo", str(live), *args, "--reason", f"writer {i}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        # Kill on the first, second or third writing git process: the store starts two, so
        # about a third of the writers finish.
        kill_at = rng.randint(1, 3)
        seen: set[int] = set()
        deadline = time.monotonic() + 120  # only against a hang; it never decides a kill
        while process.poll() is None:
            seen |= writing_git_children(process.pid)
            if len(seen) >= kill_at:
                os.killpg(process.pid, signal.SIGKILL)
                in_flight += 1
                break
            assert time.monotonic() < deadline, f"writer {i} neither wrote nor finished"
        _, stderr = process.communicate()
        if process.returncode >= 0:
            assert process.returncode == 0, stderr.decode()
            finished += 1
        # A writer killed inside update-ref leaves git's lock files behind (the branch's,
        # packed-refs'), and git refuses to move the branch until someone removes them, as an
        # operator would once their owner is dead.
        for lock in [*(live / ".git" / "refs").rglob("*.lock"), live / ".git/packed-refs.lock"]:
            lock.unlink(missing_ok=True)
        tip = Store(live).tip()
        assert tip is not None
        assert git.Repo(live).commit(tip).message.startswith(("freeze", "unfreeze", "start"))
    assert in_flight >= 30, f"only {in_flight} of 120 writers were killed while writing"
    assert finished >= 20
    assert_fsck_clean(live)
    audit = modctl("--repo", live, "audit", "verify")
    assert audit.returncode == 0, audit.stderr
