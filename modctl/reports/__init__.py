"""Rendering results for people and machines: one function per output format (text, JSON, GitHub
annotations, JUnit) for every command that reports. Takes result data from the core and returns
strings: it never reads files, runs git, prints or exits. May import the result types of every
core package; never `cli`.
"""

from __future__ import annotations

import json
from typing import Any


def to_json(data: Any) -> str:
    """The one JSON layout of `--output json`: indented, UTF-8 text left unescaped."""
    return json.dumps(data, indent=2, ensure_ascii=False)
