r"""Python regular expressions written in RE2's syntax, with the meaning `re` gives them.

modctl runs every `matches` pattern with RE2, whose time grows linearly with the text. Patterns
are written in Python's syntax and mean what `re` makes of them, which RE2 would read otherwise:
its `\w`, `\d`, `\s` and `\b` are ASCII, its `(?i)` pairs other characters, its `$` is only the
very end, and it refuses `(?x)`, `\Z` or `{,n}`. So Python's own parser reads the pattern and
this module writes the same language for RE2, every character class spelled out as the code
points `re` matches (`charsets`), and every group non-capturing.

Three of Python's assertions look at characters RE2 would read differently, so they get help
from the text (`Mode`):
- `\b` and `\B` are Unicode word boundaries in `re` and ASCII ones in RE2. They agree on ASCII
  text; other text is encoded in units (`_` as `__`, every other word character outside ASCII c
  as `_c_`), which puts an ASCII word character on both edges of every word character, and each
  item of the pattern matches whole units, from the start of the text on.
- `$` outside multiline mode also holds before a newline that ends the text. RE2's `\z` is that
  on text not ending in a newline, and its multiline `$` on text whose only newline ends it;
  otherwise the newlines before the last one (and NUL, the escape) are encoded as units.
- `\B` never holds in empty text in `re`. And RE2 tries a match from every byte, so an ASCII
  `\B` (under `(?a)`) holds inside a character of several bytes: such a pattern is tried, like
  text in units, only from the start of a character.
Backreferences, lookaround, conditional groups, possessive repeats and atomic groups have no
linear-time form: `NotLinear` names them. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from modctl.engine import charsets
from modctl.engine.charsets import Ranges
from modctl.engine.regex import REPEATS, C

MAX_REPEAT = 1000  # RE2's largest repeat count
NEVER = r"[^\x00-\x{10ffff}]"
UNDERSCORE = 0x5F
SURROGATES: Ranges = ((0xD800, 0xDFFF),)
_SINGLE = frozenset({C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN})
_TYPE_FLAGS = re.ASCII | re.UNICODE | re.LOCALE
_POSSESSIVE = getattr(C, "POSSESSIVE_REPEAT", None)  # Python 3.11+
_ATOMIC = getattr(C, "ATOMIC_GROUP", None)  # Python 3.11+


class NotLinear(ValueError):
    """The pattern needs a construct no linear-time engine runs; the message names it."""


@dataclass(frozen=True)
class Mode:
    """How the text is given to RE2, which decides how the assertions above are written."""

    words: bool = False  # word characters encoded in units
    newlines: bool = False  # NUL and every newline but a last one encoded in units
    end_line: bool = False  # `$` outside multiline mode written as RE2's multiline `$`
    empty: bool = False  # the text is empty

    @property
    def units(self) -> bool:
        return self.words or self.newlines


@dataclass(frozen=True)
class Shape:
    """What a pattern needs of the text beyond its characters."""

    word_boundary: bool  # a Unicode \b or \B
    end: bool  # `$` outside multiline mode
    ascii_non_boundary: bool = False  # \B under (?a)

    def anchored(self, mode: Mode) -> bool:
        """Whether the program walks the text from its start, character by character (unit by
        unit), rather than leaving RE2 to try every byte."""
        return mode.units or self.ascii_non_boundary


def shape(tree: list[Any], flags: int) -> Shape:
    """The pattern's needs; raises NotLinear for a construct RE2 cannot run."""
    found: dict[str, bool] = {}
    _survey(tree, flags, found)
    if found.get("unicode_boundary") and found.get("ascii_boundary"):
        raise NotLinear(r"mixes ASCII-only (?a) and Unicode word boundaries (\b, \B)")
    if found.get("end") and found.get("line"):
        raise NotLinear(
            r"mixes `$` outside multiline mode with multiline `^` or `$`; write \Z for the end "
            "of the text, or use (?m) for the whole pattern"
        )
    return Shape(
        bool(found.get("unicode_boundary")),
        bool(found.get("end")),
        bool(found.get("ascii_non_boundary")),
    )


