"""`report gaps`: the infringing listings the bundles miss, grouped, each group with the rule
that came closest and the condition that stopped it; the batch near misses agree with
`explain`'s; suggestions parse."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl.analytics import gaps as analysis
from modctl.backtest.data import Reader
from modctl.engine.columnar import BatchEvaluator, Columns
from modctl.engine.compiler import compile_bundle
from modctl.engine.explain import _one_short
from modctl.engine.nearmiss import one_short
from tests.conftest import SAMPLE, reference_workspace, run
from tests.parses import parses

BUNDLES = ["ipr-counterfeit", "ipr-brand-misuse", "ipr-notice-takedown"]


def plain(item):  # type: ignore[no-untyped-def]
    if isinstance(item, dict):
        return {k: plain(v) for k, v in item.items() if v is not None}
    return item


@pytest.mark.parametrize("name", BUNDLES)
def test_batch_near_misses_are_explains_listing_for_listing(name: str) -> None:
    workspace = reference_workspace()
    bundle, config = workspace.bundle(name), workspace.config
    batch_evaluator = BatchEvaluator(bundle, config)
    rows = {r: compile_bundle(bundle, config, r) for r in bundle.regions}
    reader = Reader(SAMPLE, config.fields, set(config.regions))
    batch = next(reader.batches())
    table = batch.table.slice(0, 600)
    codes = batch.region_codes[:600]
    columns = Columns(table, codes)
    items = [plain(i) for i in table.to_pylist()]
    near = 0
    for rule in batch_evaluator.rules:
        leaves, which = one_short(batch_evaluator, rule, columns)
        for i, item in enumerate(items):
            region = batch_evaluator.regions[codes[i]]
            if region not in rows:
                continue
            evaluator = rows[region]
            row_rule = next((r for r in evaluator.rules if r.id == rule.id), None)
            ctx = evaluator.context(item)
            expected = (
                None
                if row_rule is None or row_rule.condition.explain(ctx)[0]
                else _one_short(row_rule, ctx)
            )
            got = None if which[i] < 0 else leaves[which[i]].why(ctx, leaves[which[i]].check(ctx))
            assert got == expected, (rule.id, item["id"])
            near += got is not None
    assert near


def test_gaps_on_the_sample_finds_what_the_reference_bundles_miss(
    reference_repo: Path, runner: CliRunner
) -> None:
    code, out = run(
        runner, reference_repo, "report", "gaps", *BUNDLES, "--data", str(SAMPLE), "-o", "json"
    )
    assert code == 0, out
    data = json.loads(out)
    assert (data["listings"], data["infringing"], data["clean"]) == (3000, 849, 2151)
    assert data["missed"] > 100
    assert data["missed"] == sum(r["listings"] for r in data["missed_by_reason"])
    kinds = {r["kind"] for r in data["missed_by_reason"]}
    assert {"near", "shadow", "none"} <= kinds
    group = data["missed_top_groups"][0]
    assert set(group) >= {"category", "region", "brand", "listings", "reason", "samples"}
    assert group["listings"] >= data["missed_top_groups"][-1]["listings"]
    near = next(r for r in data["missed_by_reason"] if r["kind"] == "near")
    assert near["rule"]
    assert near["condition"] in near["text"]
    sample = next(s for g in data["missed_top_groups"] for s in g["samples"] if s["why"])
    assert sample["id"].startswith("L-")
    image = next(r for r in data["missed_by_reason"] if r["rule"] == "counterfeit-image-match")
    assert image["condition"] == "image_phash within 6 bits of list counterfeit-phashes"
    shadow = {r["rule"] for r in data["missed_by_reason"] if r["kind"] == "shadow"}
    assert "brand-field-cheap-shadow" in shadow
    assert data["flagged_clean"] > 0
    assert data["flagged_clean_top_groups"][0]["reason"]["kind"] == "flagged"
    kinds_suggested = {s["kind"] for s in data["suggestions"]}
    assert {"enforce", "sweep"} <= kinds_suggested
    for suggestion in data["suggestions"]:
        parses(suggestion["command"])


def test_gaps_suggests_the_misspelt_brand_words_missed_listings_carry(
    reference_repo: Path, runner: CliRunner
) -> None:
    rows = [
        {
            "id": f"L-SG-{i:07d}",
            "region": "SG",
            "title": f"Guccci Marmont bag {i} replica",
            "price": 2000.0,
            "brand": "Gucci",
            "seller": {"id": f"S-SG-{900000 + i}"},
            "category": "womens-bags",
            "label": "infringing",
        }
        for i in range(4)
    ] + [
        {
            "id": f"L-SG-{i:07d}",
            "region": "SG",
            "title": "Arabica coffee beans",
            "price": 20.0,
            "category": "groceries",
            "label": "clean",
        }
        for i in range(4, 10)
    ]
    data = reference_repo / "misspelt.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out = run(
        runner,
        reference_repo,
        "report",
        "gaps",
        "ipr-counterfeit",
        "--data",
        str(data),
        "-o",
        "json",
    )
    assert code == 0, out
    found = json.loads(out)
    assert found["missed"] == 4
    (group,) = found["missed_top_groups"]
    assert (group["category"], group["region"], group["brand"]) == ("womens-bags", "SG", "Gucci")
    assert group["reason"]["condition"] == "title contains a keyword of list protected-brands"
    (suggestion,) = [s for s in found["suggestions"] if s["kind"] == "list_add"]
    assert suggestion["command"].startswith(
        "modctl hotpatch apply ipr-counterfeit --region SG list_add protected-brands guccci"
    )
    parses(suggestion["command"])


def test_gaps_text_and_markdown(reference_repo: Path, runner: CliRunner) -> None:
    args = ["report", "gaps", "ipr-counterfeit", "--data", str(SAMPLE), "--top", "3"]
    code, out = run(runner, reference_repo, *args)
    assert code == 0, out
    assert "Infringing listings missed, largest groups first:" in out
    assert "... and " in out
    assert "more groups (--top shows more)" in out
    code, out = run(runner, reference_repo, *args, "-o", "md")
    assert code == 0, out
    assert out.startswith("# Gaps of ipr-counterfeit")
    assert "## Clean listings flagged" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "colour"], "--by 'colour': group by region or a text field modctl.yaml declares"),
        (["--by", "price"], "--by 'price': group by region or a text field"),
        (["--data", "nope.jsonl"], "no such data file"),
    ],
    ids=["unknown field", "number field", "missing data"],
)
def test_bad_gaps_input_is_one_line(
    reference_repo: Path, runner: CliRunner, args: list[str], message: str
) -> None:
    data = ["--data", str(SAMPLE)] if "--data" not in args else []
    code, out = run(runner, reference_repo, "report", "gaps", "ipr-counterfeit", *data, *args)
    assert code == 2, out
    assert message in out
    assert len(out.strip().splitlines()) == 1, out


def test_the_gap_map_of_a_field_with_many_values_keeps_to_the_largest(
    reference_repo: Path, runner: CliRunner
) -> None:
    """Grouped by a field nearly every listing has its own value of (a seller id), the map
    shows the values with most missed listings, not one column per value."""
    args = ["report", "gaps", "ipr-counterfeit", "--data", str(SAMPLE)]
    code, out = run(
        runner, reference_repo, *args, "--by", "category", "--by", "seller.id", "-o", "html"
    )
    assert code == 0, out
    figure = out[out.index("<figure") : out.index("</figure>")]
    assert 'aria-label="Gaps by category and seller.id"' in figure
    columns = set(re.findall(r">(S-[A-Z]{2}-\d+)</text>", figure))
    assert 1 < len(columns) <= 20
    assert "(the 20 with most)" in figure


def test_a_very_long_value_is_cut_in_the_charts_and_shown_whole_in_the_tables(
    reference_repo: Path, runner: CliRunner, recwarn: pytest.WarningsRecorder
) -> None:
    """A category of 5,000 characters would take the whole width of the heat map, leaving
    its cells no room (and matplotlib warning on stderr): the chart shows its start."""
    long = "x" * 5000
    rows = [
        {
            "id": f"L-SG-{i:07d}",
            "region": "SG",
            "title": "Plain bag",
            "price": 50.0,
            "category": long if i % 2 else "bags",
            "label": "infringing",
        }
        for i in range(6)
    ]
    data = reference_repo / "long.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["report", "gaps", "ipr-counterfeit", "--data", str(data), "-o", "html"]
    code, out = run(runner, reference_repo, *args)
    assert code == 0, out
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
    figure = out[out.index("<figure") : out.index("</figure>")]
    assert max(len(t) for t in re.findall(r">([^<>]*)</text>", figure)) <= 60
    assert f"<td>{long}</td>" in out


def test_each_sample_names_the_rule_its_words_are_about(
    reference_repo: Path, runner: CliRunner
) -> None:
    """A group's samples need not share its most common reason: each sample line says which
    rule its explain words are about, and how it came short or flagged."""
    bundles = ["ipr-counterfeit", "ipr-brand-misuse", "ipr-notice-takedown"]
    code, out = run(runner, reference_repo, "report", "gaps", *bundles, "--data", str(SAMPLE))
    assert code == 0, out
    lines = {
        line.split()[0]: line.strip() for line in out.splitlines() if line.startswith("    L-")
    }
    assert lines["L-VN-0000374"].startswith(
        "L-VN-0000374 (VN) ipr-notice-takedown/verified-notice-takedown decided takedown: "
        "notice.ids has 'RHN-2025-004740'"
    )
    assert lines["L-VN-0000547"].startswith(
        "L-VN-0000547 (VN) ipr-counterfeit/replica-phrasing-brand one condition short: "
        "title does not match"
    )
    assert lines["L-PH-0000906"].startswith(
        "L-PH-0000906 (PH) ipr-counterfeit/counterfeit-image-near-match-shadow in shadow mode: "
        "image_phash is 8 bits"
    )
    assert lines["L-VN-0000805"] == "L-VN-0000805 (VN): no rule came within one condition"


def test_a_sweep_is_suggested_for_each_bundle_whose_rule_of_that_name_came_close() -> None:
    """Two bundles may each have a rule of the same id with the same param: a near miss in
    each is a sweep of each bundle, not one of the first only."""
    tally = analysis.GapTally(("region",))
    for bundle in ("ipr-counterfeit", "ipr-brand-misuse"):
        reason = tally.reason(
            analysis.Reason("near", bundle, "cheap", "price < 30", param="max_price_ratio")
        )
        tally.add(analysis.MISSED, [("SG",), ("SG",)], [reason, reason], ["SG", "SG"], _sample)
    found = analysis.Gaps(
        ["ipr-counterfeit", "ipr-brand-misuse"], "l.jsonl", ("region",), tally, 20
    )
    params = {(b, "cheap"): {"max_price_ratio": 0.3} for b in found.bundles}
    scopes = {(b, "cheap"): None for b in found.bundles}
    made = analysis.suggestions(found, params, scopes)
    assert sorted(s.command for s in made if s.kind == "sweep") == [
        "modctl backtest ipr-brand-misuse --data l.jsonl --sweep cheap.max_price_ratio=0.1:0.5:0.05",
        "modctl backtest ipr-counterfeit --data l.jsonl --sweep cheap.max_price_ratio=0.1:0.5:0.05",
    ]


def _sample(i: int) -> tuple[str, dict[str, object]]:
    return f"L-{i}", {}
