"""Compiled conditions: the listing context, `all`/`any`/`not`, and one class per field test.

Each node offers a fast path (`closure`, nested closures, no tree walking per listing) and a slow
one for people (`explain`, which says what fired). Pure: no I/O.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modctl.engine import hashes
from modctl.engine.fields import MISSING, getter
from modctl.engine.hashes import HashIndex
from modctl.engine.text import Hit, normalize

if TYPE_CHECKING:
    from modctl.engine.compiler import Evaluator
    from modctl.engine.index import Trigger


class Ctx:
    """One item being decided: field values, normalized text and keyword hits, each computed at
    most once."""

    __slots__ = ("_atoms", "_hits", "_norm", "evaluator", "item", "memo")

    def __init__(self, item: dict[str, Any], evaluator: Evaluator) -> None:
        self.item = item
        self.evaluator = evaluator
        self._hits: dict[str, dict[int, Hit]] = {}
        self._atoms: dict[str, dict[int, Hit]] = {}
        self._norm: dict[str, str] = {}
        self.memo: dict[int, bool] = {}

    def atoms(self, field_name: str) -> dict[int, Hit]:
        """Regex prefilter atoms found in the field's casefolded raw text."""
        found = self._atoms.get(field_name)
        if found is None:
            value = self.evaluator.getters[field_name](self.item)
            text = value.casefold() if isinstance(value, str) else ""
            found = self._atoms[field_name] = self.evaluator.atoms[field_name].scan(text)
        return found

    def elements(self, field_name: str, values: list[Any]) -> list[str]:
        return [normalize(v) for v in values if isinstance(v, str)]

    def hits(self, field_name: str) -> dict[int, Hit]:
        found = self._hits.get(field_name)
        if found is None:
            value = self.evaluator.getters[field_name](self.item)
            text = self.normalized(field_name, value) if isinstance(value, str) else ""
            found = self._hits[field_name] = self.evaluator.keywords[field_name].scan(text)
        return found

    def normalized(self, field_name: str, value: str) -> str:
        text = self._norm.get(field_name)
        if text is None:
            text = self._norm[field_name] = normalize(value)
        return text


# ---------------------------------------------------------------------------- conditions


class Node(ABC):
    """A compiled condition. `compiled` is the fast path; `explain` says why, for people."""

    slot: int | None = None  # set when several rules share this node: its result is memoized
    cheap = False  # true when evaluating costs no more than looking the result up

    def compiled(self) -> Callable[[Ctx], bool]:
        inner = self.closure()
        if self.slot is None:
            return inner
        slot = self.slot

        def memoized(ctx: Ctx) -> bool:
            memo = ctx.memo
            found = memo.get(slot)
            if found is None:
                found = memo[slot] = inner(ctx)
            return found

        return memoized

    def parts(self) -> Sequence[Node]:
        return ()

    @abstractmethod
    def closure(self) -> Callable[[Ctx], bool]: ...

    @abstractmethod
    def explain(self, ctx: Ctx) -> tuple[bool, list[str]]: ...

    @abstractmethod
    def leaves(self) -> Iterable[Leaf]: ...


@dataclass
class All(Node):
    children: list[Node]

    def parts(self) -> Sequence[Node]:
        return self.children

    def closure(self) -> Callable[[Ctx], bool]:
        fs = [c.compiled() for c in self.children]
        if len(fs) == 1:
            return fs[0]
        if len(fs) == 2:
            a, b = fs
            return lambda ctx: a(ctx) and b(ctx)
        if len(fs) == 3:
            a, b, c = fs
            return lambda ctx: a(ctx) and b(ctx) and c(ctx)

        def every(ctx: Ctx) -> bool:
            return all(f(ctx) for f in fs)

        return every

    def explain(self, ctx: Ctx) -> tuple[bool, list[str]]:
        reasons: list[str] = []
        for child in self.children:
            ok, why = child.explain(ctx)
            if not ok:
                return False, why
            reasons += why
        return True, reasons

    def leaves(self) -> Iterable[Leaf]:
        for child in self.children:
            yield from child.leaves()


@dataclass
class Any_(Node):
    children: list[Node]

    def parts(self) -> Sequence[Node]:
        return self.children

    def closure(self) -> Callable[[Ctx], bool]:
        fs = [c.compiled() for c in self.children]
        if len(fs) == 1:
            return fs[0]
        if len(fs) == 2:
            a, b = fs
            return lambda ctx: a(ctx) or b(ctx)

        def some(ctx: Ctx) -> bool:
            return any(f(ctx) for f in fs)

        return some

    def explain(self, ctx: Ctx) -> tuple[bool, list[str]]:
        misses: list[str] = []
        for child in self.children:
            ok, why = child.explain(ctx)
            if ok:
                return True, why
            misses += why
        return False, misses

    def leaves(self) -> Iterable[Leaf]:
        for child in self.children:
            yield from child.leaves()


