"""`hotpatch apply|list|revert`: one record per apply, written in every region it patches in one
commit, verified before it is written, live only until it expires, replayed by `audit verify`."""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl.context import Context
from modctl.state import rollout
from modctl.state.operations import Journal, change, hotpatch_apply, hotpatch_expire
from modctl.state.store import Entry, Store
from tests.conftest import MINIMAL, commit_minimal, run, run_git, write_files

T0 = datetime(2026, 11, 29, 8, 0, 0)
DISABLE = ("disable_rule", "fake-brand")


@pytest.fixture
def deployed(tmp_path: Path) -> Path:
    """demo 0.1.0 stable in SG and MY, with a clean case that a looser price limit breaks;
    hot-patches live at most 72h."""
    root = commit_minimal(tmp_path / "repo")
    tests = MINIMAL["strategies/demo/tests/main.yaml"] + (
        "- name: pricey gucci is fine\n"
        "  region: SG\n"
        "  item: {title: Gucci bag, price: 500}\n"
        "  expect: {action: none}\n"
    )
    config = MINIMAL["modctl.yaml"] + "hotpatch: {max_ttl: 72h}\n"
    write_files(root, {"strategies/demo/tests/main.yaml": tests, "modctl.yaml": config})
    run_git(root, "commit", "-qam", "a clean case, a ttl")
    assert run(CliRunner(), root, "release", "cut", "demo")[0] == 0
    context = Context(root, clock=lambda: T0)
    journal = Journal("a@x")
    change(context, "demo", "start", lambda s: rollout.start(s, "0.1.0", ["SG"]), journal)
    change(context, "demo", "promote", lambda s: rollout.promote(s, "SG"), journal)
    change(context, "demo", "start", lambda s: rollout.start(s, "0.1.0", ["MY"]), journal)
    change(context, "demo", "promote", lambda s: rollout.promote(s, "MY"), journal)
    return root


def apply(root: Path, *args: str) -> tuple[int, str]:
    return run(CliRunner(), root, "hotpatch", "apply", "demo", *args)


def deployed_rules(root: Path, region: str) -> list[str]:
    data = json.loads(Store(root).read().files[f"deploy/{region}/demo.json"])
    return [r["id"] for r in data["stable"]["config"]["rules"]]


def test_apply_patches_every_region_in_one_commit_and_revert_takes_it_off(deployed: Path) -> None:
    before = Store(deployed).tip()
    code, out = apply(
        deployed, "-r", "SG", "-r", "MY", *DISABLE, "--incident", "INC-1", "--reason", "bad"
    )
    assert code == 0, out
    store = Store(deployed)
    assert run_git(deployed, "rev-list", "--count", f"{before}..{store.tip()}").strip() == "1"
    assert deployed_rules(deployed, "SG") == deployed_rules(deployed, "MY") == []
    entry = store.journal()[0]
    assert (entry.action, entry.region, entry.incident) == ("hotpatch", "MY,SG", "INC-1")
    assert entry.hotpatch is not None
    assert entry.hotpatch.startswith("hp-")
    assert f"Undo: modctl hotpatch revert {entry.hotpatch}" in out
    assert "Verified SG demo 0.1.0: lint, 1 test case (1 set aside" in out
    listed = json.loads(run(CliRunner(), deployed, "hotpatch", "list", "-o", "json")[1])
    (row,) = listed["hotpatches"]
    assert (row["id"], row["regions"], row["reason"]) == (entry.hotpatch, ["MY", "SG"], "bad")
    assert run(CliRunner(), deployed, "audit", "verify")[0] == 0

    code, out = run(CliRunner(), deployed, "hotpatch", "revert", entry.hotpatch)
    assert code == 0, out
    assert deployed_rules(deployed, "SG") == ["fake-brand"]
    assert "modctl hotpatch apply demo --region MY --region SG disable_rule fake-brand" in out
    assert json.loads(run(CliRunner(), deployed, "hotpatch", "list", "--all", "-o", "json")[1]) == {
        "hotpatches": []
    }
    assert run(CliRunner(), deployed, "audit", "verify")[0] == 0