def _survey(items: list[Any], flags: int, found: dict[str, bool]) -> None:
    for op, arg in items:
        if op is C.BRANCH:
            for branch in arg[1]:
                _survey(list(branch), flags, found)
        elif op is C.SUBPATTERN:
            _group, add, remove, body = arg
            _survey(list(body), _scoped(flags, add, remove), found)
        elif op in REPEATS:
            low, high, body = arg
            if low > MAX_REPEAT or (high != C.MAXREPEAT and high > MAX_REPEAT):
                count = low if high == C.MAXREPEAT or low > MAX_REPEAT else high
                raise NotLinear(f"repeats {count} times; the most is {MAX_REPEAT}")
            _survey(list(body), flags, found)
        elif op is C.AT:
            _survey_at(arg, flags, found)
        elif op not in _SINGLE:
            raise NotLinear(f"uses {_construct(op, arg)}")


def _scoped(flags: int, add: int, remove: int) -> int:
    """The flags inside `(?add-remove:...)`, as `re` combines them: `(?u:...)` inside `(?a)`
    means Unicode again."""
    if add & _TYPE_FLAGS:
        flags &= ~_TYPE_FLAGS
    return (flags | add) & ~remove


def _survey_at(code: Any, flags: int, found: dict[str, bool]) -> None:
    if code in (C.AT_BOUNDARY, C.AT_NON_BOUNDARY):
        found["ascii_boundary" if flags & re.ASCII else "unicode_boundary"] = True
        if code is C.AT_NON_BOUNDARY and flags & re.ASCII:
            found["ascii_non_boundary"] = True
    elif code in (C.AT_BEGINNING, C.AT_END) and flags & re.MULTILINE:
        found["line"] = True
    elif code is C.AT_END:
        found["end"] = True


def _construct(op: Any, arg: Any) -> str:
    if op is C.GROUPREF:
        return f"a backreference to group {arg}"
    if op is C.GROUPREF_EXISTS:
        return f"a conditional group (?({arg[0]})...)"
    if op is C.ASSERT:
        return "a lookahead (?=...)" if arg[0] == 1 else "a lookbehind (?<=...)"
    if op is C.ASSERT_NOT:
        return "a negative lookahead (?!...)" if arg[0] == 1 else "a negative lookbehind (?<!...)"
    if op is _POSSESSIVE:
        return "a possessive repeat (*+, ++, ?+ or {m,n}+)"
    if op is _ATOMIC:
        return "an atomic group (?>...)"
    return f"{str(op).lower()}, which only a backtracking engine runs"


def program(tree: list[Any], flags: int, needs: Shape, mode: Mode, *, capture: bool = False) -> str:
    """The pattern in RE2's syntax for text given as `mode` says. With `capture`, group 1 (when
    `needs.anchored(mode)`) or the whole match spans what the pattern matched."""
    writer = _Writer(mode)
    body = writer.sequence(tree, flags)
    if not needs.anchored(mode):
        return body
    # From the start, skipping whole units, so that every item starts at the start of one.
    skip = writer.chars(charsets.FULL)
    return rf"\A(?:{skip})*?" + (f"({body})" if capture else f"(?:{body})")


class _Writer:
    def __init__(self, mode: Mode) -> None:
        self.mode = mode

    def sequence(self, items: list[Any], flags: int) -> str:
        return "".join(self.item(op, arg, flags) for op, arg in items)

    def item(self, op: Any, arg: Any, flags: int) -> str:
        if op in _SINGLE:
            return self.chars(charsets.atom(op, arg, flags))
        if op is C.BRANCH:
            return "(?:" + "|".join(self.sequence(list(b), flags) for b in arg[1]) + ")"
        if op is C.SUBPATTERN:
            _group, add, remove, body = arg
            return f"(?:{self.sequence(list(body), _scoped(flags, add, remove))})"
        if op in REPEATS:
            low, high, body = arg
            lazy = "?" if op is C.MIN_REPEAT else ""
            return f"(?:{self.sequence(list(body), flags)}){_count(low, high)}{lazy}"
        if op is C.AT:
            return self.at(arg, flags)
        raise NotLinear(f"uses {_construct(op, arg)}")

    def at(self, code: Any, flags: int) -> str:
        multiline = bool(flags & re.MULTILINE)
        if code is C.AT_BEGINNING:
            return "(?m:^)" if multiline else r"\A"
        if code is C.AT_BEGINNING_STRING:
            return r"\A"
        if code is C.AT_END:
            return "(?m:$)" if multiline or self.mode.end_line else r"\z"
        if code is C.AT_END_STRING:
            return r"\z"
        if code is C.AT_BOUNDARY:
            return r"\b"
        if code is C.AT_NON_BOUNDARY:
            return NEVER if self.mode.empty else r"\B"
        raise NotLinear(f"uses {str(code).lower()}")  # pragma: no cover

    def chars(self, ranges: Ranges) -> str:
        """One character of `ranges`, as one unit when the text is in units."""
        mode = self.mode
        if not mode.units:
            return _class(ranges)
        return _unit(ranges, words=mode.words, newlines=mode.newlines)