@dataclass
class Not(Node):
    child: Node

    def parts(self) -> Sequence[Node]:
        return (self.child,)

    def closure(self) -> Callable[[Ctx], bool]:
        f = self.child.compiled()
        return lambda ctx: not f(ctx)

    def explain(self, ctx: Ctx) -> tuple[bool, list[str]]:
        ok, why = self.child.explain(ctx)
        return not ok, why  # each reason states a fact, so it explains the negation too

    def leaves(self) -> Iterable[Leaf]:
        yield from self.child.leaves()


class Leaf(Node):
    """A field test. Subclasses implement `check(ctx) -> bool` and `why(ctx, ok) -> str`."""

    field: str
    get: Callable[[dict[str, Any]], Any]
    forced: bool | None = None  # set while looking for near misses

    @abstractmethod
    def check(self, ctx: Ctx) -> bool: ...

    @abstractmethod
    def why(self, ctx: Ctx, ok: bool) -> str: ...

    def closure(self) -> Callable[[Ctx], bool]:
        return self.check

    def explain(self, ctx: Ctx) -> tuple[bool, list[str]]:
        ok = self.check(ctx) if self.forced is None else self.forced
        return ok, [self.why(ctx, ok)]

    def leaves(self) -> Iterable[Leaf]:
        yield self

    def triggers(self) -> list[Trigger] | None:
        """What must hold of a listing for this test to pass (see engine.index)."""
        return [("present", self.field)]

    def shown(self, ctx: Ctx) -> str:
        value = self.get(ctx.item)
        return "missing" if value is MISSING else repr(value)


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


class Exists(Leaf):
    cheap = True

    def __init__(self, field_name: str, want: bool) -> None:
        self.field, self.get, self.want = field_name, getter(field_name), want

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


class Order(Leaf):
    """lt/lte/gt/gte against a number, a param or a lookup."""

    def __init__(self, field_name: str, op: str, rhs: Rhs) -> None:
        self.field, self.get, self.op, self.rhs = field_name, getter(field_name), op, rhs
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
        mark = _SYMBOL[self.op] if ok else f"not {_SYMBOL[self.op]}"
        return f"{self.field} {self.shown(ctx)} {mark} {shown} ({self.rhs.label(ctx)})"


class Equal(Leaf):
    cheap = True

    def __init__(self, field_name: str, op: str, value: Any, label: str) -> None:
        self.field, self.get, self.op = field_name, getter(field_name), op
        self.value, self.label = value, label

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
        mark = _SYMBOL[self.op] if ok else f"not {_SYMBOL[self.op]}"
        return f"{self.field} {self.shown(ctx)} {mark} {self.label}"


class Member(Leaf):
    cheap = True

    def __init__(self, field_name: str, op: str, values: frozenset[Any], label: str) -> None:
        self.field, self.get, self.op = field_name, getter(field_name), op
        self.values, self.label, self.want = values, label, op == "in"

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
        self.field, self.get, self.set_id, self.label = (
            field_name,
            getter(field_name),
            set_id,
            label,
        )

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
        self.field, self.get, self.values, self.label = (
            field_name,
            getter(field_name),
            values,
            label,
        )

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
    def __init__(self, field_name: str, pattern: str, atom_set: int | None) -> None:
        self.field, self.get = field_name, getter(field_name)
        self.pattern = pattern
        self.search = re.compile(pattern).search
        self.atom_set = atom_set

    def triggers(self) -> list[Trigger] | None:
        if self.atom_set is None:
            return [("present", self.field)]
        return [("atom", self.field, self.atom_set)]

    def check(self, ctx: Ctx) -> bool:
        value = self.get(ctx.item)
        return isinstance(value, str) and self.search(value) is not None

    def why(self, ctx: Ctx, ok: bool) -> str:
        value = self.get(ctx.item)
        found = self.search(value) if isinstance(value, str) else None
        if found is None:
            return f"{self.field} does not match /{self.pattern}/"
        return f"{self.field} matches /{self.pattern}/ with {found.group(0)!r} at {found.start()}-{found.end()}"


class Near(Leaf):
    """within_distance: Hamming distance between 64-bit perceptual hashes."""

    def __init__(self, field_name: str, index: HashIndex, label: str) -> None:
        self.field, self.get = field_name, getter(field_name)
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
