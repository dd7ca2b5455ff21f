"""Deciding a batch of listings at once, for backtests. Pure: no I/O.

The row evaluator (engine.compiler) spends tens of microseconds of Python on each listing, which
caps a backtest at a few ten thousand listings a second. Here a batch is an Arrow table typed as
modctl.yaml declares its fields: each distinct field test becomes one array operation over the
whole batch, and text is normalized and scanned once per distinct value (dictionary encoding),
not once per row. The conditions, keyword automata and precedence are the row evaluator's own, and
the decisions are the same listing for listing; tests hold the two together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modctl.engine import hashes
from modctl.engine.compiler import SHADOW, CompiledRule, compile_bundle
from modctl.engine.conditions import Junction, Node, Not
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
from modctl.engine.text import fold, normalize
from modctl.model import Bundle, Config, Rule

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Mask = NDArray[np.bool_]

T = TypeVar("T")
KINDS = {
    "string": "str",
    "phash": "str",
    "number": "num",
    "integer": "num",
    "boolean": "bool",
    "string_list": "list",
}
_ORDER: dict[str, Callable[[Any, Any], Mask]] = {
    "lt": np.less,
    "lte": np.less_equal,
    "gt": np.greater,
    "gte": np.greater_equal,
}
SMALL_HASH_LIST = 64  # up to this many hashes, compare all rows with each hash in turn


def arrow_type(field_type: str) -> pa.DataType:
    return {
        "number": pa.float64(),
        "integer": pa.int64(),
        "boolean": pa.bool_(),
        "string_list": pa.list_(pa.string()),
    }.get(field_type, pa.string())


def arrow_schema(fields: dict[str, str], *, label: bool = True) -> pa.Schema:
    """The columns of a batch: id, region, the declared fields (dotted paths nest) and label."""
    tree: dict[str, Any] = {"id": pa.string(), "region": pa.string()}
    for path, field_type in fields.items():
        node = tree
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = arrow_type(field_type)
    if label:
        tree["label"] = pa.string()

    def build(node: dict[str, Any]) -> list[pa.Field]:
        return [
            pa.field(name, pa.struct(build(child)) if isinstance(child, dict) else child)
            for name, child in node.items()
        ]

    return pa.schema(build(tree))


@dataclass
class Outcome:
    """Per row of a batch: the final action (index into `actions`) and the deciding rule (index
    into `rule_ids`, -1 for none); per rule: how many rows it matched."""

    action: NDArray[np.int64]
    rule: NDArray[np.int64]
    hits: NDArray[np.int64]


class Columns:
    """One batch's columns, and what is derived from them, each computed at most once."""

    def __init__(self, table: pa.Table, region_codes: NDArray[np.int64]) -> None:
        self.table = table
        self.n = table.num_rows
        self.region_codes = region_codes
        self.memo: dict[Any, Any] = {}
        self.owners: list[object] = []  # what ids in the keys of memo stand for

    def cached(self, key: Any, make: Callable[[], T], owner: object = None) -> T:
        """`make()` once per key and batch. A key holding `id(owner)` keeps `owner` alive as long
        as the batch: otherwise a collected evaluator's id could be reused by another one
        sharing the batch, which would read the first one's results."""
        found: T | None = self.memo.get(key)
        if found is None:
            found = self.memo[key] = make()
            if owner is not None:
                self.owners.append(owner)
        return found

    def array(self, path: str) -> pa.Array:
        def make() -> pa.Array:
            head, *rest = path.split(".")
            array = self.table.column(head).combine_chunks()
            for part in rest:
                array = pc.struct_field(array, part)  # null where the parent is null
            return array

        return self.cached(("array", path), make)

    def valid(self, path: str) -> Mask:
        return self.cached(
            ("valid", path),
            lambda: self.array(path).is_valid().to_numpy(zero_copy_only=False),
        )

    def numbers(self, path: str) -> NDArray[Any]:
        """The field's numbers (or booleans), with 0 (False) where null; see `valid`."""

        def make() -> NDArray[Any]:
            array = self.array(path)
            fill = pa.scalar(False if pa.types.is_boolean(array.type) else 0, array.type)
            return np.asarray(pc.fill_null(array, fill).to_numpy(zero_copy_only=False))

        return self.cached(("numbers", path), make)

    def distinct(self, path: str) -> tuple[NDArray[np.int64], list[Any]]:
        """Per row, the index of its value among the distinct values (-1 when null)."""

        def make() -> tuple[NDArray[np.int64], list[Any]]:
            encoded = pc.dictionary_encode(self.array(path))
            codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
            return codes.astype(np.int64), encoded.dictionary.to_pylist()

        return self.cached(("distinct", path), make)

    def elements(self, path: str) -> tuple[NDArray[np.int64], NDArray[np.int64], list[Any]]:
        """For a list field: each element's row, its index among distinct elements, and those."""

        def make() -> tuple[NDArray[np.int64], NDArray[np.int64], list[Any]]:
            array = self.array(path)
            rows = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
            encoded = pc.dictionary_encode(pc.list_flatten(array))
            codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
            return rows.astype(np.int64), codes.astype(np.int64), encoded.dictionary.to_pylist()

        return self.cached(("elements", path), make)

    def hashes(self, path: str) -> tuple[NDArray[np.uint64], Mask, list[int | None]]:
        def make() -> tuple[NDArray[np.uint64], Mask, list[int | None]]:
            parsed = [hashes.parse(v) for v in self.array(path).to_pylist()]
            ok = np.array([h is not None for h in parsed], dtype=bool)
            values = np.array([h or 0 for h in parsed], dtype=np.uint64)
            return values, ok, parsed

        return self.cached(("hashes", path), make)


