"""Python's regex character classes as sets of code points, exactly as `re` matches them.

A set is a tuple of inclusive (low, high) ranges, sorted, apart and not touching. The Unicode
classes `\\w`, `\\d` and `\\s`, and the characters that take part in case-insensitive matching,
come from `re` and `str` themselves (`measure`); `unicode_tables` keeps them for the Unicode
versions of the Pythons modctl supports, and any other version measures them once per process.
Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

from modctl.engine.regex import C

Ranges = tuple[tuple[int, int], ...]

TOP = 0x10FFFF
FULL: Ranges = ((0, TOP),)
NOTHING: Ranges = ()
ASCII: Ranges = ((0, 0x7F),)
CLASSES = {"word": r"\w", "digit": r"\d", "space": r"\s"}
_CATEGORY = {
    C.CATEGORY_DIGIT: ("digit", False),
    C.CATEGORY_NOT_DIGIT: ("digit", True),
    C.CATEGORY_SPACE: ("space", False),
    C.CATEGORY_NOT_SPACE: ("space", True),
    C.CATEGORY_WORD: ("word", False),
    C.CATEGORY_NOT_WORD: ("word", True),
}
_CATEGORY_SOURCE = {
    C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s",
    C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w",
    C.CATEGORY_NOT_WORD: r"\W",
}
# The flags that change which characters one atom matches.
_ATOM_FLAGS = re.IGNORECASE | re.ASCII | re.DOTALL


def of(points: Iterable[int]) -> Ranges:
    out: list[tuple[int, int]] = []
    for point in sorted(set(points)):
        if out and out[-1][1] + 1 == point:
            out[-1] = (out[-1][0], point)
        else:
            out.append((point, point))
    return tuple(out)


def union(*sets: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    for low, high in sorted(r for s in sets for r in s):
        if out and low <= out[-1][1] + 1:
            if high > out[-1][1]:
                out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return tuple(out)


def complement(ranges: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    start = 0
    for low, high in ranges:
        if low > start:
            out.append((start, low - 1))
        start = high + 1
    if start <= TOP:
        out.append((start, TOP))
    return tuple(out)


def minus(a: Ranges, b: Ranges) -> Ranges:
    return complement(union(complement(a), b))


def contains(ranges: Ranges, point: int) -> bool:
    return any(low <= point <= high for low, high in ranges)


# ------------------------------------------------------------------------------ measured tables


def _everything() -> str:
    """Every code point, in order, so that a match at index i is the character chr(i)."""
    return array("I", range(TOP + 1)).tobytes().decode("utf-32-le", "surrogatepass")


def measure() -> dict[str, Ranges]:
    """The Unicode classes of this Python's `re`, and every character with a case mapping or
    the target of one (the only characters whose match can change with IGNORECASE)."""
    everything = _everything()
    found = {
        name: tuple((m.start(), m.end() - 1) for m in re.finditer(f"{source}+", everything))
        for name, source in CLASSES.items()
    }
    cased: set[int] = set()
    for char in everything:
        mapped = {char.lower(), char.upper(), char.casefold()}
        if mapped != {char}:
            cased.add(ord(char))
            cased.update(ord(c) for m in mapped for c in m)
    found["cased"] = of(cased)
    return found


def encode(ranges: Ranges) -> str:
    return " ".join(f"{lo:x}" if lo == hi else f"{lo:x}-{hi:x}" for lo, hi in ranges)


def decode(text: str) -> Ranges:
    out = []
    for part in text.split():
        low, _, high = part.partition("-")
        out.append((int(low, 16), int(high or low, 16)))
    return tuple(out)


def table_source() -> str:
    """This Python's entry of `unicode_tables.TABLES`, as source text."""
    lines = [f'    "{unicodedata.unidata_version}": {{']
    lines += [f'        "{name}": "{encode(ranges)}",' for name, ranges in measure().items()]
    lines.append("    },")
    return "\n".join(lines)


@cache
def _measured() -> dict[str, Ranges]:
    return measure()


@cache
def table(name: str) -> Ranges:
    """One measured class of this Python: from `unicode_tables` when it holds this Unicode
    version, else measured."""
    from modctl.engine.unicode_tables import TABLES

    shipped = TABLES.get(unicodedata.unidata_version)
    return decode(shipped[name]) if shipped is not None else _measured()[name]


@cache
def _cased_text() -> str:
    return "".join(chr(c) for low, high in table("cased") for c in range(low, high + 1))


# ------------------------------------------------------------------------------ atoms


def category(code: Any, *, ascii_only: bool) -> Ranges:
    name, negated = _CATEGORY[code]
    if ascii_only:
        found = of(ord(c) for c in map(chr, range(0x80)) if re.match(CLASSES[name], c, re.ASCII))
    else:
        found = table(name)
    return complement(found) if negated else found


def atom(op: Any, arg: Any, flags: int) -> Ranges:
    """The characters one single-character item of a parsed pattern matches under `flags`:
    a literal, a negated literal, `.` or a class."""
    if op is C.IN:
        arg = tuple(arg)
    return _atom(op, arg, flags & _ATOM_FLAGS)


@lru_cache(maxsize=4096)
def _atom(op: Any, arg: Any, flags: int) -> Ranges:
    ascii_only = bool(flags & re.ASCII)
    if op is C.LITERAL:
        base: Ranges = ((arg, arg),)
    elif op is C.NOT_LITERAL:
        base = complement(((arg, arg),))
    elif op is C.ANY:
        return FULL if flags & re.DOTALL else complement(((10, 10),))
    else:
        parts: list[Ranges] = []
        negated = False
        for item, value in arg:
            if item is C.NEGATE:
                negated = True
            elif item is C.LITERAL:
                parts.append(((value, value),))
            elif item is C.RANGE:
                parts.append((tuple(value),))
            else:
                parts.append(category(value, ascii_only=ascii_only))
        base = union(*parts)
        if negated:
            base = complement(base)
    if not flags & re.IGNORECASE:
        return base
    # Case-insensitive: a character with no case mapping matches as it would without the
    # flag, so only the cased characters need asking, and `re` itself answers for them.
    cased = table("cased")
    found = re.findall(_source(op, arg), _cased_text(), flags & (re.IGNORECASE | re.ASCII))
    return union(minus(base, cased), of(map(ord, found)))


def _source(op: Any, arg: Any) -> str:
    """The item written back as a Python pattern."""
    if op is C.LITERAL:
        return re.escape(chr(arg))
    if op is C.NOT_LITERAL:
        return f"[^{re.escape(chr(arg))}]"
    out = []
    for item, value in arg:
        if item is C.NEGATE:
            out.append("^")
        elif item is C.LITERAL:
            out.append(re.escape(chr(value)))
        elif item is C.RANGE:
            out.append(f"{re.escape(chr(value[0]))}-{re.escape(chr(value[1]))}")
        else:
            out.append(_CATEGORY_SOURCE[value])
    return f"[{''.join(out)}]"
