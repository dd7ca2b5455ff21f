"""`backtest --sweep`: every point of a sweep decides as a backtest of the bundle with that value
would, the data read once; the current value and the best F1 are marked; bad sweeps are one
line."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from modctl.analytics.sweep import parse
from modctl.backtest.data import Reader
from modctl.engine.columnar import BatchEvaluator, Columns
from modctl.engine.sweep import SweepEvaluator
from modctl.errors import UsageError
from tests.conftest import SAMPLE, reference_workspace, run
from tests.parses import parses

BUNDLE = "ipr-counterfeit"


def with_params(bundle, changes):  # type: ignore[no-untyped-def]
    """The bundle with some rules' params changed: what a sweep point stands for."""
    rules = [
        dataclasses.replace(r, params={**r.params, **changes[r.id]}) if r.id in changes else r
        for r in bundle.rules
    ]
    return dataclasses.replace(bundle, rules=rules)


@pytest.mark.parametrize(
    "specs",
    [
        ["lux-unauthorized-cheap.max_price_ratio=0.1,0.3,0.5"],
        ["counterfeit-image-match.max_hamming=4:10:3"],
        [
            "lux-unauthorized-cheap.max_price_ratio=0.2,0.4",
            "counterfeit-image-match.max_hamming=6,9",
        ],
        [
            "lux-unauthorized-cheap-sg-my.max_price_ratio=0.3,0.7",
            "lux-unauthorized-cheap.max_price_ratio=0.1,0.5",
        ],
    ],
    ids=["list", "range of integers", "grid of two rules", "grid, later rule first"],
)
def test_each_point_decides_as_the_bundle_with_that_value(specs: list[str]) -> None:
    workspace = reference_workspace()
    bundle, config = workspace.bundle(BUNDLE), workspace.config
    axes = parse(specs, bundle)
    sweep = SweepEvaluator(bundle, config, axes)
    reader = Reader(SAMPLE, config.fields, set(config.regions))
    separate = []
    for values in sweep.points:
        changes: dict[str, dict[str, object]] = {}
        for axis, value in zip(axes, values, strict=True):
            changes.setdefault(axis.rule, {})[axis.param] = value
        separate.append(BatchEvaluator(with_params(bundle, changes), config))
    differs = 0
    for batch in reader.batches():
        outcomes = sweep.decide(Columns(batch.table, batch.region_codes))
        for outcome, alone in zip(outcomes, separate, strict=True):
            expected = alone.decide(Columns(batch.table, batch.region_codes))
            assert np.array_equal(outcome.action, expected.action)
            assert np.array_equal(outcome.rule, expected.rule)
            assert np.array_equal(outcome.hits, expected.hits)
        differs += int(any((o.action != outcomes[0].action).any() for o in outcomes))
    assert differs  # the values do change decisions


def test_a_sweep_of_the_price_ratio_marks_the_current_value_and_the_best_f1(
    reference_repo: Path, runner: CliRunner
) -> None:
    code, out = run(
        runner,
        reference_repo,
        "backtest",
        BUNDLE,
        "--data",
        str(SAMPLE),
        "--sweep",
        "lux-unauthorized-cheap.max_price_ratio=0.1:0.6:0.1",
        "-o",
        "json",
    )
    assert code == 0, out
    data = json.loads(out)
    values = [p["values"]["lux-unauthorized-cheap.max_price_ratio"] for p in data["points"]]
    assert values == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    assert data["current"] == {"lux-unauthorized-cheap.max_price_ratio": 0.3}
    current = next(p for p in data["points"] if p["current"])
    assert (current["precision"], current["recall"]) == (0.8623, 0.4205)  # the plain backtest's
    f1s = {p["values"]["lux-unauthorized-cheap.max_price_ratio"]: p["f1"] for p in data["points"]}
    best = data["best_f1"]["lux-unauthorized-cheap.max_price_ratio"]
    assert f1s[best] == max(f1s.values())
    recalls = [p["recall"] for p in data["points"]]
    assert recalls == sorted(recalls)  # a higher ratio flags more
    assert set(data["points"][0]["regions"]) == {"SG", "MY", "TH", "ID", "PH", "VN", "GB", "US"}
    (suggestion,) = data["suggestions"]
    assert suggestion["command"].startswith(
        "modctl hotpatch apply ipr-counterfeit --region SG --region MY"
    )
    assert f"set_param lux-unauthorized-cheap.max_price_ratio {best}" in suggestion["command"]
    parses(suggestion["command"])


def test_a_sweep_adds_the_current_value_and_text_marks_it(
    reference_repo: Path, runner: CliRunner
) -> None:
    code, out = run(
        runner,
        reference_repo,
        "backtest",
        BUNDLE,
        "--data",
        str(SAMPLE),
        "--sweep",
        "counterfeit-image-match.max_hamming=8,10",
    )
    assert code == 0, out
    lines = out.splitlines()
    assert any(line.startswith("6 ") and line.rstrip().endswith("current") for line in lines), out
    assert "Per region" in out