def test_a_patch_that_breaks_a_case_it_does_not_target_writes_nothing(deployed: Path) -> None:
    tip = Store(deployed).tip()
    code, out = apply(
        deployed, "-r", "SG", "set_param", "fake-brand.max_price", "1000", "--reason", "x"
    )
    assert code == 1, out
    assert "test 'pricey gucci is fine'" in out
    assert "expected none, got takedown" in out
    assert Store(deployed).tip() == tip
    code, out = apply(
        deployed, "-r", "SG", "set_param", "fake-brand.max_price", "10", "--reason", "x"
    )
    assert code == 0, out
    data = json.loads(Store(deployed).read().files["deploy/SG/demo.json"])
    assert data["stable"]["config"]["rules"][0]["params"] == {"max_price": 10}


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("-r", "SG", "disable_rule", "no-such-rule"), 4, "has no rule 'no-such-rule'"),
        (("-r", "GB", *DISABLE), 2, "bundle demo does not serve region GB"),
        (("-r", "SG", *DISABLE, "--expires-in", "4d"), 2, "longer than hotpatch.max_ttl (72h)"),
        (
            ("-r", "SG", "set_param", "fake-brand.max_price", "cheap"),
            2,
            "fake-brand.max_price takes a whole number (it is 20), not 'cheap'",
        ),
        (("-r", "SG", "set_param", "fake-brand.nope", "1"), 4, "declares no param 'nope'"),
        (("-r", "SG", "set_action", "fake-brand", "review"), 2, "needs --queue"),
        (("-r", "SG", "set_mode", "fake-brand", "loud"), 2, "set_mode takes enforce or shadow"),
        (("-r", "SG", "list_add", "nope", "x"), 4, "has no list 'nope'"),
        (("-r", "SG", "list_remove", "brands", "guccci"), 4, "guccci is not in list brands"),
        (("-r", "SG", "list_add", "brands", "x", "gucci"), 4, "gucci is in list brands of demo"),
        (("-r", "SG", "enable_rule", "fake-brand"), 4, "rule fake-brand is not disabled in"),
        (("-r", "SG", "set_mode", "fake-brand", "enforce"), 4, "has mode enforce in demo 0.1.0"),
        (("-r", "SG", "set_action", "fake-brand", "takedown"), 4, "has action takedown in"),
        (("-r", "SG", "set_param", "fake-brand.max_price", "20"), 4, "has max_price 20 in demo"),
        (("-r", "SG", "frobnicate", "fake-brand"), 2, "unknown hot-patch op 'frobnicate'"),
        (("-r", "XX", *DISABLE), 2, "unknown region 'XX'"),
        # Read whole, or not at all: neither is 5 hours, or 1.
        (("-r", "SG", *DISABLE, "--expires-in", "1.5h"), 2, "not a duration such as"),
        (("-r", "SG", *DISABLE, "--expires-in", "-1h"), 2, "not a duration such as"),
        (("-r", "SG", *DISABLE, "--expires-in", "4h "), 2, "not a duration such as"),
    ],
)
def test_a_bad_patch_is_one_line_and_writes_nothing(
    deployed: Path, args: tuple[str, ...], code: int, said: str
) -> None:
    tip = Store(deployed).tip()
    got, out = apply(deployed, *args, "--reason", "x")
    assert (got, said in out, "Traceback" in out) == (code, True, False), out
    assert Store(deployed).tip() == tip


def test_a_patch_stops_applying_when_it_expires_or_outlives_max_ttl(deployed: Path) -> None:
    journal = Journal("a@x", "bad", "INC-1")
    request = {"op": "disable_rule", "target": "fake-brand", "expires_in": "48h"}
    hotpatch_apply(Context(deployed, clock=lambda: T0), "demo", ["SG"], request, journal)
    assert deployed_rules(deployed, "SG") == []
    # modctl.yaml now allows 1h: at the next write the patch no longer applies.
    config = MINIMAL["modctl.yaml"] + "hotpatch: {max_ttl: 1h}\n"
    write_files(deployed, {"modctl.yaml": config})
    run_git(deployed, "commit", "-qam", "a shorter ttl")
    later = Context(deployed, clock=lambda: T0 + timedelta(hours=2))
    shadow = {"op": "set_mode", "target": "fake-brand", "value": "shadow", "expires_in": "1h"}
    hotpatch_apply(later, "demo", ["SG"], shadow, journal)
    data = json.loads(Store(deployed).read().files["deploy/SG/demo.json"])
    assert [(r["id"], r["mode"]) for r in data["stable"]["config"]["rules"]] == [
        ("fake-brand", "shadow")
    ]
    assert len(data["hotpatches"]) == 1
    assert run(CliRunner(), deployed, "audit", "verify")[0] == 0


