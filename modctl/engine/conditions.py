"""Compiled conditions: the listing context, `all`/`any`/`not`, and the base of field tests (the
field tests themselves are in engine.operators).

Each node offers a fast path (`closure`, nested closures, no tree walking per listing) and a slow
one for people (`explain`, which says what fired). Pure: no I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from modctl.engine.fields import MISSING, getter
from modctl.engine.text import Hit, KeywordIndex, fold, normalize

if TYPE_CHECKING:
    from modctl.engine.compiler import Evaluator
    from modctl.engine.index import Trigger


class Ctx:
    """One item being decided: field values and keyword hits, each computed at most once."""

    __slots__ = ("_atoms", "_hits", "evaluator", "item", "memo")

    def __init__(self, item: dict[str, Any], evaluator: Evaluator) -> None:
        self.item = item
        self.evaluator = evaluator
        self._hits: dict[str, dict[int, Hit]] = {}
        self._atoms: dict[str, dict[int, Hit]] = {}
        self.memo: dict[int, bool] = {}

    def atoms(self, field_name: str) -> dict[int, Hit]:
        """Regex prefilter atoms found in the field's folded raw text (see `text.fold`)."""
        found = self._atoms.get(field_name)
        if found is None:
            found = self._atoms[field_name] = self._scan(
                self.evaluator.atoms[field_name], field_name, fold
            )
        return found

    def elements(self, field_name: str, values: list[Any]) -> list[str]:
        return [normalize(v) for v in values if isinstance(v, str)]

    def hits(self, field_name: str) -> dict[int, Hit]:
        """Keyword sets found in the field's normalized text."""
        found = self._hits.get(field_name)
        if found is None:
            found = self._hits[field_name] = self._scan(
                self.evaluator.keywords[field_name], field_name, normalize
            )
        return found

    def _scan(
        self, automaton: KeywordIndex, field_name: str, fold: Callable[[str], str]
    ) -> dict[int, Hit]:
        value = self.evaluator.getters[field_name](self.item)
        return automaton.scan(fold(value) if isinstance(value, str) else "")


class Node(ABC):
    """A compiled condition. `compiled` is the fast path; `explain` says why, for people.
    Both give exactly True or False, never another truthy or falsy value."""

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
class Junction(Node):
    """`all` or `any` of the children, which differ only in `settles`: the child result that
    decides the whole (False for `all`, True for `any`). Children are evaluated in order up to
    the first that settles it."""

    children: list[Node]
    settles: ClassVar[bool]

    def parts(self) -> Sequence[Node]:
        return self.children

    def closure(self) -> Callable[[Ctx], bool]:
        fs = [c.compiled() for c in self.children]
        settles = self.settles
        # Two and three children, the usual sizes, are unrolled: no loop per listing.
        if len(fs) == 1:
            return fs[0]
        if len(fs) == 2:
            a, b = fs
            return lambda ctx: settles if a(ctx) is settles else b(ctx)
        if len(fs) == 3:
            a, b, c = fs
            return lambda ctx: settles if a(ctx) is settles or b(ctx) is settles else c(ctx)

        def joined(ctx: Ctx) -> bool:
            for f in fs:
                if f(ctx) is settles:
                    return settles
            return not settles

        return joined

    def explain(self, ctx: Ctx) -> tuple[bool, list[str]]:
        """The reasons of the child that settles the whole, or else those of every child."""
        reasons: list[str] = []
        for child in self.children:
            ok, why = child.explain(ctx)
            if ok is self.settles:
                return ok, why
            reasons += why
        return not self.settles, reasons

    def leaves(self) -> Iterable[Leaf]:
        for child in self.children:
            yield from child.leaves()


class All(Junction):
    settles = False


class Any_(Junction):
    settles = True


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
    """A test of one field. Subclasses implement `check(ctx) -> bool` and `why(ctx, ok) -> str`."""

    forced: bool | None = None  # set while looking for near misses

    def __init__(self, field_name: str) -> None:
        self.field = field_name
        self.get = getter(field_name)

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
