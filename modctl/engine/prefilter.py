"""Literal prefilters for regular expressions.

A pattern such as `(?i)\\b(replica|1:1|aaa grade)\\b` cannot match a text that contains none of
"replica", "1:1", "aaa grade". Those atoms go into the field's automaton, and the regex runs only
on listings where one of them appears. Extraction is sound or gives up: it returns None unless
every match must contain one of the atoms. Atoms are ASCII, casefolded, and searched in folded
text (`text.fold`: casefolded, with dotless and dotted i as i), which keeps every case-sensitive and
case-insensitive match: every character that `re` takes for an ASCII letter folds to it, and
folding keeps a substring a substring.
"""

from __future__ import annotations

from typing import Any

from modctl.engine.regex import REPEATS, C, parse

MIN_ATOM = 2


def atoms(pattern: str) -> frozenset[str] | None:
    """Casefolded literals one of which every match contains, or None."""
    try:
        tree = parse(pattern)
    except Exception:  # the validator reports patterns that do not compile
        return None
    found = _sequence(tree)
    if not found or min(len(a) for a in found) < MIN_ATOM:
        return None
    if not all(a.isascii() for a in found):
        return None
    return frozenset(found)


def _sequence(items: list[Any]) -> set[str] | None:
    """The best required atom set of a sequence: a literal run or a required sub-element."""
    options: list[set[str]] = []
    run: list[str] = []
    for op, arg in items:
        if op is C.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            options.append({"".join(run).casefold()})
            run = []
        found = _element(op, arg)
        if found:
            options.append(found)
    if run:
        options.append({"".join(run).casefold()})
    if not options:
        return None
    return max(options, key=lambda s: (min(len(a) for a in s), -len(s)))


def _element(op: Any, arg: Any) -> set[str] | None:
    if op is C.SUBPATTERN:
        return _sequence(list(arg[-1]))
    if op is C.BRANCH:
        union: set[str] = set()
        for branch in arg[1]:
            found = _sequence(list(branch))
            if not found:
                return None
            union |= found
        return union
    if op in REPEATS:
        low, _high, body = arg
        return _sequence(list(body)) if low >= 1 else None
    return None
