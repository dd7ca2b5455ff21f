"""`rollout analyze`: one look at every canary in flight, recorded under analyses/ so that
`audit verify` recomputes each verdict from its recorded counts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl.context import Context
from modctl.state import rollout
from modctl.state.operations import Journal, change
from modctl.state.store import Entry, Store
from tests.conftest import MINIMAL, commit_minimal, run, run_git, write_files

STARTED = datetime(2026, 11, 29, 8, 0, 0)  # the canary's start, before any metrics window
HEADER = "region,bundle,variant,window_start,window_end,overturned,appeals\n"


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """0.1.0 as a canary in SG since 08:00; the gate allows 10% more overturns, from 100 appeals."""
    root = commit_minimal(tmp_path / "repo")
    config = MINIMAL["modctl.yaml"].replace(
        "max_relative_increase: 0.1}", "max_relative_increase: 0.1, min_denominator: 100}"
    )
    write_files(root, {"modctl.yaml": config})
    run_git(root, "commit", "-qam", "a gate with a tolerance")
    assert run(CliRunner(), root, "release", "cut", "demo")[0] == 0
    context = Context(root, clock=lambda: STARTED)
    change(context, "demo", "start", lambda s: rollout.start(s, "0.1.0", None), Journal("a@x"))
    return root


def metrics(root: Path, canary: tuple[int, int], stable: tuple[int, int]) -> Path:
    path = root.parent / "metrics.csv"
    window = "2026-11-29T08:00:00Z,2026-11-29T09:00:00Z"
    path.write_text(
        HEADER + f"SG,demo,canary,{window},{canary[0]},{canary[1]}\n"
        f"SG,demo,stable,{window},{stable[0]},{stable[1]}\n"
        # Before the canary reached its step: never counted.
        "SG,demo,canary,2026-11-29T07:00:00Z,2026-11-29T08:00:00Z,0,100000\n"
    )
    return path


def test_a_clearly_worse_canary_fails_and_is_recorded(canary: Path) -> None:
    code, out = run(
        CliRunner(),
        canary,
        "rollout",
        "analyze",
        "demo",
        "--metrics",
        str(metrics(canary, (300, 2500), (1800, 22500))),
    )
    assert code == 1, out
    assert "canary worse than stable: +50.2% increase" in out
    assert "Recorded under analyses/" in out
    files = [p for p in Store(canary).read().files if p.startswith("analyses/demo/SG/")]
    assert len(files) == 1
    record = json.loads(Store(canary).read().files[files[0]])
    assert (record["verdict"], record["look"], record["gates"][0]["counts"]["canary_of"]) == (
        "fail",
        1,
        2500,
    )
    assert Store(canary).journal()[0].summary == "analyze demo: SG fail"
    assert run(CliRunner(), canary, "audit", "verify")[0] == 0


def test_equal_with_plenty_passes_and_few_samples_is_inconclusive(canary: Path) -> None:
    code, out = run(
        CliRunner(),
        canary,
        "rollout",
        "analyze",
        "demo",
        "--metrics",
        str(metrics(canary, (3200, 40000), (28800, 360000))),
    )
    assert code == 0, out
    assert "pass" in out
    code, out = run(
        CliRunner(),
        canary,
        "rollout",
        "analyze",
        "demo",
        "--dry-run",
        "--metrics",
        str(metrics(canary, (4, 50), (40, 450))),
    )
    assert code == 0, out
    assert "50 of 100 appeals in the canary; 50 more needed" in out
    assert "Dry run: nothing recorded." in out
    assert len(Store(canary).journal()) == 3  # release, start, one analysis


def test_a_recorded_verdict_its_counts_do_not_give_fails_the_audit(canary: Path) -> None:
    code, _ = run(
        CliRunner(),
        canary,
        "rollout",
        "analyze",
        "demo",
        "--metrics",
        str(metrics(canary, (300, 2500), (1800, 22500))),
    )
    assert code == 1
    store = Store(canary)
    (path,) = [p for p in store.read().files if p.startswith("analyses/")]
    record = json.loads(store.read().files[path])
    record["gates"][0]["verdict"] = record["verdict"] = "pass"
    forged = {path: json.dumps(record).encode()}
    store.write(
        lambda _s: (
            forged,
            Entry("analyze", "x", "analyze demo: SG pass", bundle="demo", region="SG"),
        ),
    )
    code, out = run(CliRunner(), canary, "audit", "verify")
    assert code == 1, out
    assert "gate overturn-rate recorded 'pass', its counts give 'fail'" in out


def test_no_canary_in_flight_is_refused(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path / "repo")
    path = root.parent / "m.csv"
    path.write_text(HEADER + "SG,demo,canary,2026-11-29T08:00:00Z,2026-11-29T09:00:00Z,1,10\n")
    code, out = run(CliRunner(), root, "rollout", "analyze", "demo", "--metrics", str(path))
    assert code == 4, out
    assert "no canary of demo in flight" in out


def test_a_bad_metrics_file_is_one_line_and_records_nothing(canary: Path) -> None:
    path = canary.parent / "bad.csv"
    path.write_text(HEADER + "SG,demo,canary,2026-11-29T08:00:00Z,2026-11-29T09:00:00Z,-1,10\n")
    tip = Store(canary).tip()
    code, out = run(CliRunner(), canary, "rollout", "analyze", "demo", "--metrics", str(path))
    assert code == 2, out
    assert f"{path}:2: overturned is -1; counts are never negative" in out
    assert Store(canary).tip() == tip


def advance(root: Path, path: Path, *extra: str) -> tuple[int, str]:
    return run(CliRunner(), root, "rollout", "advance", "demo", "--metrics", str(path), *extra)


def test_advance_aborts_a_clearly_worse_canary_and_log_says_why(canary: Path) -> None:
    worse = metrics(canary, (300, 2500), (1800, 22500))
    code, out = advance(canary, worse, "--auto-rollback")
    assert code == 1, out
    assert (
        "SG demo 0.1.0@10%: aborted; gate overturn-rate failed (canary 12.00% of 2,500 appeals, "
        "stable 8.00% of 22,500): canary worse than stable" in out
    )
    assert "canary: null" in Store(canary).read().files["regions/SG/demo.yaml"].decode()
    entry = Store(canary).journal()[0]
    assert entry.action == "advance"
    assert entry.summary == "advance: abort demo canary 0.1.0 in SG"
    assert entry.reason is not None
    assert "+50.2% increase" in entry.reason
    # The rates and their samples, as an on-call engineer reads them first.
    assert "failed (canary 12.00% of 2,500 appeals, stable 8.00% of 22,500)" in entry.reason
    code, out = run(CliRunner(), canary, "log")
    assert "+50.2% increase" in out
    assert run(CliRunner(), canary, "audit", "verify")[0] == 0


def test_advance_without_auto_rollback_holds_a_failing_canary(canary: Path) -> None:
    tip = Store(canary).tip()
    code, out = advance(canary, metrics(canary, (300, 2500), (1800, 22500)))
    assert code == 1, out
    assert "held; gate overturn-rate failed" in out
    assert "(--auto-rollback aborts it)" in out
    assert Store(canary).tip() == tip


def test_advance_promotes_on_equal_metrics_once_and_holds_on_few(canary: Path) -> None:
    equal = metrics(canary, (3200, 40000), (28800, 360000))
    code, out = advance(canary, equal)
    assert code == 0, out
    assert "SG demo 0.1.0@10%: promoted one step; every gate passes" in out
    state = Store(canary).read().files["regions/SG/demo.yaml"].decode()
    assert "stable: 0.1.0" in state
    tip = Store(canary).tip()
    code, out = advance(canary, equal)  # the same metrics again: nothing to do
    assert (code, Store(canary).tip()) == (0, tip), out
    assert run(CliRunner(), canary, "audit", "verify")[0] == 0


def test_advance_holds_on_too_few_samples(canary: Path) -> None:
    tip = Store(canary).tip()
    code, out = advance(canary, metrics(canary, (4, 50), (40, 450)))
    assert code == 0, out
    assert "held; gate overturn-rate inconclusive: 50 of 100 appeals in the canary" in out
    assert Store(canary).tip() == tip


def test_advance_says_when_a_freeze_holds_back_a_promotion(canary: Path) -> None:
    assert run(CliRunner(), canary, "freeze", "--region", "SG")[0] == 0
    code, out = advance(canary, metrics(canary, (3200, 40000), (28800, 360000)))
    assert code == 4, out
    assert "every gate passes, but region SG is frozen" in out


def test_a_promotion_its_recorded_analysis_does_not_allow_fails_the_audit(canary: Path) -> None:
    code, _ = advance(canary, metrics(canary, (3200, 40000), (28800, 360000)))
    assert code == 0
    store = Store(canary)
    tip = store.tip()
    changed = store.changes([str(tip)])[str(tip)].files
    (path,) = [p for p in changed if p.startswith("analyses/")]
    record = json.loads(changed[path] or b"{}")
    few = {"canary": 4, "canary_of": 50, "stable": 40, "stable_of": 450}
    record["gates"][0]["counts"] = few
    run_git(canary, "update-ref", "refs/heads/modctl-state", f"{tip}~1")
    store.write(
        lambda _s: (
            {**changed, path: json.dumps(record).encode()},
            Entry(
                "advance",
                "x",
                "advance: promote demo 0.1.0 to stable in SG",
                bundle="demo",
                region="SG",
            ),
        )
    )
    code, out = run(CliRunner(), canary, "audit", "verify")
    assert code == 1, out
    assert "recorded 'pass', its counts give 'inconclusive'" in out


def test_status_shows_the_last_verdict_and_its_age_and_release_show_the_history(
    canary: Path,
) -> None:
    worse = metrics(canary, (300, 2500), (1800, 22500))
    assert run(CliRunner(), canary, "rollout", "analyze", "demo", "--metrics", str(worse))[0] == 1
    status = json.loads(run(CliRunner(), canary, "rollout", "status", "-o", "json")[1])
    (row,) = status["rows"]
    assert (row["gate"], row["gate_at"] is not None) == ("fail", True)
    assert row["gate_seconds_ago"] >= 0
    code, out = run(CliRunner(), canary, "rollout", "status")
    assert "GATE" in out
    assert " fail " in out
    code, out = run(CliRunner(), canary, "release", "show", "demo", "0.1.0")
    assert code == 0, out
    assert "gate verdicts:" in out
    assert "SG step 1 look 1: fail" in out
    shown = json.loads(
        run(CliRunner(), canary, "release", "show", "demo", "0.1.0", "-o", "json")[1]
    )
    assert [v["verdict"] for v in shown["verdicts"]] == ["fail"]


def test_status_says_how_many_samples_a_gate_still_needs(canary: Path) -> None:
    few = metrics(canary, (4, 50), (40, 450))
    assert run(CliRunner(), canary, "rollout", "analyze", "demo", "--metrics", str(few))[0] == 0
    (row,) = json.loads(run(CliRunner(), canary, "rollout", "status", "-o", "json")[1])["rows"]
    assert (row["gate"], row["samples_missing"]) == ("inconclusive", 50)
    assert ", 50 samples to go" in run(CliRunner(), canary, "rollout", "status")[1]


def test_advance_in_json_says_per_region_what_it_did_and_why(canary: Path) -> None:
    worse = metrics(canary, (300, 2500), (1800, 22500))
    code, out = advance(canary, worse, "--auto-rollback", "--output", "json")
    assert code == 1, out
    (done,) = json.loads(out)["bundles"]
    (region,) = done["regions"]
    assert (region["region"], region["verdict"], region["action"]) == ("SG", "fail", "aborted")
    assert region["gates"][0]["canary_rate"] == 0.12
    assert json.loads(out)["commit"] == Store(canary).tip()


def test_an_analysis_written_around_modctl_is_one_line_for_status_and_analyze(
    canary: Path,
) -> None:
    store = Store(canary)
    store.write(
        lambda _s: (
            {"analyses/demo/SG/20261129T090000Z.json": b"not json"},
            Entry("analyze", "x", "hand-made", bundle="demo", region="SG"),
        )
    )
    few = metrics(canary, (4, 50), (40, 450))
    for args in (("rollout", "status"), ("rollout", "analyze", "demo", "--metrics", str(few))):
        code, out = run(CliRunner(), canary, *args)
        assert code == 2, (args, out)
        assert (
            "analyses/demo/SG/20261129T090000Z.json on the state branch is not an analysis" in out
        )
        assert "Traceback" not in out


def test_advance_without_a_bundle_moves_every_bundle_in_one_commit(canary: Path) -> None:
    """One run, one state commit for every region of every bundle it changed; the journal
    names both bundles and the audit re-derives both moves."""
    other = {
        path.replace("strategies/demo/", "strategies/other/"): text.replace(
            "name: demo", "name: other"
        )
        for path, text in MINIMAL.items()
        if path.startswith("strategies/demo/")
    }
    write_files(canary, other)
    run_git(canary, "add", "-A")
    run_git(canary, "commit", "-qm", "a second bundle")
    assert run(CliRunner(), canary, "release", "cut", "other")[0] == 0
    context = Context(canary, clock=lambda: STARTED)
    change(context, "other", "start", lambda s: rollout.start(s, "0.1.0", None), Journal("a@x"))
    path = metrics(canary, (300, 2500), (1800, 22500))
    window = "2026-11-29T08:00:00Z,2026-11-29T09:00:00Z"
    with path.open("a") as rows:
        rows.write(f"SG,other,canary,{window},3200,40000\nSG,other,stable,{window},28800,360000\n")
    before = Store(canary).tip()
    code, out = run(
        CliRunner(), canary, "rollout", "advance", "--metrics", str(path), "--auto-rollback"
    )
    assert code == 1, out
    assert "SG demo 0.1.0@10%: aborted; gate overturn-rate failed (" in out
    assert "SG other 0.1.0@10%: promoted one step; every gate passes" in out
    assert out.count("Recorded in state commit") == 1
    store = Store(canary)
    assert run_git(canary, "rev-list", "--count", f"{before}..{store.tip()}").strip() == "1"
    entry = store.journal()[0]
    assert (entry.bundle, entry.region) == ("demo,other", "SG")
    assert entry.summary == (
        "advance: abort demo canary 0.1.0 in SG; promote other 0.1.0 to stable in SG"
    )
    for bundle in ("demo", "other"):
        shown = run(CliRunner(), canary, "log", "--bundle", bundle)[1]
        assert "advance: abort demo canary" in shown, bundle
    assert run(CliRunner(), canary, "audit", "verify")[0] == 0


def status_row(root: Path) -> dict[str, object]:
    (row,) = json.loads(run(CliRunner(), root, "rollout", "status", "-o", "json")[1])["rows"]
    return dict(row)


def test_a_new_canary_shows_no_verdict_of_the_one_before(canary: Path) -> None:
    """The verdict that aborted a canary neither holds nor judges the next one, and the next
    one's first analysis is its look 1."""
    worse = metrics(canary, (300, 2500), (1800, 22500))
    assert advance(canary, worse, "--auto-rollback")[0] == 1
    change(
        Context(canary), "demo", "start", lambda s: rollout.start(s, "0.1.0", None), Journal("a@x")
    )
    row = status_row(canary)
    assert (row["gate"], row["hold"], row["samples_missing"]) == (None, None, None)
    assert "gate" not in run(CliRunner(), canary, "rollout", "status")[1].split("\n")[1]
    few = metrics(canary, (4, 50), (40, 450))
    code, out = run(CliRunner(), canary, "rollout", "analyze", "demo", "--metrics", str(few))
    assert code == 0, out
    assert out.split("\n")[1].split()[2] == "1"  # LOOK


