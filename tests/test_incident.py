"""`incident show|report`: the timeline of an incident from the journal, its time to mitigate,
the hot-patches it left open, the commands that were run, and the postmortem skeleton with a
Mermaid diagram that a real Mermaid parser reads as the events it should."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modctl import yamlio
from modctl.context import Context
from modctl.reports.incident import code, diagram, markdown, mermaid
from modctl.source.config import config_at
from modctl.state import rollout
from modctl.state.commandline import duration
from modctl.state.files import deploy_file, region_file, region_state
from modctl.state.incident import Incident, read
from modctl.state.operations import (
    Journal,
    advance,
    change,
    hotpatch_apply,
    hotpatch_revert,
    record_analyses,
    set_freeze,
)
from modctl.state.render import render
from modctl.state.rollout import stamp
from modctl.state.store import Entry, Snapshot, Store
from tests.conftest import MINIMAL, built_once, commit_minimal, run, run_git, write_files

# Three steps in the pilot wave, so that `--at-step`, `demote` and `promote --full` mean
# something; the rest wave keeps two.
CONFIG = MINIMAL["modctl.yaml"].replace("steps: [10, 100]", "steps: [10, 50, 100]")
INC = "INC-7"
# Each command of the incident as it was typed, in the order and spelling the report writes it
# back; None: a command outside the incident, which its timeline leaves out.
COMMANDS: list[tuple[str, ...]] = [
    ("freeze", "--region", "SG", "--region", "MY", "--reason", "overturns doubled: 'SG' & MY"),
    ("unfreeze", "--region", "SG"),
    ("rollout", "start", "demo", "0.1.1", "--region", "SG", "--at-step", "2"),
    ("rollout", "pause", "demo", "--region", "SG"),
    ("rollout", "resume", "demo", "--region", "SG", "--reason", "watch it"),
    ("rollout", "demote", "demo", "--region", "SG"),
    ("rollout", "promote", "demo", "--region", "SG", "--full", "--force"),
    ("rollback", "demo", "--region", "SG", "--reason", "back to the last good one"),
    ("rollback", "demo", "--region", "MY", "--to", "0.1.1"),
    ("rollout", "start", "demo", "0.1.1", "--region", "SG"),
    ("rollout", "abort", "demo", "--region", "SG", "--reason", "still bad"),
    ("unfreeze", "--region", "GB", "--force"),
    ("release", "cut", "demo", "--version", "0.1.2"),
    (
        # The journal records a hot-patch's regions sorted: the report names them so.
        *("hotpatch", "apply", "demo", "--region", "MY", "--region", "SG", "set_param"),
        *("fake-brand.max_price", "50", "--expires-in", "2h", "--reason", "fewer takedowns"),
    ),
    (
        *("hotpatch", "apply", "demo", "--region", "MY", "list_add", "brands", "lv", "a: b"),
        *("--expires-in", "4h", "--reason", "more brands"),
    ),
    ("hotpatch", "revert", "{set_param}", "--region", "SG"),  # MY keeps it
]
OUTSIDE = {3}  # the pause: run without --incident


def hotpatches(root: Path) -> dict[str, str]:
    """The id of each hot-patch on the state branch, by its op."""
    code_, out = run(CliRunner(), root, "hotpatch", "list", "--all", "-o", "json")
    assert code_ == 0, out
    return {row["op"]: row["id"] for row in json.loads(out)["hotpatches"]}


def typed(index: int, ids: dict[str, str]) -> tuple[str, ...]:
    """The command line of COMMANDS[index] as run, with the hot-patch ids it names and the
    incident (before the reason, where the report writes it) unless it was run outside it."""
    args = tuple(ids.get(a[1:-1], a) if a.startswith("{") else a for a in COMMANDS[index])
    if index in OUTSIDE:
        return args
    reason = list(args).index("--reason") if "--reason" in args else len(args)
    return (*args[:reason], "--incident", INC, *args[reason:])


def expected(ids: dict[str, str]) -> list[str]:
    """What the report says was run: each command of the incident as it was typed."""
    return [
        "modctl " + " ".join(map(shlex.quote, typed(index, ids)))
        for index in range(len(COMMANDS))
        if index not in OUTSIDE
    ]


def bump(root: Path, brand: str) -> None:
    lists = root / "strategies/demo/lists/brands.yaml"
    lists.write_text(lists.read_text().replace("prada", f"prada, {brand}"))
    run_git(root, "commit", "-qam", f"add {brand}")


def ok(root: Path, *args: str) -> None:
    code_, out = run(CliRunner(), root, *args)
    assert code_ == 0, (args, out)


def build_history(root: Path) -> None:
    """0.1.0 stable in SG and MY, GB frozen under INC-9, then incident INC-7 run with the real
    commands (one pause in the middle without it)."""
    commit_minimal(root)
    write_files(root, {"modctl.yaml": CONFIG})
    run_git(root, "commit", "-qam", "three pilot steps")
    ok(root, "release", "cut", "demo")
    bump(root, "dior")
    ok(root, "release", "cut", "demo")
    ok(root, "rollout", "start", "demo", "0.1.0")
    ok(root, "rollout", "promote", "demo", "-r", "SG", "--full", "--force")
    ok(root, "rollout", "start", "demo", "0.1.0")
    ok(root, "rollout", "promote", "demo", "-r", "MY", "--force")
    ok(root, "freeze", "-r", "GB", "--incident", "INC-9", "--reason", "GB launch week")
    bump(root, "hermes")
    for index in range(len(COMMANDS)):
        ok(root, *typed(index, hotpatches(root)))


@pytest.fixture
def history(templates: Path, tmp_path: Path) -> Path:
    return built_once(templates, "incident-history", build_history, tmp_path / "repo")


def journal(root: Path) -> list[dict[str, Any]]:
    """`modctl log --output json`, oldest first."""
    code_, out = run(CliRunner(), root, "log", "--output", "json")
    assert code_ == 0, out
    return list(reversed(json.loads(out)))


def utc(when: str) -> datetime:
    return datetime.fromisoformat(when).astimezone(timezone.utc).replace(tzinfo=None)


def test_report_writes_back_every_command_of_the_incident_as_it_was_run(history: Path) -> None:
    code_, out = run(CliRunner(), history, "incident", "report", INC, "--format", "json")
    assert code_ == 0, out
    report = json.loads(out)
    assert [c["command"] for c in report["commands"]] == expected(hotpatches(history))


def test_show_lists_the_incidents_entries_oldest_first_in_utc(history: Path) -> None:
    mine = [e for e in journal(history) if e["incident"] == INC]
    code_, out = run(CliRunner(), history, "incident", "show", INC)
    assert code_ == 0, out
    heads = [line.split()[:3] for line in out.splitlines() if re.match(r"\d{4}-", line)]
    assert heads == [[stamp(utc(e["time"])), e["action"], e["commit"][:12]] for e in mine]
    assert "pause" not in [head[1] for head in heads]  # run without the incident
    assert "overturns doubled: 'SG' & MY" in " ".join(out.split())
    assert "forced past min_bake" in out
    assert "forced: lifted freezes made under another incident" in out
    assert max(len(line) for line in out.splitlines()) <= 80, out


def test_summary_and_time_to_mitigate_come_from_the_journal(history: Path) -> None:
    entries = journal(history)
    mine = [e for e in entries if e["incident"] == INC]
    start = next(e for e in mine if e["action"] == "start")  # the first to change deploy/
    code_, out = run(CliRunner(), history, "incident", "report", INC, "-o", "json")
    assert code_ == 0, out
    summary = json.loads(out)["summary"]
    seconds = int((utc(start["time"]) - utc(mine[0]["time"])).total_seconds())
    assert summary["mitigating_commit"] == start["commit"]
    assert summary["time_to_mitigate_seconds"] == seconds
    assert summary["time_to_mitigate"] == duration(seconds)
    assert summary["first"] == stamp(utc(mine[0]["time"]))
    assert summary["last"] == stamp(utc(mine[-1]["time"]))
    assert summary["entries"] == len(mine)
    assert summary["bundles"] == ["demo"]
    assert summary["regions"] == ["GB", "MY", "SG"]
    assert summary["releases"] == ["0.1.0", "0.1.1", "0.1.2"]
    assert summary["actors"] == ["author@example.com"]
    timeline = json.loads(out)["timeline"]
    assert [s["mitigating"] for s in timeline] == [
        e["action"] not in ("freeze", "unfreeze", "release") for e in mine
    ]


def test_an_unknown_incident_is_one_line_naming_the_known_ones(history: Path) -> None:
    for command in ("show", "report"):
        code_, out = run(CliRunner(), history, "incident", command, "INC-77")
        assert code_ == 2, out
        assert out.strip().splitlines() == [
            "modctl: error: unknown incident 'INC-77'; the journal names INC-7, INC-9; "
            "did you mean 'INC-7'?"
        ]


def test_an_incident_id_that_steers_the_terminal_is_shown_escaped(history: Path) -> None:
    code_, out = run(CliRunner(), history, "incident", "show", "\x1b[2J" + "x" * 5000)
    assert code_ == 2, out
    assert "\x1b" not in out
    (line,) = out.strip().splitlines()
    assert line.startswith("modctl: error: unknown incident '\\x1b[2Jxxx")
    assert "(5004 characters)" in line


def test_no_state_branch_and_no_incident_yet_are_one_line(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path / "repo")
    code_, out = run(CliRunner(), root, "incident", "show", "INC-1")
    assert code_ == 2, out
    assert out.strip() == (
        "modctl: error: unknown incident 'INC-1': there is no state branch modctl-state yet, "
        "so nothing was recorded under any incident"
    )
    ok(root, "release", "cut", "demo")
    code_, out = run(CliRunner(), root, "incident", "report", "INC-1")
    assert code_ == 2, out
    assert "no journal entry names an incident yet" in out
    assert len(out.strip().splitlines()) == 1


def test_format_md_and_output_json_together_are_refused(history: Path) -> None:
    code_, out = run(
        CliRunner(), history, "incident", "report", INC, "--format", "md", "--output", "json"
    )
    assert code_ == 2, out
    assert "give one" in out


def markdown_tokens(text: str) -> list[Any]:
    from markdown_it import MarkdownIt

    return list(MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(text))


def test_the_markdown_report_has_its_sections_table_diagram_and_commands(history: Path) -> None:
    code_, out = run(CliRunner(), history, "incident", "report", INC)
    assert code_ == 0, out
    tokens = markdown_tokens(out)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == [
        f"Postmortem: incident {INC}",
        "Summary",
        "Impact",
        "Timeline (UTC)",
        "Root cause",
        "What went well",
        "What went wrong",
        "Follow-ups",
        "Commands run",
    ]
    fences = {t.info: t.content for t in tokens if t.type == "fence"}
    assert fences["mermaid"].startswith("timeline\n")
    commands = [line for line in fences["sh"].splitlines() if line.startswith("modctl ")]
    assert commands == expected(hotpatches(history))
    # Every row of the timeline table has its five cells: no value split one.
    rows = _table_rows(tokens)
    timeline = next(r for r in rows if r[0] == "Time (UTC)")
    assert len(rows[rows.index(timeline) + 1 :]) == len(commands)
    assert all(len(row) == 5 for row in rows[rows.index(timeline) :])


def _table_rows(tokens: list[Any]) -> list[list[str]]:
    """The cells of every table row, as their inline Markdown."""
    rows: list[list[str]] = []
    cell = False
    for token in tokens:
        if token.type == "tr_open":
            rows.append([])
        elif token.type in ("th_open", "td_open"):
            cell = True
        elif token.type == "inline" and cell:
            rows[-1].append(token.content)
            cell = False
    return rows


# A second history, at moments the test sets: a canary of 0.1.0 in SG from T0, gate analyses
# inside and outside the incident, and the hot-patch and emergency commits of INC-1, written with
# `Store.write` as those commands will write them (see the shared design of issue 13).
T0 = (datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=3)).replace(
    second=0, microsecond=0
)
GATED = (
    MINIMAL["modctl.yaml"].replace(
        "max_relative_increase: 0.1}", "max_relative_increase: 0.1, min_denominator: 100}"
    )
    + "hotpatch: {max_ttl: 2h}\n"
)
HEADER = "region,bundle,variant,window_start,window_end,overturned,appeals\n"
ONCALL = "oncall@example.com"
HOSTILE_PARAM = "$(rm -rf ~) {{7*7}} ../../etc/passwd"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def metrics(root: Path, name: str, canary: tuple[int, int], stable: tuple[int, int]) -> Path:
    path = root / f"{name}.csv"
    window = f"{stamp(at(0))},{stamp(at(60))}"
    path.write_text(
        HEADER + f"SG,demo,canary,{window},{canary[0]},{canary[1]}\n"
        f"SG,demo,stable,{window},{stable[0]},{stable[1]}\n"
    )
    return path


def hotpatch(
    pid: str, op: str, target: str, value: Any, made: datetime, **more: Any
) -> dict[str, Any]:
    """A hot-patch record as the design gives it, expiring 4 hours after it was made."""
    record = {
        "id": pid,
        "op": op,
        "target": target,
        "value": value,
        "reason": "stop the takedowns",
        "incident": "INC-1",
        "actor": ONCALL,
        "created": stamp(made),
        "expires": stamp(made + timedelta(hours=4)),
        **more,
    }
    return {k: v for k, v in record.items() if v is not None}


def patched(
    store: Store,
    when: datetime,
    entry: Entry,
    edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    extra: dict[str, bytes | None] | None = None,
) -> str:
    """A commit that edits the hot-patches of demo in SG and renders deploy/ again."""

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        path = region_file("SG", "demo")
        state = region_state(path, snapshot.files[path])
        new = replace(state, hotpatches=tuple(edit(list(state.hotpatches))))
        files = dict(extra or {})
        files[path] = yamlio.dump(new.to_dict()).encode()
        files[deploy_file("SG", "demo")] = render(snapshot, new, when)
        return files, entry

    return store.write(transition, when).commit or ""


def build_gated(root: Path) -> None:
    commit_minimal(root)
    write_files(root, {"modctl.yaml": GATED})
    run_git(root, "commit", "-qam", "a gate with a tolerance, hot-patches for 2h at most")
    ok(root, "release", "cut", "demo")
    moment = [at(0)]
    context = Context(root, clock=lambda: moment[0])
    config = context.config
    store = context.store
    passing = metrics(root, "pass", (3200, 40000), (28800, 360000))
    failing = metrics(root, "fail", (300, 2500), (1800, 22500))

    def rows(path: Path) -> Any:
        from modctl.source.metrics import from_file

        return from_file(path, config, moment[0], {"demo"})

    change(context, "demo", "start", lambda s: rollout.start(s, "0.1.0", None), Journal("dev@x"))
    moment[0] = at(65)
    record_analyses(context, "demo", None, rows(passing), Journal("ci@example.com"))
    moment[0] = at(120)
    set_freeze(context, ["SG"], True, Journal(ONCALL, "brand list takes down resellers", "INC-1"))
    moment[0] = at(121)
    record_analyses(context, "demo", None, rows(passing), Journal("ci@example.com"))
    moment[0] = at(122)
    disable = {"op": "disable_rule", "target": "fake-brand", "expires_in": "1h"}
    journal = Journal(ONCALL, "stop the takedowns", "INC-1")
    first = hotpatch_apply(context, "demo", ["SG"], disable, journal).record["id"]
    hp2 = hotpatch("hp-2", "set_param", "fake-brand.max_price", 5, at(123))
    hp3 = {
        **hotpatch("hp-3", "list_add", "brands", ["lv", "a: b"], at(123)),
        "expires": stamp(at(124)),
    }
    run_record = {
        "playbook": "relax-threshold",
        "source": "name: relax-threshold\n",
        "params": {"bundle": "demo", "rule": "fake-brand", "max_price": 5, "note": HOSTILE_PARAM},
        "incident": "INC-1",
        "reason": "relax it everywhere",
        "actor": ONCALL,
        "at": stamp(at(123)),
        "steps": [{"hotpatch": {"op": "set_param"}}],
    }
    record = f"emergencies/{at(123):%Y%m%dT%H%M%SZ}-relax-threshold.json"
    entry = Entry(
        "emergency",
        ONCALL,
        "emergency relax-threshold: 2 hot-patches of demo in SG",
        bundle="demo",
        region="SG",
        incident="INC-1",
        reason="relax it everywhere",
        playbook="relax-threshold",
    )
    patched(
        store,
        at(123),
        entry,
        lambda found: [*found, hp2, hp3],
        {record: json.dumps(run_record).encode()},
    )
    moment[0] = at(124)
    advance(
        context,
        ["demo"],
        rows(failing),
        Journal(ONCALL, "the gate fails", "INC-1"),
        auto_rollback=True,
    )
    moment[0] = at(125)
    hotpatch_revert(context, first, None, Journal(ONCALL, None, "INC-1"))
    hp4 = {**hotpatch("hp-4", "enable_rule", "fake-brand", None, at(126)), "incident": "INC-2"}
    entry = Entry(
        "hotpatch", ONCALL, "hotpatch demo hp-4", bundle="demo", region="SG", hotpatch="hp-4"
    )
    patched(store, at(126), replace(entry, incident="INC-2"), lambda found: [*found, hp4])
    context.close()


@pytest.fixture
def gated(templates: Path, tmp_path: Path) -> Path:
    return built_once(templates, "incident-gated", build_gated, tmp_path / "repo")


def applied(root: Path) -> str:
    """The id of the hot-patch `hotpatch apply` made in the second history."""
    return next(e.hotpatch or "" for e in Store(root).journal() if e.action == "hotpatch-revert")


def incident(root: Path, ident: str = "INC-1", now: datetime | None = None) -> Incident:
    context = Context(root)
    try:
        return read(context.store, config_at(context.git), ident, now or at(130))
    finally:
        context.close()


def test_gate_verdicts_of_the_incident_and_made_meanwhile_are_on_the_timeline(gated: Path) -> None:
    found = incident(gated)
    assert [(s.entry.action, s.related) for s in found.steps] == [
        ("freeze", False),
        ("analyze", True),  # by CI, between the incident's entries, on its bundle and region
        ("hotpatch", False),
        ("emergency", False),
        ("advance", False),
        ("hotpatch-revert", False),
    ]
    assert [s.time for s in found.steps] == [stamp(at(m)) for m in (120, 121, 122, 123, 124, 125)]
    related = found.steps[1]
    assert [(v.bundle, v.region, v.release, v.verdict) for v in related.verdicts] == [
        ("demo", "SG", "0.1.0", "pass")
    ]
    assert related.command is None
    (failed,) = found.steps[4].verdicts
    assert failed.verdict == "fail"
    assert "canary worse than stable" in failed.gates[0][2]


def test_time_to_mitigate_runs_to_the_first_commit_that_changes_deploy(gated: Path) -> None:
    found = incident(gated)
    assert found.mitigated is found.steps[2]  # the hot-patch; the freeze changed no deploy/
    assert found.time_to_mitigate == 120
    summary = found.summary()
    assert (summary["time_to_mitigate"], summary["first"], summary["last"]) == (
        "2m",
        stamp(at(120)),
        stamp(at(125)),
    )
    assert summary["actors"] == [ONCALL]
    assert summary["related_analyses"] == 1


def test_hot_patches_touched_are_named_with_what_they_do(gated: Path) -> None:
    found = incident(gated)
    first = applied(gated)
    touched = [
        (s.entry.action, [(p.id, p.change, p.regions) for p in s.patches]) for s in found.steps
    ]
    assert touched == [
        ("freeze", []),
        ("analyze", []),
        ("hotpatch", [(first, "applied", ("SG",))]),
        ("emergency", [("hp-2", "applied", ("SG",)), ("hp-3", "applied", ("SG",))]),
        ("advance", []),
        ("hotpatch-revert", [(first, "reverted", ("SG",))]),
    ]
    assert found.steps[2].patches[0].record["op"] == "disable_rule"


def test_commands_of_hot_patches_emergencies_and_gates(gated: Path) -> None:
    commands = [s.command for s in incident(gated).own]
    assert commands[0] == (
        "modctl freeze --region SG --incident INC-1 --reason 'brand list takes down resellers'"
    )
    assert commands[1] == (
        "modctl hotpatch apply demo --region SG disable_rule fake-brand --expires-in 1h "
        "--incident INC-1 --reason 'stop the takedowns'"
    )
    assert shlex.split(commands[2] or "") == [
        "modctl",
        "emergency",
        "run",
        "relax-threshold",
        "-p",
        "bundle=demo",
        "-p",
        "rule=fake-brand",
        "-p",
        "max_price=5",
        "-p",
        f"note={HOSTILE_PARAM}",
        "--incident",
        "INC-1",
        "--reason",
        "relax it everywhere",
        "--yes",
    ]
    advance_line = shlex.split(commands[3] or "")
    assert advance_line[:5] == ["modctl", "rollout", "advance", "demo", "--metrics"]
    assert advance_line[5].endswith("fail.csv")  # not the configured source: it was given
    assert advance_line[6:] == [
        "--auto-rollback",
        "--incident",
        "INC-1",
        "--reason",
        "the gate fails",
    ]
    assert commands[4] == f"modctl hotpatch revert {applied(gated)} --incident INC-1"


def test_open_hot_patches_stop_at_expiry_or_max_ttl_and_not_when_reverted(gated: Path) -> None:
    found = incident(gated)
    # The first was reverted, hp-3 expired at +124 min, hp-4 belongs to INC-2.
    assert [(o.id, o.bundle, o.regions, o.until) for o in found.open] == [
        ("hp-2", "demo", ("SG",), stamp(at(123 + 120)))  # max_ttl 2h, before its 4h expiry
    ]
    assert found.open[0].revert == "modctl hotpatch revert hp-2"
    assert found.open[0].fold == "modctl hotpatch fold hp-2"
    assert incident(gated, now=at(123 + 120)).open == []
    assert [o.id for o in incident(gated, "INC-2").open] == ["hp-4"]


def test_report_lists_the_open_hot_patches_as_follow_ups(gated: Path) -> None:
    code_, out = run(CliRunner(), gated, "incident", "report", "INC-1")
    assert code_ == 0, out
    follow_ups = out.split("## Follow-ups")[1].split("## Commands run")[0]
    assert "- [ ] hp-2 on demo in SG: set\\_param fake-brand.max\\_price 5 until" in follow_ups
    assert "fold `modctl hotpatch fold hp-2`, revert `modctl hotpatch revert hp-2`" in follow_ups
    assert applied(gated) not in follow_ups
    assert "| Time to mitigate | 2m (120 s) |" in out


# A summary and a reason no modctl command writes (the journal refuses control characters), as a
# commit made around modctl could hold them: each would split a Mermaid event, end a comment,
# start a directive or HTML, break a Markdown table or code span, or steer a terminal.
HOSTILE_SUMMARY = (
    "note: a: b #x; %%{init: {'theme': 'dark'}}%% <script>x</script> `tick` | pipe \x1b[31mred"
)
HOSTILE_REASON = "why: ``` fence \u202eevil $x$ *bold* [link](http://x) &amp; \x07"


def forge(root: Path) -> str:
    """A commit under INC-1 that changes nothing, with the hostile summary and reason."""
    tip = run_git(root, "rev-parse", "modctl-state").strip()
    message = (
        f"{HOSTILE_SUMMARY}\n\nModctl-Action: note\nModctl-Actor: {ONCALL}\n"
        f"Modctl-Region: SG\nModctl-Incident: INC-1\nModctl-Reason: {HOSTILE_REASON}\n"
    )
    date = f"{int(at(127).replace(tzinfo=timezone.utc).timestamp())} +0000"
    env = {**os.environ, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}
    commit = run_git(root, "commit-tree", f"{tip}^{{tree}}", "-p", tip, "-m", message, env=env)
    run_git(root, "update-ref", "refs/heads/modctl-state", commit.strip(), tip)
    return commit.strip()


@pytest.fixture
def forged(gated: Path) -> Path:
    forge(gated)
    return gated


def test_hostile_values_reach_the_terminal_escaped(forged: Path) -> None:
    code_, out = run(CliRunner(), forged, "incident", "show", "INC-1")
    assert code_ == 0, out
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "\x07" not in out
    assert "\\x1b[31mred" in out
    assert "\\u202eevil" in out
    assert "note: a: b" in out


def test_hostile_values_stay_text_in_the_markdown(forged: Path) -> None:
    code_, out = run(CliRunner(), forged, "incident", "report", "INC-1")
    assert code_ == 0, out
    assert "\x1b" not in out
    tokens = markdown_tokens(out)
    rows = _table_rows(tokens)
    timeline = next(r for r in rows if r[0] == "Time (UTC)")
    table = rows[rows.index(timeline) :]
    assert all(len(row) == 5 for row in table)
    # What a reader sees of the forged row's cells is the values, escaped for a terminal.
    forged_row = next(r for r in table if "<script" in r[2])
    inline = [t for t in tokens if t.type == "inline" and t.content in forged_row]
    shown = [
        "".join(c.content for c in t.children if c.type in ("text", "code_inline")) for t in inline
    ]
    assert printable_escape(HOSTILE_SUMMARY) in shown
    assert printable_escape(HOSTILE_REASON) in shown
    html = [c.content for t in tokens if t.type == "inline" for c in t.children if "html" in c.type]
    assert set(html) == {"<br>"}  # only the line breaks the report puts in a cell itself
    fences = [t for t in tokens if t.type == "fence"]
    assert [t.info for t in fences] == ["mermaid", "sh"]
    assert "# (no command: note is not one modctl can write again" in fences[1].content


def printable_escape(text: str) -> str:
    from modctl import printable

    return printable.escape(text)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def mermaid_texts(source: str) -> list[str]:
    """Every text Mermaid itself (mermaid.js, run without a browser) draws for `source`: a
    parse error fails the test."""
    from xml.etree import ElementTree

    import mermaidx

    svg = ElementTree.fromstring(mermaidx.render(source).svg())
    return [squash("".join(e.itertext())) for e in svg.iter() if e.tag.rsplit("}", 1)[-1] == "text"]


@pytest.mark.slow  # mermaid.js lays out and measures every word of seven events: 10 s
def test_mermaid_draws_every_step_as_one_event_with_its_text(forged: Path) -> None:
    found = incident(forged)
    source = diagram(found)
    texts = mermaid_texts(source)
    events = [
        "freeze SG",
        "gate verdicts outside the incident: demo SG pass",
        f"MITIGATED by hotpatch demo {applied(forged)}: disable_rule fake-brand in SG until "
        + found.steps[2].patches[0].record["expires"],
        "emergency relax-threshold: 2 hot-patches of demo in SG",
        "advance: abort demo canary 0.1.0 in SG",
        f"revert demo hot-patch {applied(forged)} (disable_rule fake-brand) in SG",
        printable_escape(HOSTILE_SUMMARY),
    ]
    periods = [f"{at(m):%H:%M:%S}" for m in (120, 121, 122, 123, 124, 125, 127)]
    title = "Incident INC-1 (UTC)"
    assert sorted(texts) == sorted(map(squash, [title, f"{at(120):%Y-%m-%d}", *periods, *events]))


# The timeline grammar of Mermaid (timeline.jison): a period is `[^#:\n]+`, an event follows
# `: ` and ends at the next `: `, a section name holds no colon, `#` starts a comment and `%%` a
# comment or a directive anywhere on a line. Entity codes (`#58;`) are decoded after parsing.
LINE = re.compile(
    r"timeline|    title [^\n]+|    section [^:\n]+"
    r"|        (?P<period>[^:\n]+?) (?P<events>: .+)|            (?P<more>: .+)"
)
PLAIN = re.compile(r"(?:[^#:%\n]|#[0-9]+;)+")


def test_every_line_of_the_diagram_is_one_the_grammar_reads_as_meant(forged: Path) -> None:
    """Without rendering: each line is a title, a section, or a period with one event, and no
    value put a colon, `#` or `%` where the grammar would read it."""
    source = diagram(incident(forged))
    events = 0
    for line in source.splitlines():
        found = LINE.fullmatch(line)
        assert found, line
        for part in (found["period"], found["events"], found["more"]):
            if part:
                assert PLAIN.fullmatch(part.removeprefix(": ")), line
                events += part.startswith(": ")
    assert events == len(incident(forged).steps) == 7


def test_the_same_values_unescaped_would_break_the_diagram() -> None:
    """The check above can tell: a colon in an event splits it, `#` in a period ends it."""
    texts = mermaid_texts("timeline\n    section d\n        t : a: b\n")
    assert texts == ["d", "t", "a", "b"]
    with pytest.raises(Exception, match="Parse error"):
        mermaid_texts("timeline\n    section d\n        12:00 : x\n")


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("a: b", "a#58; b"),
        ("#35;", "#35;35#59;"),
        ("%%{init}%%", "#37;#37;#123;init#125;#37;#37;"),
        ("<b>&", "#60;b#62;#38;"),
        ("tab\there", "tab#92;there"),
        ("Gucci 50% off, naïve?", "Gucci 50#37; off, naïve?"),
    ],
)
def test_mermaid_text_escapes_what_the_grammar_or_html_reads(value: str, escaped: str) -> None:
    assert mermaid(value) == escaped


def test_markdown_text_and_code_spans_hold_any_value() -> None:
    assert markdown("a|b *c* `d` <e> $f$ \x1b") == "a\\|b \\*c\\* \\`d\\` \\<e\\> \\$f\\$ \\\\x1b"
    assert code("a``b") == "```a``b```"
    assert code("`x") == "`` `x ``"


# A third history: two bundles in three regions, and one emergency commit that hot-patches both
# everywhere they run, as `emergency run` writes it: one commit for every bundle and region.
OTHER = {
    "strategies/other/bundle.yaml": "name: other\nregions: [SG, MY, GB]\n",
    "strategies/other/rules/main.yaml": MINIMAL["strategies/demo/rules/main.yaml"],
    "strategies/other/lists/brands.yaml": MINIMAL["strategies/demo/lists/brands.yaml"],
    "strategies/other/tests/main.yaml": MINIMAL["strategies/demo/tests/main.yaml"],
}
WHERE = {"demo": ("MY", "SG"), "other": ("GB", "MY", "SG")}


def build_wide(root: Path) -> None:
    commit_minimal(root)
    write_files(root, OTHER)
    run_git(root, "add", ".")
    run_git(root, "commit", "-qm", "a second bundle")
    for bundle, regions in WHERE.items():
        ok(root, "release", "cut", bundle)
        ok(root, "rollout", "start", bundle, "0.1.0")
        ok(root, "rollout", "promote", bundle, "-r", "SG", "--full", "--force")
        ok(root, "rollout", "start", bundle, "0.1.0")
        for region in regions:
            if region != "SG":
                ok(root, "rollout", "promote", bundle, "-r", region, "--force")
    ok(root, "freeze", "--all", "--incident", "INC-5", "--reason", "takedowns everywhere")
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    made = {
        bundle: {
            **hotpatch(f"hp-{bundle}", "set_mode", "fake-brand", "shadow", now),
            "incident": "INC-5",
        }
        for bundle in WHERE
    }

    def transition(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        files: dict[str, bytes | None] = {
            f"emergencies/{now:%Y%m%dT%H%M%SZ}-shadow-rule.json": json.dumps(
                {"playbook": "shadow-rule", "params": {"rule": "fake-brand"}}
            ).encode()
        }
        for bundle, regions in WHERE.items():
            for region in regions:
                path = region_file(region, bundle)
                state = region_state(path, snapshot.files[path])
                new = replace(state, hotpatches=(*state.hotpatches, made[bundle]))
                files[path] = yamlio.dump(new.to_dict()).encode()
                files[deploy_file(region, bundle)] = render(snapshot, new, now)
        entry = Entry(
            "emergency",
            ONCALL,
            "emergency shadow-rule: fake-brand in shadow for demo, other in GB, MY, SG",
            bundle="demo,other",
            region="GB,MY,SG",
            incident="INC-5",
            reason="shadow it everywhere",
            playbook="shadow-rule",
        )
        return files, entry

    Store(root).write(transition, now)


@pytest.fixture
def wide(templates: Path, tmp_path: Path) -> Path:
    return built_once(templates, "incident-wide", build_wide, tmp_path / "repo")


def test_an_incident_across_bundles_and_regions(wide: Path) -> None:
    code_, out = run(CliRunner(), wide, "incident", "report", "INC-5", "-o", "json")
    assert code_ == 0, out
    report = json.loads(out)
    assert report["summary"]["bundles"] == ["demo", "other"]
    assert report["summary"]["regions"] == ["GB", "MY", "SG"]
    emergency = report["timeline"][1]
    assert [(p["id"], p["bundle"], p["regions"]) for p in emergency["hotpatches"]] == [
        ("hp-demo", "demo", ["MY", "SG"]),
        ("hp-other", "other", ["GB", "MY", "SG"]),
    ]
    assert emergency["mitigating"]
    assert report["summary"]["mitigating_commit"] == emergency["commit"]
    assert [c["command"] for c in report["commands"]] == [
        "modctl freeze --region SG --region MY --region GB --incident INC-5 "
        "--reason 'takedowns everywhere'",
        "modctl emergency run shadow-rule -p rule=fake-brand --incident INC-5 "
        "--reason 'shadow it everywhere' --yes",
    ]
    assert [(o["id"], o["regions"]) for o in report["open_hotpatches"]] == [
        ("hp-demo", ["MY", "SG"]),
        ("hp-other", ["GB", "MY", "SG"]),
    ]
    code_, out = run(CliRunner(), wide, "incident", "show", "INC-5", "--output", "json")
    assert code_ == 0, out
    shown = json.loads(out)
    assert [s["action"] for s in shown["timeline"]] == ["freeze", "emergency"]
    assert shown["timeline"] == report["timeline"]
    code_, out = run(CliRunner(), wide, "incident", "show", "INC-5")
    assert code_ == 0, out
    assert "Hot-patches still open:" in out
    assert "hp-other on other in GB, MY, SG: set_mode fake-brand shadow until" in " ".join(
        out.split()
    )
    assert "undo with `modctl hotpatch revert hp-other`" in out


def test_unknown_incident_lists_ten_and_counts_the_rest() -> None:
    from modctl.state.incident import unknown

    entries = [Entry("freeze", "a", "freeze", incident=f"INC-{n}") for n in range(12, 0, -1)]
    said = unknown("INC-13", entries)
    assert said == (
        "unknown incident 'INC-13'; the journal names INC-12, INC-11, INC-10, INC-9, INC-8, "
        "INC-7, INC-6, INC-5, INC-4, INC-3 and 2 more (`modctl log` shows them); did you mean "
        "'INC-3'?"
    )


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0, "0s"), (120, "2m"), (5400, "1h30m"), (90061, "1d1h1m1s"), (-65, "-1m5s")],
)
def test_durations_read_as_modctl_writes_them(seconds: int, said: str) -> None:
    assert duration(seconds) == said
    if seconds >= 0:
        assert rollout.seconds(said) == seconds


def test_a_hot_patch_named_by_a_commit_that_changed_no_state_is_read_from_the_state(
    gated: Path,
) -> None:
    """A recorded attempt that wrote nothing (as a refused or failed command is recorded) still
    names its hot-patch, as the region state at that commit holds it."""
    entry = Entry(
        "hotpatch",
        ONCALL,
        "hotpatch demo hp-2: refused",
        bundle="demo",
        region="SG",
        incident="INC-1",
        hotpatch="hp-2",
    )
    Store(gated).write(lambda _snapshot: ({}, entry), at(127))
    last = incident(gated).steps[-1]
    assert [(p.id, p.change, p.regions) for p in last.patches] == [("hp-2", "named", ("SG",))]
    assert last.patches[0].record["target"] == "fake-brand.max_price"
    assert not last.mitigating
    assert last.command == (
        "modctl hotpatch apply demo --region SG set_param fake-brand.max_price 5 "
        "--expires-in 4h --incident INC-1"
    )


def test_the_commands_written_back_run_again_as_they_were_run(
    templates: Path, tmp_path: Path
) -> None:
    """A playbook's regions are written as `-p` takes them (not as JSON), and hot-patch values
    that start with `-` come after `--`, where they are not read as options."""
    from tests.test_emergency import build_live

    root = built_once(templates, "emergency-live", build_live, tmp_path / "repo")
    why = ("--incident", "INC-3", "--reason", "resellers taken down")
    playbook = ("-p", "bundle=demo", "-p", "rule=fake-brand", "-p", "regions=SG,MY")
    ok(root, "emergency", "run", "disable-rule", *playbook, *why, "--yes")
    seller = ("--", "list_add", "authorized-sellers", "-S-2")
    ok(root, "hotpatch", "apply", "demo", "-r", "SG", *why, *seller)
    code_, out = run(CliRunner(), root, "incident", "report", "INC-3", "-o", "json")
    assert code_ == 0, out
    commands = [c["command"] for c in json.loads(out)["commands"]]
    assert "-p regions=SG,MY" in commands[0]
    assert commands[1].endswith(" -- list_add authorized-sellers -S-2")
    before = built_once(templates, "emergency-live", build_live, tmp_path / "again")
    for command in commands:
        words = shlex.split(command)
        code_, out = run(CliRunner(), before, *words[1:3], "--dry-run", *words[3:])
        assert code_ == 0, (command, out)


def test_an_emergency_hot_patch_names_the_releases_it_patched(
    templates: Path, tmp_path: Path
) -> None:
    """The playbook's commit names no release in its trailers; the hot-patches it wrote say
    which releases they patched: the stable and the canary of each region."""
    from tests.test_emergency import build_live

    root = built_once(templates, "emergency-live", build_live, tmp_path / "repo")
    playbook = ("-p", "bundle=demo", "-p", "rule=fake-brand")
    ok(
        root,
        "emergency",
        "run",
        "disable-rule",
        *playbook,
        "--incident",
        "INC-4",
        "--reason",
        "r",
        "--yes",
    )
    code_, out = run(CliRunner(), root, "incident", "report", "INC-4", "-o", "json")
    assert code_ == 0, out
    report = json.loads(out)
    assert report["summary"]["releases"] == ["0.1.1", "0.1.2"]
    assert report["timeline"][0]["releases"] == ["0.1.1", "0.1.2"]


@pytest.mark.parametrize(
    "command",
    [
        ("incident", "show"),
        ("incident", "report"),
        ("emergency", "list"),
        ("emergency", "show"),
        ("emergency", "run"),
        ("hotpatch", "apply"),
        ("hotpatch", "list"),
        ("hotpatch", "revert"),
        ("hotpatch", "fold"),
        ("hotpatch", "expire"),
    ],
)
def test_every_emergency_command_shows_an_example_in_its_help(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    code_, out = run(CliRunner(), tmp_path, *command, "--help")
    assert code_ == 0, out
    assert f"Example: modctl {' '.join(command)} " in " ".join(out.split()), out
