"""The rules a batch of listings almost matched: for each rule, the rows it misses by exactly
one field test, and which test (the first, in the order `explain` tries them, whose opposite
outcome would make the rule match). The batch form of `explain`'s near misses; the tests hold
the two together. Pure: no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from modctl.engine.columnar import BatchEvaluator, Columns
from modctl.engine.compiler import CompiledRule
from modctl.engine.conditions import Junction, Leaf, Node, Not
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
)

if TYPE_CHECKING:
    from numpy.typing import NDArray


def one_short(
    evaluator: BatchEvaluator, rule: CompiledRule, columns: Columns, *, close_only: bool = False
) -> tuple[list[Leaf], NDArray[np.int64]]:
    """The rule's distinct leaves, and per row the index of the leaf it is one short on (-1
    where it matched, is out of the rule's regions, or is more than one test away).

    Where one test suffices for the rule to match (a single test, or `any` of several), every
    listing is one test short, and where the other tests that hold are ones most listings pass
    (a category outside a list), being one short says nothing either. With `close_only`, a row
    counts only with evidence: another test of the rule holds that asks for something (not
    under a `not`) and that at most half the batch passes, or the failed test missed by little
    (a hash within twice the allowed distance, a number within a factor of two of its
    threshold)."""
    leaves: list[Leaf] = []
    for leaf in rule.condition.leaves():
        if all(leaf is not seen for seen in leaves):
            leaves.append(leaf)
    which = np.full(columns.n, -1, dtype=np.int64)
    open_rows = _scope(evaluator, rule, columns) & ~evaluator.matches(rule, columns)
    positive = _positive(rule.condition) if close_only else []
    for place, leaf in enumerate(leaves):
        if not open_rows.any():
            break
        would = _flipped(evaluator, rule.condition, leaf, columns)
        found = open_rows & would
        if close_only:
            found &= _close(evaluator, leaf, columns) | _evidence(
                evaluator, leaf, positive, columns
            )
        which[found] = place
        open_rows &= ~found
    return leaves, which


def _positive(node: Node, negated: bool = False) -> list[Leaf]:
    """The leaves that must hold for the rule to match (under no `not`, or under two)."""
    if isinstance(node, Leaf):
        return [] if negated else [node]
    if isinstance(node, Not):
        return _positive(node.child, not negated)
    found: list[Leaf] = []
    for part in node.parts():
        found += [leaf for leaf in _positive(part, negated) if all(leaf is not f for f in found)]
    return found


def _evidence(
    evaluator: BatchEvaluator, flipped: Leaf, positive: list[Leaf], columns: Columns
) -> NDArray[np.bool_]:
    """Where another test that asks for something holds and most of the batch fails it."""
    found = np.zeros(columns.n, dtype=bool)
    for leaf in positive:
        if leaf is flipped:
            continue
        holds = evaluator.mask(leaf, columns)
        if np.count_nonzero(holds) <= columns.n / 2:
            found |= holds
    return found


def _scope(evaluator: BatchEvaluator, rule: CompiledRule, columns: Columns) -> NDArray[np.bool_]:
    regions = evaluator.scopes[rule.index]
    if regions is None:
        return np.ones(columns.n, dtype=bool)
    return np.isin(columns.region_codes, regions)


def _close(evaluator: BatchEvaluator, leaf: Leaf, columns: Columns) -> NDArray[np.bool_]:
    """Where a failed hash or number test missed by little (see `one_short`)."""
    if isinstance(leaf, Near):
        _, ok, parsed = columns.hashes(leaf.field)
        if not leaf.hashes:
            return np.zeros(columns.n, dtype=bool)
        values = np.array([h or 0 for h in parsed], dtype=np.uint64)
        closest = np.full(columns.n, 64, dtype=np.uint8)
        for listed in leaf.hashes:
            np.minimum(closest, np.bitwise_count(values ^ np.uint64(listed)), out=closest)
        return ok & (closest <= 2 * leaf.limit)
    if isinstance(leaf, Order):
        left = columns.numbers(leaf.field)
        right = evaluator.threshold(leaf, columns)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(left / right)
        return columns.valid(leaf.field) & np.isfinite(ratio) & (ratio >= 0.5) & (ratio <= 2)
    return np.zeros(columns.n, dtype=bool)


def _flipped(
    evaluator: BatchEvaluator, node: Node, leaf: Leaf, columns: Columns
) -> NDArray[np.bool_]:
    """Where `node` holds with `leaf`'s outcome flipped on every row."""
    if node is leaf:
        return ~evaluator.mask(node, columns)
    if not any(found is leaf for found in node.leaves()):
        return evaluator.mask(node, columns)
    if isinstance(node, Not):
        return ~_flipped(evaluator, node.child, leaf, columns)
    assert isinstance(node, Junction)
    parts = [_flipped(evaluator, child, leaf, columns) for child in node.children]
    result = parts[0]
    for part in parts[1:]:
        result = result | part if node.settles else result & part
    return result


def describe(leaf: Leaf) -> str:
    """The test a leaf makes, without any listing's values: what a near miss failed on."""
    name = leaf.field
    if isinstance(leaf, Keywords):
        return f"{name} contains a keyword of {leaf.label}"
    if isinstance(leaf, ListContains):
        return f"{name} has an entry of {leaf.label}"
    if isinstance(leaf, Member):
        return f"{name} {leaf.op} {leaf.label}"
    if isinstance(leaf, Order):
        rhs = leaf.rhs
        if isinstance(rhs, Lookup):
            return f"{name} {_SYMBOL[leaf.op]} {rhs.name}[{rhs.key_name}] x {rhs.times_text}"
        assert isinstance(rhs, Const)
        return f"{name} {_SYMBOL[leaf.op]} {rhs.text}"
    if isinstance(leaf, Equal):
        return f"{name} {_SYMBOL[leaf.op]} {leaf.label}"
    if isinstance(leaf, Matches):
        shown = leaf.pattern if len(leaf.pattern) <= 40 else leaf.pattern[:37] + "..."
        return f"{name} matches /{shown}/"
    if isinstance(leaf, Near):
        return f"{name} within {leaf.limit} bits of {leaf.label}"
    if isinstance(leaf, Exists):
        return f"{name} is {'present' if leaf.want else 'missing'}"
    return name  # pragma: no cover


_SYMBOL = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "==", "ne": "!="}