class BatchEvaluator:
    """A bundle compiled once for every region; `decide(columns)` decides a whole batch."""

    def __init__(self, bundle: Bundle, config: Config, variants: Sequence[Rule] = ()) -> None:
        self.evaluator = compile_bundle(bundle, config, None, variants)
        self.kinds = {name: KINDS[t] for name, t in config.fields.items()}
        self.regions = sorted(config.regions)
        self.rules: list[CompiledRule] = self.evaluator.rules
        self.rule_ids = [r.id for r in self.rules]
        self.actions = (*bundle.precedence, "none")
        self.none = len(bundle.precedence)
        self.rule_action = np.array(
            [bundle.precedence.index(r.rule.action) for r in self.rules] + [self.none],
            dtype=np.int64,
        )
        self.scopes = [
            None
            if r.rule.regions is None
            else np.array([self.regions.index(x) for x in r.rule.regions if x in self.regions])
            for r in self.rules
        ]
        sets = [*self.evaluator.keywords.values(), *self.evaluator.atoms.values()]
        self.width = 1 + max((max(i.set_ids(), default=-1) for i in sets), default=-1)
        self.regexes: dict[str, list[Matches]] = {}
        for rule in (*self.rules, *self.evaluator.variants):
            for leaf in rule.condition.leaves():
                if isinstance(leaf, Matches):
                    found = self.regexes.setdefault(leaf.field, [])
                    if leaf not in found:
                        found.append(leaf)

    def decide(self, columns: Columns) -> Outcome:
        return self.decide_each(columns, [self.rules])[0]

    def decide_each(
        self, columns: Columns, rule_lists: Sequence[Sequence[CompiledRule]]
    ) -> list[Outcome]:
        """The batch decided by each list of rules (the bundle's, in order, some of them
        replaced by variants): the rules the lists share at their head are merged once, and
        every condition's mask is computed once per batch, whichever lists use it."""
        shared = 0
        first = rule_lists[0]
        while shared < len(first) and all(
            len(rules) > shared and rules[shared] is first[shared] for rules in rule_lists
        ):
            shared += 1
        n = columns.n
        head = (
            np.full(n, SHADOW, dtype=np.int64),
            np.full(n, -1, dtype=np.int64),
            np.zeros(len(self.rules), dtype=np.int64),
        )
        self._merge(columns, first[:shared], *head)
        outcomes = []
        for rules in rule_lists:
            best_rank, best_rule, hits = (array.copy() for array in head)
            self._merge(columns, rules[shared:], best_rank, best_rule, hits)
            outcomes.append(Outcome(self.rule_action[best_rule], best_rule, hits))
        return outcomes

    def _merge(
        self,
        columns: Columns,
        rules: Sequence[CompiledRule],
        best_rank: NDArray[np.int64],
        best_rule: NDArray[np.int64],
        hits: NDArray[np.int64],
    ) -> None:
        """Fold `rules`, in bundle order, into the best rank and rule so far of each row."""
        for rule in rules:
            mask = self.matches(rule, columns)
            count = int(np.count_nonzero(mask))
            if not count:
                continue
            hits[rule.index] = count
            if rule.rank != SHADOW:
                better = mask & (best_rank > rule.rank)  # ties: the earlier rule decides
                best_rank[better] = rule.rank
                best_rule[better] = rule.index

    def matches(self, rule: CompiledRule, columns: Columns) -> Mask:
        """The rows the rule matches: its condition holds and the row's region is in scope."""
        mask = self.mask(rule.condition, columns)
        regions = self.scopes[rule.index]
        if regions is None:
            return mask
        scope = columns.cached(
            ("scope", regions.tobytes()), lambda: np.isin(columns.region_codes, regions)
        )
        return mask & scope

    # ------------------------------------------------------------------------ conditions

    def mask(self, node: Node, columns: Columns) -> Mask:
        """Where the condition holds; once per node and batch, however many rules share it."""
        return columns.cached(("node", id(node)), lambda: self._mask(node, columns), node)

    def _mask(self, node: Node, columns: Columns) -> Mask:
        if isinstance(node, Junction):
            result = self.mask(node.children[0], columns)
            for child in node.children[1:]:
                # Once every row has the settling result, no later child can change a row.
                if result.all() if node.settles else not result.any():
                    break
                other = self.mask(child, columns)
                result = result | other if node.settles else result & other
            return result
        if isinstance(node, Not):
            return ~self.mask(node.child, columns)
        return self.leaf(node, columns)

    def leaf(self, leaf: Node, columns: Columns) -> Mask:
        if isinstance(leaf, Keywords):
            return self._keywords(leaf.field, columns)[:, leaf.set_id][
                columns.distinct(leaf.field)[0]
            ]
        if isinstance(leaf, Matches):
            place = self.regexes[leaf.field].index(leaf)
            return self._regexes(leaf.field, columns)[:, place][columns.distinct(leaf.field)[0]]
        if isinstance(leaf, Exists):
            valid = columns.valid(leaf.field)
            return valid if leaf.want else ~valid
        if isinstance(leaf, Order):
            return self._order(leaf, columns)
        if isinstance(leaf, Equal):
            return self._equal(leaf, columns)
        if isinstance(leaf, Member):
            return self._member(leaf, columns)
        if isinstance(leaf, ListContains):
            return self._list_contains(leaf, columns)
        if isinstance(leaf, Near):
            return self._near(leaf, columns)
        raise TypeError(f"no batch form for {type(leaf).__name__}")  # pragma: no cover

    def _keywords(self, path: str, columns: Columns) -> Mask:
        """Per distinct value (and a last row for null): which keyword sets it contains."""

        def make() -> Mask:
            _, values = columns.distinct(path)
            index = self.evaluator.keywords[path]
            found = np.zeros((len(values) + 1, self.width), dtype=bool)
            for i, value in enumerate(values):
                for set_id in index.scan(normalize(value)):
                    found[i, set_id] = True
            return found

        return columns.cached(("keywords", id(self), path), make, self)

    def _regexes(self, path: str, columns: Columns) -> Mask:
        """Per distinct value (and a last row for null): which of the field's regexes match."""

        def make() -> Mask:
            _, values = columns.distinct(path)
            leaves = self.regexes[path]
            atoms = self.evaluator.atoms.get(path)
            found = np.zeros((len(values) + 1, len(leaves)), dtype=bool)
            for i, value in enumerate(values):
                present = atoms.scan(fold(value)) if atoms is not None else {}
                for place, leaf in enumerate(leaves):
                    if leaf.atom_set is not None and leaf.atom_set not in present:
                        continue
                    found[i, place] = leaf.found(value)
            return found

        return columns.cached(("regexes", id(self), path), make, self)

    # Validation has checked that each operator suits its field's type and each value the
    # field (lint.bundle), so only the pairs it lets through are handled.

    def _order(self, leaf: Order, columns: Columns) -> Mask:
        compare = _ORDER[leaf.op]
        left = columns.numbers(leaf.field)
        valid = columns.valid(leaf.field)
        if isinstance(leaf.rhs, Const):
            return valid & compare(left, leaf.rhs.value)
        right = self.threshold(leaf, columns)
        with np.errstate(invalid="ignore"):
            return valid & ~np.isnan(right) & compare(left, right)

    def threshold(self, leaf: Order, columns: Columns) -> NDArray[np.float64]:
        """Per row, the number the field is compared with: NaN where a lookup has no entry."""
        rhs = leaf.rhs
        if isinstance(rhs, Const):
            return np.full(columns.n, rhs.value, dtype=np.float64)
        assert isinstance(rhs, Lookup)
        if self.kinds[rhs.key_name] != "str":  # map keys are strings: no entry for a number
            return np.full(columns.n, np.nan)
        keys = list(rhs.entries)
        codes: NDArray[np.int64] = pc.fill_null(
            pc.index_in(columns.array(rhs.key_name), value_set=pa.array(keys, pa.string())), -1
        ).to_numpy(zero_copy_only=False)
        return np.array([rhs.entries[k] * rhs.times for k in keys] + [np.nan])[codes]

    def _equal(self, leaf: Equal, columns: Columns) -> Mask:
        valid = columns.valid(leaf.field)
        equal: Mask
        if self.kinds[leaf.field] == "str":
            same = pc.fill_null(pc.equal(columns.array(leaf.field), leaf.value), False)
            equal = same.to_numpy(zero_copy_only=False)
        else:
            equal = columns.numbers(leaf.field) == leaf.value
        return valid & (equal if leaf.op == "eq" else ~equal)

    def _member(self, leaf: Member, columns: Columns) -> Mask:
        valid = columns.valid(leaf.field)
        found: Mask
        if self.kinds[leaf.field] == "str":
            wanted = pa.array([v for v in leaf.values if isinstance(v, str)], pa.string())
            inside = pc.is_in(columns.array(leaf.field), value_set=wanted)
            found = pc.fill_null(inside, False).to_numpy(zero_copy_only=False)
        else:
            numbers = [v for v in leaf.values if isinstance(v, int | float)]
            found = np.isin(columns.numbers(leaf.field), np.array(numbers, dtype=float))
        return valid & (found if leaf.want else ~found)

    def _list_contains(self, leaf: ListContains, columns: Columns) -> Mask:
        rows, codes, values = columns.elements(leaf.field)
        normalized = columns.cached(
            ("normalized", leaf.field), lambda: [normalize(v) for v in values]
        )
        chosen = np.array([v in leaf.values for v in normalized] + [False], dtype=bool)
        mask = np.zeros(columns.n, dtype=bool)
        mask[rows[chosen[codes]]] = True
        return mask

    def _near(self, leaf: Near, columns: Columns) -> Mask:
        values, ok, parsed = columns.hashes(leaf.field)
        index = leaf.index
        if not index.hashes:
            return np.zeros(columns.n, dtype=bool)
        if len(index.hashes) > SMALL_HASH_LIST:
            return np.array(
                [h is not None and index.within(h) is not None for h in parsed], dtype=bool
            )
        closest = np.full(columns.n, 64, dtype=np.uint8)
        for listed in index.hashes:
            np.minimum(closest, np.bitwise_count(values ^ np.uint64(listed)), out=closest)
        return ok & (closest <= index.limit)
