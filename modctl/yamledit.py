"""The door for changing a YAML file people write: edits spliced into its text, and its text laid
out in the canonical style.

An edit changes only its own characters, and every other byte stays as it was (comments, blank
lines, quoting, indentation, line endings). Reading stays with `yamlio`'s strict loader; edits
serve the writes that must keep a file as its authors wrote it (`hotpatch fold`, `new rule`).
ruamel.yaml's round-trip parser says where each node starts and ends, and its round-trip dumper
renders new values, in the quoting of their neighbours; only those characters change.

`formatted` is `modctl fmt`: the whole document dumped again by ruamel.yaml's round-trip dumper
(which keeps comments, quotes, flow and block styles), with the items of a top-level sequence at
column 0, then tidied line by line (see `formatted`).
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.emitter import RoundTripEmitter
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

Path_ = tuple[str | int, ...]
_SPACE = " \t\r\n"
INDENT = 2  # spaces per level of a block mapping; a nested block sequence's `-` sits at it too


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

    def append_item(self, item: str) -> None:
        """Add `item`, the text of one top-level sequence item (`block_item`), at the end of
        the document's top-level sequence, after a blank line; an empty `[]` becomes it."""
        seq = self._node(())[0]
        if not isinstance(seq, SequenceNode):
            raise EditError("the file is not a list")
        item = item.replace("\n", self._newline)
        if not seq.value and seq.flow_style:
            self._splice(seq.start_mark.index, seq.end_mark.index, item.rstrip(self._newline))
            return
        if seq.flow_style:
            raise EditError(f"line {seq.start_mark.line + 1}: the list is written in flow style")
        at = self._own_end(seq, len(seq.value) - 1)
        self._splice(at, at, f"{self._break_before(at)}{self._newline}{item}")

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


def block(value: dict[str, Any] | list[Any], flow_keys: frozenset[str] = frozenset()) -> str:
    """`value` as a document in the canonical layout (block mappings and sequences, the items
    of a top-level sequence at column 0), the values of `flow_keys` (at any depth) in flow
    style: `regions: [SG, MY]`."""
    out = io.StringIO()
    _canonical_yaml().dump(_block(value, flow_keys), out)
    return out.getvalue()


def quoted(text: str) -> str:
    """`text`, to be written in single quotes by `block` (as the reference bundles write
    regexes)."""
    single: str = SingleQuotedScalarString(text)
    return single


def block_item(value: dict[str, Any], flow_keys: frozenset[str] = frozenset()) -> str:
    """`value` as one item of a top-level sequence in the canonical layout (`- key: ...`)."""
    return block([value], flow_keys)


def _block(value: Any, flow_keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return CommentedMap(
            (k, _styled(v, None) if k in flow_keys else _block(v, flow_keys))
            for k, v in value.items()
        )
    if isinstance(value, list | tuple):
        return CommentedSeq(_block(v, flow_keys) for v in value)
    return value


class _Emitter(RoundTripEmitter):
    """ruamel.yaml's round-trip emitter, with the items of a top-level sequence at column 0
    and their keys at column 2 (`- id: ...`); a sequence under a key stays indented below it."""

    def _in_top_sequence(self) -> bool:
        return self.indent == 0 and len(self.indents) == 1 and bool(self.indents.values[0][1])

    def expect_block_sequence_item(self, first: bool = False) -> None:
        offset = self.sequence_dash_offset
        if self._in_top_sequence():
            self.sequence_dash_offset = 0
        try:
            super().expect_block_sequence_item(first)
        finally:
            self.sequence_dash_offset = offset

    def increase_indent(
        self, flow: bool = False, sequence: bool | None = None, indentless: bool = False
    ) -> None:
        item = self._in_top_sequence()
        super().increase_indent(flow, sequence, indentless)
        if item and not flow and not indentless:
            self.indent = INDENT


class _Int(int):
    """An integer with the text it was written as."""

    text = ""


class _Float(float):
    """A number with a fraction or an exponent, with the text it was written as: written again
    from its value, 4.054423787116954e+16 would lose its last digit."""

    text = ""


class _Constructor(RoundTripConstructor):
    """Numbers keep the text they were written in, to be written again as they were. Text that
    ruamel.yaml's resolver takes for a number it cannot read (`._`) is text, as the strict
    loader reads it: it will be written in quotes."""

    def construct_yaml_int(self, node: Any) -> Any:
        try:
            number = _Int(super().construct_yaml_int(node))
        except ValueError:
            return str(node.value)
        number.text = node.value
        return number

    def construct_yaml_float(self, node: Any) -> Any:
        try:
            number = _Float(super().construct_yaml_float(node))
        except ValueError:
            return str(node.value)
        number.text = node.value
        return number


class _Representer(RoundTripRepresenter):
    def represent_number(self, data: _Int | _Float) -> Any:
        kind = "int" if isinstance(data, _Int) else "float"
        return self.represent_scalar(f"tag:yaml.org,2002:{kind}", data.text)


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)
_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)
_Representer.add_representer(_Int, _Representer.represent_number)
_Representer.add_representer(_Float, _Representer.represent_number)


