"""Compile a validated bundle, once per region, into an evaluator: `decide(item)` gives the final
action and every matched rule. Pure: no I/O.

Speed comes from three things: each condition becomes nested closures; every keyword set used on
a field lives in one automaton, scanned once per listing and field; and rules are indexed by what
a listing must show for them to match (engine.index), so a listing meets only the rules that can
match it. Tests that several rules share are compiled once and memoized per listing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from modctl.engine import prefilter
from modctl.engine.conditions import All, Any_, Ctx, Leaf, Node, Not
from modctl.engine.fields import getter
from modctl.engine.hashes import HashIndex
from modctl.engine.index import RuleIndex
from modctl.engine.operators import (
    Const,
    Equal,
    Exists,
    Keywords,
    ListContains,
    Lookup,
    Matches,
    Member,
    Near,
    Order,
    Rhs,
    number,
)
from modctl.engine.text import KeywordIndex, normalize
from modctl.model import Bundle, Config, Rule

NO_ACTION = "none"


# ---------------------------------------------------------------------------- rules and bundles


@dataclass
class CompiledRule:
    index: int
    rule: Rule
    condition: Node
    test: Callable[[Ctx], bool]
    match: Match
    rank: int  # place of the action in the precedence; shadow rules never decide

    @property
    def id(self) -> str:
        return self.rule.id


@dataclass(frozen=True)
class Match:
    rule: str
    action: str
    mode: str


@dataclass(frozen=True)
class Decision:
    """The final action (or "none") and every matched rule, enforce and shadow, in bundle order."""

    action: str
    rule: str | None
    matches: tuple[Match, ...]

    @property
    def matched(self) -> list[str]:
        return [m.rule for m in self.matches]


@dataclass
class Evaluator:
    bundle: str
    region: str
    precedence: tuple[str, ...]
    rules: list[CompiledRule] = field(default_factory=list)
    keywords: dict[str, KeywordIndex] = field(default_factory=dict)
    atoms: dict[str, KeywordIndex] = field(default_factory=dict)
    getters: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    index: RuleIndex | None = None
    variants: list[CompiledRule] = field(default_factory=list)  # see compile_bundle

    def context(self, item: dict[str, Any]) -> Ctx:
        return Ctx(item, self)

    def decide(self, item: dict[str, Any]) -> Decision:
        ctx = Ctx(item, self)
        assert self.index is not None
        matches = [r for r in self.index.candidates(ctx) if r.test(ctx)]
        return self._decision(matches)

    def _decision(self, matched: list[CompiledRule]) -> Decision:
        if not matched:
            return NOTHING
        best = min(matched, key=_rank)
        if best.rank == SHADOW:
            return Decision(NO_ACTION, None, tuple(r.match for r in matched))
        return Decision(best.rule.action, best.rule.id, tuple(r.match for r in matched))


SHADOW = 1 << 30
NOTHING = Decision(NO_ACTION, None, ())


def _rank(rule: CompiledRule) -> int:
    return rule.rank


def applies(rule: Rule, region: str) -> bool:
    return rule.regions is None or region in rule.regions


def compile_bundle(
    bundle: Bundle, config: Config, region: str | None, variants: Sequence[Rule] = ()
) -> Evaluator:
    """An evaluator of `bundle` for `region` (None: every rule, whatever its regions, for the
    batch evaluator, which scopes rules itself); the bundle must have passed validation.

    `variants` are rules of the bundle with other param values (a sweep), compiled beside it
    into `evaluator.variants`, each with the index of the rule it varies: they share every test
    and keyword scan that does not read a changed param, and never decide by themselves."""
    evaluator = Evaluator(bundle.name, region or "", bundle.precedence)
    builder = _Builder(bundle, config, evaluator)
    conditions = [
        (r, builder.condition(r, r.when))
        for r in bundle.rules
        if region is None or applies(r, region)
    ]
    varied = [(r, builder.condition(r, r.when)) for r in variants]
    uses: dict[int, int] = {}
    for _, condition in conditions:
        for node in _nodes(condition):
            uses[id(node)] = uses.get(id(node), 0) + 1
    for _, condition in conditions:
        for node in _nodes(condition):
            if uses[id(node)] > 1 and node.slot is None and not node.cheap:
                node.slot = builder.next_slot()
    for rule, condition in conditions:
        rank = bundle.precedence.index(rule.action) if rule.mode == "enforce" else SHADOW
        match = Match(rule.id, rule.action, rule.mode)
        compiled = CompiledRule(
            len(evaluator.rules), rule, condition, condition.compiled(), match, rank
        )
        evaluator.rules.append(compiled)
    place = {r.id: r.index for r in evaluator.rules}
    for rule, condition in varied:
        rank = bundle.precedence.index(rule.action) if rule.mode == "enforce" else SHADOW
        match = Match(rule.id, rule.action, rule.mode)
        evaluator.variants.append(
            CompiledRule(place[rule.id], rule, condition, condition.compiled(), match, rank)
        )
    for automaton in (*evaluator.keywords.values(), *evaluator.atoms.values()):
        automaton.build()
    evaluator.index = RuleIndex(evaluator)
    return evaluator


class _Builder:
    def __init__(self, bundle: Bundle, config: Config, evaluator: Evaluator) -> None:
        self.bundle = bundle
        self.config = config
        self.evaluator = evaluator
        self.lists = {lst.name: lst for lst in bundle.lists}
        self.set_ids: dict[tuple[str, str], int] = {}
        self.atom_ids: dict[tuple[str, frozenset[str]], int] = {}
        self.leaves: dict[str, Leaf] = {}
        self.composites: dict[tuple[Any, ...], Node] = {}
        self.hash_indexes: dict[tuple[str, str, int], HashIndex] = {}
        self.slots = 0

    def condition(self, rule: Rule, node: dict[str, Any]) -> Node:
        """The compiled condition; identical sub-conditions of different rules are one node."""
        if "field" in node:
            return self.leaf(rule, node)
        built: Node
        if "all" in node:
            built = All([self.condition(rule, c) for c in node["all"]])
        elif "any" in node:
            built = Any_([self.condition(rule, c) for c in node["any"]])
        else:
            built = Not(self.condition(rule, node["not"]))
        key = (type(built).__name__, *(id(part) for part in built.parts()))
        return self.composites.setdefault(key, built)

    def param(self, rule: Rule, value: Any) -> Any:
        if isinstance(value, dict) and "param" in value:
            return rule.params[value["param"]]
        return value

    def next_slot(self) -> int:
        self.slots += 1
        return self.slots

    def leaf(self, rule: Rule, node: dict[str, Any]) -> Leaf:
        """One compiled test per distinct test: rules that repeat a test share it."""
        params = {name: rule.params.get(name) for name in _params_in(node)}
        key = json.dumps([node, params], sort_keys=True, default=str)
        shared = self.leaves.get(key)
        if shared is None:
            shared = self.leaves[key] = self.new_leaf(rule, node)
        return shared

    def new_leaf(self, rule: Rule, node: dict[str, Any]) -> Leaf:
        name = node["field"]
        op = next(k for k in node if k != "field")
        value = node[op]
        field_type = self.config.fields.get(name, "string")
        if op == "exists":
            return Exists(name, bool(value))
        if op == "matches":
            found = prefilter.atoms(value)
            atom_set = None
            if found is not None:
                atom_set = self.atom_ids.setdefault((name, found), len(self.atom_ids))
                index = self.evaluator.atoms.setdefault(name, KeywordIndex(bounded=False))
                index.add(atom_set, found)
                self.evaluator.getters[name] = getter(name)
            return Matches(name, value, atom_set)
        if op == "within_distance":
            target = value["value"]
            limit = int(self.param(rule, value["max"]))
            if isinstance(target, dict):
                source, label = self.lists[target["list"]].items, f"list {target['list']}"
            else:
                source, label = (target,), "given hash"
            shared = (label, target if isinstance(target, str) else "", limit)
            near = self.hash_indexes.get(shared)
            if near is None:
                near = self.hash_indexes[shared] = HashIndex([int(h, 16) for h in source], limit)
            return Near(name, near, label)
        if op in ("lt", "lte", "gt", "gte"):
            return Order(name, op, self.rhs(rule, value))
        if op in ("eq", "ne"):
            return Equal(name, op, self.param(rule, value), _label(value, rule))
        values, label = self.values(rule, value)
        if op == "contains_any":
            if field_type == "string_list":
                return ListContains(name, frozenset(normalize(str(v)) for v in values), label)
            key = (name, label)
            set_id = self.set_ids.get(key)
            if set_id is None:
                set_id = self.set_ids[key] = len(self.set_ids)
                index = self.evaluator.keywords.setdefault(name, KeywordIndex())
                self.evaluator.getters[name] = getter(name)
                index.add(set_id, [str(v) for v in values])
            return Keywords(name, set_id, label)
        return Member(name, op, frozenset(values), label)

    def values(self, rule: Rule, value: Any) -> tuple[list[Any], str]:
        if isinstance(value, dict) and "list" in value:
            return list(self.lists[value["list"]].items), f"list {value['list']}"
        value = self.param(rule, value)
        values = value if isinstance(value, list) else [value]
        return values, "[" + ", ".join(map(str, values)) + "]"

    def rhs(self, rule: Rule, value: Any) -> Rhs:
        if isinstance(value, dict) and "lookup" in value:
            times_value = value.get("times", 1)
            times = float(self.param(rule, times_value))
            times_text = (
                f"{times_value['param']} {times:g}"
                if isinstance(times_value, dict)
                else f"{times:g}"
            )
            entries = {
                k: float(v)
                for k, v in self.lists[value["lookup"]].entries.items()
                if number(v) is not None
            }
            return Lookup(
                value["lookup"],
                entries,
                getter(value["key"]),
                value["key"],
                times,
                times_text,
            )
        threshold = float(self.param(rule, value))
        return Const(threshold, _label(value, rule))


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    for part in node.parts():
        yield from _nodes(part)


def _params_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if set(value) == {"param"}:
            yield value["param"]
        for child in value.values():
            yield from _params_in(child)


def _label(value: Any, rule: Rule) -> str:
    if isinstance(value, dict) and "param" in value:
        return f"param {value['param']} = {rule.params[value['param']]!r}"
    return repr(value)
