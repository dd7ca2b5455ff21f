"""Deciding a batch once per value of one or two rule params (a sweep), in one pass. Pure: no I/O.

Each point of the sweep is the bundle with the swept rules' params set to the point's values.
The variants of the swept rules are compiled beside the bundle (`compile_bundle(variants=...)`),
so they share every test that reads no swept param, and each batch's columns, distinct texts,
keyword scans and masks are computed once for all the points: only the tests that read a swept
param are computed once per value, and the folding of rules into decisions once per point
beyond the rules before the first swept one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

from modctl.engine.columnar import BatchEvaluator, Columns, Outcome
from modctl.engine.compiler import CompiledRule
from modctl.model import Bundle, Config, Rule

Value = int | float


@dataclass(frozen=True)
class Axis:
    """One swept param: its rule, its name, the values to try (the current one among them)."""

    rule: str
    param: str
    values: tuple[Value, ...]
    current: Value

    @property
    def name(self) -> str:
        return f"{self.rule}.{self.param}"


class SweepEvaluator:
    """The bundle compiled once with a variant of each swept rule per point of the grid."""

    def __init__(self, bundle: Bundle, config: Config, axes: tuple[Axis, ...]) -> None:
        self.axes = axes
        self.points: list[tuple[Value, ...]] = list(itertools.product(*(a.values for a in axes)))
        by_id = {r.id: r for r in bundle.rules}
        swept = sorted({a.rule for a in axes}, key=[r.id for r in bundle.rules].index)
        variants: dict[tuple[str, tuple[Any, ...]], Rule] = {}
        wanted: list[dict[str, tuple[str, tuple[Any, ...]]]] = []
        for point in self.points:
            per_rule: dict[str, tuple[str, tuple[Any, ...]]] = {}
            for rule_id in swept:
                rule = by_id[rule_id]
                params = dict(rule.params)
                for axis, value in zip(axes, point, strict=True):
                    if axis.rule == rule_id:
                        params[axis.param] = value
                key = (rule_id, tuple(sorted(params.items())))
                if key not in variants:
                    variants[key] = replace(rule, params=params)
                per_rule[rule_id] = key
            wanted.append(per_rule)
        keys = list(variants)
        self.batch = BatchEvaluator(bundle, config, [variants[k] for k in keys])
        compiled = dict(zip(keys, self.batch.evaluator.variants, strict=True))
        self.rule_lists: list[list[CompiledRule]] = [
            [compiled[per_rule[r.id]] if r.id in per_rule else r for r in self.batch.rules]
            for per_rule in wanted
        ]

    def decide(self, columns: Columns) -> list[Outcome]:
        """The batch's outcome at every point, in the order of `points`."""
        return self.batch.decide_each(columns, self.rule_lists)
