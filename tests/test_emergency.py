"""`modctl emergency list|show|run`: each standard playbook mitigates every region it names in
one state commit, replayed by `audit verify`; a step or verify that fails writes nothing and
says which step, where and why."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modctl import yamlio
from modctl.state.store import Store
from tests.conftest import MINIMAL, PROJECT, built_once, commit_minimal, run, run_git, write_files

RULES = MINIMAL["strategies/demo/rules/main.yaml"] + (
    "- id: allow-authorized\n"
    "  when: {field: seller.id, in: {list: authorized-sellers}}\n"
    "  action: allow\n"
)
TESTS = MINIMAL["strategies/demo/tests/main.yaml"] + (
    "- name: pricey gucci is fine\n"
    "  region: SG\n"
    "  item: {title: Gucci bag, price: 500}\n"
    "  expect: {action: none}\n"
    "- name: an authorized seller\n"
    "  region: SG\n"
    "  item: {title: Gucci bag, price: 5, seller: {id: S-1}}\n"
    "  expect: {action: allow, rules: [allow-authorized]}\n"
)
HISTORY = (
    ("release", "cut", "demo"),
    ("rollout", "start", "demo", "0.1.0"),
    ("rollout", "promote", "demo", "--region", "SG", "--full"),
    ("rollout", "start", "demo", "0.1.0"),
    ("rollout", "promote", "demo", "--region", "MY", "--full"),
    ("release", "cut", "demo"),
    ("rollout", "start", "demo", "0.1.1"),
    ("rollout", "promote", "demo", "--region", "SG", "--full"),
    ("rollout", "start", "demo", "0.1.1"),
    ("rollout", "promote", "demo", "--region", "MY", "--full"),
    ("release", "cut", "demo"),
    ("rollout", "start", "demo", "0.1.2"),
)


def build_live(root: Path) -> None:
    """demo 0.1.1 stable in SG and MY (0.1.0 before it), a 0.1.2 canary at 10% in SG; an allow
    rule and a case that a looser price limit breaks; the standard playbooks committed."""
    commit_minimal(root)
    write_files(
        root,
        {
            "strategies/demo/rules/main.yaml": RULES,
            "strategies/demo/tests/main.yaml": TESTS,
            "strategies/demo/lists/authorized-sellers.yaml": (
                "name: authorized-sellers\nkind: ids\nitems: [S-1]\n"
            ),
            "modctl.yaml": MINIMAL["modctl.yaml"] + "hotpatch: {max_ttl: 72h}\n",
        },
    )
    shutil.copytree(PROJECT / "playbooks", root / "playbooks")
    run_git(root, "add", ".")
    run_git(root, "commit", "-qm", "an allow rule, more cases, the playbooks")
    runner = CliRunner()
    for args in HISTORY:
        code, out = run(runner, root, *args)
        assert code == 0, (args, out)


@pytest.fixture
def live(templates: Path, tmp_path: Path) -> Path:
    return built_once(templates, "emergency-live", build_live, tmp_path / "repo")


def emergency(root: Path, *args: str) -> tuple[int, str]:
    return run(CliRunner(), root, "emergency", *args)


def go(root: Path, playbook: str, *args: str) -> str:
    """Run `playbook` with --yes for INC-1; it must succeed in one new state commit."""
    tip = Store(root).tip()
    code, out = emergency(
        root, "run", playbook, *args, "--incident", "INC-1", "--reason", "bad", "--yes"
    )
    assert code == 0, out
    assert run_git(root, "rev-list", "--count", f"{tip}..{Store(root).tip()}").strip() == "1"
    return out


def state(root: Path, region: str, bundle: str = "demo") -> dict[str, Any]:
    data: dict[str, Any] = yamlio.loads(
        Store(root).read().files[f"regions/{region}/{bundle}.yaml"].decode()
    )
    return data


def deployed(root: Path, region: str, variant: str = "stable") -> dict[str, Any]:
    data = json.loads(Store(root).read().files[f"deploy/{region}/demo.json"])
    config: dict[str, Any] = data[variant]["config"]
    return config


def rule(root: Path, region: str, rule_id: str, variant: str = "stable") -> dict[str, Any]:
    rules = {r["id"]: r for r in deployed(root, region, variant)["rules"]}
    return rules[rule_id]


def frozen(root: Path) -> list[str]:
    files = Store(root).read().files
    return sorted(p.split("/")[1] for p in files if p.endswith("/_region.yaml"))


def audited(root: Path) -> None:
    code, out = run(CliRunner(), root, "audit", "verify")
    assert code == 0, out


def record(root: Path) -> dict[str, Any]:
    files = Store(root).read().files
    (path,) = [p for p in files if p.startswith("emergencies/")]
    data: dict[str, Any] = json.loads(files[path])
    return data


def test_rollback_region_rolls_back_and_freezes_only_the_named_regions(live: Path) -> None:
    out = go(live, "rollback-region", "-p", "bundle=demo", "-p", "regions=SG")
    sg, my = state(live, "SG"), state(live, "MY")
    assert (sg["stable"], sg["history"], sg["canary"]) == ("0.1.0", [], None)
    assert (my["stable"], my["history"]) == ("0.1.1", ["0.1.0"])
    assert frozen(live) == ["SG"]
    entry = Store(live).journal()[0]
    assert (entry.action, entry.playbook, entry.region, entry.incident) == (
        "emergency",
        "rollback-region",
        "SG",
        "INC-1",
    )
    assert "Mitigated in " in out
    assert "Undo: modctl unfreeze --region SG --incident INC-1; " in out
    assert "modctl rollback demo --region SG --to 0.1.1" in out
    assert "modctl rollout start demo 0.1.2 --region SG" in out
    audited(live)


def test_rollback_everywhere_rolls_back_every_region_it_runs_in_and_freezes_all(
    live: Path,
) -> None:
    go(live, "rollback-everywhere", "-p", "bundle=demo")
    assert state(live, "SG")["stable"] == state(live, "MY")["stable"] == "0.1.0"
    assert frozen(live) == ["GB", "MY", "SG"]
    assert Store(live).journal()[0].region == "GB,MY,SG"
    audited(live)


def test_rollback_to_a_release_finishes_where_regions_run_it_already(live: Path) -> None:
    """A bad release half rolled out, or half rolled back: regions already on the release
    stay as they are, and a canary beside it comes off, instead of refusing the whole run."""
    go(live, "rollback-region", "-p", "bundle=demo", "-p", "regions=SG")
    out = go(live, "rollback-everywhere", "-p", "bundle=demo", "-p", "to=0.1.0")
    assert "3 rollback        SG    0.1.0 is already stable in SG; left as it is" in out
    assert state(live, "SG")["stable"] == state(live, "MY")["stable"] == "0.1.0"
    audited(live)


def test_rollback_to_the_stable_release_takes_the_canary_off(live: Path) -> None:
    out = go(live, "rollback-everywhere", "-p", "bundle=demo", "-p", "to=0.1.1")
    assert "SG    0.1.1 is already stable in SG; abort demo canary 0.1.2 in SG" in out
    assert "MY    0.1.1 is already stable in MY; left as it is" in out
    sg, my = state(live, "SG"), state(live, "MY")
    assert (sg["stable"], sg["history"], sg["canary"]) == ("0.1.1", ["0.1.0"], None)
    assert (my["stable"], my["history"]) == ("0.1.1", ["0.1.0"])
    audited(live)


def test_a_rollback_with_no_earlier_release_says_how_to_name_one(live: Path) -> None:
    go(live, "rollback-region", "-p", "bundle=demo", "-p", "regions=SG")
    code, out = emergency(
        live,
        "run",
        "rollback-region",
        "-p",
        "bundle=demo",
        "-p",
        "regions=SG",
        "--incident",
        "INC-1",
        "--reason",
        "again",
        "--yes",
    )
    assert code == 4, out
    assert "to roll back to; name one with the step's `to` (-p to=VERSION)" in out


def test_a_value_of_the_wrong_type_for_its_param_is_a_usage_error(live: Path) -> None:
    tip = Store(live).tip()
    given = ("-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "param=max_price")
    code, out = emergency(
        live,
        "run",
        "relax-threshold",
        *given,
        "-p",
        "value=2.5",
        "--incident",
        "INC-1",
        "--reason",
        "r",
        "--yes",
    )
    assert code == 2, out
    assert "step 2 (hotpatch) in SG: fake-brand.max_price takes a whole number" in out
    assert "(it is 20 in demo 0.1.1 in SG), not 2.5" in out
    assert Store(live).tip() == tip


def test_a_lifetime_over_max_ttl_names_the_field_the_run_set(live: Path) -> None:
    given = ("-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "expires_in=100h")
    code, out = emergency(
        live, "run", "disable-rule", *given, "--incident", "INC-1", "--reason", "r", "--yes"
    )
    assert code == 2, out
    assert "step 2 (hotpatch): expires_in 100h is longer than hotpatch.max_ttl (72h)" in out
    assert "--expires-in" not in out


def test_disable_rule_takes_the_rule_out_of_every_deployed_config(live: Path) -> None:
    out = go(live, "disable-rule", "-p", "bundle=demo", "-p", "rule=fake-brand")
    for region, variant in (("SG", "stable"), ("SG", "canary"), ("MY", "stable")):
        assert [r["id"] for r in deployed(live, region, variant)["rules"]] == ["allow-authorized"]
    (patch,) = state(live, "SG")["hotpatches"]
    assert state(live, "MY")["hotpatches"] == [patch]
    assert (patch["op"], patch["target"], patch["incident"]) == (
        "disable_rule",
        "fake-brand",
        "INC-1",
    )
    assert f"Undo: modctl hotpatch revert {patch['id']}" in out
    assert "3 verify          SG    demo 0.1.1: lint, 2 test cases (1 set aside" in out
    audited(live)


def test_downgrade_rule_to_review_sends_matches_to_the_queue(live: Path) -> None:
    go(
        live,
        "downgrade-rule-to-review",
        "-p",
        "bundle=demo",
        "-p",
        "rule=fake-brand",
        "-p",
        "queue=ipr-l2",
    )
    for region in ("SG", "MY"):
        found = rule(live, region, "fake-brand")
        assert (found["action"], found["queue"]) == ("review", "ipr-l2")
    audited(live)


def test_shadow_rule_keeps_the_rule_but_lets_it_decide_nothing(live: Path) -> None:
    go(live, "shadow-rule", "-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "regions=MY")
    assert rule(live, "MY", "fake-brand")["mode"] == "shadow"
    assert rule(live, "SG", "fake-brand")["mode"] == "enforce"
    audited(live)


def test_relax_threshold_keeps_the_value_a_number(live: Path) -> None:
    go(
        live,
        "relax-threshold",
        *("-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "param=max_price", "-p", "value=10"),
    )
    for region in ("SG", "MY"):
        assert rule(live, region, "fake-brand")["params"] == {"max_price": 10}
    assert record(live)["params"]["value"] == 10
    assert state(live, "SG")["hotpatches"][0]["value"] == 10
    audited(live)


def test_allowlist_seller_adds_the_seller_to_the_allowlist(live: Path) -> None:
    go(live, "allowlist-seller", "-p", "bundle=demo", "-p", "seller=S-9")
    for region in ("SG", "MY"):
        assert deployed(live, region)["lists"]["authorized-sellers"]["items"] == ["S-1", "S-9"]
    audited(live)


def test_freeze_all_freezes_every_region_and_changes_no_deployed_config(live: Path) -> None:
    out = go(live, "freeze-all")
    assert frozen(live) == ["GB", "MY", "SG"]
    assert "changes no deployed config" in out
    assert "Undo: modctl unfreeze --region SG --region MY --region GB --incident INC-1" in out
    audited(live)


def test_abort_all_canaries_takes_every_canary_off(live: Path) -> None:
    go(live, "abort-all-canaries", "-p", "bundle=demo")
    assert state(live, "SG")["canary"] is None
    assert state(live, "SG")["stable"] == "0.1.1"
    assert json.loads(Store(live).read().files["deploy/SG/demo.json"])["canary"] is None
    audited(live)


def test_the_run_record_holds_what_replays_it(live: Path) -> None:
    go(live, "disable-rule", "-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "regions=SG")
    found = record(live)
    assert found["playbook"] == "disable-rule"
    assert found["source"] == (live / "playbooks" / "disable-rule.yaml").read_text()
    assert found["params"] == {
        "bundle": "demo",
        "rule": "fake-brand",
        "regions": ["SG"],
        "expires_in": "4h",
    }
    assert (found["incident"], found["reason"]) == ("INC-1", "bad")
    kinds = [(step["step"], step["kind"]) for step in found["steps"]]
    assert kinds == [(1, "require"), (2, "hotpatch"), (3, "verify"), (4, "note")]
    assert found["steps"][1]["id"] == state(live, "SG")["hotpatches"][0]["id"]
    code, out = run(CliRunner(), live, "log", "--action", "emergency")
    assert code == 0, out
    assert "emergency disable-rule: hotpatch demo hp-" in out
    assert "playbook disable-rule, bundle demo, region SG, incident INC-1" in out


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (
            ("abort-all-canaries", "-p", "bundle=demo", "-p", "regions=MY"),
            4,
            "step 1 (require) in MY: demo has no canary in MY",
        ),
        (
            ("rollback-region", "-p", "bundle=demo", "-p", "regions=GB"),
            2,
            "step 1 (require) in GB: bundle demo does not serve region GB",
        ),
        (
            ("disable-rule", "-p", "bundle=demo", "-p", "rule=no-such-rule"),
            4,
            "step 2 (hotpatch) in SG: demo 0.1.1 in SG has no rule 'no-such-rule'",
        ),
        (
            ("disable-rule", "-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "expires_in=4d"),
            2,
            "step 2 (hotpatch): expires_in 4d is longer than hotpatch.max_ttl (72h)",
        ),
        (
            ("disable-rule", "-p", "bundle=dmo", "-p", "rule=fake-brand"),
            2,
            "no bundle 'dmo' on the state branch; did you mean 'demo'?",
        ),
        (
            ("relax-threshold", *("-p", "bundle=demo", "-p", "rule=fake-brand")),
            2,
            "the playbook needs -p param=VALUE",
        ),
        (
            ("disable-rule", "-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "rgions=SG"),
            2,
            "-p 'rgions': the playbook has no such parameter; did you mean 'regions'?",
        ),
        (
            ("disable-rule", "-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "regions=XX"),
            2,
            "-p regions: unknown region 'XX'",
        ),
        (
            ("freeze-all", "-p", "incident=INC-2"),
            2,
            "-p incident: ${incident} reads the run's --incident; pass --incident",
        ),
        (("disable-rule", "-p", "bundle"), 2, "-p 'bundle': write it as NAME=VALUE"),
        (("disabel-rule",), 2, "no playbook 'disabel-rule' in playbooks/; did you mean"),
        (("../../etc/passwd",), 2, "is not a playbook name"),
    ],
)
def test_a_run_that_cannot_be_made_writes_nothing_and_says_why(
    live: Path, args: tuple[str, ...], code: int, said: str
) -> None:
    tip = Store(live).tip()
    got, out = emergency(live, "run", *args, "--incident", "INC-1", "--reason", "x", "--yes")
    assert (got, "Traceback" in out) == (code, False), out
    assert said in out
    assert len(out.strip().splitlines()) == 1, out
    assert Store(live).tip() == tip


def test_a_failing_verify_writes_nothing_and_names_the_step_and_the_case(live: Path) -> None:
    tip = Store(live).tip()
    code, out = emergency(
        live,
        "run",
        "relax-threshold",
        *("-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "param=max_price"),
        *("-p", "value=1000", "--incident", "INC-1", "--reason", "x", "--yes"),
    )
    assert code == 1, out
    assert "step 3 (verify) fails, so nothing was written" in out
    assert "SG demo 0.1.1: test 'pricey gucci is fine'" in out
    assert "expected none, got takedown" in out
    assert Store(live).tip() == tip


def test_a_precondition_refused_exits_4(live: Path) -> None:
    tip = Store(live).tip()
    code, out = emergency(live, "run", "freeze-all", "--reason", "x", "--yes")
    assert code == 4, out
    assert "step 1 (require): this playbook runs for an incident: pass --incident ID" in out
    code, out = emergency(live, "run", "freeze-all", "--incident", "INC-1", "--yes")
    assert code == 2, out
    assert "needs --reason" in out
    assert Store(live).tip() == tip


def test_a_step_that_fails_after_others_applied_writes_none_of_them(live: Path) -> None:
    go(live, "rollback-region", "-p", "bundle=demo", "-p", "regions=SG")
    tip = Store(live).tip()
    code, out = emergency(
        live,
        "run",
        "rollback-region",
        *("-p", "bundle=demo", "-p", "regions=MY,SG", "--incident", "INC-1"),
        *("--reason", "again", "--yes"),
    )
    assert code == 4, out
    assert "step 3 (rollback) in SG: demo has no earlier stable release in SG" in out
    assert Store(live).tip() == tip
    assert state(live, "MY")["stable"] == "0.1.1"
    assert frozen(live) == ["SG"]


def test_without_a_terminal_and_without_yes_it_refuses_and_writes_nothing(live: Path) -> None:
    tip = Store(live).tip()
    code, out = emergency(live, "run", "freeze-all", "--incident", "INC-1", "--reason", "x")
    assert code == 4, out
    assert out.startswith("modctl: error: no terminal to confirm the run on: pass --yes")
    assert Store(live).tip() == tip


def test_dry_run_shows_the_plan_and_the_diff_and_writes_nothing(live: Path) -> None:
    tip = Store(live).tip()
    code, out = emergency(
        live,
        "run",
        "disable-rule",
        *("-p", "bundle=demo", "-p", "rule=fake-brand", "--incident", "INC-1"),
        *("--reason", "x", "--dry-run"),
    )
    assert code == 0, out
    assert "planned on state commit " + (tip or "")[:12] in out
    assert "2 hotpatch        SG    disable_rule fake-brand until " in out
    assert "2 hotpatch        MY    disable_rule fake-brand until " in out
    assert "+  op: disable_rule" in out
    assert "deploy/SG/demo.json: rendered again" in out
    assert "the run record" in out
    assert out.rstrip().endswith("Dry run: nothing written.")
    assert Store(live).tip() == tip


def test_json_output_has_the_plan_the_commit_and_the_undo(live: Path) -> None:
    code, out = emergency(
        live,
        "run",
        "disable-rule",
        *("-p", "bundle=demo", "-p", "rule=fake-brand", "--incident", "INC-1"),
        *("--reason", "x", "--yes", "-o", "json"),
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["commit"] == Store(live).tip()
    assert data["playbook"] == "disable-rule"
    assert data["mitigates"] is True
    assert data["params"]["regions"] == "all"
    assert {
        (line["step"], line["region"]) for line in data["plan"] if line["kind"] == "hotpatch"
    } == {
        (2, "SG"),
        (2, "MY"),
    }
    (patch,) = state(live, "SG")["hotpatches"]
    assert data["undo"] == [f"modctl hotpatch revert {patch['id']}"]
    assert data["seconds"] >= 0


def test_a_run_that_changes_nothing_writes_nothing(live: Path) -> None:
    go(live, "freeze-all")
    tip = Store(live).tip()
    code, out = emergency(
        live, "run", "freeze-all", "--incident", "INC-1", "--reason", "x", "--yes"
    )
    assert code == 0, out
    assert "already frozen; left as it is" in out
    assert "Nothing to change: nothing written." in out
    assert Store(live).tip() == tip


def test_list_and_show(live: Path) -> None:
    code, out = emergency(live, "list")
    assert code == 0, out
    for name in ("rollback-region", "disable-rule", "abort-all-canaries", "freeze-all"):
        assert f"\n{name}  " in f"\n{out}"
    assert "-p bundle=BUNDLE  -p rule=RULE  [-p regions=REGIONS (all)]" in out
    code, out = emergency(live, "list", "-o", "json")
    names = [p["name"] for p in json.loads(out)["playbooks"]]
    assert len(names) == 9
    code, out = emergency(live, "show", "relax-threshold")
    assert code == 0, out
    assert "value: number, required" in out
    assert "2 hotpatch        bundle: ${bundle}" in out
    assert "Run: modctl emergency run relax-threshold -p bundle=BUNDLE" in out
    code, out = emergency(live, "show", "relax-threshold", "-o", "json")
    assert json.loads(out)["params"]["value"]["type"] == "number"


def test_a_playbook_that_fails_its_checks_is_listed_with_why_and_does_not_run(live: Path) -> None:
    (live / "playbooks" / "broken.yaml").write_text(
        "name: broken\nsteps:\n  - note: '${nope}'\n", encoding="utf-8"
    )
    code, out = emergency(live, "list")
    assert code == 0, out
    assert "broken  (cannot run: playbooks/broken.yaml:3:11: P002 ${nope} names no parameter" in out
    code, out = emergency(live, "run", "broken", "--reason", "x", "--yes")
    assert code == 2, out
    assert "`modctl validate playbooks/broken.yaml` lists every finding" in out


def test_audit_verify_finds_a_run_record_that_does_not_match_its_change(live: Path) -> None:
    from modctl.context import Context
    from modctl.emergency.params import values
    from modctl.source.playbooks import read
    from modctl.state.emergency import prepare
    from modctl.state.operations import Journal

    context = Context(live)
    book = read(live, "disable-rule", context.config.regions)
    given = {"bundle": "demo", "rule": "fake-brand", "regions": ["SG"]}
    prepared = prepare(context, book, given, Journal("a@x", "bad", "INC-1"))
    made = prepared.plan
    params = {**values(book.params, given, None), "regions": ["SG", "MY"]}
    files = {**made.files, made.path: json.dumps(dict(made.record, params=params)).encode()}
    Store(live).write(lambda _snapshot: (files, made.entry), prepared.moment)
    code, out = run(CliRunner(), live, "audit", "verify")
    assert code == 1, out
    assert "emergency disable-rule" in out
    assert "it does not write deploy/MY/demo.json, which `emergency` writes" in out


def test_sync_replays_an_offline_run_on_the_remotes_newer_state(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    run_git(tmp_path, "init", "-q", "--bare", str(remote))
    a = commit_minimal(tmp_path / "a", remote="origin")
    run_git(a, "remote", "add", "origin", str(remote))
    run_git(a, "push", "-q", "origin", "HEAD:refs/heads/main")
    for args in HISTORY[:5]:
        code, out = run(CliRunner(), a, *args)
        assert code == 0, (args, out)
    b = tmp_path / "b"
    run_git(tmp_path, "clone", "-q", str(remote), str(b))
    shutil.copytree(PROJECT / "playbooks", b / "playbooks")
    assert run(CliRunner(), b, "sync")[0] == 0
    run_git(b, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    out = go(b, "disable-rule", "-p", "bundle=demo", "-p", "rule=fake-brand")
    assert "Mitigated in " in out
    assert run(CliRunner(), a, "freeze", "--region", "GB", "--reason", "meanwhile")[0] == 0
    run_git(b, "remote", "set-url", "origin", str(remote))
    code, out = run(CliRunner(), b, "sync")
    assert code == 0, out
    assert "Replayed 1 local change(s) on top of origin and pushed." in out
    assert Store(b).tip() == Store(remote).tip()
    assert frozen(remote) == ["GB"]
    assert state(remote, "SG")["hotpatches"][0]["op"] == "disable_rule"
    assert Store(remote).journal()[0].playbook == "disable-rule"
    audited(b)


RECOVER = """\
name: recover
description: Lift what an incident put in place.
params:
  bundle: {type: bundle, required: true}
  rule: {type: rule, required: true}
  to: {type: version, required: true}