@lru_cache(maxsize=4096)
def _unit(ranges: Ranges, *, words: bool, newlines: bool) -> str:
    escaped: list[int] = []
    if words:
        escaped.append(UNDERSCORE)
    if newlines:
        escaped += [0x00, 0x0A]
    parts = []
    single = charsets.minus(ranges, charsets.of(escaped))
    if single:
        parts.append(_class(single))
    if words:
        if charsets.contains(ranges, UNDERSCORE):
            parts.append("__")
        wide = charsets.minus(ranges, charsets.ASCII)
        if wide:
            parts.append(f"_{_class(wide)}_")
    if newlines:
        if charsets.contains(ranges, 0x00):
            parts.append(r"\x00\x00")
        if charsets.contains(ranges, 0x0A):
            parts += [r"\x00\x01", r"\n"]  # a newline before the last, the last one
    if not parts:
        return NEVER
    return parts[0] if len(parts) == 1 else f"(?:{'|'.join(parts)})"


def _count(low: int, high: int) -> str:
    if high == C.MAXREPEAT:
        return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
    if (low, high) == (0, 1):
        return "?"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


@lru_cache(maxsize=4096)
def _class(ranges: Ranges) -> str:
    ranges = charsets.minus(ranges, SURROGATES)  # no UTF-8 text holds one
    if not ranges:
        return NEVER
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _char(ranges[0][0])
    if _case_pair(ranges):
        # RE2 reads the class [Ss] as "s, either case", and merging that into an alternation
        # of single characters adds every case variant Unicode knows (the long s, the Kelvin
        # sign). An alternation of the two letters stays the two letters.
        return f"(?:{_char(ranges[0][0])}|{_char(ranges[1][0])})"
    inside = "".join(
        _char(low) if low == high else f"{_char(low)}-{_char(high)}" for low, high in ranges
    )
    return f"[{inside}]"


def _case_pair(ranges: Ranges) -> bool:
    """Whether `ranges` is an ASCII capital and its small letter, and nothing else."""
    if len(ranges) != 2 or any(low != high for low, high in ranges):
        return False
    upper, lower = ranges[0][0], ranges[1][0]
    return 0x41 <= upper <= 0x5A and lower == upper + 0x20


def _char(point: int) -> str:
    char = chr(point)
    return char if char.isascii() and char.isalnum() else f"\\x{{{point:x}}}"


# ------------------------------------------------------------------------------ the text

_WORD_UNIT = re.compile(r"[^\W\x00-\x5e\x60-\x7f]")  # word characters outside ASCII, and _
_WORD_UNITS = re.compile(r"__|_([^_])_")
_NEWLINE_UNITS = re.compile(r"\x00[\x00\x01]")


def _word_unit(found: re.Match[str]) -> str:
    char = found.group()
    return "__" if char == "_" else f"_{char}_"


def encode(text: str, mode: Mode) -> str:
    """The text as RE2 reads it in `mode`."""
    if mode.words:
        text = _WORD_UNIT.sub(_word_unit, text)
    if mode.newlines:
        last = text[-1]
        text = text[:-1].replace("\x00", "\x00\x00").replace("\n", "\x00\x01") + last
    return text


def decode(encoded: str, mode: Mode) -> str:
    """The text a prefix of `encode(text, mode)` that ends between units stands for."""
    if mode.newlines:
        encoded = _NEWLINE_UNITS.sub(lambda m: "\x00" if m.group() == "\x00\x00" else "\n", encoded)
    if mode.words:
        encoded = _WORD_UNITS.sub(lambda m: m.group(1) or "_", encoded)
    return encoded
