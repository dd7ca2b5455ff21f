from __future__ import annotations

import pytest

from modctl.lint.regex import problem

CATASTROPHIC = [
    r"(a+)+$",
    r"(.*)*x",
    r"^(\w+\s?)*$",
    r"(\d+\.?)+$",
    r"(x+x+)+y",
    r"(.a|a.)*$",
    r"((ab)*)+c",
]
SAFE = [
    r"(?i)\b(replica|1:1|aaa grade)\b",
    r"\b(?:mirror|super\s?fake)\s+quality\b",
    r"(?:foo|bar)+",
    r"(\w|-)+",
    r"(ab|cd)*",
    r"a{1,5}b*",
    r"^[A-Z]{2}-\d{6}$",
    r"(a*)?b",
]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_are_refused(pattern: str) -> None:
    assert problem(pattern) is not None


@pytest.mark.parametrize("pattern", SAFE)
def test_safe_patterns_pass(pattern: str) -> None:
    assert problem(pattern) is None


def test_invalid_pattern() -> None:
    assert problem("[unclosed") == "does not compile: unterminated character set at position 0"
