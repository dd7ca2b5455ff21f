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
from modctl.engine.text import fold
from modctl.model import Bundle, Origin, Rule
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

# Text for the prefilter is not drawn from the pattern under test, which would match by
# construction. It is built from words some patterns match, near misses sharing their letters
# (so the prefilter lets them through and the regex says no), case and width variants, and
# arbitrary text, so most texts match nothing and both sides of every pattern get tried.
WORDS = [
    *("replica", "Replicas", "REPLICA", "replicate", "1:1", "1:10", "aaa grade", "AAA+ grade"),
    *("aaa-grade", "aaagrade", "grade aaa", "mirror quality", "Mirror-Quality", "mirrorquality"),
    *("super copy", "SUPERCOPY", "super-copy", "superb copies", "master copy", "\u017fuper copy"),
    *("inspired by", "inspired by Gucci", "Inspired by Gucci", "inspiredby", "in the style of"),
    *("acdd", "bcccdd", "abdd", "cdd", "dd"),
    *("Gucci", "gucci", "GUCCI", "Prada", "\uff27\uff35\uff23\uff23\uff29", "#gucci", "#LV"),
    *("lv gucci chanel", "Louis Vuitton, Dior / YSL", "\u212a", "\u00df", "\ufb01", "\u00e9"),
    # re's case-insensitive i also matches dotless \u0131 and dotted \u0130, which casefolding
    # keeps apart.
    *("REPL\u0130CA", "repl\u0131ca", "\u0130nspired by"),
]
SEPARATORS = [" ", "", "-", "_", ",", "/", "#", "+", "\n", "\t", "x"]
texts = st.lists(
    st.sampled_from(WORDS) | st.sampled_from(SEPARATORS) | st.text(max_size=6),
    max_size=8,
).map("".join)


@cache
def regexes() -> tuple[str, ...]:
    """The patterns above and every regex of the reference bundles."""
    workspace = reference_workspace()
    found = [
        leaf["matches"]
        for bundle in workspace.bundles.values()
        for rule in bundle.rules
        for leaf in _leaves(rule.when)
        if "matches" in leaf
    ]
    return tuple(dict.fromkeys([*PATTERNS, *found]))


def passes_prefilter(pattern: str, text: str) -> bool:
    found = atoms(pattern)
    assert found, pattern
    return any(atom in fold(text) for atom in found)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_prefilter_passes_every_text_its_regex_matches(text: str) -> None:
    for pattern in regexes():
        if re.search(pattern, text):
            assert passes_prefilter(pattern, text), pattern


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_words_hold_a_match_a_near_miss_and_a_miss_of_each_pattern(pattern: str) -> None:
    """The generated text can reach every verdict: matched, let through by the prefilter but
    not matched, and stopped by the prefilter."""
    verdicts = {(bool(re.search(pattern, w)), passes_prefilter(pattern, w)) for w in WORDS}
    assert verdicts >= {(True, True), (False, True), (False, False)}


@cache
def one_rule_per_regex() -> tuple[list[tuple[str, str]], Evaluator]:
    """A bundle with one rule per regex on the title, compiled once with its index."""
    config = reference_workspace().config
    rules = [
        Rule(f"regex-{i}", "warn", {"field": "title", "matches": pattern}, Origin("r"))
        for i, pattern in enumerate(regexes())
    ]
    bundle = Bundle("regexes", Origin("b"), regions=config.regions, rules=rules)
    return [(r.id, r.when["matches"]) for r in rules], compile_bundle(bundle, config, "SG")


@settings(max_examples=500, deadline=None)
@given(texts)
def test_index_decides_exactly_the_rules_whose_regex_matches(title: str) -> None:
    rules, evaluator = one_rule_per_regex()
    expected = [rule_id for rule_id, pattern in rules if re.search(pattern, title)]
    assert evaluator.decide({"title": title}).matched == expected


@pytest.mark.parametrize("title", ["1:1 repl\u0131ca", "1:1 REPL\u0130CA"])
def test_dotless_and_dotted_i_reach_the_rules_their_regex_matches(title: str) -> None:
    evaluator = reference_evaluator("ipr-counterfeit", "SG")
    item = {"title": title}
    assert brute_force(evaluator, item) == ["replica-phrasing-generic-warn"]
    assert evaluator.decide(item).matched == brute_force(evaluator, item)


def test_patterns_without_a_required_literal_have_no_atoms() -> None:
    assert atoms(r"\d+") is None
    assert atoms(r"abc|d") is None  # "d" alone is too short to be worth an automaton entry
    assert atoms(r"x*") is None


def test_reference_patterns_get_atoms() -> None:
    reference = regexes()[len(PATTERNS) :]
    assert reference
    assert sum(atoms(p) is not None for p in reference) >= len(reference) - 1


def _leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
    if "all" in node or "any" in node:
        return [leaf for child in node.get("all", node.get("any", [])) for leaf in _leaves(child)]
    if "not" in node:
        return _leaves(node["not"])
    return [node]
