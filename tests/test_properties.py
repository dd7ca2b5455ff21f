"""Properties over generated input: the loader agrees with JSON, the regex check never crashes."""

from __future__ import annotations

import json
import math
from typing import Any

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


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_regex_check_never_crashes(pattern: str) -> None:
    result = regex.problem(pattern)
    assert result is None or isinstance(result, str)
