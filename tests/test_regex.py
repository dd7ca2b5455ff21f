"""Which `matches` patterns validation refuses: those Python cannot parse (R007) and those the
linear-time engine cannot run (R014). Patterns that backtrack catastrophically in `re` pass:
modctl never backtracks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modctl.lint.regex import problem
from tests.conftest import run, write_files

NOT_LINEAR = [
    (r"(\w+) \1", "uses a backreference to group 1"),
    (r"(x)(?P<brand>\w+) (?P=brand)", "uses a backreference to group 2"),
    (r"gucci(?= outlet)", "uses a lookahead (?=...)"),
    (r"gucci(?! outlet)", "uses a negative lookahead (?!...)"),
    (r"(?<=genuine )leather", "uses a lookbehind (?<=...)"),
    (r"(?<!genuine )leather", "uses a negative lookbehind (?<!...)"),
    (r"(x)?(?(1)y|z)", "uses a conditional group (?(1)...)"),
    (r"a{2000}", "repeats 2000 times; the most is 1000"),
    (r"a{3,1001}b", "repeats 1001 times; the most is 1000"),
    (r"(?:a{100}){100}", "is too large once compiled (RE2: invalid repetition size: {100})"),
    (r"(?:\w{40}){20}", "is too large once compiled (RE2: pattern too large - compile failed)"),
    (r"(?a:\b)x\b", r"mixes ASCII-only (?a) and Unicode word boundaries (\b, \B)"),
    (r"(?m:^a)|b$", "mixes `$` outside multiline mode with multiline `^` or `$`"),
]
if sys.version_info >= (3, 11):
    NOT_LINEAR += [
        (r"a*+b", "uses a possessive repeat (*+, ++, ?+ or {m,n}+)"),
        (r"(?>a|ab)c", "uses an atomic group (?>...)"),
    ]

# Each of these backtracks catastrophically in `re`; the first five were refused as
# "catastrophic" (R008) before regexes ran in linear time, the last three never were.
RUN_IN_LINEAR_TIME = [
    r"(a+)+$",
    r"(.*)*x",
    r"^(\w+\s?)*$",
    r"(x+x+)+y",
    r"(.a|a.)*$",
    r"(a|a)*b",
    r"(a|aa)+$",
    r"\w*\w*\w*\w*\w*\w*\w*\w*\w*\w*\w*\w*x",
]
SAFE = [
    r"(?i)\b(replica|1:1|aaa grade)\b",
    r"\b(?:mirror|super\s?fake)\s+quality\b",
    r"^[A-Z]{2}-\d{6}$",
    r"(?x) gucci \s+ (?: outlet | store )  # a comment",
    r"(?m)^sale$",
    r"a{1000}",
]


@pytest.mark.parametrize(("pattern", "why"), NOT_LINEAR, ids=[p for p, _ in NOT_LINEAR])
def test_constructs_the_linear_time_engine_cannot_run(pattern: str, why: str) -> None:
    found = problem(pattern)
    assert found is not None
    code, message = found
    assert code == "R014"
    assert message.startswith(why), message
    assert message.endswith("modctl runs regexes in linear time (RE2), which cannot run it")


@pytest.mark.parametrize("pattern", RUN_IN_LINEAR_TIME + SAFE)
def test_patterns_that_run(pattern: str) -> None:
    assert problem(pattern) is None


def test_invalid_pattern() -> None:
    assert problem("[unclosed") == (
        "R007",
        "does not compile: unterminated character set at position 0",
    )


def test_validate_refuses_a_lookbehind_and_a_backreference(
    minimal_repo: Path, runner: CliRunner
) -> None:
    write_files(
        minimal_repo,
        {
            "strategies/demo/rules/more.yaml": """\
- id: not-genuine
  when: {field: title, matches: '(?<!genuine )leather'}
  action: warn
- id: stutter
  when: {field: title, matches: '(\\w+) \\1'}
  action: warn
"""
        },
    )
    code, out = run(runner, minimal_repo, "validate")
    assert code == 1, out
    lines = [line for line in out.splitlines() if " error " in line]
    assert lines == [
        "strategies/demo/rules/more.yaml:2:33: error R014 rule 'not-genuine': regex "
        "'(?<!genuine )leather' uses a negative lookbehind (?<!...): modctl runs regexes in "
        "linear time (RE2), which cannot run it",
        "strategies/demo/rules/more.yaml:5:33: error R014 rule 'stutter': regex '(\\\\w+) \\\\1' "
        "uses a backreference to group 1: modctl runs regexes in linear time (RE2), which cannot "
        "run it",
    ]
    code, out = run(runner, minimal_repo, "test")
    assert code == 1, out
    assert "error R014" in out