def test_a_patch_made_by_a_clock_in_the_future_does_not_apply_now(deployed: Path) -> None:
    journal = Journal("a@x", "bad")
    request = {"op": "disable_rule", "target": "fake-brand", "expires_in": "1h"}
    future = Context(deployed, clock=lambda: datetime(2099, 1, 1))
    hotpatch_apply(future, "demo", ["SG"], request, journal)
    assert deployed_rules(deployed, "SG") == []
    rows = json.loads(run(CliRunner(), deployed, "hotpatch", "list", "--all", "-o", "json")[1])
    (row,) = rows["hotpatches"]
    assert row["live"] is False


def test_status_and_validate_flag_an_expired_patch(deployed: Path) -> None:
    journal = Journal("a@x", "bad")
    request = {"op": "disable_rule", "target": "fake-brand", "expires_in": "1h"}
    hotpatch_apply(Context(deployed, clock=lambda: T0), "demo", ["SG"], request, journal)
    status = json.loads(run(CliRunner(), deployed, "status", "-o", "json")[1])
    sg = next(r for r in status["rows"] if r["region"] == "SG")
    assert (sg["hotpatches"], sg["expired_hotpatches"]) == (0, 1)
    code, out = run(CliRunner(), deployed, "validate")
    assert code == 0, out
    assert "warning H001 hot-patch hp-" in out
    assert "expired at 2026-11-29T09:00:00Z" in out


def test_a_forged_patch_beyond_max_ttl_fails_the_audit(deployed: Path) -> None:
    store = Store(deployed)
    path = "regions/SG/demo.yaml"
    state = store.read().files[path].decode()
    forged = state.replace(
        "hotpatches: []",
        "hotpatches:\n- {id: hp-x, op: disable_rule, target: fake-brand, reason: r, actor: a,\n"
        "  created: '2026-11-29T08:00:00Z', expires: '2099-01-01T00:00:00Z'}",
    )
    assert forged != state
    store.write(
        lambda _s: (
            {path: forged.encode()},
            Entry(
                "hotpatch", "a", "hotpatch demo hp-x", bundle="demo", region="SG", hotpatch="hp-x"
            ),
        )
    )
    code, out = run(CliRunner(), deployed, "audit", "verify")
    assert code == 1, out
    assert "longer than hotpatch.max_ttl" in out


def test_expire_takes_lapsed_patches_off_in_one_commit(deployed: Path) -> None:
    journal = Journal("a@x", "bad")
    request = {"op": "disable_rule", "target": "fake-brand", "expires_in": "1h"}
    hotpatch_apply(Context(deployed, clock=lambda: T0), "demo", ["SG", "MY"], request, journal)
    data = json.loads(Store(deployed).read().files["deploy/SG/demo.json"])
    assert data["hotpatches_until"] == "2026-11-29T09:00:00Z"
    soon = Context(deployed, clock=lambda: T0 + timedelta(minutes=30))
    assert hotpatch_expire(soon, Journal("a@x")).commit is None
    tip = Store(deployed).tip()
    done = hotpatch_expire(Context(deployed, clock=lambda: T0 + timedelta(hours=2)), journal)
    store = Store(deployed)
    assert run_git(deployed, "rev-list", "--count", f"{tip}..{store.tip()}").strip() == "1"
    assert done.regions == ["MY", "SG"]
    assert deployed_rules(deployed, "SG") == deployed_rules(deployed, "MY") == ["fake-brand"]
    assert "hotpatches_until" not in json.loads(store.read().files["deploy/SG/demo.json"])
    assert store.journal()[0].action == "hotpatch-expire"
    assert run(CliRunner(), deployed, "hotpatch", "list", "--all")[1].startswith("No hot-patches")
    assert run(CliRunner(), deployed, "audit", "verify")[0] == 0


def test_a_patch_made_by_a_clock_far_in_the_past_has_lapsed_at_once(deployed: Path) -> None:
    journal = Journal("a@x", "bad")
    request = {"op": "disable_rule", "target": "fake-brand", "expires_in": "72h"}
    hotpatch_apply(
        Context(deployed, clock=lambda: datetime(1999, 1, 1)), "demo", ["SG"], request, journal
    )
    data = json.loads(Store(deployed).read().files["deploy/SG/demo.json"])
    assert data["hotpatches_until"] == "1999-01-04T00:00:00Z"  # stale as soon as it is read
    (row,) = json.loads(run(CliRunner(), deployed, "hotpatch", "list", "--all", "-o", "json")[1])[
        "hotpatches"
    ]
    assert row["live"] is False
    code, out = run(CliRunner(), deployed, "hotpatch", "expire")
    assert code == 0, out
    assert deployed_rules(deployed, "SG") == ["fake-brand"]
    assert run(CliRunner(), deployed, "audit", "verify")[0] == 0


