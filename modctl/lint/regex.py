"""The regexes modctl cannot run: those Python cannot parse (R007), and those that need what the
linear-time engine lacks (R014): backreferences, lookaround, conditional groups, possessive
repeats, atomic groups, repeat counts above 1000, programs too large. Patterns are written in
Python's syntax and run with RE2 (`engine.linear`), so checking one means compiling it as the
engine will.
"""

from __future__ import annotations

import re
from functools import lru_cache

from modctl.engine import linear


@lru_cache(maxsize=4096)
def problem(pattern: str) -> tuple[str, str] | None:
    """The finding code and why `pattern` cannot run, or None when it can."""
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:
        return "R007", f"does not compile: {exc}"
    try:
        linear.compile(pattern).check()
    except linear.NotLinear as exc:
        return "R014", f"{exc}: modctl runs regexes in linear time (RE2), which cannot run it"
    return None
