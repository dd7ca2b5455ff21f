"""The one door to YAML: strict, safe, C-accelerated loading with positions on demand.

Loading is strict where PyYAML is lenient: duplicate keys, anchors and aliases, non-text keys,
several documents, oversize, binary and non-UTF-8 files are refused with a located error.
Scalars resolve as in YAML 1.2's core schema, the way editors read them, so `NO` stays a
region code and `1:1` stays text. Positions cost a second parse, so they are computed only for
files that have findings (:class:`SourceMap`).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NUMBER = 2**1023  # what a 64-bit float holds, with room to spare for arithmetic

Path_ = tuple[str | int, ...]


class YamlError(Exception):
    """A file that cannot be read as one strict YAML document; line and column are 1-based."""

    def __init__(self, code: str, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(code, message, line, column)
        self.code = code
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


class _Resolver(BaseResolver):
    """YAML 1.2 core schema: only true/false are booleans, only base-10/0o/0x digits are ints."""


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


class _Constructor(SafeConstructor):
    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):
            raise ConstructorError(None, None, "expected a mapping", node.start_mark)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                mark = key_node.start_mark
                raise YamlError(
                    "Y009",
                    f"mapping key {key_node.value!r} is not text; quote it",
                    mark.line + 1,
                    mark.column + 1,
                )
            if key in mapping:
                mark = key_node.start_mark
                raise YamlError("Y002", f"duplicate key {key!r}", mark.line + 1, mark.column + 1)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: ScalarNode) -> int:
        value = str(self.construct_scalar(node))
        digits = value.lstrip("+-").removeprefix("0x").removeprefix("0o")
        if len(digits) > 400:  # past any double, and maybe past what int() converts
            raise _out_of_range(node, f"integer of {len(digits)} digits is too large")
        if value.startswith("0o"):
            number = int(value[2:], 8)
        elif value.startswith("0x"):
            number = int(value[2:], 16)
        else:
            number = int(value, 10)
        if abs(number) >= MAX_NUMBER:
            raise _out_of_range(node, f"integer of {len(digits)} digits is too large")
        return number

    def construct_yaml_float(self, node: ScalarNode) -> float:
        number = super().construct_yaml_float(node)
        if not math.isfinite(number):
            raise _out_of_range(node, f"number {node.value} is not finite")
        return number


def _out_of_range(node: ScalarNode, problem: str) -> YamlError:
    mark = node.start_mark
    return YamlError(
        "Y012",
        f"{problem}; numbers are finite and below 2**1023, as JSON and the engine's 64-bit "
        "floats hold them (quote the value if it is text)",
        mark.line + 1,
        mark.column + 1,
    )


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)  # type: ignore[type-var]
_Constructor.add_constructor("tag:yaml.org,2002:float", _Constructor.construct_yaml_float)  # type: ignore[type-var]
# Only JSON's types: explicitly tagged timestamps, binaries, sets and pairs are refused.
for _tag in ("timestamp", "binary", "set", "omap", "pairs"):
    _Constructor.add_constructor(f"tag:yaml.org,2002:{_tag}", _Constructor.construct_undefined)  # type: ignore[type-var]


class _PureLoader(Reader, Scanner, Parser, Composer, _Constructor, _Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)


def _fastest_loader() -> type:
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        return _PureLoader

    class _CLoader(CParser, _Constructor, _Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Constructor.__init__(self)
            _Resolver.__init__(self)

    return _CLoader


_Loader = _fastest_loader()


def too_big(size: int) -> str:
    """What Y004 says of a file of `size` bytes."""
    limit = MAX_FILE_BYTES
    return f"file is {size:,} bytes; the limit is {limit:,} bytes ({limit // 1048576} MiB)"


def read_text(path: Path) -> str:
    """Read a file as UTF-8 text, refusing oversize, binary and undecodable files."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise YamlError("Y004", too_big(size))
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlError("Y011", f"cannot read file: {exc.strerror or exc}") from exc
    return decode(raw)


def decode(raw: bytes) -> str:
    """Decode bytes as UTF-8 (a BOM is allowed); say where the first bad byte is."""
    if b"\x00" in raw:
        line, column = _offset_position(raw, raw.index(b"\x00"))
        raise YamlError("Y006", "binary file (NUL byte); expected UTF-8 YAML text", line, column)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _offset_position(raw, exc.start)
        raise YamlError(
            "Y005",
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            line,
            column,
        ) from None


