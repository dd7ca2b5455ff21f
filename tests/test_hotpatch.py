"""Hot-patches in the rendered config, and what status says about them and about gates."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl import yamlio
from modctl.cli import app
from modctl.state.hotpatch import apply
from modctl.state.operations import render
from modctl.state.rollout import RegionState
from modctl.state.store import Entry, Store

CONFIG = {
    "rules": [
        {"id": "a", "action": "takedown", "mode": "enforce", "params": {"max": 1}},
        {"id": "b", "action": "warn", "mode": "enforce", "params": {}},
    ],
    "lists": {"brands": {"kind": "keywords", "items": ["gucci", "dior"]}},
}


def patch(
    op: str, target: str, value: object = None, expires: str = "2099-01-01T00:00:00Z"
) -> dict[str, object]:
    return {
        "id": f"hp-{op}",
        "op": op,
        "target": target,
        "value": value,
        "reason": "r",
        "actor": "a",
        "created": "2026-01-01T00:00:00Z",
        "expires": expires,
    }


def test_every_operation() -> None:
    patched = apply(
        CONFIG,
        [
            patch("disable_rule", "b"),
            patch("set_action", "a", "review"),
            patch("set_mode", "a", "shadow"),
            patch("set_param", "a.max", 5),
            patch("list_add", "brands", ["prada", "gucci"]),
            patch("list_remove", "brands", "dior"),
        ],
    )
    assert patched["rules"] == [
        {"id": "a", "action": "review", "mode": "shadow", "params": {"max": 5}}
    ]
    assert patched["lists"]["brands"]["items"] == ["gucci", "prada"]
    assert CONFIG["rules"][0]["action"] == "takedown"  # the release itself is untouched
    assert [
        r["id"]
        for r in apply(CONFIG, [patch("disable_rule", "b"), patch("enable_rule", "b")])["rules"]
    ] == ["a", "b"]


@pytest.fixture
def deployed(repo_after: Callable[..., Path]) -> Path:
    return repo_after(("release", "cut", "demo"), ("rollout", "start", "demo", "0.1.0"))


def test_render_applies_active_patches_only(deployed: Path) -> None:
    snapshot = Store(deployed).read()
    state = RegionState.from_dict(yamlio.loads(snapshot.files["regions/SG/demo.yaml"].decode()))
    live = patch("disable_rule", "fake-brand")
    old = {
        **patch("set_action", "fake-brand", "warn", expires="2020-01-01T00:00:00Z"),
        "id": "hp-old",
    }
    state = RegionState(
        state.bundle, state.region, state.stable, state.history, state.canary, (live, old)
    )
    rendered = json.loads(render(snapshot, state, datetime(2026, 6, 1)))
    assert rendered["hotpatches"] == ["hp-disable_rule"]
    assert rendered["canary"]["config"]["rules"] == []


def test_status_counts_patches_and_shows_the_last_gate(deployed: Path, runner: CliRunner) -> None:
    store = Store(deployed)
    state = yamlio.loads(store.read().files["regions/SG/demo.yaml"].decode())
    state["hotpatches"] = [
        patch("disable_rule", "fake-brand"),
        patch("set_mode", "fake-brand", "shadow", expires="2020-01-01T00:00:00Z"),
    ]
    files: dict[str, bytes | None] = {
        "regions/SG/demo.yaml": yamlio.dump(state).encode(),
        "analyses/demo/SG/2026-11-25T10:00:00Z.json": json.dumps(
            {"verdict": "inconclusive"}
        ).encode(),
        "analyses/demo/SG/2026-11-25T11:00:00Z.json": json.dumps({"verdict": "pass"}).encode(),
    }
    store.write(lambda snapshot: (files, Entry("hotpatch", "a", "seed")))
    result = runner.invoke(app, ["--repo", str(deployed), "rollout", "status"])
    assert result.exit_code == 0, result.output
    row = result.output.splitlines()[1].split()
    assert row[-3:] == ["(1", "expired)", "pass"]
    assert "1 (1 expired)" in result.output