def test_a_verdict_of_an_earlier_step_is_not_shown_as_the_current_one(canary: Path) -> None:
    config = (canary / "modctl.yaml").read_text().replace("[10, 100]", "[10, 50, 100]")
    write_files(canary, {"modctl.yaml": config})
    run_git(canary, "commit", "-qam", "a step more")
    equal = metrics(canary, (3200, 40000), (28800, 360000))
    code, out = run(CliRunner(), canary, "rollout", "analyze", "demo", "--metrics", str(equal))
    assert (code, status_row(canary)["gate"]) == (0, "pass"), out
    assert advance(canary, equal)[0] == 0  # to the next step
    row = status_row(canary)
    assert (row["weight"], row["gate"], row["gate_at"]) == (50, None, None)


def test_advance_with_nothing_in_flight_says_so_without_reading_metrics(tmp_path: Path) -> None:
    """A scheduler runs advance whether or not a canary flies: with none, the metrics source
    (here none at all) is not read, and the run says so."""
    root = commit_minimal(tmp_path / "repo")
    for args, said in (((), "No canary in flight."), (("demo",), "No canary of demo in flight.")):
        code, out = run(CliRunner(), root, "rollout", "advance", *args)
        assert (code, out.strip()) == (0, said), args
    code, out = run(CliRunner(), root, "rollout", "advance", "demo", "-o", "json")
    assert (code, json.loads(out)["bundles"]) == (0, []), out