def test_a_grid_of_two_params_reports_every_pair(reference_repo: Path, runner: CliRunner) -> None:
    code, out = run(
        runner,
        reference_repo,
        "backtest",
        BUNDLE,
        "--data",
        str(SAMPLE),
        "--sweep",
        "lux-unauthorized-cheap.max_price_ratio=0.2,0.3",
        "--sweep",
        "counterfeit-image-match.max_hamming=6,8,10",
        "-o",
        "json",
    )
    assert code == 0, out
    data = json.loads(out)
    pairs = [tuple(p["values"].values()) for p in data["points"]]
    assert pairs == [(a, b) for a in (0.2, 0.3) for b in (6, 8, 10)]
    assert [p["current"] for p in data["points"]].count(True) == 1


def test_markdown_and_html_of_a_sweep(reference_repo: Path, runner: CliRunner) -> None:
    args = ["backtest", BUNDLE, "--data", str(SAMPLE), "--sweep"]
    spec = "lux-unauthorized-cheap.max_price_ratio=0.1:0.5:0.1"
    code, out = run(runner, reference_repo, *args, spec, "-o", "md")
    assert code == 0, out
    assert out.startswith("# Sweep of ipr-counterfeit")
    assert "| 0.3 | 0.862 | 0.420 | 0.565 | 414 | current" in out
    code, out = run(runner, reference_repo, *args, spec, "-o", "html")
    assert code == 0, out
    assert ">Precision-recall curve of the sweep</text>" in out
    assert ">current value</text>" in out
    assert ">best F1 (" in out


