"""The rule index only skips rules that cannot match, and regex prefilters keep every match."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modctl.engine.compiler import Evaluator, compile_bundle
from modctl.engine.prefilter import atoms
from tests.conftest import SAMPLE, reference_workspace


def brute_force(evaluator: Any, item: dict[str, Any]) -> list[str]:
    ctx = evaluator.context(item)
    return [r.id for r in evaluator.rules if r.test(ctx)]


def test_indexed_decisions_equal_evaluating_every_rule() -> None:
    workspace = reference_workspace()
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    checked = 0
    for bundle in workspace.bundles.values():
        evaluators = {r: compile_bundle(bundle, workspace.config, r) for r in bundle.regions}
        for row in rows:
            evaluator = evaluators.get(row["region"])
            if evaluator is not None:
                assert evaluator.decide(row).matched == brute_force(evaluator, row), row["id"]
                checked += 1
    assert checked > 8000


listing = st.fixed_dictionaries(
    {},
    optional={
        "title": st.sampled_from(
            [
                "Gucci bag",
                "\uff27\uff35\uff23\uff23\uff29",
                "replica 1:1",
                "AAA grade Rolex",
                "",
                "coach tour",
            ]
        )
        | st.text(max_size=30),
        "brand": st.sampled_from(["Gucci", "Rolex", "Nike", "LEGO", "none"]),
        "price": st.floats(0, 5000) | st.integers(0, 5000) | st.just("12"),
        "category": st.sampled_from(["bags", "watches", "toys", "books"]),
        "seller": st.fixed_dictionaries(
            {},
            optional={
                "id": st.sampled_from(["S-SG-104233", "S-MY-000001", "x"]),
                "ipr_strikes": st.integers(0, 6),
                "authorized_brands": st.lists(st.sampled_from(["gucci", "Rolex", "x"]), max_size=2),
            },
        ),
        "image_phash": st.text("0123456789abcdef", min_size=16, max_size=16),
        "notice": st.fixed_dictionaries(
            {}, optional={"ids": st.lists(st.text(max_size=12), max_size=2)}
        ),
    },
)


@cache
def reference_evaluator(name: str, region: str) -> Evaluator:
    """Compiled once for all the examples: compiling costs more than deciding a listing."""
    workspace = reference_workspace()
    return compile_bundle(workspace.bundles[name], workspace.config, region)


@settings(max_examples=300, deadline=None)
@given(listing, st.sampled_from(["SG", "MY", "GB", "US"]))
def test_index_never_skips_a_matching_rule(item: dict[str, Any], region: str) -> None:
    for name in reference_workspace().bundles:
        evaluator = reference_evaluator(name, region)
        assert evaluator.decide(item).matched == brute_force(evaluator, item)


def test_repeated_list_elements() -> None:
    workspace = reference_workspace()
    bundle = workspace.bundles["ipr-notice-takedown"]
    evaluator = compile_bundle(bundle, workspace.config, "SG")
    ids = [str(i) for lst in bundle.lists if lst.kind == "ids" for i in lst.items]
    item = {"id": ids[0], "notice": {"ids": ids + ids}}
    assert evaluator.decide(item).matched == brute_force(evaluator, item)


PATTERNS = [
    r"(?i)\b(replica|1:1|aaa grade)\b",
    r"(?i)\b(?:replicas?|mirror[ -]quality|aaa\+?[ -]grade|super[ -]?copy)\b",
    r"inspired by \w+",
    r"(?:a|b)c+dd",
    r"Gucci|Prada",
]


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_match_contains_an_atom(pattern: str, data: st.DataObject) -> None:
    found = atoms(pattern)
    assert found
    text = data.draw(st.from_regex(pattern))
    assert re.search(pattern, text)
    assert any(atom in text.casefold() for atom in found)


def test_patterns_without_a_required_literal_have_no_atoms() -> None:
    assert atoms(r"\d+") is None
    assert atoms(r"abc|d") is None  # "d" alone is too short to be worth an automaton entry
    assert atoms(r"x*") is None


def test_reference_patterns_get_atoms() -> None:
    workspace = reference_workspace()
    patterns = [
        leaf["matches"]
        for bundle in workspace.bundles.values()
        for rule in bundle.rules
        for leaf in _leaves(rule.when)
        if "matches" in leaf
    ]
    assert patterns
    assert sum(atoms(p) is not None for p in patterns) >= len(patterns) - 1


def _leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
    if "all" in node or "any" in node:
        return [leaf for child in node.get("all", node.get("any", [])) for leaf in _leaves(child)]
    if "not" in node:
        return _leaves(node["not"])
    return [node]
