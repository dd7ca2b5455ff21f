"""`modctl log` for people on call: every entry with its reason and what was forced, wrapped to
an 80-column terminal, and filters that refuse what they cannot mean."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl.state.replay import ACTIONS
from tests.conftest import run

REASON = (
    "overturned appeals doubled in the SG canary after the holiday sale started, so the "
    "pilot moves on only once the review queue has caught up"
)
ACTOR = "on-call.engineer.with.a.long.address@trust-and-safety.example.com"
HISTORY = (
    ("release", "cut", "demo", "--reason", "first cut"),
    ("rollout", "start", "demo", "0.1.0", "--actor", ACTOR, "--incident", "INC-2041"),
    ("rollout", "promote", "demo", "-r", "SG", "--force", "--actor", ACTOR, "--reason", REASON),
)


@pytest.fixture
def history(repo_after: Callable[..., Path]) -> Path:
    return repo_after(*HISTORY)


def test_log_shows_reason_actor_and_forced_within_80_columns(
    history: Path, runner: CliRunner
) -> None:
    code, out = run(runner, history, "log")
    assert code == 0, out
    assert max(len(line) for line in out.splitlines()) <= 80, out
    promote = out.split("\n\n")[0]
    words = " ".join(promote.split())
    assert f"reason: {REASON}" in words
    assert f"actor {ACTOR}" in words
    assert "forced past min_bake" in words
    assert "region SG" in words
    start = out.split("\n\n")[1]
    assert "incident INC-2041" in " ".join(start.split())


def test_log_entries_start_with_time_action_and_commit(history: Path, runner: CliRunner) -> None:
    code, out = run(runner, history, "log")
    assert code == 0, out
    code, raw = run(runner, history, "log", "--output", "json")
    heads = [entry.splitlines()[0].split() for entry in out.split("\n\n")]
    assert heads == [[e["time"], e["action"], e["commit"][:12]] for e in json.loads(raw)]


def test_log_unknown_action_lists_the_actions(history: Path, runner: CliRunner) -> None:
    code, out = run(runner, history, "log", "--action", "promot")
    assert code == 2, out
    assert "unknown action 'promot'" in out
    assert "the journal's actions are start, promote, demote, pause, resume, abort," in out
    assert ", ".join(ACTIONS) in out
    assert "did you mean 'promote'?" in out


@pytest.mark.parametrize("since", ["garbage", "2 hours ago", "yesterday", "3x", ""])
def test_log_since_that_is_neither_date_nor_duration_is_refused(
    history: Path, runner: CliRunner, since: str
) -> None:
    code, out = run(runner, history, "log", "--since", since)
    assert code == 2, out
    assert out.startswith("modctl: error: --since"), out
    assert "2026-11-25" in out
    assert "2h" in out


@pytest.mark.parametrize(
    ("since", "count"),
    [("2000-01-01", 3), ("1d", 3), ("2000-01-01T00:00:00Z", 3), ("2999-01-01", 0)],
    ids=["old-date", "duration", "utc-time", "future"],
)
def test_log_since_takes_dates_and_durations(
    history: Path, runner: CliRunner, since: str, count: int
) -> None:
    code, out = run(runner, history, "log", "--since", since, "--output", "json")
    assert code == 0, out
    assert len(json.loads(out)) == count