@pytest.mark.parametrize("command", ["advance", "analyze"])
def test_an_unknown_bundle_is_a_usage_error_with_the_closest_name(
    canary: Path, command: str
) -> None:
    few = metrics(canary, (4, 50), (40, 450))
    code, out = run(CliRunner(), canary, "rollout", command, "dmeo", "--metrics", str(few))
    assert code == 2, out
    assert "no bundle named 'dmeo'; did you mean 'demo'?" in out


def test_advance_dry_run_says_it_recorded_nothing(canary: Path) -> None:
    tip = Store(canary).tip()
    equal = metrics(canary, (3200, 40000), (28800, 360000))
    code, out = advance(canary, equal, "--dry-run")
    assert code == 0, out
    assert out.splitlines() == [
        "SG demo 0.1.0@10%: promoted one step; every gate passes",
        "Dry run: nothing recorded.",
    ]
    few = metrics(canary, (4, 50), (40, 450))
    code, out = advance(canary, few, "--dry-run", "-o", "json")
    assert (code, json.loads(out)["dry_run"]) == (0, True), out
    assert Store(canary).tip() == tip


def test_a_recorded_count_beyond_any_count_is_an_audit_finding(canary: Path) -> None:
    code, _ = run(
        CliRunner(),
        canary,
        "rollout",
        "analyze",
        "demo",
        "--metrics",
        str(metrics(canary, (300, 2500), (1800, 22500))),
    )
    assert code == 1
    store = Store(canary)
    (path,) = [p for p in store.read().files if p.startswith("analyses/")]
    record = json.loads(store.read().files[path])
    record["gates"][0]["counts"] = dict.fromkeys(record["gates"][0]["counts"], 10**400)
    store.write(
        lambda _s: (
            {path: json.dumps(record).encode()},
            Entry("analyze", "x", "analyze demo: SG fail", bundle="demo", region="SG"),
        ),
    )
    code, out = run(CliRunner(), canary, "audit", "verify")
    assert code == 1, out
    assert "is not an analysis modctl writes (ValueError)" in out


