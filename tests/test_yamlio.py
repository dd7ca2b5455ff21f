from __future__ import annotations

import pytest

from modctl import yamlio


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("regions: [SG, NO]\n", {"regions": ["SG", "NO"]}),
        ("phrase: 1:1\n", {"phrase": "1:1"}),
        ("a: yes\nb: off\n", {"a": "yes", "b": "off"}),
        ("a: true\nb: False\n", {"a": True, "b": False}),
        ("n: 0123\nh: 0x1F\no: 0o17\n", {"n": 123, "h": 31, "o": 15}),
        ("f: 1.5e3\ng: .5\ni: -1e300\n", {"f": 1500.0, "g": 0.5, "i": -1e300}),
        ("big: %s\n" % ("9" * 300), {"big": int("9" * 300)}),
        ("d: 2026-11-25\n", {"d": "2026-11-25"}),
        ("x: ~\ny: null\n", {"x": None, "y": None}),
        ("brand: H&M\nstar: 5*\n", {"brand": "H&M", "star": "5*"}),
        ("\ufeffa: 1\n", {"a": 1}),
    ],
)
def test_scalars_resolve_as_yaml_1_2_core(text: str, expected: object) -> None:
    assert yamlio.loads(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        ("a: 1\nb:\n  c: 2\n  c: 3\n", "Y002", 4, 3),
        ("base: &b {x: 1}\nother: *b\n", "Y003", 1, 7),
        ("list: [*undefined]\n", "Y003", 1, 8),
        ("a:\n  b: 1\n\tc: 2\n", "Y008", 3, 1),
        ("a: [1, 2\n", "Y001", 2, 1),
        ("? [a, b]\n: 1\n", "Y009", 1, 3),
        ("1: one\n", "Y009", 1, 1),
        ("a: 1\n---\na: 2\n", "Y010", 2, 1),
        ("a: \x07\n", "Y001", 1, 4),
        ("# only a comment\n", "Y007", 1, 1),
        ("~\n", "Y007", 1, 1),
        ("a: 1\nb: .inf\n", "Y012", 2, 4),
        ("a: [1, -.Inf]\n", "Y012", 1, 8),
        ("a: .nan\n", "Y012", 1, 4),
        ("a: 1e999\n", "Y012", 1, 4),
        ("a:\n  b: %s\n" % ("9" * 5000), "Y012", 2, 6),
        ("a: 0x%s\n" % ("f" * 5000), "Y012", 1, 4),
        ("a: -%s\n" % ("1" * 400), "Y012", 1, 4),
    ],
)
def test_refusals_are_located(text: str, code: str, line: int, column: int) -> None:
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.loads(text)
    assert (caught.value.code, caught.value.line, caught.value.column) == (code, line, column)


def test_decode_locates_the_first_bad_byte() -> None:
    with pytest.raises(yamlio.YamlError) as caught:
        yamlio.decode(b"a: 1\nb: caf\xe9\n")
    assert (caught.value.code, caught.value.line, caught.value.column) == ("Y005", 2, 7)


def test_source_map_points_at_values_and_keys() -> None:
    text = "rules:\n  - id: a\n    when: {field: title, lt: 3}\n"
    source = yamlio.SourceMap(text)
    assert source.position(("rules", 0, "when", "lt")) == (3, 30)
    assert source.position(("rules", 0, "when", "lt"), key=True) == (3, 26)
    assert source.position(("rules", 0, "missing")) == (2, 5)
    assert yamlio.SourceMap("a: [").position(("a",)) == (1, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: .nan\n", "number .nan is not finite"),
        ("a: -.inf\n", "number -.inf is not finite"),
        ("a: 1e999\n", "number 1e999 is not finite"),
        ("a: %s\n" % ("9" * 5000), "integer of 5000 digits is too large"),
    ],
)
def test_numbers_out_of_range_are_named_as_such(text: str, message: str) -> None:
    with pytest.raises(yamlio.YamlError, match=message):
        yamlio.loads(text)
