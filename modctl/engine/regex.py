"""Python's own parser of regular expressions, for code that walks a pattern's structure.

The parser is private to `re` (`re._parser` from Python 3.11, `sre_parse` before), so this is the
one module that imports it. A parsed pattern is a list of (opcode, argument) pairs; opcodes are
the constants of `C`. Used by the regex prefilter and by the translation of patterns into the
linear-time engine's syntax (`translate`).
"""

from __future__ import annotations

import sys
from typing import Any

if sys.version_info >= (3, 11):
    from re import _constants as C
    from re import _parser
else:  # pragma: no cover
    import sre_constants as C
    import sre_parse as _parser

__all__ = ["REPEATS", "C", "parse", "parse_with_flags"]

REPEATS = frozenset({C.MAX_REPEAT, C.MIN_REPEAT})


def parse(pattern: str) -> list[Any]:
    """The pattern's top-level sequence; raises `re.error` (or OverflowError, RecursionError)
    when it does not compile."""
    return parse_with_flags(pattern)[0]


def parse_with_flags(pattern: str) -> tuple[list[Any], int]:
    """The pattern's top-level sequence and its global flags (those of `re.compile` plus the
    inline ones at its start, such as `(?i)`)."""
    parsed = _parser.parse(pattern)
    return list(parsed), int(parsed.state.flags)  # type: ignore[call-overload]