def _canonical_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.Representer = _Representer
    yaml.Emitter = _Emitter
    yaml.preserve_quotes = True  # quotes are the author's: '0e5' and "1:1" must stay text
    yaml.allow_unicode = True
    yaml.width = 1 << 30  # never fold a line: a flow collection or a plain value stays on one
    yaml.indent(mapping=INDENT, sequence=2 * INDENT, offset=INDENT)
    return yaml


def formatted(text: str) -> str:
    """`text` (one YAML document, `\n` line breaks) in the canonical layout: block mappings
    indented by two spaces, a block sequence's `-` two spaces in from its key, the items of a
    top-level sequence at column 0 with one blank line between them, flow collections on one
    line with one space after each comma and colon, quotes, numbers and block scalars as
    written (quotes added only to text ruamel.yaml would read as a number), no blank lines at
    the start or the end and never two in a row, no trailing blanks, a full-line comment at the
    indentation of the line it comments (the next one, or the one before when it is closer and
    no blank line comes between), comments at the ends of lines in their column (one space
    after the value at least), and one line break at the end."""
    yaml = _canonical_yaml()
    try:
        # Blanks at the ends of lines go first: ruamel.yaml drops a line of blanks that follows
        # a flow collection, where it keeps an empty line.
        kept = _value_lines(text)
        text = "\n".join(
            line if i in kept else line.rstrip(" \t") for i, line in enumerate(text.split("\n"))
        )
        data = yaml.load(text)
        if isinstance(data, list | dict) and not data:
            # ruamel.yaml cannot dump an empty top-level collection with comments around it.
            root = yaml.compose(text)
            empty = "[]" if isinstance(data, list) else "{}"
            return _tidy(text[: root.start_mark.index] + empty + text[root.end_mark.index :], False)
        out = io.StringIO()
        yaml.dump(data, out)
        return _tidy(out.getvalue(), isinstance(data, list))
    except Exception as exc:  # ruamel.yaml fails in other ways than YAMLError too
        # Some comments at the ends of lines lead its dumper to write what it cannot read back.
        first = str(exc).strip().split("\n", 1)[0]
        raise EditError(
            f"the YAML library fmt uses cannot lay out this file ({type(exc).__name__}: {first}); "
            "a comment at the end of a line may be the cause: move it, or lay out the file by hand"
        ) from None


def _tidy(text: str, top_sequence: bool) -> str:
    """The line-by-line half of `formatted`: lines inside a value of several lines are content
    and stay as they are."""
    lines = text.split("\n")
    kept = _value_lines(text)
    kinds: list[str] = []
    for i, line in enumerate(lines):
        if i in kept:
            kinds.append("value")
            continue
        lines[i] = line.rstrip(" \t")
        stripped = lines[i].lstrip(" ")
        kinds.append("blank" if not stripped else "comment" if stripped[0] == "#" else "content")
    for i, kind in enumerate(kinds):
        if kind == "comment":
            lines[i] = " " * _comment_indent(lines, kinds, i) + lines[i].lstrip(" ")
    if top_sequence:
        items = [i for i, kind in enumerate(kinds) if kind == "content" and lines[i][0] == "-"]
        for i in items[1:]:
            start = i
            while start > 0 and kinds[start - 1] == "comment" and lines[start - 1][0] == "#":
                start -= 1
            if start > 0 and kinds[start - 1] != "blank":
                lines[start] = "\n" + lines[start]
    out: list[str] = []
    for line, kind in zip(lines, kinds, strict=True):
        if kind == "blank" and (not out or out[-1] == ""):
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _comment_indent(lines: list[str], kinds: list[str], at: int) -> int:
    """Where a full-line comment goes: at the indentation of the next line of content, or of the
    previous one when that is closer to where the comment is and no blank line comes between."""
    column = _indent(lines[at])
    after = next((i for i in range(at + 1, len(lines)) if kinds[i] == "content"), None)
    wanted = _indent(lines[after]) if after is not None else 0
    before = at - 1
    while before >= 0 and kinds[before] in ("comment", "value"):
        before -= 1
    if before >= 0 and kinds[before] == "content":
        previous = _indent(lines[before])
        if abs(column - previous) < abs(column - wanted):
            wanted = previous
    return wanted


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _value_lines(text: str) -> set[int]:
    """The lines (0-based) that continue a scalar value begun on an earlier line: a block
    scalar's text, or a quoted value written over several lines."""
    root = YAML(typ="rt").compose(text)
    found: set[int] = set()
    todo = [root] if root is not None else []
    while todo:
        node = todo.pop()
        if isinstance(node, MappingNode):
            todo += [part for pair in node.value for part in pair]
        elif isinstance(node, SequenceNode):
            todo += node.value
        elif isinstance(node, ScalarNode) and node.end_mark.line > node.start_mark.line:
            last = node.end_mark.line if node.end_mark.column > 0 else node.end_mark.line - 1
            found.update(range(node.start_mark.line + 1, last + 1))
    return found
