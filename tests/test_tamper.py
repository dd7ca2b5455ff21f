"""The tamper suite: forged state commits, made with plain git as an attacker would, each named by
`audit verify` with what it changed. Every forgery here passed the audit that checked only the tip."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from modctl import yamlio
from modctl.state.artifact import canonical, digest
from modctl.state.render import render
from modctl.state.rollout import Canary, RegionState, parse_stamp, stamp
from modctl.state.store import Snapshot, Store
from tests.conftest import MINIMAL, commit_minimal, run, run_git, write_files

BRANCH = "refs/heads/modctl-state"
# The forged commits' time: after anything the fixtures make, whenever the tests run.
WHEN = stamp(datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(hours=1))


def trailers(action: str, **values: str) -> str:
    lines = [f"Modctl-Action: {action}", "Modctl-Actor: mallory@example.com"]
    lines += [f"Modctl-{key.capitalize()}: {value}" for key, value in values.items()]
    return "\n".join(lines)


def forge(
    root: Path,
    files: dict[str, bytes | None],
    message: str,
    *,
    base: str = BRANCH,
    merge: str | None = None,
) -> str:
    """A commit on `base` that writes `files` (None deletes), made with plain git plumbing and
    put on the state branch (as a merge of `merge` when given); its id."""
    parent = run_git(root, "rev-parse", base).strip()
    env = {
        **os.environ,
        "GIT_INDEX_FILE": str(root / ".git" / "forged-index"),
        "GIT_COMMITTER_DATE": WHEN,
        "GIT_AUTHOR_DATE": WHEN,
    }
    run_git(root, "read-tree", parent, env=env)
    for path, content in files.items():
        if content is None:
            run_git(root, "update-index", "--force-remove", path, env=env)
            continue
        blob = root / ".git" / "forged-blob"
        blob.write_bytes(content)
        oid = run_git(root, "hash-object", "-w", str(blob)).strip()
        run_git(root, "update-index", "--add", "--cacheinfo", f"100644,{oid},{path}", env=env)
    tree = run_git(root, "write-tree", env=env).strip()
    parents = ["-p", parent] + (["-p", merge] if merge else [])
    commit = run_git(root, "commit-tree", tree, *parents, "-m", message, env=env).strip()
    if base == BRANCH or merge:
        run_git(root, "update-ref", BRANCH, commit)
    return commit


def state_of(root: Path) -> Snapshot:
    return Store(root).read()


def region(snapshot: Snapshot, name: str) -> RegionState:
    return RegionState.from_dict(yamlio.loads(snapshot.files[f"regions/{name}/demo.yaml"].decode()))


def with_state(snapshot: Snapshot, state: RegionState) -> dict[str, bytes | None]:
    """A region state and its deploy/ file, rendered as modctl would: a careful forgery."""
    return {
        f"regions/{state.region}/demo.yaml": yamlio.dump(state.to_dict()).encode(),
        f"deploy/{state.region}/demo.json": render(snapshot, state, parse_stamp(WHEN)),
    }


def audit_names(root: Path, commit: str, *needles: str) -> str:
    code, out = run(CliRunner(), root, "audit", "verify")
    assert code == 1, out
    assert f"audit failed at commit {commit[:12]}" in out, out
    for needle in needles:
        assert needle in out, out
    assert "Traceback" not in out
    return out


@pytest.fixture
def live(repo_after: Callable[..., Path]) -> Path:
    """Two releases: 0.1.0 stable in MY, 0.1.1 stable in SG after 0.1.0; SG frozen."""
    root = repo_after(
        ("release", "cut", "demo"),
        ("release", "cut", "demo"),
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "SG", "--full", "--force"),
        ("rollout", "start", "demo", "0.1.0"),
        ("rollout", "promote", "demo", "--region", "MY", "--full", "--force"),
        ("rollout", "start", "demo", "0.1.1"),
        ("rollout", "promote", "demo", "--region", "SG", "--full", "--force"),
        ("freeze", "--region", "SG", "--reason", "incident 7"),
    )
    assert run(CliRunner(), root, "audit", "verify")[0] == 0
    return root


def test_a_merge_that_rewrites_a_released_artifact(live: Path) -> None:
    snapshot = state_of(live)
    built = json.loads(snapshot.files["artifacts/demo/0.1.1.json"])
    for rule in built["rules"]:
        rule["action"] = "allow"
    data = canonical(built)
    manifest = yamlio.loads(snapshot.files["releases/demo/0.1.1.yaml"].decode())
    manifest["digest"] = digest(data)
    forged = Snapshot(snapshot.commit, {**snapshot.files, "artifacts/demo/0.1.1.json": data})
    side = forge(
        live,
        {
            "artifacts/demo/0.1.1.json": data,
            "releases/demo/0.1.1.yaml": yamlio.dump(manifest).encode(),
            **with_state(forged, region(snapshot, "SG")),
        },
        "release demo 0.1.1\n\n" + trailers("release", bundle="demo", release="0.1.1"),
        base=f"{BRANCH}~3",
    )
    merge = forge(live, {}, "sync\n\n" + trailers("render"), merge=side)
    run_git(live, "read-tree", side)  # the merge takes the side's tree
    audit_names(live, merge, "a merge commit")


def test_a_hotpatch_lasting_until_2099(live: Path) -> None:
    snapshot = state_of(live)
    patch = {
        "id": "hp-1",
        "op": "disable_rule",
        "target": "fake-brand",
        "reason": "x",
        "incident": "INC-1",
        "actor": "mallory@example.com",
        "created": WHEN,
        "expires": "2099-01-01T00:00:00Z",
    }
    state = region(snapshot, "MY")
    forged = RegionState(**{**state.__dict__, "hotpatches": (patch,)})
    commit = forge(
        live,
        with_state(snapshot, forged),
        "rollback demo in MY\n\n" + trailers("rollback", bundle="demo", region="MY"),
    )
    audit_names(live, commit, "regions/MY/demo.yaml")


def test_a_deploy_file_without_region_state(live: Path) -> None:
    snapshot = state_of(live)
    commit = forge(
        live,
        {"deploy/GB/demo.json": snapshot.files["deploy/SG/demo.json"]},
        "freeze MY\n\n" + trailers("freeze", region="MY"),
    )
    audit_names(live, commit, "it writes deploy/GB/demo.json, which `freeze` does not touch")


def test_a_deleted_region_state(live: Path) -> None:
    commit = forge(
        live,
        {"regions/MY/demo.yaml": None, "deploy/MY/demo.json": None},
        "abort demo canary in MY\n\n" + trailers("abort", bundle="demo", region="MY"),
    )
    audit_names(live, commit, "deploy/MY/demo.json", "no canary of demo in MY")


def test_a_lifted_freeze(live: Path) -> None:
    commit = forge(
        live,
        {"regions/SG/_region.yaml": yamlio.dump({"frozen": False}).encode()},
        "freeze MY\n\n" + trailers("freeze", region="MY"),
    )
    audit_names(live, commit, "regions/SG/_region.yaml, which `freeze` does not touch")


def test_an_unreleased_version_in_history(live: Path) -> None:
    snapshot = state_of(live)
    state = region(snapshot, "MY")
    forged = RegionState(**{**state.__dict__, "history": ("0.0.9",)})
    commit = forge(
        live,
        with_state(snapshot, forged),
        f"rollback demo in MY from {state.stable} to 0.0.9\n\n"
        + trailers("rollback", bundle="demo", region="MY", release="0.0.9"),
    )
    audit_names(live, commit, "regions/MY/demo.yaml")


def test_a_freeze_file_with_an_unknown_key(live: Path) -> None:
    body = {"frozen": True, "since": WHEN, "reason": None, "lifted_by": "nobody"}
    commit = forge(
        live,
        {"regions/MY/_region.yaml": yamlio.dump(body).encode()},
        "freeze MY\n\n" + trailers("freeze", region="MY"),
    )
    audit_names(live, commit, "lifted_by is 'nobody', a key modctl never writes")


def test_a_freeze_file_that_is_not_a_mapping_is_a_finding(live: Path) -> None:
    forge(
        live,
        {"regions/MY/_region.yaml": b"- a list\n"},
        "freeze MY\n\n" + trailers("freeze", region="MY"),
    )
    commit = forge(
        live,
        {"regions/GB/_region.yaml": b"frozen: true\n"},
        "freeze GB\n\n" + trailers("freeze", region="GB"),
    )
    out = audit_names(live, run_git(live, "rev-parse", f"{commit}~1").strip())
    assert "regions/MY/_region.yaml" in out


def test_a_symlink_on_the_state_branch_is_a_finding(live: Path) -> None:
    parent = run_git(live, "rev-parse", BRANCH).strip()
    env = {**os.environ, "GIT_INDEX_FILE": str(live / ".git" / "forged-index")}
    run_git(live, "read-tree", parent, env=env)
    blob = live / ".git" / "forged-blob"
    blob.write_bytes(b"../../etc/passwd")
    oid = run_git(live, "hash-object", "-w", str(blob)).strip()
    run_git(live, "update-index", "--add", "--cacheinfo", f"120000,{oid},deploy/MY/x.json", env=env)
    tree = run_git(live, "write-tree", env=env).strip()
    message = "freeze MY\n\n" + trailers("freeze", region="MY")
    commit = run_git(live, "commit-tree", tree, "-p", parent, "-m", message).strip()
    run_git(live, "update-ref", BRANCH, commit)
    audit_names(live, commit, "deploy/MY/x.json as something other than a regular file")


def test_the_first_offending_commit_is_named(live: Path) -> None:
    first = forge(
        live,
        {"regions/GB/_region.yaml": yamlio.dump({"frozen": False}).encode()},
        "freeze MY\n\n" + trailers("freeze", region="MY"),
    )
    forge(
        live,
        {"deploy/GB/demo.json": b"{}"},
        "freeze MY\n\n" + trailers("freeze", region="MY"),
    )
    audit_names(live, first, "regions/GB/_region.yaml")


@pytest.fixture
def steps(tmp_path: Path) -> Path:
    """A pilot wave with steps 1, 10, 50 and 100, and a 1% canary of 0.1.0 in SG."""
    root = commit_minimal(tmp_path / "repo")
    config = MINIMAL["modctl.yaml"].replace("steps: [10, 100]", "steps: [1, 10, 50, 100]")
    write_files(root, {"modctl.yaml": config})
    run_git(root, "commit", "-qam", "four steps")
    runner = CliRunner()
    for args in (("release", "cut", "demo"), ("rollout", "start", "demo", "0.1.0")):
        assert run(runner, root, *args)[0] == 0
    return root


def test_a_canary_that_jumps_from_1_to_50_percent(steps: Path) -> None:
    snapshot = state_of(steps)
    state = region(snapshot, "SG")
    assert state.canary is not None
    assert state.canary.weight == 1
    jumped = RegionState(**{**state.__dict__, "canary": Canary(state.canary.version, 50, 2, WHEN)})
    commit = forge(
        steps,
        with_state(snapshot, jumped),
        "promote demo 0.1.0 canary to 50% in SG\n\n"
        + trailers("promote", bundle="demo", region="SG", release="0.1.0"),
    )
    audit_names(steps, commit, "canary.weight is 50 where `promote` makes 10")


def test_a_hand_written_promote_that_is_legal_verifies(steps: Path) -> None:
    """The audit judges the change, not who typed it: a promote written with plain git that is
    exactly what `modctl rollout promote` makes verifies."""
    snapshot = state_of(steps)
    state = region(snapshot, "SG")
    assert state.canary is not None
    moved = RegionState(**{**state.__dict__, "canary": Canary(state.canary.version, 10, 1, WHEN)})
    forge(
        steps,
        with_state(snapshot, moved),
        "promote demo 0.1.0 canary to 10% in SG\n\n"
        + trailers("promote", bundle="demo", region="SG", release="0.1.0"),
    )
    code, out = run(CliRunner(), steps, "audit", "verify")
    assert (code, out) == (0, "3 state commits verified.\n")


def test_a_promote_that_lifts_a_freeze_on_the_way(steps: Path) -> None:
    assert run(CliRunner(), steps, "freeze", "--region", "SG")[0] == 0
    snapshot = state_of(steps)
    state = region(snapshot, "SG")
    assert state.canary is not None
    moved = RegionState(**{**state.__dict__, "canary": Canary(state.canary.version, 10, 1, WHEN)})
    commit = forge(
        steps,
        {"regions/SG/_region.yaml": None, **with_state(snapshot, moved)},
        "promote demo 0.1.0 canary to 10% in SG\n\n"
        + trailers("promote", bundle="demo", region="SG", release="0.1.0"),
    )
    audit_names(steps, commit, "region SG is frozen")


def test_a_release_whose_artifact_its_source_does_not_build(live: Path) -> None:
    snapshot = state_of(live)
    built = json.loads(snapshot.files["artifacts/demo/0.1.1.json"])
    built["version"] = "0.2.0"
    for rule in built["rules"]:
        rule["action"] = "allow"
    data = canonical(built)
    manifest = yamlio.loads(snapshot.files["releases/demo/0.1.1.yaml"].decode())
    manifest.update(version="0.2.0", digest=digest(data))
    run_git(live, "tag", "modctl/demo/0.2.0", manifest["source_commit"])
    commit = forge(
        live,
        {
            "artifacts/demo/0.2.0.json": data,
            "releases/demo/0.2.0.yaml": yamlio.dump(manifest).encode(),
        },
        "release demo 0.2.0\n\n" + trailers("release", bundle="demo", release="0.2.0"),
    )
    audit_names(live, commit, "artifact of demo 0.2.0 is not what its source commit")


def test_a_missing_release_tag_is_reported_as_missing(live: Path) -> None:
    run_git(live, "tag", "-d", "modctl/demo/0.1.0")
    first = run_git(live, "rev-list", "--max-parents=0", BRANCH).strip()
    audit_names(live, first, "tag modctl/demo/0.1.0 is missing here; `modctl sync` fetches")


def test_a_region_state_right_but_its_deploy_file_hand_made(steps: Path) -> None:
    snapshot = state_of(steps)
    state = region(snapshot, "SG")
    assert state.canary is not None
    moved = RegionState(**{**state.__dict__, "canary": Canary(state.canary.version, 10, 1, WHEN)})
    commit = forge(
        steps,
        {**with_state(snapshot, moved), "deploy/SG/demo.json": b"{}"},
        "promote demo 0.1.0 canary to 10% in SG\n\n"
        + trailers("promote", bundle="demo", region="SG", release="0.1.0"),
    )
    audit_names(steps, commit, "deploy/SG/demo.json differs from what its region state renders")


def test_a_later_change_of_the_waves_keeps_the_past_verifiable(live: Path) -> None:
    """Each rollout commit records the modctl.yaml it obeyed: changing the waves, steps or bake
    time afterwards does not turn the past into findings."""
    config = MINIMAL["modctl.yaml"].replace("steps: [10, 100]", "steps: [5, 100]")
    write_files(live, {"modctl.yaml": config.replace("rollout:\n", "rollout:\n  min_bake: 2h\n")})
    run_git(live, "commit", "-qam", "slower pilot")
    code, out = run(CliRunner(), live, "audit", "verify")
    assert (code, out) == (0, "9 state commits verified.\n")


def test_a_config_nobody_committed_cannot_excuse_a_forgery(steps: Path) -> None:
    permissive = MINIMAL["modctl.yaml"].replace("steps: [10, 100]", "steps: [1, 50, 100]")
    blob = steps / ".git" / "forged-config"
    blob.write_text(permissive)
    oid = run_git(steps, "hash-object", "-w", str(blob)).strip()
    snapshot = state_of(steps)
    state = region(snapshot, "SG")
    assert state.canary is not None
    jumped = RegionState(**{**state.__dict__, "canary": Canary(state.canary.version, 50, 1, WHEN)})
    commit = forge(
        steps,
        with_state(snapshot, jumped),
        "promote demo 0.1.0 canary to 50% in SG\n\n"
        + trailers("promote", bundle="demo", region="SG", release="0.1.0", config=oid),
    )
    audit_names(steps, commit, f"it names modctl.yaml blob {oid[:12]}, which no commit")


def test_a_config_on_an_unmerged_branch_cannot_excuse_a_forgery(steps: Path) -> None:
    main = run_git(steps, "branch", "--show-current").strip()
    run_git(steps, "checkout", "-q", "-b", "feature/y")
    permissive = MINIMAL["modctl.yaml"].replace("steps: [10, 100]", "steps: [1, 50, 100]")
    write_files(steps, {"modctl.yaml": permissive})
    run_git(steps, "commit", "-qam", "wider steps, never reviewed")
    oid = run_git(steps, "rev-parse", "HEAD:modctl.yaml").strip()
    run_git(steps, "checkout", "-q", main)
    snapshot = state_of(steps)
    state = region(snapshot, "SG")
    assert state.canary is not None
    jumped = RegionState(**{**state.__dict__, "canary": Canary(state.canary.version, 50, 1, WHEN)})
    commit = forge(
        steps,
        with_state(snapshot, jumped),
        "promote demo 0.1.0 canary to 50% in SG\n\n"
        + trailers("promote", bundle="demo", region="SG", release="0.1.0", config=oid),
    )
    audit_names(steps, commit, "which no commit of the checked-out history has")


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
CANARY_KEYS = ("version", "weight", "step", "since", "paused")


@given(
    key=st.sampled_from(("stable", "history", "canary", "hotpatches", "bundle", "extra")),
    value=yaml_values
    | st.sampled_from(("0.1.0", "9.9.9", ["9.9.9"], ["0.1.0"], [], [{"id": "x"}], [{}])),
    canary_key=st.sampled_from(CANARY_KEYS),
)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_hostile_region_state_is_a_finding_never_a_crash(
    live_once: Path, key: str, value: object, canary_key: str
) -> None:
    """A region state with any value anywhere: `audit verify` names the commit (exit 1), and the
    commands that read it give one line (exit 2), never a traceback."""
    root = live_once
    tip = run_git(root, "rev-parse", BRANCH).strip()
    try:
        state = yamlio.loads(state_of(root).files["regions/SG/demo.yaml"].decode())
        if key == "canary":
            state["canary"] = dict.fromkeys(CANARY_KEYS, "2026-01-01T00:00:00Z") | {
                canary_key: value
            }
        else:
            state[key] = value
        commit = forge(
            root,
            {"regions/SG/demo.yaml": yamlio.dump(state).encode()},
            "pause demo canary in SG\n\n" + trailers("pause", bundle="demo", region="SG"),
        )
        out = audit_names(root, commit)
        assert "regions/SG/demo.yaml" in out or "pause" in out
        for args in (("rollout", "status"), ("rollback", "demo", "--region", "SG")):
            code, out = run(CliRunner(), root, *args)
            assert code in (0, 2, 4), (args, out)
            assert "Traceback" not in out
            assert "internal error" not in out
    finally:
        run_git(root, "update-ref", BRANCH, tip)


@pytest.fixture(scope="module")
def live_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = commit_minimal(tmp_path_factory.mktemp("hostile") / "repo")
    runner = CliRunner()
    for args in (
        ("release", "cut", "demo"),
        ("rollout", "start", "demo", "0.1.0"),
    ):
        assert run(runner, root, *args)[0] == 0
    return root


def test_a_hand_written_trailer_with_an_escape_sequence(live: Path) -> None:
    commit = forge(
        live,
        {"regions/MY/_region.yaml": b"frozen: false\nsince: null\nreason: null\n"},
        "unfreeze MY\n\n" + trailers("unfreeze", region="MY", reason="\x1b[2Jall clear"),
    )
    out = audit_names(live, commit, "its Modctl-Reason trailer holds the control character")
    assert "\x1b" not in out


def test_a_trailer_given_twice(live: Path) -> None:
    commit = forge(
        live,
        {"regions/MY/_region.yaml": b"frozen: false\nsince: null\nreason: null\n"},
        "unfreeze MY\n\n" + trailers("unfreeze", region="MY") + "\nModctl-Actor: alice",
    )
    audit_names(live, commit, "its trailers cannot be read: Modctl-Actor twice")