def test_two_analyses_in_the_same_second_are_both_kept(canary: Path) -> None:
    """`analyze` then `advance` from one script can act within one second: the second record
    must not replace the first."""
    from modctl.source.metrics import from_file
    from modctl.state.operations import record_analyses

    moment = datetime(2026, 11, 29, 10, 0, 0)
    context = Context(canary, clock=lambda: moment)
    for counts in ((40, 450), (4, 50)):
        rows = from_file(metrics(canary, counts, (400, 4500)), context.config, moment, {"demo"})
        record_analyses(context, "demo", None, rows, Journal("a@x"))
    store = Store(canary)
    files = store.read().files
    kept = sorted(p for p in files if p.startswith("analyses/demo/SG/"))
    assert len(kept) == 2, kept
    assert sorted(json.loads(files[p])["look"] for p in kept) == [1, 2]
    assert status_row(canary)["samples_missing"] == 50  # the later look: 50 of 100
    out = run(CliRunner(), canary, "release", "show", "demo", "0.1.0")[1]
    assert "look 1: inconclusive\n  2026-11-29T10:00:00Z SG step 1 look 2" in out, out
    assert run(CliRunner(), canary, "audit", "verify")[0] == 0


def test_an_analysis_not_named_by_its_time_is_an_audit_finding(canary: Path) -> None:
    few = metrics(canary, (4, 50), (40, 450))
    assert run(CliRunner(), canary, "rollout", "analyze", "demo", "--metrics", str(few))[0] == 0
    store = Store(canary)
    (path,) = [p for p in store.read().files if p.startswith("analyses/")]
    moved = path.replace(".json", "9_2.json")  # a name its time does not give
    store.write(
        lambda _s: (
            {moved: store.read().files[path]},
            Entry("analyze", "x", "analyze demo: SG inconclusive", bundle="demo", region="SG"),
        ),
    )
    code, out = run(CliRunner(), canary, "audit", "verify")
    assert code == 1, out
    assert f"{moved} is not where its bundle, region and time put it" in out


