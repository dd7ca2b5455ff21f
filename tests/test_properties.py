"""Properties over generated input: the loader agrees with JSON; the regex check refuses as
invalid exactly what does not compile, and passes plain literals, repeated or not."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modctl import yamlio
from modctl.lint import regex

# What people type: YAML (libyaml) refuses unprintable characters and surrogates, and reads
# U+0085, U+2028 and U+2029 as line breaks.
printable = st.characters(
    blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\ufeff\ufffe\uffff"
)
text = st.text(printable) | st.text("\t\n\r\"\\ :#&*!|>'%@`-?,[]{}")
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(text, children, max_size=5),
    max_leaves=30,
).filter(lambda doc: doc is not None)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isclose(a, b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=300)
@given(documents)
def test_json_documents_load_as_the_same_data(document: Any) -> None:
    """YAML 1.2 is a superset of JSON: modctl's loader must read any JSON text as JSON does."""
    source = json.dumps(document, ensure_ascii=False)
    if not source.startswith(("{", "[")):
        source = f"[{source}]"
        document = [document]
    assert same(yamlio.loads(source), document)


# Mostly regex syntax, so that both valid and broken patterns come up often.
patterns = st.text(st.sampled_from("ab1 ()[]{}*+?|\\.^$-,:#=<!PdwsS"), max_size=20) | st.text(
    max_size=40
)


def compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError):
        return False
    return True


@pytest.mark.filterwarnings("ignore::FutureWarning")  # re warns of "[[" and "&&" in a set
@settings(max_examples=500)
@given(patterns)
def test_regex_check_refuses_exactly_the_patterns_that_do_not_compile(pattern: str) -> None:
    found = regex.problem(pattern)
    refused_as_broken = found is not None and found[0] == "R007"
    assert refused_as_broken == (not compiles(pattern)), found


@settings(max_examples=300)
@given(st.text(min_size=1, max_size=40))
def test_regex_check_passes_literals_repeated_or_not(text: str) -> None:
    literal = re.escape(text)
    assert regex.problem(literal) is None
    assert regex.problem(f"(?i)\\b{literal}{{1,3}}\\b") is None
    assert regex.problem(f"(?:{literal}+)+") is None
    assert regex.problem(f"x(?:y{literal}*z)*$") is None
