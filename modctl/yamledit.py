"""The door for editing a person's YAML file in place: each change is spliced into the file's
own text, and every other byte stays as it was (comments, blank lines, quoting, indentation,
line endings).

Reading stays with `yamlio`'s strict loader; this door serves the writes that must keep a file
as its authors wrote it (`hotpatch fold`). ruamel.yaml's round-trip parser says where each node
starts and ends, and its round-trip dumper renders new values, in the quoting of their
neighbours; only those characters change. (Dumping the whole document again through ruamel.yaml
would re-indent top-level sequences and respace comments at the ends of lines.)
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

Path_ = tuple[str | int, ...]
_SPACE = " \t\r\n"


class EditError(Exception):
    """The file is laid out in a way this door cannot edit without touching other lines."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Document:
    """One YAML document's text, changed edit by edit; `text` is the result so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._root: Node | None = None

    def set_value(self, path: Path_, value: Any) -> None:
        """Replace the scalar or flow collection at `path`; a string keeps the quotes it had."""
        node = self._node(path)[0]
        if isinstance(node, ScalarNode):
            style = node.style if isinstance(value, str) else None
            self._splice(node.start_mark.index, self._end(node), render(value, style))
        elif isinstance(node, CollectionNode) and node.flow_style:
            self._splice(node.start_mark.index, node.end_mark.index, render(value))
        else:
            raise EditError(f"{_shown(path)} is a block collection; edit its items")

    def add_key(self, path: Path_, key: str, value: Any, *, after: str) -> None:
        """Add `key: value` to the mapping at `path`, right after its key `after`."""
        mapping = self._node(path)[0]
        if not isinstance(mapping, MappingNode):
            raise EditError(f"{_shown(path)} is not a mapping")
        anchor = next((pair for pair in mapping.value if pair[0].value == after), None)
        if anchor is None:
            raise EditError(f"{_shown(path)} has no key {after!r}")
        entry = f"{render(key)}: {render(value)}"
        end = self._end(anchor[1])
        if mapping.flow_style:
            self._splice(end, end, f", {entry}")
            return
        at = self._next_line(end)
        indent = " " * anchor[0].start_mark.column
        self._splice(at, at, f"{self._break_before(at)}{indent}{entry}{self._newline}")

    def remove_item(self, path: Path_, index: int) -> None:
        """Remove item `index` of the sequence at `path`, with the comment lines written right
        above it (the first item's belong to what comes before: a file's header stays)."""
        seq, parent, key = self._node(path)
        if not isinstance(seq, SequenceNode):
            raise EditError(f"{_shown(path)} is not a sequence")
        items = seq.value
        item = items[index]
        if seq.flow_style:
            if len(items) == 1:
                self._splice(item.start_mark.index, self._end(item), "")
            elif index < len(items) - 1:
                self._splice(item.start_mark.index, items[index + 1].start_mark.index, "")
            else:
                self._splice(self._end(items[index - 1]), self._end(item), "")
            return
        if len(items) == 1:
            self._empty(seq, parent, key)
        elif index < len(items) - 1:
            self._splice(self._lead(seq, index), self._blank_after(self._own_end(seq, index)), "")
        else:
            start = self._blank_before(self._lead(seq, index))
            self._splice(start, self._own_end(seq, index), "")

    def append_items(self, path: Path_, values: list[Any]) -> None:
        """Add `values` at the end of the sequence at `path`, quoted as its last item is."""
        seq = self._node(path)[0]
        if not isinstance(seq, SequenceNode):
            raise EditError(f"{_shown(path)} is not a sequence")
        if not values:
            return
        last = seq.value[-1] if seq.value else None
        style = last.style if isinstance(last, ScalarNode) else None
        rendered = [render(v, style if isinstance(v, str) else None) for v in values]
        if seq.flow_style:
            if last is None:
                at = seq.start_mark.index + 1  # just inside `[`
                self._splice(at, at, ", ".join(rendered))
            else:
                end = self._end(last)
                self._splice(end, end, "".join(f", {r}" for r in rendered))
            return
        assert last is not None  # a block sequence has items
        at = self._own_end(seq, len(seq.value) - 1)
        indent = " " * self._dash_column(last)
        lines = "".join(f"{indent}- {r}{self._newline}" for r in rendered)
        self._splice(at, at, self._break_before(at) + lines)

    # The nodes, parsed again after each edit: every position is one of the current text.

    def _node(self, path: Path_) -> tuple[Node, Node | None, Node | None]:
        """The node at `path`, its parent and, when the parent is a mapping, its key node."""
        if self._root is None:
            try:
                self._root = YAML(typ="rt").compose(self.text)
            except YAMLError as exc:
                raise EditError(f"cannot parse the file for editing: {exc}") from None
            if self._root is None:
                raise EditError("the file holds no YAML document")
        node, parent, key = self._root, None, None
        for step in path:
            parent = node
            if isinstance(node, MappingNode):
                pair = next((p for p in node.value if p[0].value == step), None)
                if pair is None:
                    raise EditError(f"{_shown(path)} is not in the file")
                key, node = pair
            elif isinstance(node, SequenceNode) and isinstance(step, int):
                if not 0 <= step < len(node.value):
                    raise EditError(f"{_shown(path)} is not in the file")
                key, node = None, node.value[step]
            else:
                raise EditError(f"{_shown(path)} is not in the file")
        return node, parent, key

    def _splice(self, start: int, end: int, new: str) -> None:
        self.text = self.text[:start] + new + self.text[end:]
        self._root = None

    @property
    def _newline(self) -> str:
        return "\r\n" if "\r\n" in self.text else "\n"

    def _end(self, node: Node) -> int:
        """Where the node's own text ends: its last character that is not blank. (A block
        collection's end mark is where the next token starts, after blank and comment lines.)"""
        if not isinstance(node, CollectionNode) or node.flow_style or not node.value:
            end = node.end_mark.index
            while end > node.start_mark.index and self.text[end - 1] in _SPACE:
                end -= 1
            return int(end)
        last = node.value[-1]
        return self._end(last[1] if isinstance(node, MappingNode) else last)

    def _line_start(self, at: int) -> int:
        return self.text.rfind("\n", 0, at) + 1

    def _next_line(self, at: int) -> int:
        found = self.text.find("\n", at)
        return len(self.text) if found < 0 else found + 1

    def _line(self, at: int) -> str:
        return self.text[at : self._next_line(at)]

    def _break_before(self, at: int) -> str:
        """A line break to write before new lines at `at`: at the end of a last line without one."""
        return self._newline if at == len(self.text) and not self.text.endswith("\n") else ""

    def _dash(self, item: Node) -> int:
        """Where the `-` of a block sequence's item is."""
        at = item.start_mark.index - 1
        while at >= 0 and self.text[at] in _SPACE:
            at -= 1
        if at < 0 or self.text[at] != "-":
            raise EditError(
                f"line {item.start_mark.line + 1}: a comment between `-` and the item it opens"
            )
        return int(at)

    def _dash_column(self, item: Node) -> int:
        dash = self._dash(item)
        return dash - self._line_start(dash)

    def _comment_at(self, at: int) -> int | None:
        """The column of the comment that fills the line at `at`; None for any other line."""
        line = self._line(at)
        stripped = line.lstrip(" ")
        return len(line) - len(stripped) if stripped.startswith("#") else None

    def _lead(self, seq: SequenceNode, index: int) -> int:
        """Where item `index` starts: its `-` line, or the comment lines right above it (at
        most as indented as the `-`, none blank) that come after the previous item."""
        item = seq.value[index]
        start = self._line_start(self._dash(item))
        if index == 0:
            return start
        column = self._dash_column(item)
        floor = self._end(seq.value[index - 1])
        while start > floor + 1:
            above = self._line_start(start - 1)
            found = self._comment_at(above)
            if above <= floor or found is None or found > column:
                break
            start = above
        return start

    def _own_end(self, seq: SequenceNode, index: int) -> int:
        """Where item `index` ends: after its last line and the comment lines indented under it
        that follow right after."""
        item = seq.value[index]
        column = self._dash_column(item)
        end = self._next_line(self._end(item))
        while end < len(self.text):
            found = self._comment_at(end)
            if found is None or found <= column:
                break
            end = self._next_line(end)
        return end

    def _blank_after(self, at: int) -> int:
        while at < len(self.text) and not self._line(at).strip():
            at = self._next_line(at)
        return at

    def _blank_before(self, at: int) -> int:
        while at > 0 and not self._line(self._line_start(at - 1)).strip():
            at = self._line_start(at - 1)
        return at

    def _empty(self, seq: SequenceNode, parent: Node | None, key: Node | None) -> None:
        """Remove a block sequence's only item: the sequence becomes `[]`."""
        start, end = self._lead(seq, 0), self._own_end(seq, 0)
        if parent is None:
            self._splice(start, end, f"[]{self._newline}")
            return
        if key is None:
            raise EditError(f"line {seq.start_mark.line + 1}: a sequence inside a sequence")
        colon = self.text.find(":", key.end_mark.index)
        self._splice(start, end, "")
        self._splice(colon + 1, colon + 1, " []")


def render(value: Any, style: str | None = None) -> str:
    """`value` as YAML text for one line, quoted with `style` (`'` or `"`) when it is a string
    and a style is asked for, else only when it must be; safe inside `[...]` and `{...}` too."""
    yaml = YAML(typ="rt")
    yaml.width = 1 << 30  # one line, however long
    yaml.default_flow_style = True
    out = io.StringIO()
    yaml.dump(CommentedSeq([_styled(value, style)]), out)
    text = out.getvalue().strip()
    return text[1:-1]


def _styled(value: Any, style: str | None) -> Any:
    if isinstance(value, str):
        if style == '"':
            return DoubleQuotedScalarString(value)
        if style == "'":
            return SingleQuotedScalarString(value)
        return value
    if isinstance(value, list | tuple):
        seq = CommentedSeq([_styled(v, None) for v in value])
        seq.fa.set_flow_style()
        return seq
    if isinstance(value, dict):
        mapping = CommentedMap((k, _styled(v, None)) for k, v in value.items())
        mapping.fa.set_flow_style()
        return mapping
    return value


def _shown(path: Path_) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path) or "."
