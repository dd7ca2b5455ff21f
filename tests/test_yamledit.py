"""The door for editing YAML in place: each edit changes its own characters and no other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modctl import yamlio
from modctl.yamledit import Document, EditError, block, block_item, quoted, render

RULES = """\
# header

- id: a   # the first
  action: warn

# about b
- id: b
  action: warn
  # a note inside b

# about c
- id: c
  action: warn
"""

Edit = Callable[[Document], None]

CASES: dict[str, tuple[str, Edit, str]] = {
    "remove a middle item with the comments above it": (
        RULES,
        lambda d: d.remove_item((), 1),
        RULES.replace("# about b\n- id: b\n  action: warn\n  # a note inside b\n\n", ""),
    ),
    "remove the last item and the blank line before it": (
        RULES,
        lambda d: d.remove_item((), 2),
        RULES.replace("\n# about c\n- id: c\n  action: warn\n", ""),
    ),
    "remove the first item, the header stays": (
        RULES,
        lambda d: d.remove_item((), 0),
        RULES.replace("- id: a   # the first\n  action: warn\n\n", ""),
    ),
    "remove the only item of a top-level list": (
        "# header\n- id: a\n  action: warn\n",
        lambda d: d.remove_item((), 0),
        "# header\n[]\n",
    ),
    "remove the only item of a list under a key": (
        "name: x\nitems:  # the ids\n  - a\n",
        lambda d: d.remove_item(("items",), 0),
        "name: x\nitems: []  # the ids\n",
    ),
    "remove the last item of a nested list followed by a key": (
        "- id: a\n  regions:\n    - SG\n    - MY\n  action: warn\n",
        lambda d: d.remove_item((0, "regions"), 1),
        "- id: a\n  regions:\n    - SG\n  action: warn\n",
    ),
    "remove from a flow list over several lines": (
        "items: [\n  a,  # first\n  b,\n]\n",
        lambda d: d.remove_item(("items",), 0),
        "items: [\n  b,\n]\n",
    ),
    "remove the last item of a flow list": (
        "regions: [SG, MY, TH]  # three\n",
        lambda d: d.remove_item(("regions",), 2),
        "regions: [SG, MY]  # three\n",
    ),
    "append after an item with a comment": (
        "items:\n  - a  # x\nowner: me\n",
        lambda d: d.append_items(("items",), ["b", "true"]),
        "items:\n  - a  # x\n  - b\n  - 'true'\nowner: me\n",
    ),
    "append in the quoting of the last item": (
        "items:\n  - 'a'\n",
        lambda d: d.append_items(("items",), ["it's"]),
        "items:\n  - 'a'\n  - 'it''s'\n",
    ),
    "append to an empty flow list": (
        "items: []\n",
        lambda d: d.append_items(("items",), ["a", "b"]),
        "items: [a, b]\n",
    ),
    "add a key to a flow mapping": (
        "- {id: a, action: warn}  # short\n",
        lambda d: (
            d.set_value((0, "action"), "review"),
            d.add_key((0,), "queue", "q", after="action"),
        ),
        "- {id: a, action: review, queue: q}  # short\n",
    ),
    "add a key with CRLF line ends": (
        "- id: a\r\n  action: warn\r\n  tags: [x]\r\n",
        lambda d: d.add_key((0,), "mode", "shadow", after="action"),
        "- id: a\r\n  action: warn\r\n  mode: shadow\r\n  tags: [x]\r\n",
    ),
    "add a key after a last line without a line break": (
        "- id: a\n  action: warn",
        lambda d: d.add_key((0,), "regions", ["SG", "MY"], after="action"),
        "- id: a\n  action: warn\n  regions: [SG, MY]\n",
    ),
    "add a key after a folded block value": (
        "- id: a\n  action: >-\n    warn\n\n- id: b\n  action: warn\n",
        lambda d: d.add_key((0,), "mode", "shadow", after="action"),
        "- id: a\n  action: >-\n    warn\n  mode: shadow\n\n- id: b\n  action: warn\n",
    ),
    "set a value in its quotes, the comment after it kept": (
        "- id: a\n  action: 'warn'    # for now\n",
        lambda d: d.set_value((0, "action"), "review"),
        "- id: a\n  action: 'review'    # for now\n",
    ),
    "append an item to a top-level list after a blank line": (
        RULES,
        lambda d: d.append_item("- id: d\n  action: warn\n"),
        RULES + "\n- id: d\n  action: warn\n",
    ),
    "append after the comments indented under the last item, before a footer": (
        "- id: a\n  action: warn\n  # a note inside a\n# footer\n",
        lambda d: d.append_item("# about d\n- id: d\n  action: warn\n"),
        "- id: a\n  action: warn\n  # a note inside a\n\n# about d\n- id: d\n  action: warn\n"
        "# footer\n",
    ),
    "append to an empty top-level list, the header kept": (
        "# header\n[]\n",
        lambda d: d.append_item("- id: d\n  action: warn\n"),
        "# header\n- id: d\n  action: warn\n",
    ),
    "append with CRLF line ends, after a last line without a line break": (
        "- id: a\r\n  action: warn",
        lambda d: d.append_item("- id: d\n  action: warn\n"),
        "- id: a\r\n  action: warn\r\n\r\n- id: d\r\n  action: warn\r\n",
    ),
    "set a number": (
        "params: {max: 6, min: 1}\n",
        lambda d: d.set_value(("params", "max"), 0.25),
        "params: {max: 0.25, min: 1}\n",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_edit(name: str) -> None:
    text, edit, expected = CASES[name]
    document = Document(text)
    edit(document)
    assert document.text == expected
    yamlio.loads(expected)  # still one strict YAML document


def test_a_comment_between_the_dash_and_its_item_is_refused() -> None:
    document = Document("- # the rule\n  id: a\n  action: warn\n- id: b\n  action: warn\n")
    with pytest.raises(EditError, match="line 2: a comment between `-` and the item it opens"):
        document.remove_item((), 0)


def test_a_path_that_is_not_there_is_refused() -> None:
    with pytest.raises(EditError, match=r"\[3\]\.action is not in the file"):
        Document("- id: a\n  action: warn\n").set_value((3, "action"), "review")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("gucci", "gucci"),
        ("true", "'true'"),
        ("1.5", "'1.5'"),
        ("a, b", "'a, b'"),
        ("x #y", "'x #y'"),
        ("Pokémon", "Pokémon"),
        ("two\nlines", '"two\\nlines"'),
        (["SG", "MY"], "[SG, MY]"),
        (0.3, "0.3"),
        (True, "true"),
    ],
)
def test_render_reads_back_as_the_value(value: Any, text: str) -> None:
    assert render(value) == text
    assert yamlio.loads(f"v: {text}\n")["v"] == value


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[{id: a, action: warn}]\n", "line 1: the list is written in flow style"),
        ("name: x\n", "the file is not a list"),
    ],
)
def test_append_item_refuses_what_it_cannot_append_to(text: str, why: str) -> None:
    with pytest.raises(EditError, match=why):
        Document(text).append_item("- id: d\n  action: warn\n")


def test_block_writes_the_reference_layout() -> None:
    rule = {
        "id": "fake-watch",
        "regions": ["SG", "MY"],
        "when": {"field": "title", "matches": quoted("(?i)\\bfake\\b")},
        "action": "review",
        "queue": "ipr-review",
        "params": {"max": 0.3},
    }
    text = block_item(rule, frozenset({"when", "regions"}))
    assert text == (
        "- id: fake-watch\n"
        "  regions: [SG, MY]\n"
        "  when: {field: title, matches: '(?i)\\bfake\\b'}\n"
        "  action: review\n"
        "  queue: ipr-review\n"
        "  params:\n"
        "    max: 0.3\n"
    )
    assert yamlio.loads(text) == [rule]
    assert block({"name": "x", "items": ["a", "b"]}) == "name: x\nitems:\n  - a\n  - b\n"
