"""The evaluator's semantics, operator by operator: keyword and list matching, comparisons,
lookups, hash distance, precedence, shadow rules and region scope."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from modctl.engine.compiler import compile_bundle
from modctl.engine.explain import explain
from modctl.model import Bundle, Config, ListDef, Origin, Rule
from tests.batching import assert_same

CONFIG = Config(
    regions=("SG", "GB"),
    fields={
        "title": "string",
        "price": "number",
        "brand": "string",
        "strikes": "integer",
        "tags": "string_list",
        "image": "phash",
        "verified": "boolean",
        "seller.id": "string",
    },
)
LISTS = [
    ListDef("brands", "keywords", Origin("l"), items=("Gucci", "Louis Vuitton", "Dior", "1:1")),
    ListDef("sellers", "ids", Origin("l"), items=("S-1", "S-2")),
    ListDef("fakes", "hashes", Origin("l"), items=("ffff000000000000",)),
    ListDef("prices", "map", Origin("l"), entries={"Gucci": 1000, "Dior": 800}),
]


def decide(
    when: dict[str, Any],
    item: dict[str, Any],
    *,
    params: dict[str, Any] | None = None,
    region: str = "SG",
) -> bool:
    rule = Rule("r", "takedown", when, Origin("r"), params=params or {})
    bundle = Bundle("b", Origin("b"), regions=("SG", "GB"), rules=[rule], lists=LISTS)
    assert_same(bundle, CONFIG, [{**item, "region": region}])  # backtests decide in batches
    return compile_bundle(bundle, CONFIG, region).decide(item).action == "takedown"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Gucci bag", True),
        ("GUCCI bag", True),
        ("\uff27\uff35\uff23\uff23\uff29 bag", True),  # full-width GUCCI folds under NFKC
        ("bag by louis  vuitton", False),  # two spaces: not the phrase
        ("bag by Louis Vuitton!", True),
        ("Diorama kit", False),  # word boundary
        ("guccidior", False),
        ("replica 1:1 quality", True),  # keyword made of punctuation
        ("(1:1) copy", True),
        ("x1:1x", False),  # "x1" is one word
        ("", False),
    ],
)
def test_contains_any_keywords(title: str, expected: bool) -> None:
    assert (
        decide({"field": "title", "contains_any": {"list": "brands"}}, {"title": title}) is expected
    )


def test_contains_any_on_string_list_is_case_insensitive_equality() -> None:
    when = {"field": "tags", "contains_any": ["Replica", "fake"]}
    assert decide(when, {"tags": ["new", "REPLICA"]})
    assert not decide(when, {"tags": ["replicas"]})
    assert not decide(when, {"tags": "replica"})


@pytest.mark.parametrize(
    ("when", "item", "expected"),
    [
        ({"field": "price", "lt": 10}, {"price": 9.5}, True),
        ({"field": "price", "lt": 10}, {"price": 10}, False),
        ({"field": "price", "lte": 10}, {"price": 10}, True),
        ({"field": "price", "gt": 10}, {"price": "11"}, False),  # wrong type never matches
        ({"field": "price", "gte": {"param": "p"}}, {"price": 3}, True),
        ({"field": "strikes", "gte": 3}, {"strikes": True}, False),  # a boolean is no number
        ({"field": "brand", "eq": "Gucci"}, {"brand": "Gucci"}, True),
        ({"field": "brand", "eq": "Gucci"}, {"brand": "gucci"}, False),
        ({"field": "brand", "ne": "Gucci"}, {"brand": "Dior"}, True),
        ({"field": "brand", "ne": "Gucci"}, {}, False),  # missing field: leaf is false
        ({"field": "verified", "eq": True}, {"verified": True}, True),
        ({"field": "verified", "eq": True}, {"verified": 1}, False),
        ({"field": "seller.id", "in": {"list": "sellers"}}, {"seller": {"id": "S-2"}}, True),
        ({"field": "seller.id", "not_in": {"list": "sellers"}}, {"seller": {"id": "S-9"}}, True),
        ({"field": "seller.id", "not_in": {"list": "sellers"}}, {"seller": {}}, False),
        ({"field": "seller.id", "in": ["S-1"]}, {"seller": "S-1"}, False),
        ({"field": "strikes", "in": [1, 3]}, {"strikes": 3}, True),
        ({"field": "strikes", "in": [1, 3]}, {"strikes": 2}, False),
        ({"field": "strikes", "not_in": [1, 3]}, {"strikes": 2}, True),
        ({"field": "strikes", "not_in": [1, 3]}, {}, False),
        ({"field": "price", "in": [9.5]}, {"price": 9.5}, True),
        ({"field": "title", "matches": r"(?i)\breplica\b"}, {"title": "A REPLICA bag"}, True),
        ({"field": "title", "matches": r"replica"}, {"title": 5}, False),
        ({"field": "title", "exists": True}, {"title": ""}, True),
        ({"field": "title", "exists": True}, {"title": None}, False),
        ({"field": "title", "exists": False}, {}, True),
        ({"not": {"field": "title", "exists": True}}, {}, True),
        ({"not": {"field": "seller.id", "in": {"list": "sellers"}}}, {}, True),
    ],
)
def test_leaf_operators(when: dict[str, Any], item: dict[str, Any], expected: bool) -> None:
    assert decide(when, item, params={"p": 3}) is expected


PRESENT = {"title": "t", "brand": "b", "price": 1.0, "strikes": 1, "verified": True}


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("kind", ["all", "any"])
def test_all_and_any_of_every_size(kind: str, size: int) -> None:
    names = list(PRESENT)[:size]
    when = {kind: [{"field": name, "exists": True} for name in names]}
    join = all if kind == "all" else any
    for present in itertools.product((False, True), repeat=size):
        item = {name: PRESENT[name] for name, there in zip(names, present, strict=True) if there}
        assert decide(when, item) is join(present), present


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"price": 299, "brand": "Gucci"}, True),  # 1000 * 0.3 = 300
        ({"price": 300, "brand": "Gucci"}, False),
        ({"price": 1, "brand": "Prada"}, False),  # no reference price: false, not a crash
        ({"price": 1}, False),
        ({"price": 1, "brand": 7}, False),
    ],
)
def test_lookup_times_param(item: dict[str, Any], expected: bool) -> None:
    when = {
        "field": "price",
        "lt": {"lookup": "prices", "key": "brand", "times": {"param": "ratio"}},
    }
    assert decide(when, item, params={"ratio": 0.3}) is expected


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("ffff000000000000", True),
        ("fff0000000000003", True),  # 6 bits away
        ("ff00000000000003", False),  # 10 bits away
        ("not-a-hash", False),
        ("ffff00000000000", False),
    ],
)
def test_within_distance(image: str, expected: bool) -> None:
    when = {"field": "image", "within_distance": {"value": {"list": "fakes"}, "max": 6}}
    assert decide(when, {"image": image}) is expected


def test_lookup_keyed_by_a_number_finds_no_entry() -> None:
    when = {"field": "price", "lt": {"lookup": "prices", "key": "strikes"}}
    assert decide(when, {"price": 1, "strikes": 3}) is False


def test_within_distance_of_a_long_hash_list() -> None:
    rng = random.Random(5)
    fakes = [f"{rng.getrandbits(64):016x}" for _ in range(200)]
    near = f"{int(fakes[7], 16) ^ 0b1011:016x}"  # 3 bits away
    far = f"{int(fakes[7], 16) ^ 0xFFFF:016x}"
    rule = Rule(
        "r",
        "takedown",
        {"field": "image", "within_distance": {"value": {"list": "many"}, "max": 4}},
        Origin("r"),
    )
    many = ListDef("many", "hashes", Origin("l"), items=tuple(fakes))
    bundle = Bundle("b", Origin("b"), regions=("SG", "GB"), rules=[rule], lists=[many])
    items = [{"region": "SG", "image": image} for image in (near, far, fakes[0], "zz")]
    assert_same(bundle, CONFIG, items)
    evaluator = compile_bundle(bundle, CONFIG, "SG")
    assert [evaluator.decide(i).action for i in items] == ["takedown", "none", "takedown", "none"]


def make(rules: list[Rule]) -> Bundle:
    return Bundle("b", Origin("b"), regions=("SG", "GB"), rules=rules, lists=LISTS)


def rule(rule_id: str, action: str, when: dict[str, Any], **extra: Any) -> Rule:
    return Rule(rule_id, action, when, Origin("r"), **extra)


BRAND = {"field": "title", "contains_any": {"list": "brands"}}


def test_precedence_allow_first_and_every_match_reported() -> None:
    bundle = make(
        [
            rule("warn-any", "warn", {"field": "title", "exists": True}),
            rule("take", "takedown", BRAND),
            rule("allow-seller", "allow", {"field": "seller.id", "in": {"list": "sellers"}}),
        ]
    )
    evaluator = compile_bundle(bundle, CONFIG, "SG")
    decision = evaluator.decide({"title": "Gucci", "seller": {"id": "S-1"}})
    assert (decision.action, decision.rule) == ("allow", "allow-seller")
    assert decision.matched == ["warn-any", "take", "allow-seller"]
    assert evaluator.decide({"title": "Gucci"}).action == "takedown"
    assert evaluator.decide({"title": "plain"}).action == "warn"
    assert evaluator.decide({}).action == "none"


def test_custom_precedence() -> None:
    bundle = make([rule("take", "takedown", BRAND), rule("lim", "limit", BRAND)])
    bundle.precedence = ("allow", "limit", "takedown", "review", "warn")
    assert compile_bundle(bundle, CONFIG, "SG").decide({"title": "Dior"}).action == "limit"


def test_shadow_rules_match_but_never_decide() -> None:
    bundle = make([rule("shadow-take", "takedown", BRAND, mode="shadow"), rule("w", "warn", BRAND)])
    decision = compile_bundle(bundle, CONFIG, "SG").decide({"title": "Dior bag"})
    assert decision.action == "warn"
    assert [(m.rule, m.mode) for m in decision.matches] == [
        ("shadow-take", "shadow"),
        ("w", "enforce"),
    ]


def test_region_scoped_rules() -> None:
    bundle = make([rule("gb-only", "takedown", BRAND, regions=("GB",))])
    assert compile_bundle(bundle, CONFIG, "GB").decide({"title": "Dior"}).action == "takedown"
    assert compile_bundle(bundle, CONFIG, "SG").decide({"title": "Dior"}).action == "none"


def test_keyword_trigger_does_not_skip_rules_that_need_no_keyword() -> None:
    bundle = make(
        [
            rule("kw", "takedown", {"all": [BRAND, {"field": "price", "lt": 5}]}),
            rule("either", "limit", {"any": [BRAND, {"field": "price", "lt": 5}]}),
            rule("neg", "warn", {"not": BRAND}),
        ]
    )
    evaluator = compile_bundle(bundle, CONFIG, "SG")
    assert evaluator.decide({"title": "plain", "price": 1}).matched == ["either", "neg"]
    assert evaluator.decide({"title": "Gucci", "price": 1}).matched == ["kw", "either"]


def test_explain_gives_the_reasons_of_every_child_of_all_and_the_first_true_child_of_any() -> None:
    children = [{"field": name, "exists": True} for name in ("title", "brand", "price")]
    bundle = make(
        [rule("every", "takedown", {"all": children}), rule("one", "warn", {"any": children})]
    )
    evaluator = compile_bundle(bundle, CONFIG, "SG")
    matched = explain(evaluator, {"title": "t", "brand": "b", "price": 1.0}).to_dict()["matched"]
    assert [m["reasons"] for m in matched] == [
        ["title is present", "brand is present", "price is present"],
        ["title is present"],
    ]
    matched = explain(evaluator, {"brand": "b"}).to_dict()["matched"]
    assert [(m["rule"], m["reasons"]) for m in matched] == [("one", ["brand is present"])]