steps:
  - require: {regions: [SG], frozen: true, incident: true}
  - revert_hotpatch: {bundle: "${bundle}", op: disable_rule, target: "${rule}"}
  - rollback: {bundle: "${bundle}", regions: [MY], to: "${to}"}
  - unfreeze: {regions: [SG]}
  - verify: {bundle: "${bundle}"}
"""
REVERT_BY_ID = """\
name: revert-one
params:
  bundle: {type: bundle, required: true}
  patch: {type: string, required: true, pattern: '^hp-'}
steps:
  - revert_hotpatch: {bundle: "${bundle}", id: "${patch}", regions: [MY]}
"""


def test_revert_hotpatch_unfreeze_rollback_to_and_require_frozen(live: Path) -> None:
    write_files(live, {"playbooks/recover.yaml": RECOVER})
    recover = ("recover", "-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "to=0.1.0")
    code, out = emergency(live, "run", *recover, "--incident", "INC-1", "--reason", "x", "--yes")
    assert code == 4, out
    assert "step 1 (require) in SG: SG is not frozen" in out
    go(live, "rollback-region", "-p", "bundle=demo", "-p", "regions=SG")
    go(live, "disable-rule", "-p", "bundle=demo", "-p", "rule=fake-brand")
    (patch,) = state(live, "MY")["hotpatches"]
    out = go(live, *recover)
    assert state(live, "SG")["hotpatches"] == state(live, "MY")["hotpatches"] == []
    assert (state(live, "MY")["stable"], state(live, "MY")["history"]) == (
        "0.1.0",
        ["0.1.0", "0.1.1"],
    )
    assert frozen(live) == []
    assert "2 revert_hotpatch SG    revert " + patch["id"] in out
    assert f"re-apply {patch['id']} (disable_rule fake-brand) with `modctl hotpatch apply`" in out
    assert "modctl freeze --region SG --reason bad --incident INC-1" in out
    audited(live)


def test_revert_hotpatch_by_id_in_some_regions(live: Path) -> None:
    write_files(live, {"playbooks/revert-one.yaml": REVERT_BY_ID})
    go(live, "disable-rule", "-p", "bundle=demo", "-p", "rule=fake-brand")
    (patch,) = state(live, "MY")["hotpatches"]
    go(live, "revert-one", "-p", "bundle=demo", "-p", f"patch={patch['id']}")
    assert state(live, "MY")["hotpatches"] == []
    assert state(live, "SG")["hotpatches"] == [patch]
    code, out = emergency(
        live,
        "run",
        "revert-one",
        "-p",
        "bundle=demo",
        "-p",
        "patch=hp-nope",
        "--reason",
        "x",
        "--yes",
    )
    assert code == 2, out
    assert "step 1 (revert_hotpatch): demo has no hot-patch hp-nope in MY" in out
    audited(live)


def test_init_scaffolds_the_standard_playbooks() -> None:
    from modctl.source.scaffold import plan

    assert sorted(p for p in plan() if p.startswith("playbooks/")) == [
        f"playbooks/{name}.yaml"
        for name in (
            "abort-all-canaries",
            "allowlist-seller",
            "disable-rule",
            "downgrade-rule-to-review",
            "freeze-all",
            "relax-threshold",
            "rollback-everywhere",
            "rollback-region",
            "shadow-rule",
        )
    ]


def test_a_field_left_empty_by_an_optional_parameter_is_one_line(live: Path) -> None:
    write_files(
        live,
        {
            "playbooks/maybe.yaml": (
                "name: maybe\nparams:\n  patch: {type: string}\nsteps:\n"
                "  - revert_hotpatch: {bundle: demo, id: '${patch}'}\n"
            )
        },
    )
    code, out = emergency(live, "run", "maybe", "--reason", "x", "--yes")
    assert (code, out) == (
        2,
        "modctl: error: step 1 (revert_hotpatch): id is ${patch}, which the run did not give: "
        "pass -p patch=VALUE\n",
    )


def test_show_wraps_a_long_step_under_its_own_fields(live: Path) -> None:
    code, out = emergency(live, "show", "disable-rule")
    assert code == 0, out
    lines = out.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith("   2 hotpatch ")]
    column = lines[at].index("bundle: ")
    wrapped = lines[at + 1]
    assert len(wrapped) - len(wrapped.lstrip()) == column, out


def test_the_undo_of_a_run_works_when_followed_in_its_order(live: Path) -> None:
    """Stable releases come back wave by wave before canaries start again: a canary of a later
    wave starts only once the earlier waves run its release."""
    runner = CliRunner()
    for args in (("promote", "demo", "-r", "SG", "--full"), ("start", "demo", "0.1.2")):
        code, out = run(runner, live, "rollout", *args)
        assert code == 0, out
    out = go(live, "rollback-everywhere", "-p", "bundle=demo", "-p", "to=0.1.1")
    assert (state(live, "SG")["stable"], state(live, "MY")["canary"]) == ("0.1.1", None)
    for command in out.split("Undo: ", 1)[1].strip().split("; "):
        code, said = run(runner, live, *shlex.split(command)[1:])
        assert code == 0, (command, said)
    assert (state(live, "SG")["stable"], state(live, "MY")["canary"]["version"]) == (
        "0.1.2",
        "0.1.2",
    )
