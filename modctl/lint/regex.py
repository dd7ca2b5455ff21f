"""Refuse regular expressions that can backtrack catastrophically.

Python's `re` backtracks, so a quantified group whose body can match the same text in more than
one way, such as `(a+)+`, `(.*)*` or `(a|ab)*`, takes exponential time on a hostile listing. The
check walks the parsed pattern: an unbounded repeat may not contain another repeat of more than
one, nor an alternation whose branches can start with the same character. It errs on the side
of refusing; every refused pattern has a linear rewrite.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from modctl.engine.regex import REPEATS, C, parse

_ANY = object()
# Categories that share no character, so alternations of them never overlap.
_DISJOINT = {
    frozenset({C.CATEGORY_DIGIT, C.CATEGORY_SPACE}),
    frozenset({C.CATEGORY_WORD, C.CATEGORY_SPACE}),
    frozenset({C.CATEGORY_DIGIT, C.CATEGORY_NOT_DIGIT}),
    frozenset({C.CATEGORY_WORD, C.CATEGORY_NOT_WORD}),
    frozenset({C.CATEGORY_SPACE, C.CATEGORY_NOT_SPACE}),
}


@lru_cache(maxsize=4096)
def problem(pattern: str) -> str | None:
    """Why `pattern` is unsafe or invalid, or None when it is fine."""
    try:
        re.compile(pattern)
        tree = parse(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        return f"does not compile: {exc}"
    return _walk(tree, inside_unbounded=False)


def _walk(items: list[Any], *, inside_unbounded: bool) -> str | None:
    for op, arg in items:
        if op in REPEATS:
            _low, high, body = arg
            body = list(body)
            unbounded = high == C.MAXREPEAT or high > 100
            if inside_unbounded and high > 1:
                return "nested quantifier: a repeated group contains another repeat"
            if unbounded and _has_overlapping_branch(body):
                return "repeated alternation whose branches can match the same text"
            found = _walk(body, inside_unbounded=inside_unbounded or unbounded)
            if found:
                return found
        elif op is C.SUBPATTERN:
            found = _walk(list(arg[-1]), inside_unbounded=inside_unbounded)
            if found:
                return found
        elif op is C.BRANCH:
            for branch in arg[1]:
                found = _walk(list(branch), inside_unbounded=inside_unbounded)
                if found:
                    return found
        elif op in (C.ASSERT, C.ASSERT_NOT):
            found = _walk(list(arg[1]), inside_unbounded=inside_unbounded)
            if found:
                return found
    return None


def _has_overlapping_branch(body: list[Any]) -> bool:
    """Whether `body` opens with an alternation two of whose branches can start alike."""
    if not body:
        return False
    op, arg = body[0]
    if op is C.SUBPATTERN:
        return _has_overlapping_branch(list(arg[-1]))
    if op is C.BRANCH:
        firsts = [_first(list(branch)) for branch in arg[1]]
        return any(
            _overlap(left, right) for i, left in enumerate(firsts) for right in firsts[i + 1 :]
        )
    return False


def _first(items: list[Any]) -> list[Any]:
    """What the first character of a match can be: characters, (low, high) ranges,
    categories, or _ANY."""
    for op, arg in items:
        if op is C.LITERAL:
            return [chr(arg)]
        if op is C.ANY or op is C.NOT_LITERAL:
            return [_ANY]
        if op is C.IN:
            out: list[Any] = []
            for sub_op, sub_arg in arg:
                if sub_op is C.LITERAL:
                    out.append(chr(sub_arg))
                elif sub_op is C.RANGE:
                    out.append((chr(sub_arg[0]), chr(sub_arg[1])))
                elif sub_op is C.CATEGORY:
                    out.append(sub_arg)
                else:
                    return [_ANY]
            return out
        if op is C.SUBPATTERN:
            return _first(list(arg[-1]))
        if op in REPEATS:
            low, _high, body = arg
            first = _first(list(body))
            return first if low > 0 else [_ANY]
        if op is C.BRANCH:
            return [atom for branch in arg[1] for atom in _first(list(branch))]
        if op is C.AT:
            continue
        return [_ANY]
    return [_ANY]


def _overlap(left: list[Any], right: list[Any]) -> bool:
    return any(_atoms_overlap(a, b) for a in left for b in right)


def _atoms_overlap(a: Any, b: Any) -> bool:
    if a is _ANY or b is _ANY:
        return True
    if isinstance(a, str) and isinstance(b, str):
        return bool(a.casefold() == b.casefold())
    if isinstance(a, tuple) and isinstance(b, tuple):
        return bool(a[0] <= b[1] and b[0] <= a[1])
    if isinstance(a, str) and isinstance(b, tuple):
        return bool(b[0] <= a <= b[1])
    if isinstance(a, tuple) and isinstance(b, str):
        return bool(a[0] <= b <= a[1])
    if isinstance(a, str) or isinstance(b, str):
        char, category = (a, b) if isinstance(a, str) else (b, a)
        return _in_category(char, category)
    if isinstance(a, tuple) or isinstance(b, tuple):
        low_high, category = (a, b) if isinstance(a, tuple) else (b, a)
        return _in_category(low_high[0], category) or _in_category(low_high[1], category)
    return a == b or frozenset({a, b}) not in _DISJOINT


_CATEGORY_CLASS = {
    C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s",
    C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w",
    C.CATEGORY_NOT_WORD: r"\W",
}


def _in_category(char: str, category: Any) -> bool:
    cls = _CATEGORY_CLASS.get(category)
    return cls is None or re.fullmatch(cls, char) is not None