def loads(text: str) -> Any:
    """Parse one strict YAML document; raise :class:`YamlError` with the first problem found."""
    if "&" in text or "*" in text:
        _refuse_anchors(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlError("Y007", "file is empty; expected a YAML document")
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise _marked_error(exc, text) from None
    except yaml.reader.ReaderError as exc:
        line, column = _offset_position(text.encode(), exc.position)
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlError(
            "Y001", f"control character U+{char:04X} is not allowed in YAML", line, column
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error above is marked
        raise YamlError("Y001", str(exc)) from None
    finally:
        loader.dispose()
    if data is None:
        raise YamlError("Y007", "file holds only null; expected a YAML document")
    return data


def load_file(path: Path) -> Any:
    return loads(read_text(path))


def dump(data: Any) -> str:
    """YAML with one fixed style: block style, keys in the given order, UTF-8 text, wide lines."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(
        data,
        Dumper=dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return text


def comments(text: str) -> list[str]:
    """Every comment of one YAML document, in order, each from its `#` to the end of its line
    without trailing blanks: what a change of layout must keep. A `#` inside a value is none."""
    scanner = _PureLoader(text)
    found: list[str] = []
    end = 0
    try:
        while scanner.check_token():
            token = scanner.get_token()  # type: ignore[no-untyped-call]
            found += _comments_between(text, end, token.start_mark.index)
            end = max(end, token.end_mark.index)
    except yaml.MarkedYAMLError as exc:
        raise _marked_error(exc, text) from None
    finally:
        scanner.dispose()
    return found + _comments_between(text, end, len(text))


def _comments_between(text: str, start: int, end: int) -> list[str]:
    """The comments in text between two tokens, where a `#` can start nothing else."""
    found = []
    at = text.find("#", start, end)
    while at >= 0:
        stop = text.find("\n", at, end)
        stop = end if stop < 0 else stop
        found.append(text[at:stop].rstrip())
        at = text.find("#", stop, end)
    return found


def _refuse_anchors(text: str) -> None:
    try:
        for event in yaml.parse(text, Loader=_Loader):
            anchor = getattr(event, "anchor", None)
            mark = event.start_mark
            if anchor is not None and mark is not None:
                what = "alias" if isinstance(event, yaml.AliasEvent) else "anchor"
                raise YamlError(
                    "Y003",
                    f"{what} {'*' if what == 'alias' else '&'}{anchor} refused; "
                    "anchors and aliases are not allowed, write the value out",
                    mark.line + 1,
                    mark.column + 1,
                )
    except yaml.MarkedYAMLError as exc:
        raise _marked_error(exc, text) from None


def _marked_error(exc: yaml.MarkedYAMLError, text: str) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = "; ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
    if mark is not None and text[mark.index : mark.index + 1] == "\t":
        return YamlError(
            "Y008", "tab character in indentation; YAML indents with spaces only", line, column
        )
    if "expected a single document" in problem:
        return YamlError(
            "Y010", "several YAML documents in one file; keep one per file", line, column
        )
    return YamlError("Y001", f"invalid YAML: {problem}", line, column)


def _offset_position(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line = before.count(b"\n") + 1
    column = offset - (before.rfind(b"\n") + 1) + 1
    return line, column


class SourceMap:
    """Line and column of any node of one document, parsed only when first asked."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._root: Node | None = None
        self._parsed = False

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Where the value at `path` starts (or its key, with `key=True`); the nearest ancestor
        when the path does not exist in the file."""
        node = self._node()
        if node is None:
            return 1, 1
        mark = node.start_mark
        for step in path:
            child, key_node = _child(node, step)
            if child is None:
                break
            node = child
            mark = key_node.start_mark if key and key_node is not None else child.start_mark
        return mark.line + 1, mark.column + 1

    def _node(self) -> Node | None:
        if not self._parsed:
            self._parsed = True
            try:
                self._root = yaml.compose(self._text, Loader=_Loader)
            except yaml.YAMLError:
                self._root = None
        return self._root


def _child(node: Node, step: str | int) -> tuple[Node | None, Node | None]:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == str(step):
                return value_node, key_node
    elif isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return node.value[step], None
    return None, None
