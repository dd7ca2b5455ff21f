"""Which rules can match a listing, found without evaluating them.

Every rule gets triggers: facts about a listing at least one of which must hold for the rule to
match (a keyword set hit, a field equal to a value, a number past a threshold, an image near a
hash group, a regex's literal found, a field present). One probe per indexed field answers them
for all rules at once, so a listing is only evaluated against the few rules that can match it.
A rule with no trigger (say, a lone `not`) is evaluated for every listing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from modctl.engine.fields import MISSING, getter
from modctl.engine.hashes import HashIndex
from modctl.engine.hashes import parse as parse_hash

if TYPE_CHECKING:
    from modctl.engine.compiler import CompiledRule, Evaluator
    from modctl.engine.conditions import Ctx, Node

Trigger = tuple[Any, ...]
# Lower is more selective; a conjunction is indexed by its most selective child.
RANK = {"kw": 0, "atom": 0, "eq": 0, "elem": 0, "near": 1, "range": 2, "present": 3}


def triggers(node: Node) -> list[Trigger] | None:
    """Triggers of a condition: at least one holds whenever the condition does."""
    from modctl.engine.conditions import All, Any_, Leaf

    if isinstance(node, Leaf):
        return node.triggers()
    if isinstance(node, All):
        options = [t for t in (triggers(c) for c in node.children) if t]
        if not options:
            return None
        return min(options, key=lambda ts: (max(RANK[t[0]] for t in ts), len(ts)))
    if isinstance(node, Any_):
        union: list[Trigger] = []
        for child in node.children:
            found = triggers(child)
            if not found:
                return None
            union += found
        return union
    return None  # Not: nothing is required


class RuleIndex:
    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.rules = evaluator.rules
        self.always: list[int] = []
        self.kw: dict[str, dict[int, list[int]]] = {}
        self.atom: dict[str, dict[int, list[int]]] = {}
        self.eq: dict[str, dict[Hashable, list[int]]] = {}
        self.elem: dict[str, dict[str, list[int]]] = {}
        self.near: dict[str, dict[HashIndex, list[int]]] = {}
        # Per field and hash list: the index with the widest limit, then each limit's rules.
        self.near_by_list: dict[str, list[tuple[HashIndex, list[tuple[int, list[int]]]]]] = {}
        self.present: dict[str, list[int]] = {}
        ranges: dict[tuple[str, str], list[tuple[float, int]]] = {}
        for rule in self.rules:
            found = triggers(rule.condition)
            if not found:
                self.always.append(rule.index)
                continue
            for trigger in set(found):
                kind, name = trigger[0], trigger[1]
                evaluator.getters.setdefault(name, getter(name))
                if kind in ("kw", "atom", "eq", "elem", "near"):
                    table = getattr(self, kind).setdefault(name, {})
                    table.setdefault(trigger[2], []).append(rule.index)
                elif kind == "range":
                    ranges.setdefault((name, trigger[2]), []).append((trigger[3], rule.index))
                else:
                    self.present.setdefault(name, []).append(rule.index)
        for name, groups in self.near.items():
            by_list: dict[tuple[int, ...], list[HashIndex]] = {}
            for index in groups:
                by_list.setdefault(index.hashes, []).append(index)
            self.near_by_list[name] = [
                (max(indexes, key=lambda i: i.limit), [(i.limit, groups[i]) for i in indexes])
                for indexes in by_list.values()
            ]
        self.ranges = {key: sorted(pairs) for key, pairs in ranges.items()}
        self.bounds = {key: [t for t, _ in pairs] for key, pairs in self.ranges.items()}
        self.always_rules = [self.rules[i] for i in self.always]

    def candidates(self, ctx: Ctx) -> list[CompiledRule]:
        hit: set[int] = set()
        getters = self.evaluator.getters
        item = ctx.item
        for name, table in self.kw.items():
            _collect(hit, table, ctx.hits(name))
        for name, table in self.atom.items():
            _collect(hit, table, ctx.atoms(name))
        for name, by_value in self.eq.items():
            value = getters[name](item)
            if isinstance(value, Hashable):
                rules = by_value.get(value)
                if rules:
                    hit.update(rules)
        for name, by_element in self.elem.items():
            value = getters[name](item)
            if isinstance(value, list):
                _collect(hit, by_element, ctx.elements(name, value))
        for (name, op), pairs in self.ranges.items():
            value = getters[name](item)
            if isinstance(value, int | float) and not isinstance(value, bool):
                bounds = self.bounds[name, op]
                if op == "gte":
                    chosen = pairs[: bisect_right(bounds, value)]
                elif op == "gt":
                    chosen = pairs[: bisect_left(bounds, value)]
                elif op == "lte":
                    chosen = pairs[bisect_left(bounds, value) :]
                else:
                    chosen = pairs[bisect_right(bounds, value) :]
                hit.update(index for _, index in chosen)
        for name, lists in self.near_by_list.items():
            mine = parse_hash(getters[name](item))
            if mine is None:
                continue
            for widest, limits in lists:
                closest = widest.within(mine)
                if closest is not None:
                    for limit, rules in limits:
                        if closest <= limit:
                            hit.update(rules)
        for name, rules in self.present.items():
            if getters[name](item) is not MISSING:
                hit.update(rules)
        if not hit:
            return self.always_rules
        hit.update(self.always)
        return [self.rules[i] for i in sorted(hit)]


def _collect(hit: set[int], table: dict[Any, list[int]], keys: Iterable[Any]) -> None:
    for key in keys:
        rules = table.get(key)
        if rules:
            hit.update(rules)
