"""The field tests of conditions, one class per leaf operator, and the right-hand sides they
compare with (a number, a param or a lookup in a map). Pure: no I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modctl.engine import hashes, linear
from modctl.engine.conditions import Ctx, Leaf
from modctl.engine.fields import MISSING
from modctl.engine.hashes import HashIndex
from modctl.engine.text import normalize

if TYPE_CHECKING:
    from modctl.engine.index import Trigger


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


class Exists(Leaf):
    cheap = True

    def __init__(self, field_name: str, want: bool) -> None:
        super().__init__(field_name)
        self.want = want

    def check(self, ctx: Ctx) -> bool:
        return (self.get(ctx.item) is not MISSING) is self.want

    def triggers(self) -> list[Trigger] | None:
        return [("present", self.field)] if self.want else None

    def why(self, ctx: Ctx, ok: bool) -> str:
        present = self.get(ctx.item) is not MISSING
        return f"{self.field} is {'present' if present else 'missing'}"


_ORDER: dict[str, Callable[[float, float], bool]] = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}
_SYMBOL = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "==", "ne": "!="}


def _mark(op: str, ok: bool) -> str:
    """The comparison as it turned out: `<` when it holds, `not <` when it does not."""
    return _SYMBOL[op] if ok else f"not {_SYMBOL[op]}"


class Order(Leaf):
    """lt/lte/gt/gte against a number, a param or a lookup."""

    def __init__(self, field_name: str, op: str, rhs: Rhs) -> None:
        super().__init__(field_name)
        self.op, self.rhs = op, rhs
        self.compare = _ORDER[op]

    def check(self, ctx: Ctx) -> bool:
        left = number(self.get(ctx.item))
        if left is None:
            return False
        right = self.rhs.number(ctx)
        return right is not None and self.compare(left, right)

    def triggers(self) -> list[Trigger] | None:
        if isinstance(self.rhs, Const):
            return [("range", self.field, self.op, self.rhs.value)]
        assert isinstance(self.rhs, Lookup)
        return [("eq", self.rhs.key_name, key) for key in self.rhs.entries]

    def why(self, ctx: Ctx, ok: bool) -> str:
        right = self.rhs.number(ctx)
        shown = "unknown" if right is None else f"{right:g}"
        return (
            f"{self.field} {self.shown(ctx)} {_mark(self.op, ok)} {shown} ({self.rhs.label(ctx)})"
        )


class Equal(Leaf):
    cheap = True

    def __init__(self, field_name: str, op: str, value: Any, label: str) -> None:
        super().__init__(field_name)
        self.op, self.value, self.label = op, value, label

    def check(self, ctx: Ctx) -> bool:
        value = self.get(ctx.item)
        if value is MISSING or isinstance(value, bool) is not isinstance(self.value, bool):
            return False
        return (value == self.value) is (self.op == "eq")

    def triggers(self) -> list[Trigger] | None:
        if self.op == "eq":
            return [("eq", self.field, self.value)]
        return [("present", self.field)]

    def why(self, ctx: Ctx, ok: bool) -> str:
        return f"{self.field} {self.shown(ctx)} {_mark(self.op, ok)} {self.label}"


class Member(Leaf):
    cheap = True

    def __init__(self, field_name: str, op: str, values: frozenset[Any], label: str) -> None:
        super().__init__(field_name)
        self.op, self.values, self.label, self.want = op, values, label, op == "in"

    def check(self, ctx: Ctx) -> bool:
        value = self.get(ctx.item)
        if value is MISSING or isinstance(value, dict | list):
            return False
        return (value in self.values) is self.want

    def triggers(self) -> list[Trigger] | None:
        if self.want:
            return [("eq", self.field, value) for value in self.values]
        return [("present", self.field)]

    def why(self, ctx: Ctx, ok: bool) -> str:
        inside = (self.op == "in") is ok
        return f"{self.field} {self.shown(ctx)} {'in' if inside else 'not in'} {self.label}"


class Keywords(Leaf):
    """contains_any on a text field: one automaton scan per item and field."""

    cheap = True

    def __init__(self, field_name: str, set_id: int, label: str) -> None:
        super().__init__(field_name)
        self.set_id, self.label = set_id, label

    def check(self, ctx: Ctx) -> bool:
        return self.set_id in ctx.hits(self.field)

    def triggers(self) -> list[Trigger] | None:
        return [("kw", self.field, self.set_id)]

    def why(self, ctx: Ctx, ok: bool) -> str:
        hit = ctx.hits(self.field).get(self.set_id)
        if hit is None:
            return f"{self.field} contains no keyword of {self.label}"
        return f"{self.field} contains {hit.keyword!r} ({self.label}) at {hit.start}-{hit.end}"


class ListContains(Leaf):
    """contains_any on a string_list field: any element equals an entry, case-insensitively."""

    def __init__(self, field_name: str, values: frozenset[str], label: str) -> None:
        super().__init__(field_name)
        self.values, self.label = values, label

    def check(self, ctx: Ctx) -> bool:
        return self._first(ctx) is not None

    def triggers(self) -> list[Trigger] | None:
        return [("elem", self.field, value) for value in self.values]

    def _first(self, ctx: Ctx) -> str | None:
        value = self.get(ctx.item)
        if not isinstance(value, list):
            return None
        return next((v for v in value if isinstance(v, str) and normalize(v) in self.values), None)

    def why(self, ctx: Ctx, ok: bool) -> str:
        first = self._first(ctx)
        if first is None:
            return f"{self.field} has no entry of {self.label}"
        return f"{self.field} has {first!r} ({self.label})"


class Matches(Leaf):
    """matches: a regex in Python's syntax, run in linear time (engine.linear)."""

    def __init__(self, field_name: str, pattern: str, atom_set: int | None) -> None:
        super().__init__(field_name)
        self.pattern = pattern
        self.regex = linear.compile(pattern)
        self.found = self.regex.found
        self.atom_set = atom_set

    def triggers(self) -> list[Trigger] | None:
        if self.atom_set is None:
            return [("present", self.field)]
        return [("atom", self.field, self.atom_set)]

    def check(self, ctx: Ctx) -> bool:
        value = self.get(ctx.item)
        return isinstance(value, str) and self.found(value)

    def why(self, ctx: Ctx, ok: bool) -> str:
        value = self.get(ctx.item)
        text = value if isinstance(value, str) else ""
        span = self.regex.search(text) if isinstance(value, str) else None
        if span is None:
            return f"{self.field} does not match /{self.pattern}/"
        start, end = span
        return f"{self.field} matches /{self.pattern}/ with {text[start:end]!r} at {start}-{end}"


