"""Perceptual hashes near a listing's image, without comparing against every listed hash.

Split the 64 bits into limit + 1 chunks: a hash within `limit` bits of the query differs in at
most `limit` chunks, so it equals the query in at least one (pigeonhole). One dictionary per
chunk finds those few candidates; only they are compared bit by bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

LINEAR_FROM = 16  # past this many bits, chunks get too short to narrow anything down
SMALL = 64  # so few hashes that comparing against each is as quick as the index


def parse(value: object) -> int | None:
    """A 64-bit perceptual hash written as 16 hex digits, or None."""
    if not isinstance(value, str) or len(value) != 16:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


class HashIndex:
    def __init__(self, hashes: Sequence[int], limit: int) -> None:
        self.hashes = tuple(hashes)
        self.limit = limit
        self.tables: list[tuple[int, int, dict[int, list[int]]]] = []
        if limit >= LINEAR_FROM or len(self.hashes) <= SMALL:
            return
        cuts = [64 * i // (limit + 1) for i in range(limit + 2)]
        for low, high in pairwise(cuts):
            mask = (1 << (high - low)) - 1
            table: dict[int, list[int]] = {}
            for h in self.hashes:
                table.setdefault((h >> low) & mask, []).append(h)
            self.tables.append((low, mask, table))

    def within(self, value: int) -> int | None:
        """The smallest distance from `value` to a listed hash, when it is at most `limit`."""
        if not self.tables:
            best = min(((value ^ h).bit_count() for h in self.hashes), default=None)
            return best if best is not None and best <= self.limit else None
        best = None
        for low, mask, table in self.tables:
            for h in table.get((value >> low) & mask, ()):
                distance = (value ^ h).bit_count()
                if distance <= self.limit and (best is None or distance < best):
                    best = distance
        return best