def test_the_undo_of_a_revert_runs_even_when_a_value_starts_with_a_dash(deployed: Path) -> None:
    code, out = apply(deployed, "-r", "SG", "--reason", "x", "--", "list_add", "brands", "-lv")
    assert code == 0, out
    ident = Store(deployed).journal()[0].hotpatch or ""
    code, out = run(CliRunner(), deployed, "hotpatch", "revert", ident)
    assert code == 0, out
    undo = out.split("(a new id): ", 1)[1].strip()
    assert undo.endswith("--reason x -- list_add brands -lv"), undo
    words = shlex.split(undo)
    code, out = run(CliRunner(), deployed, *words[1:3], "--dry-run", *words[3:])
    assert code == 0, out
    assert "list_add brands -lv in SG" in out


def test_list_of_a_misspelt_bundle_is_an_error_not_an_empty_list(deployed: Path) -> None:
    """At 3 a.m. "no live hot-patches" for a typo would hide the ones that are live."""
    code, out = apply(deployed, "-r", "SG", *DISABLE, "--reason", "x")
    assert code == 0, out
    code, out = run(CliRunner(), deployed, "hotpatch", "list", "dmeo")
    assert code == 2, out
    assert out == "modctl: error: no bundle named 'dmeo'; did you mean 'demo'? (bundles: demo)\n"
    code, out = run(CliRunner(), deployed, "hotpatch", "list", "demo")
    assert (code, out.count("disable_rule fake-brand")) == (0, 1), out


def test_a_patch_from_a_clock_that_runs_ahead_is_pending_not_expired(deployed: Path) -> None:
    """Its writer's clock is an hour ahead: it applies from its `created` on; until then
    nothing calls it expired or hides it."""
    ahead = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0) + timedelta(hours=1)
    request = {"op": "disable_rule", "target": "fake-brand", "expires_in": "4h"}
    done = hotpatch_apply(
        Context(deployed, clock=lambda: ahead), "demo", ["SG"], request, Journal("a@x", "bad")
    )
    code, out = run(CliRunner(), deployed, "validate")
    assert (code, "H001" in out) == (0, False), out
    code, out = run(CliRunner(), deployed, "hotpatch", "list")
    assert code == 0, out
    assert f"pending from {rollout.stamp(ahead)}" in out
    (row,) = json.loads(run(CliRunner(), deployed, "hotpatch", "list", "-o", "json")[1])[
        "hotpatches"
    ]
    assert (row["id"], row["live"], row["state"]) == (done.record["id"], False, "pending")
    status = json.loads(run(CliRunner(), deployed, "status", "-o", "json")[1])
    sg = next(r for r in status["rows"] if r["region"] == "SG")
    assert (sg["hotpatches"], sg["expired_hotpatches"], sg["pending_hotpatches"]) == (0, 0, 1)
    assert "0 (1 pending)" in run(CliRunner(), deployed, "status")[1]


def test_revert_in_an_unknown_region_is_a_usage_error(deployed: Path) -> None:
    code, out = apply(deployed, "-r", "SG", *DISABLE, "--reason", "x")
    assert code == 0, out
    ident = Store(deployed).journal()[0].hotpatch or ""
    code, out = run(CliRunner(), deployed, "hotpatch", "revert", ident, "-r", "XX")
    assert code == 2, out
    assert out.startswith("modctl: error: unknown region 'XX'; modctl.yaml declares ")


def test_a_second_identical_patch_is_refused_naming_the_first(deployed: Path) -> None:
    code, out = apply(deployed, "-r", "SG", *DISABLE, "--reason", "bad")
    assert code == 0, out
    first = Store(deployed).journal()[0].hotpatch
    tip = Store(deployed).tip()
    code, out = apply(deployed, "-r", "SG", "-r", "MY", *DISABLE, "--reason", "bad again")
    assert code == 4, out
    assert f"rule fake-brand is disabled in demo 0.1.0 in SG already (by {first})" in out
    assert Store(deployed).tip() == tip
