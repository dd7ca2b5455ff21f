from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from modctl import yamlio
from modctl.source.validate import validate
from tests.conftest import MINIMAL, run, write_files

CASES: list[dict[str, Any]] = yamlio.load_file(
    Path(__file__).parent / "fixtures" / "lint_cases.yaml"
)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_lint_case(tmp_path: Path, case: dict[str, Any]) -> None:
    write_files(tmp_path, MINIMAL)
    write_files(tmp_path, case["files"])
    report = validate(tmp_path, use_cache=False)
    got = sorted(f"{f.code} {f.path}:{f.line}:{f.column}" for f in report.findings)
    assert got == sorted(case["expect"]), "\n".join(
        f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}" for f in report.findings
    )


def test_every_semantic_code_has_a_case() -> None:
    covered = {e.split()[0] for case in CASES for e in case["expect"]}
    wanted = {
        "R001",
        "R002",
        "R003",
        "R004",
        "R005",
        "R006",
        "R007",
        "R009",
        "R010",
        "R011",
        "R012",
        "R013",
        "R014",
        "B001",
        "B002",
        "B003",
        "B004",
        "B005",
        "B006",
        "B007",
        "T001",
        "T002",
        "T003",
        "C001",
        "C002",
        "C003",
        "C004",
        "C005",
        "C006",
        "C007",
        "P001",
        "P002",
        "P003",
        "P004",
        "P005",
        "P006",
    }
    assert wanted <= covered, sorted(wanted - covered)


def test_unknown_names_come_with_a_suggestion(tmp_path: Path) -> None:
    write_files(tmp_path, MINIMAL)
    case = next(c for c in CASES if c["id"] == "unknown-list-param-and-lookup")
    write_files(tmp_path, case["files"])
    messages = [f.message for f in validate(tmp_path, use_cache=False).findings]
    assert any(re.search(r"list 'brand'.*did you mean 'brands'\?", m) for m in messages), messages
    assert any(re.search(r"param 'max_prise'.*did you mean 'max_price'\?", m) for m in messages)


def test_value_outside_an_enum_lists_the_allowed_and_the_closest(tmp_path: Path) -> None:
    write_files(tmp_path, MINIMAL)
    rules = MINIMAL["strategies/demo/rules/main.yaml"].replace(
        "action: takedown", "action: takedwn"
    )
    write_files(
        tmp_path,
        {
            "strategies/demo/rules/main.yaml": rules,
            "strategies/demo/lists/brands.yaml": "name: brands\nkind: keyword\nitems: [gucci]\n",
        },
    )
    found = {f.path: f for f in validate(tmp_path, use_cache=False).findings}
    action = found["strategies/demo/rules/main.yaml"]
    assert (action.code, action.line, action.column) == ("S001", 7, 11)
    assert action.message == (
        "'takedwn' is not one of takedown, limit, review, warn, allow at [0].action; "
        "did you mean 'takedown'?"
    )
    kind = found["strategies/demo/lists/brands.yaml"]
    assert kind.message == (
        "'keyword' is not one of keywords, ids, hashes, map at kind; did you mean 'keywords'?"
    )


def test_a_gate_without_a_tolerance_is_a_warning(tmp_path: Path) -> None:
    config = MINIMAL["modctl.yaml"].replace(", max_relative_increase: 0.1}", "}")
    root = write_files(tmp_path / "repo", {**MINIMAL, "modctl.yaml": config})
    code, out = run(CliRunner(), root, "validate")
    assert code == 0, out
    assert "warning C009 gate 'overturn-rate' allows no increase" in out
    assert run(CliRunner(), root, "validate", "--strict")[0] == 1