class Near(Leaf):
    """within_distance: Hamming distance between 64-bit perceptual hashes."""

    def __init__(self, field_name: str, index: HashIndex, label: str) -> None:
        super().__init__(field_name)
        self.index, self.hashes, self.limit, self.label = index, index.hashes, index.limit, label

    def _closest(self, ctx: Ctx) -> tuple[int, int] | None:
        mine = hashes.parse(self.get(ctx.item))
        if mine is None or not self.hashes:
            return None
        return min(((mine ^ h).bit_count(), h) for h in self.hashes)

    def check(self, ctx: Ctx) -> bool:
        mine = hashes.parse(self.get(ctx.item))
        return mine is not None and self.index.within(mine) is not None

    def triggers(self) -> list[Trigger] | None:
        return [("near", self.field, self.index)]

    def why(self, ctx: Ctx, ok: bool) -> str:
        closest = self._closest(ctx)
        if closest is None:
            return f"{self.field} {self.shown(ctx)} is not a 64-bit hex hash"
        distance, other = closest
        mark = "<=" if ok else ">"
        return (
            f"{self.field} is {distance} bits from {other:016x} ({self.label}), "
            f"{mark} max {self.limit}"
        )


# ---------------------------------------------------------------------------- right-hand sides


class Rhs(ABC):
    @abstractmethod
    def number(self, ctx: Ctx) -> float | None: ...

    @abstractmethod
    def label(self, ctx: Ctx) -> str: ...


@dataclass
class Const(Rhs):
    value: float
    text: str

    def number(self, ctx: Ctx) -> float | None:
        return self.value

    def label(self, ctx: Ctx) -> str:
        return self.text


@dataclass
class Lookup(Rhs):
    name: str
    entries: dict[str, float]
    key: Callable[[dict[str, Any]], Any]
    key_name: str
    times: float
    times_text: str

    def number(self, ctx: Ctx) -> float | None:
        key = self.key(ctx.item)
        if not isinstance(key, str):
            return None
        base = self.entries.get(key)
        return None if base is None else base * self.times

    def label(self, ctx: Ctx) -> str:
        key = self.key(ctx.item)
        base = self.entries.get(key) if isinstance(key, str) else None
        if base is None:
            shown = "missing" if key is MISSING else repr(key)
            return f"{self.name} has no entry for {self.key_name} {shown}"
        return f"{self.name}[{key!r}] {base:g} x {self.times_text}"
