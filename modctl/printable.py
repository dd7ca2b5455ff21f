"""Text from outside (arguments, the environment, files, the state branch) made harmless to show:
which characters could steer a terminal or hide themselves, and how they are written out.

Unsafe are control characters (C0, DEL, C1), the line and paragraph separators, the
bidirectional embeddings, overrides and isolates that reorder what a terminal shows, and lone
surrogates (bytes that were not UTF-8, as Python hands them over from argv and the environment).
They are shown as their Python escape (`\\x1b`, `\\u2028`, `\\udcff`), never as themselves.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Letters that render as nothing.
# Characters that are drawn as nothing: Hangul fillers, the blank Braille pattern, the musical
# null notehead.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\U0001d159")


def unsafe(text: str) -> str | None:
    """The first unsafe character of `text`, or None."""
    found = _UNSAFE.search(text)
    return found.group() if found else None


def escape(text: str, *, keep: str = "") -> str:
    """`text` with every unsafe character but those in `keep` written as its Python escape."""
    return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else repr(m.group())[1:-1], text)


def lines(text: str) -> str:
    """Several lines of text for a terminal: unsafe characters escaped, line breaks kept."""
    return escape(text, keep="\n")


def visible(text: str) -> bool:
    """Whether `text` shows anything: not only spaces, zero-width and format characters,
    combining marks or blank letters."""
    return any(_visible(char) for char in text)


def shown(value: str, limit: int = 60) -> str:
    """`value` quoted for a message: escaped, and cut with its length when longer than `limit`."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


def cut(value: str, limit: int = 60) -> str:
    """`value` for a message as it is when short (a path, a name), else as `shown` quotes it."""
    return value if len(value) <= limit else shown(value, limit)


def _visible(char: str) -> bool:
    return not (
        char.isspace()
        or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Mn", "Me", "Zs", "Zl", "Zp")
        or char in _BLANK_LETTERS
    )
