"""Values written into Markdown (the incident postmortem, the analytics reports): literal text,
code spans, and GitHub tables."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from modctl import printable

# Characters of Markdown text that could start emphasis, a link, HTML, a table cell, math or
# strike-through; each is written with a backslash (CommonMark escapes any ASCII punctuation).
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|&~$])")


def markdown(value: Any) -> str:
    """A value as literal Markdown text on one line (in a paragraph, a list or a table cell)."""
    return _MARKDOWN.sub(r"\\\1", printable.escape(str(value)))


def code(value: str) -> str:
    """A value as a Markdown code span, whatever backticks it holds; a line break in it is
    shown escaped, since one would end the span's paragraph and start Markdown of its own."""
    value = printable.escape(value)
    longest = max((len(run) for run in re.findall("`+", value)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {value} " if value.startswith("`") or value.endswith("`") else value
    return f"{fence}{padded}{fence}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub table; every cell is literal text (`markdown`), headers included."""
    lines = [
        "| " + " | ".join(markdown(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(markdown(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fence(text: str, info: str = "sh") -> str:
    """`text` in a fenced code block whose fence no line of it can close."""
    longest = max((len(run) for run in re.findall("`{3,}", text)), default=2)
    marks = "`" * (longest + 1)
    return f"{marks}{info}\n{printable.lines(text)}\n{marks}"
