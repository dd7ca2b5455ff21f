"""`report effectiveness`: per-rule metrics ranked by how much worse each rule's overturn rate is
than the rest of its bundle's, with Wilson intervals, trends and suggested commands."""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import sys
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl.analytics import suggest
from modctl.analytics.effectiveness import effectiveness, parse_since, rate_gate
from modctl.errors import UsageError
from modctl.gates.judge import Gate
from modctl.source.metrics import from_file
from tests.conftest import reference_workspace, run
from tests.metrics_seeded import write_per_rule
from tests.parses import parses

BUNDLE = "ipr-counterfeit"
NOW = datetime(2026, 11, 29, 12)


def rules() -> list[str]:
    return [r.id for r in reference_workspace().bundle(BUNDLE).rules if r.mode == "enforce"]


def report(path: Path, **options: object) -> object:
    workspace = reference_workspace()
    config = workspace.config
    gate = rate_gate(config.gates, config.metrics, "overturn-rate")
    read = from_file(path, config, NOW, {BUNDLE})
    return effectiveness(
        read.rows,
        workspace.bundle(BUNDLE),
        gate,
        origin=read.origin,
        metrics=config.metrics,
        **options,  # type: ignore[arg-type]
    )


def test_the_rule_made_to_overturn_often_ranks_first_with_its_interval(tmp_path: Path) -> None:
    path = write_per_rule(tmp_path / "m.csv", BUNDLE, rules(), high="lux-unauthorized-cheap")
    found = report(path)
    first = found.rows[0]  # type: ignore[attr-defined]
    assert (first.rule, first.flagged) == ("lux-unauthorized-cheap", True)
    assert {r.rule for r in found.flagged} == {"lux-unauthorized-cheap"}  # type: ignore[attr-defined]
    low, high = first.counts.interval
    assert low < first.counts.rate < high
    assert low > first.rest.rate  # the whole interval lies above the rest of the bundle
    assert first.direction == "rising"
    assert [p.release for p in first.trend] == ["1.0.0", "1.1.0", "1.2.0"]
    assert first.trend[-1].counts.rate > 2 * first.trend[0].counts.rate


def test_with_no_rule_worse_none_is_flagged(tmp_path: Path) -> None:
    found = report(write_per_rule(tmp_path / "m.csv", BUNDLE, rules(), seed=3))
    assert found.flagged == []  # type: ignore[attr-defined]
    assert found.suggestions == []  # type: ignore[attr-defined]


def test_since_and_region_choose_the_windows(tmp_path: Path) -> None:
    path = write_per_rule(tmp_path / "m.csv", BUNDLE, rules(), high="lux-unauthorized-cheap")
    found = report(path, since=datetime(2026, 10, 5), regions=["MY"])
    assert found.regions == ["MY"]  # type: ignore[attr-defined]
    assert found.releases == ["1.2.0"]  # type: ignore[attr-defined]
    assert found.rows[0].rule == "lux-unauthorized-cheap"  # type: ignore[attr-defined]


def test_suggestions_shadow_the_rule_and_sweep_its_param_and_each_parses(tmp_path: Path) -> None:
    path = write_per_rule(tmp_path / "m.csv", BUNDLE, rules(), high="lux-unauthorized-cheap")
    found = report(path)
    kinds = [(s.kind, s.rule) for s in found.suggestions]  # type: ignore[attr-defined]
    assert kinds == [
        ("shadow", "lux-unauthorized-cheap"),
        ("sweep", "lux-unauthorized-cheap"),
    ]
    shadow, sweep = found.suggestions  # type: ignore[attr-defined]
    assert shadow.command.startswith(
        "modctl hotpatch apply ipr-counterfeit --region MY --region SG set_mode "
        "lux-unauthorized-cheap shadow --expires-in 4h --reason "
    )
    assert "SG: overturn-rate" in shadow.evidence
    assert sweep.command == (
        "modctl backtest ipr-counterfeit --data LABELLED.jsonl "
        "--sweep lux-unauthorized-cheap.max_price_ratio=0.1:0.5:0.05"
    )
    for found_one in (shadow, sweep):
        parses(found_one.command)


def test_sweep_ranges_step_round_values_around_the_current_one() -> None:
    assert suggest.sweep_range(0.3) == "0.1:0.5:0.05"
    assert suggest.sweep_range(0.5) == "0.1:0.9:0.1"
    assert suggest.sweep_range(6) == "2:10:1"
    assert suggest.sweep_range(150) == "90:210:15"
    assert suggest.sweep_range(True) is None
    assert suggest.sweep_range("high") is None  # type: ignore[arg-type]


