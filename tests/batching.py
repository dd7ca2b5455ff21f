"""Deciding listings with both evaluators, to hold the batch one to the row one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from modctl.engine.columnar import BatchEvaluator, Columns, arrow_schema
from modctl.engine.compiler import Evaluator, compile_bundle
from modctl.engine.fields import type_problem
from modctl.model import Bundle, Config

Verdict = tuple[str, str | None, list[str]]  # action, deciding rule, every matched rule


@dataclass(frozen=True)
class Compiled:
    """A bundle compiled for both evaluators, for a property test that decides many small
    batches with the same bundle: compiling it again for each would cost most of the test."""

    rows: dict[str, Evaluator]
    batch: BatchEvaluator


def compiled(bundle: Bundle, config: Config) -> Compiled:
    return Compiled(
        {r: compile_bundle(bundle, config, r) for r in config.regions},
        BatchEvaluator(bundle, config),
    )


def by_rows(
    bundle: Bundle, config: Config, items: list[dict[str, Any]], built: Compiled | None = None
) -> list[Verdict]:
    if built is None:
        evaluators = {r: compile_bundle(bundle, config, r) for r in config.regions}
    else:
        evaluators = built.rows
    verdicts = []
    for item in items:
        decision = evaluators[item["region"]].decide(item)
        verdicts.append((decision.action, decision.rule, decision.matched))
    return verdicts


def by_batch(
    bundle: Bundle,
    config: Config,
    items: list[dict[str, Any]],
    columns: Columns | None = None,
    built: Compiled | None = None,
) -> list[Verdict]:
    """Verdicts of the batch evaluator; pass `columns` to share a batch between evaluators, as
    a backtest with a baseline does."""
    evaluator = BatchEvaluator(bundle, config) if built is None else built.batch
    if columns is None:
        columns = batch_of(items, config)
    outcome = evaluator.decide(columns)
    masks = [evaluator.matches(rule, columns) for rule in evaluator.rules]
    return [
        (
            evaluator.actions[outcome.action[i]],
            evaluator.rule_ids[outcome.rule[i]] if outcome.rule[i] >= 0 else None,
            [rule.id for rule, mask in zip(evaluator.rules, masks, strict=True) if mask[i]],
        )
        for i in range(len(items))
    ]


def batch_of(items: list[dict[str, Any]], config: Config) -> Columns:
    table = pa.Table.from_pylist(items, schema=arrow_schema(config.fields, label=False))
    regions = sorted(config.regions)
    codes = np.array([regions.index(item["region"]) for item in items], dtype=np.int64)
    return Columns(table, codes)


def well_typed(items: list[dict[str, Any]], config: Config) -> list[dict[str, Any]]:
    """The listings a backtest accepts: the others are reported as bad rows."""
    return [item for item in items if type_problem(item, config.fields) is None]


def assert_same(
    bundle: Bundle, config: Config, items: list[dict[str, Any]], built: Compiled | None = None
) -> None:
    items = well_typed(items, config)
    if items:
        batch = by_batch(bundle, config, items, built=built)
        assert batch == by_rows(bundle, config, items, built)
