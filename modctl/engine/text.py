"""Text as rules see it: NFKC + casefold, keywords matched at word boundaries in one pass."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Python's case-insensitive `i` also matches the dotless i (U+0131) and the dotted capital I
# (U+0130), which casefolding keeps apart: the first stays as it is, the second becomes i and a
# combining dot above (U+0307), which breaks the word. Dropping that dot can only join letters,
# never split an ASCII atom, so the prefilter still lets through every text its regex matches.
_DOTTED_I = str.maketrans({"\u0131": "i", "\u0307": ""})


def fold(text: str) -> str:
    """Text as the regex prefilter searches it: casefolded, with the dotless i and the dotted
    capital I as plain i, so that every literal a case-insensitive regex can match is in it."""
    folded = text.casefold()
    return folded if folded.isascii() else folded.translate(_DOTTED_I)


def normalize(text: str) -> str:
    """NFKC then casefold: full-width letters, ligatures and case variants read as plain text."""
    return unicodedata.normalize("NFKC", text).casefold()


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


@dataclass(frozen=True)
class Hit:
    """One keyword found in a field: the keyword as written in the list, and where it sits in the
    normalized text."""

    keyword: str
    start: int
    end: int


class KeywordIndex:
    """Every keyword of every set used on one field, in one Aho-Corasick automaton.

    `scan(text)` returns, per set id, the first keyword found at word boundaries, so one pass over
    a title answers every `contains_any` on that field however many keywords the sets hold.
    """

    def __init__(self, *, bounded: bool = True) -> None:
        self._words: dict[str, list[tuple[int, str]]] = {}
        self._automaton: Any = None
        self._bounded = bounded

    def add(self, set_id: int, keywords: Iterable[str]) -> None:
        fold = normalize if self._bounded else str.casefold
        for keyword in keywords:
            key = fold(keyword).strip() if self._bounded else fold(keyword)
            if key:
                self._words.setdefault(key, []).append((set_id, keyword))

    def set_ids(self) -> set[int]:
        return {set_id for owners in self._words.values() for set_id, _ in owners}

    def build(self) -> None:
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for key, owners in self._words.items():
            automaton.add_word(key, (len(key), tuple(owners)))
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton

    def scan(self, text: str) -> dict[int, Hit]:
        """Set id -> first hit at word boundaries in `text` (already normalized)."""
        found: dict[int, Hit] = {}
        if self._automaton is None or not text:
            return found
        last = len(text) - 1
        bounded = self._bounded
        for end, (length, owners) in self._automaton.iter(text):
            start = end - length + 1
            if bounded and start > 0 and _is_word(text[start - 1]) and _is_word(text[start]):
                continue
            if bounded and end < last and _is_word(text[end + 1]) and _is_word(text[end]):
                continue
            for set_id, keyword in owners:
                if set_id not in found:
                    found[set_id] = Hit(keyword, start, end + 1)
        return found