def test_since_reads_a_time_or_a_span() -> None:
    assert parse_since("7d", NOW) == datetime(2026, 11, 22, 12)
    assert parse_since("1d12h", NOW) == datetime(2026, 11, 28)
    assert parse_since("2026-11-01T00:00:00Z", NOW) == datetime(2026, 11, 1)
    for bad in ("yesterday", "2026-11-01T00:00:00", "7x"):
        with pytest.raises(UsageError, match="--since"):
            parse_since(bad, NOW)


def test_cli_text_json_and_markdown(reference_repo: Path, runner: CliRunner) -> None:
    path = write_per_rule(reference_repo / "m.csv", BUNDLE, rules(), high="lux-unauthorized-cheap")
    code, out = run(
        runner, reference_repo, "report", "effectiveness", BUNDLE, "--metrics", str(path)
    )
    assert code == 0, out
    ranked = [line for line in out.splitlines() if line.startswith("1  ")]
    assert ranked
    assert "lux-unauthorized-cheap" in ranked[0]
    assert "WORSE" in ranked[0]
    assert "modctl hotpatch apply ipr-counterfeit --region MY --region SG set_mode" in out
    code, out = run(
        runner,
        reference_repo,
        "report",
        "effectiveness",
        BUNDLE,
        "--metrics",
        str(path),
        "-o",
        "json",
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["rules"][0]["rule"] == "lux-unauthorized-cheap"
    assert data["rules"][0]["flagged"] is True
    assert len(data["rules"][0]["interval"]) == 2
    code, out = run(
        runner,
        reference_repo,
        "report",
        "effectiveness",
        BUNDLE,
        "--metrics",
        str(path),
        "-o",
        "md",
    )
    assert code == 0, out
    assert out.startswith("# Effectiveness of ipr-counterfeit")
    assert "| 1  WORSE | lux-unauthorized-cheap | " in out.replace("\\-", "-")


BAD = {
    "no rule column": (
        ["--metrics", "plain.csv"],
        "no row of ipr-counterfeit names a rule; report effectiveness needs per-rule rows",
    ),
    "unknown gate": (["--gate", "overturn"], "no gate 'overturn' in modctl.yaml"),
    "bad since": (["--since", "last week"], "--since 'last week' is neither a time"),
    "since too long ago": (
        ["--since", "99999999999999d"],
        "--since '99999999999999d' reaches back before the year 1",
    ),
    "unknown region": (["--region", "XX"], "does not serve region 'XX'"),
    "no rows since": (["--since", "2026-11-20T00:00:00Z"], "no per-rule row of ipr-counterfeit"),
    "missing file": (["--metrics", "nope.csv"], "no such metrics file"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_2(reference_repo: Path, runner: CliRunner, case: str) -> None:
    write_per_rule(reference_repo / "m.csv", BUNDLE, rules())
    (reference_repo / "plain.csv").write_text(
        "region,bundle,variant,window_start,window_end,appeals,appeals_overturned\n"
        "SG,ipr-counterfeit,stable,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,100,5\n"
    )
    args, message = BAD[case]
    args = [reference_repo / a if a.endswith(".csv") else a for a in args]  # type: ignore[misc]
    if "--metrics" not in args:
        args = [*args, "--metrics", str(reference_repo / "m.csv")]
    code, out = run(runner, reference_repo, "report", "effectiveness", BUNDLE, *map(str, args))
    assert code == 2, out
    assert message in out
    assert len(out.strip().splitlines()) == 1, out


def test_html_is_one_page_with_both_charts_and_nothing_fetched(
    reference_repo: Path, runner: CliRunner
) -> None:
    path = write_per_rule(reference_repo / "m.csv", BUNDLE, rules(), high="lux-unauthorized-cheap")
    code, out = run(
        runner,
        reference_repo,
        "report",
        "effectiveness",
        BUNDLE,
        "--metrics",
        str(path),
        "-o",
        "html",
    )
    assert code == 0, out
    assert out.startswith("<!DOCTYPE html>")
    assert out.count("<svg") == 2
    for title in ("Overturn rate per rule, with intervals", "Volume across releases"):
        assert f'aria-label="{title}"' in out
        assert f">{title}</text>" in out
    assert "<script" not in out
    assert "src=" not in out
    assert all(ref.startswith("#") for ref in re.findall(r'href="([^"]*)"', out))


def test_html_without_matplotlib_is_one_line_saying_what_to_install(
    reference_repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_per_rule(reference_repo / "m.csv", BUNDLE, rules())
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, out = run(
        runner,
        reference_repo,
        "report",
        "effectiveness",
        BUNDLE,
        "--metrics",
        str(path),
        "-o",
        "html",
    )
    assert code == 2, out
    assert out.strip() == (
        "modctl: error: --output html draws its charts with matplotlib, which is not installed; "
        "install it with: pip install 'modctl[html]'"
    )


def hostile_metrics(path: Path, name: str) -> Path:
    """Seeded per-rule rows as JSON lines, where the rule made to overturn often is named
    `name`: a rule the bundle does not have, as a metrics file can name any."""
    seeded = write_per_rule(path.with_suffix(".csv"), BUNDLE, [*rules(), "hostile"], high="hostile")
    with seeded.open(newline="") as lines:
        rows = list(csv.DictReader(lines))
    counters = ("decisions", "takedowns", "appeals", "appeals_overturned", "reviews")
    path.write_text(
        "".join(
            json.dumps(
                {
                    **row,
                    "rule": name if row["rule"] == "hostile" else row["rule"],
                    **{c: int(row[c]) for c in counters},
                }
            )
            + "\n"
            for row in rows
        )
    )
    return path


def test_markdown_keeps_a_rule_name_with_line_breaks_inside_its_code_span(
    reference_repo: Path, runner: CliRunner
) -> None:
    from markdown_it import MarkdownIt

    name = "evil\n# Injected heading\n<img src=x onerror=alert(1)>"
    path = hostile_metrics(reference_repo / "m.jsonl", name)
    code, out = run(
        runner,
        reference_repo,
        "report",
        "effectiveness",
        BUNDLE,
        "--metrics",
        str(path),
        "-o",
        "md",
    )
    assert code == 0, out
    assert "## Across releases (flagged and rising)" in out  # where the name is a code span
    tokens = MarkdownIt("commonmark").enable("table").parse(out)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert "Injected heading" not in headings
    inline = [child for t in tokens for child in t.children or []]
    assert not [t for t in [*tokens, *inline] if t.type in ("html_block", "html_inline")]
    spans = [t.content for t in inline if t.type == "code_inline"]
    assert "evil\\n# Injected heading\\n<img src=x onerror=alert(1)>" in spans


def test_a_rate_worse_when_lower_ranks_the_lowest_first(tmp_path: Path) -> None:
    """A gate may watch a rate that is bad when it falls (`worse: lower`): the rule whose
    interval lies furthest below the rest of the bundle comes first, then the lowest rates."""
    workspace = reference_workspace()
    config = workspace.config
    share = {"lux-unauthorized-cheap": 0.30, "replica-phrasing-brand": 0.40}
    lines = ["region,bundle,variant,window_start,window_end,rule,decisions,takedowns"]
    for day in range(1, 5):
        for rule in rules():
            taken = round(2000 * share.get(rule, 0.5))
            lines.append(
                f"SG,{BUNDLE},stable,2026-10-0{day}T00:00:00Z,2026-10-0{day + 1}T00:00:00Z,"
                f"{rule},2000,{taken}"
            )
    path = tmp_path / "kept.csv"
    path.write_text("\n".join(lines) + "\n")
    gate = Gate.from_config(
        "takedown-share", {"numerator": "takedowns", "denominator": "decisions", "worse": "lower"}
    )
    read = from_file(path, config, NOW, {BUNDLE})
    found = effectiveness(
        read.rows, workspace.bundle(BUNDLE), gate, origin=read.origin, metrics=config.metrics
    )
    assert [(r.rule, r.flagged) for r in found.rows[:2]] == [
        ("lux-unauthorized-cheap", True),
        ("replica-phrasing-brand", True),
    ]
    assert not any(r.flagged for r in found.rows[2:])
    shadow = next(s for s in found.suggestions if s.rule == "lux-unauthorized-cheap")
    assert "takedown-share of lux-unauthorized-cheap significantly below the rest" in shadow.command


def test_a_very_small_p_value_is_told_not_rounded_to_zero(
    reference_repo: Path, runner: CliRunner
) -> None:
    """However clear the difference, a p-value is above 0: the report says how small."""
    path = write_per_rule(
        reference_repo / "m.csv", BUNDLE, rules(), high="lux-unauthorized-cheap", high_rate=0.5
    )
    found = report(path)
    first = found.rows[0]  # type: ignore[attr-defined]
    assert first.rule == "lux-unauthorized-cheap"
    assert 0 < first.p_value < 1e-20
    code, out = run(
        runner, reference_repo, "report", "effectiveness", BUNDLE, "--metrics", str(path)
    )
    assert code == 0, out
    assert re.search(r"\(p = \d\.\de-\d+, adjusted for \d+ comparisons\)", out), out
    code, out = run(
        runner,
        reference_repo,
        "report",
        "effectiveness",
        BUNDLE,
        "--metrics",
        str(path),
        "-o",
        "json",
    )
    assert code == 0, out
    assert 0 < json.loads(out)["rules"][0]["p_value"] < 1e-20


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("rule", ["lux-unauthorized-cheap"], 'rule is text, not ["lux-unauthorized-cheap"]'),
        ("rule", 7, "rule is text, not 7"),
        ("release", 1.1, "release is text, not 1.1"),
    ],
    ids=["rule a list", "rule a number", "release a number"],
)
def test_a_rule_or_release_that_is_not_text_is_one_line(
    reference_repo: Path, runner: CliRunner, key: str, value: object, message: str
) -> None:
    """A JSON row's rule and release are text: a list or a number is refused, not shown as the
    name of a rule the bundle does not have (or of a release, `1.10` as `1.1`)."""
    row = {
        "region": "SG",
        "bundle": BUNDLE,
        "variant": "stable",
        "window_start": "2026-10-01T00:00:00Z",
        "window_end": "2026-10-02T00:00:00Z",
        "rule": "replica-phrasing-brand",
        "appeals": 100,
        "appeals_overturned": 5,
    }
    path = reference_repo / "m.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps({**row, key: value}) + "\n")
    code, out = run(
        runner, reference_repo, "report", "effectiveness", BUNDLE, "--metrics", str(path)
    )
    assert code == 2, out
    assert f"m.jsonl:2: {message}" in out
    assert len(out.strip().splitlines()) == 1, out


def test_every_format_tells_the_rates_across_releases_of_the_flagged_rule(
    reference_repo: Path, runner: CliRunner
) -> None:
    """The per-release rates of a flagged or rising rule are in text, Markdown and HTML alike
    (and in JSON as `releases`)."""
    path = write_per_rule(reference_repo / "m.csv", BUNDLE, rules(), high="lux-unauthorized-cheap")
    args = ["report", "effectiveness", BUNDLE, "--metrics", str(path)]
    code, out = run(runner, reference_repo, *args, "-o", "json")
    assert code == 0, out
    first = json.loads(out)["rules"][0]
    line = " -> ".join(
        f"{p['release']} {p['rate']:.1%} ({p['denominator']:,})" for p in first["releases"]
    )
    expected = f"{first['rule']} {first['region']}: {line}"
    for output in ("text", "md", "html"):
        code, out = run(runner, reference_repo, *args, "-o", output)
        assert code == 0, out
        assert "Across releases (flagged and rising)" in out, output
        shown = out.replace("`", "").replace("\\-", "-").replace("-&gt;", "->")
        assert expected in shown.replace("-\\>", "->"), output


def test_the_shadow_suggestion_names_only_regions_the_rule_serves(tmp_path: Path) -> None:
    """Metrics may name a rule in a region it does not serve (its regions narrowed since): the
    hot-patch suggested is for the regions where it runs, since one elsewhere is refused."""
    path = write_per_rule(
        tmp_path / "m.csv",
        BUNDLE,
        rules(),
        regions=("SG", "MY", "GB"),
        high="lux-unauthorized-cheap-sg-my",
    )
    found = report(path)
    flagged = {(r.rule, r.region) for r in found.flagged}  # type: ignore[attr-defined]
    assert ("lux-unauthorized-cheap-sg-my", "GB") in flagged
    shadow = next(s for s in found.suggestions if s.kind == "shadow")  # type: ignore[attr-defined]
    assert shadow.command.startswith(
        "modctl hotpatch apply ipr-counterfeit --region MY --region SG set_mode "
        "lux-unauthorized-cheap-sg-my shadow "
    )


def test_no_sweep_is_suggested_of_a_param_no_condition_reads(tmp_path: Path) -> None:
    """A param no condition reads is only a lint warning, but `--sweep` refuses it: the report
    suggests sweeping the params that change decisions, and only those."""
    workspace = reference_workspace()
    config = workspace.config
    bundle = workspace.bundle(BUNDLE)
    spare = [
        dataclasses.replace(r, params={**r.params, "spare": 7})
        if r.id == "lux-unauthorized-cheap"
        else r
        for r in bundle.rules
    ]
    path = write_per_rule(tmp_path / "m.csv", BUNDLE, rules(), high="lux-unauthorized-cheap")
    read = from_file(path, config, NOW, {BUNDLE})
    found = effectiveness(
        read.rows,
        dataclasses.replace(bundle, rules=spare),
        rate_gate(config.gates, config.metrics, "overturn-rate"),
        origin=read.origin,
        metrics=config.metrics,
    )
    sweeps = [s.command for s in found.suggestions if s.kind == "sweep"]
    assert sweeps == [
        "modctl backtest ipr-counterfeit --data LABELLED.jsonl "
        "--sweep lux-unauthorized-cheap.max_price_ratio=0.1:0.5:0.05"
    ]