def test_the_interval_column_says_the_gates_confidence(canary: Path) -> None:
    config = (
        (canary / "modctl.yaml")
        .read_text()
        .replace("min_denominator: 100}", "min_denominator: 100, confidence: 0.9}")
    )
    write_files(canary, {"modctl.yaml": config})
    run_git(canary, "commit", "-qam", "a gate at 90%")
    worse = metrics(canary, (300, 2500), (1800, 22500))
    code, out = run(CliRunner(), canary, "rollout", "analyze", "demo", "--metrics", str(worse))
    assert code == 1, out
    header = out.splitlines()[0].split()
    assert header[header.index("CI") - 1] == "90%", out


def test_a_region_named_twice_is_judged_once(canary: Path) -> None:
    few = metrics(canary, (4, 50), (40, 450))
    code, out = run(
        CliRunner(),
        canary,
        "rollout",
        "analyze",
        "demo",
        "-r",
        "SG",
        "-r",
        "SG",
        "--metrics",
        str(few),
    )
    assert code == 0, out
    assert out.count("SG overturn-rate:") == 1, out


@pytest.mark.parametrize(
    ("command", "example"),
    [
        ("analyze", "modctl rollout analyze ipr-counterfeit --region SG --dry-run"),
        ("advance", "modctl rollout advance --auto-rollback"),
    ],
)
def test_help_shows_an_example_and_the_metrics_format(command: str, example: str) -> None:
    code, out = run(CliRunner(), Path("."), "rollout", command, "--help")
    assert code == 0, out
    assert example in out
    assert "CSV or JSON lines" in " ".join(out.split())


def test_advance_holding_a_baking_canary_says_how_long_to_go_not_force(canary: Path) -> None:
    config = (canary / "modctl.yaml").read_text()
    write_files(canary, {"modctl.yaml": config.replace("  gates:", "  min_bake: 30d\n  gates:")})
    run_git(canary, "commit", "-qam", "a long bake")
    code, out = advance(canary, metrics(canary, (3200, 40000), (28800, 360000)))
    assert code == 0, out
    assert "held; every gate passes, but the canary in SG has baked" in out
    assert " of 30d; " in out
    assert " to go" in out
    assert "--force" not in out
