"""`matches` patterns run in linear time: Python's syntax and meaning, RE2's engine.

`compile(pattern)` reads the pattern with Python's parser and raises NotLinear when it needs a
construct no linear-time engine runs (lint reports it); the `Regex` it returns answers `found`
(does the pattern match anywhere, as `re.search` would) and `search` (where the first match is,
in characters), choosing per text how RE2 reads it (see `translate`). However long or hostile the
text, the time grows linearly with it. RE2 is imported when the first pattern is compiled.
Pure: no I/O.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from modctl.engine.regex import parse_with_flags
from modctl.engine.translate import Mode, NotLinear, Shape, decode, encode, program, shape

__all__ = ["NotLinear", "Regex", "compile"]

# How a text is given to RE2 (a `translate.Mode`), as a key of four bits.
_WORDS, _NEWLINES, _END_LINE, _EMPTY = 1, 2, 4, 8
_UNITS = _WORDS | _NEWLINES
_MODES = [
    Mode(words=bool(k & _WORDS), newlines=bool(k & _NEWLINES), end_line=bool(k & _END_LINE))
    if not k & _EMPTY
    else Mode(empty=True)
    for k in range(16)
]


class Regex:
    """One pattern, compiled for RE2 once per way of giving it the text."""

    def __init__(self, pattern: str, tree: list[Any], flags: int, needs: Shape) -> None:
        self.pattern = pattern
        self._tree, self._flags, self._needs = tree, flags, needs
        self._found: list[Any] = [None] * len(_MODES)
        self._search: list[Any] = [None] * len(_MODES)

    def found(self, text: str) -> bool:
        """Whether the pattern matches somewhere in `text`."""
        key = self._key(text)
        program = self._found[key] or self._compile(key, capture=False)
        data = (encode(text, _MODES[key]) if key & _UNITS else text).encode(
            "utf-8", "surrogatepass"
        )
        return program.search(data) is not None

    def search(self, text: str) -> tuple[int, int] | None:
        """Where the first match is, in characters of `text`, as `re.search(...).span()`."""
        key = self._key(text)
        mode = _MODES[key]
        encoded = encode(text, mode) if key & _UNITS else text
        data = encoded.encode("utf-8", "surrogatepass")
        found = (self._search[key] or self._compile(key, capture=True)).search(data)
        if found is None:
            return None
        group = 1 if self._needs.anchored(mode) else 0
        start, end = (_characters(data, at) for at in found.span(group))
        if key & _UNITS:
            return len(decode(encoded[:start], mode)), len(decode(encoded[:end], mode))
        return start, end

    def check(self) -> None:
        """Compile every program this pattern may need; raises NotLinear if RE2 refuses one."""
        keys = [_EMPTY]
        for words in (0, _WORDS) if self._needs.word_boundary else (0,):
            keys.append(words)
            if self._needs.end:
                keys += [words | _END_LINE, words | _NEWLINES | _END_LINE]
        for key in keys:
            self._compile(key, capture=False)

    def _key(self, text: str) -> int:
        if not text:
            return _EMPTY
        needs = self._needs
        key = _WORDS if needs.word_boundary and not text.isascii() else 0
        if needs.end and text[-1] == "\n":
            key |= _END_LINE
            if text.find("\n", 0, len(text) - 1) != -1:
                key |= _NEWLINES
        return key

    def _compile(self, key: int, *, capture: bool) -> Any:
        source = program(self._tree, self._flags, self._needs, _MODES[key], capture=capture)
        compiled = _re2(source)
        (self._search if capture else self._found)[key] = compiled
        return compiled


def _characters(data: bytes, offset: int) -> int:
    return len(data[:offset].decode("utf-8", "surrogatepass"))


@lru_cache(maxsize=4096)
def compile(pattern: str) -> Regex:
    """The pattern ready to run; raises `re.error` when Python cannot parse it and NotLinear
    when it needs a construct no linear-time engine runs."""
    tree, flags = parse_with_flags(pattern)
    return Regex(pattern, tree, flags, shape(tree, flags))


@lru_cache(maxsize=4096)
def _re2(source: str) -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print its refusals on stderr
    try:
        return re2.compile(source, options)
    except re2.error as exc:
        message = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise NotLinear(f"is too large once compiled (RE2: {message})") from None
