from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modctl.engine.hashes import HashIndex, parse


def linear(hashes: list[int], value: int, limit: int) -> int | None:
    best = min((value ^ h).bit_count() for h in hashes)
    return best if best <= limit else None


@pytest.mark.parametrize("limit", [0, 1, 6, 10, 15, 16, 40])
def test_index_agrees_with_comparing_every_hash(limit: int) -> None:
    rng = random.Random(limit)
    hashes = [rng.getrandbits(64) for _ in range(500)]
    index = HashIndex(hashes, limit)
    for _ in range(300):
        base = rng.choice(hashes)
        flips = rng.sample(range(64), rng.randint(0, min(limit + 3, 64)))
        value = base
        for bit in flips:
            value ^= 1 << bit
        assert index.within(value) == linear(hashes, value, limit)


@settings(max_examples=200)
@given(
    st.lists(st.integers(0, 2**64 - 1), min_size=65, max_size=80),
    st.integers(0, 2**64 - 1),
    st.integers(0, 20),
)
def test_index_agrees_on_random_values(hashes: list[int], value: int, limit: int) -> None:
    assert HashIndex(hashes, limit).within(value) == linear(hashes, value, limit)


def test_parse() -> None:
    assert parse("00000000000000ff") == 255
    assert parse("0000000000000g0f") is None
    assert parse("ff") is None
    assert parse(255) is None