BAD = {
    "no equals": (["lux-unauthorized-cheap.max_price_ratio"], "write RULE.PARAM=START:STOP:STEP"),
    "unknown rule": (
        ["lux-unauthorised-cheap.max_price_ratio=0.1,0.2"],
        "no rule 'lux-unauthorised-cheap' in ipr-counterfeit; did you mean 'lux-unauthorized-cheap'?",
    ),
    "unknown param": (
        ["lux-unauthorized-cheap.max_ratio=0.1,0.2"],
        "rule lux-unauthorized-cheap has no param 'max_ratio' (its params: max_price_ratio)",
    ),
    "no params at all": (
        ["replica-phrasing-brand.x=1,2"],
        "rule replica-phrasing-brand has no param 'x' (its params: none)",
    ),
    "backwards range": (
        ["lux-unauthorized-cheap.max_price_ratio=0.5:0.1:0.1"],
        "the range stops before it starts",
    ),
    "zero step": (["lux-unauthorized-cheap.max_price_ratio=0.1:0.5:0"], "the step must be above 0"),
    "two parts": (["lux-unauthorized-cheap.max_price_ratio=0.1:0.5"], "a range is START:STOP:STEP"),
    "not a number": (["lux-unauthorized-cheap.max_price_ratio=0.1,high"], "'high' is not a number"),
    "too many values": (
        ["lux-unauthorized-cheap.max_price_ratio=0:1:0.001"],
        "1,001 values; at most 200",
    ),
    "integer param": (
        ["counterfeit-image-match.max_hamming=6.5,7"],
        "counterfeit-image-match.max_hamming is a whole number (6); 6.5 is not",
    ),
    "range past the largest number": (
        ["lux-unauthorized-cheap.max_price_ratio=0:1e999999999:1"],
        "'1e999999999' is out of range",
    ),
    "step below the smallest number": (
        ["lux-unauthorized-cheap.max_price_ratio=0:1:1e-999999999"],
        "'1e-999999999' is out of range",
    ),
    "value past the largest number": (
        ["lux-unauthorized-cheap.max_price_ratio=0.3,1e400"],
        "'1e400' is out of range",
    ),
    "whole number past the largest": (
        ["counterfeit-image-match.max_hamming=6,1e400"],
        "'1e400' is out of range",
    ),
    "three sweeps": (
        ["a.b=1", "c.d=1", "e.f=1"],
        "--sweep is given 3 times; one sweeps a param, two a grid",
    ),
    "twice the same": (
        ["counterfeit-image-match.max_hamming=6", "counterfeit-image-match.max_hamming=7"],
        "--sweep names counterfeit-image-match.max_hamming twice",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_sweep_is_one_line_exit_2(reference_repo: Path, runner: CliRunner, case: str) -> None:
    specs, message = BAD[case]
    sweeps = [w for spec in specs for w in ("--sweep", spec)]
    code, out = run(runner, reference_repo, "backtest", BUNDLE, "--data", str(SAMPLE), *sweeps)
    assert code == 2, out
    assert message in out
    assert len(out.strip().splitlines()) == 1, out


def test_sweep_refuses_what_it_cannot_answer(reference_repo: Path, runner: CliRunner) -> None:
    spec = "lux-unauthorized-cheap.max_price_ratio=0.2,0.4"
    code, out = run(
        runner,
        reference_repo,
        "backtest",
        BUNDLE,
        "--data",
        str(SAMPLE),
        "--sweep",
        spec,
        "--baseline",
        "HEAD",
    )
    assert (code, out.strip()) == (
        2,
        "modctl: error: --sweep and --baseline answer different questions; run them apart",
    )
    code, out = run(runner, reference_repo, "backtest", BUNDLE, "--data", str(SAMPLE), "-o", "md")
    assert code == 2, out
    assert "--output md reports a sweep; add --sweep RULE.PARAM=START:STOP:STEP" in out


def test_a_param_no_condition_reads_cannot_be_swept() -> None:
    bundle = reference_workspace().bundle(BUNDLE)
    rule = next(r for r in bundle.rules if r.id == "counterfeit-image-match")
    unused = dataclasses.replace(rule, params={**rule.params, "spare": 3})
    changed = dataclasses.replace(
        bundle, rules=[unused if r.id == rule.id else r for r in bundle.rules]
    )
    with pytest.raises(UsageError, match="no condition of counterfeit-image-match reads spare"):
        parse(["counterfeit-image-match.spare=1,2"], changed)


def test_values_are_shown_as_written_however_many_digits(
    reference_repo: Path, runner: CliRunner
) -> None:
    """Two values that differ in the seventh digit stay two values on the page, and a large
    whole number is not shown in exponent form."""
    args = ["backtest", BUNDLE, "--data", str(SAMPLE), "--sweep"]
    spec = "lux-unauthorized-cheap.max_price_ratio=0.1234567,0.1234568"
    code, out = run(runner, reference_repo, *args, spec)
    assert code == 0, out
    assert "\n0.1234567 " in out
    assert "\n0.1234568 " in out
    code, out = run(runner, reference_repo, *args, "counterfeit-image-match.max_hamming=6,1234567")
    assert code == 0, out
    assert "\n1234567 " in out
    assert "e+06" not in out
    code, out = run(runner, reference_repo, *args, spec, "-o", "md")
    assert code == 0, out
    assert "| 0.1234567 |" in out


def test_html_without_matplotlib_is_refused_before_the_data_is_read(
    reference_repo: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep of a large file takes minutes: without matplotlib, `--output html` says so at
    once, not after deciding every listing (here the last row is bad, so a run that read the
    data would stop there)."""
    data = reference_repo / "bad-last.jsonl"
    data.write_text(SAMPLE.read_text() + '{"id": "x", "region": "SG", "price": "12"}\n')
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    spec = "lux-unauthorized-cheap.max_price_ratio=0.1:0.5:0.1"
    code, out = run(
        runner,
        reference_repo,
        "backtest",
        BUNDLE,
        "--data",
        str(data),
        "--sweep",
        spec,
        "-o",
        "html",
    )
    assert code == 2, out
    assert out.strip() == (
        "modctl: error: --output html draws its charts with matplotlib, which is not installed; "
        "install it with: pip install 'modctl[html]'"
    )


def test_a_grid_whose_best_changes_both_params_says_each_patch_needs_the_other(
    reference_repo: Path, runner: CliRunner
) -> None:
    """The best F1 of a grid is that of both values together: each suggested hot-patch says
    which other value its figures assume."""
    code, out = run(
        runner,
        reference_repo,
        "backtest",
        BUNDLE,
        "--data",
        str(SAMPLE),
        "--sweep",
        "lux-unauthorized-cheap.max_price_ratio=0.3,0.5",
        "--sweep",
        "counterfeit-image-match.max_hamming=6,8",
        "-o",
        "json",
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["best_f1"] == {
        "lux-unauthorized-cheap.max_price_ratio": 0.5,
        "counterfeit-image-match.max_hamming": 8,
    }
    ratio, hamming = data["suggestions"]
    assert ratio["evidence"].startswith(
        "lux-unauthorized-cheap.max_price_ratio 0.3 -> 0.5, with "
        "counterfeit-image-match.max_hamming 6 -> 8: F1 "
    )
    assert hamming["evidence"].startswith(
        "counterfeit-image-match.max_hamming 6 -> 8, with "
        "lux-unauthorized-cheap.max_price_ratio 0.3 -> 0.5: F1 "
    )


def test_a_sweep_in_worker_processes_finds_what_one_process_finds(
    reference_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modctl.backtest import run as backtest
    from modctl.backtest import sweep

    specs = ["lux-unauthorized-cheap.max_price_ratio=0.1:0.6:0.1"]
    one, _ = sweep.run(reference_repo, BUNDLE, SAMPLE, specs)
    monkeypatch.setattr(backtest, "PARALLEL_MIN_BYTES", 1)
    two, alone = sweep.run(reference_repo, BUNDLE, SAMPLE, specs, jobs=2)
    assert alone is None
    strip = lambda r: {k: v for k, v in r.to_dict().items() if k != "seconds"}  # noqa: E731
    assert strip(one) == strip(two)
    assert one.to_dict()["points"][0]["flagged"] > 0
