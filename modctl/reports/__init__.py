"""Rendering results for people and machines: one function per output format (text, JSON, GitHub
annotations, JUnit) for every command that reports. Takes result data from the core and returns
strings: it never reads files, runs git, prints or exits. May import the result types of every
core package; never `cli`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from modctl import printable

# What json.dumps leaves as it is with ensure_ascii=False and a terminal must not see raw (DEL,
# C1 controls, line and paragraph separators, bidirectional overrides, lone surrogates); C0
# controls it escapes itself.
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def to_json(data: Any) -> str:
    """The one JSON layout of `--output json`: indented, UTF-8 text left unescaped but for the
    characters that could steer a terminal, written as `\\uXXXX`."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def cell(value: Any) -> str:
    """A value from outside as one table cell: every unsafe character escaped, line breaks too,
    so a value can neither steer the terminal nor pose as a row of its own."""
    return printable.escape(str(value))
