"""`modctl report gaps`: decide labelled listings with one or more bundles, then find why each
infringing listing none of them flagged was missed, and which rule flagged each clean one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from modctl import printable
from modctl.analytics import gaps as analysis
from modctl.backtest.data import Reader
from modctl.backtest.impact import FLAGGING
from modctl.engine.columnar import BatchEvaluator, Columns, Outcome
from modctl.engine.compiler import compile_bundle
from modctl.engine.explain import explain
from modctl.engine.nearmiss import describe, one_short
from modctl.engine.operators import Keywords, Member
from modctl.engine.text import normalize
from modctl.errors import UsageError, suggest
from modctl.model import Bundle, Config, Rule
from modctl.source import workspace

DEFAULT_BY = ("category", "region", "brand")
WORD = re.compile(r"\w{4,}")


@dataclass
class _Bundle:
    bundle: Bundle
    evaluator: BatchEvaluator
    served: Any  # region codes it serves


def run(
    root: Path,
    names: list[str],
    data: Path,
    *,
    by: tuple[str, ...] = DEFAULT_BY,
    top: int = 20,
    skip_bad: bool = False,
) -> analysis.Gaps:
    loaded = workspace.load(root, names)
    config = loaded.config
    _check_by(by, config)
    bundles = []
    for name in names:
        bundle = loaded.bundle(name)
        evaluator = BatchEvaluator(bundle, config)
        served = np.array([evaluator.regions.index(r) for r in bundle.regions])
        bundles.append(_Bundle(bundle, evaluator, served))
    reader = Reader(data, config.fields, set(config.regions), skip_bad=skip_bad)
    tally = analysis.GapTally(by)
    for batch in reader.batches():
        _batch(tally, bundles, batch.table, batch.region_codes, batch.labels)
    found = analysis.Gaps(names, str(data), by, tally, top)
    found.skipped, found.first_skip = reader.skipped, reader.first_skip
    _explain_samples(found, {b.bundle.name: b.bundle for b in bundles}, config)
    params = {(b.bundle.name, r.id): r.params for b in bundles for r in b.bundle.rules}
    scopes = {(b.bundle.name, r.id): r.regions for b in bundles for r in b.bundle.rules}
    found.suggestions = analysis.suggestions(found, params, scopes)
    return found


def _check_by(by: tuple[str, ...], config: Config) -> None:
    for name in by:
        if name != "region" and config.fields.get(name) not in ("string", "integer", "boolean"):
            known = ["region", *(f for f, t in config.fields.items() if t == "string")]
            raise UsageError(
                f"--by {printable.shown(name)}: group by region or a text field modctl.yaml "
                f"declares{suggest(name, known)} (such as {', '.join(known[:6])})"
            )


def _batch(
    tally: analysis.GapTally, bundles: list[_Bundle], table: Any, codes: Any, labels: Any
) -> None:
    columns = Columns(table, codes)
    regions = bundles[0].evaluator.regions
    served_any = np.zeros(columns.n, dtype=bool)
    flagged = np.zeros(columns.n, dtype=bool)
    decided: list[tuple[_Bundle, Outcome, Any]] = []
    for entry in bundles:
        served = np.isin(codes, entry.served)
        outcome = entry.evaluator.decide(columns)
        flags = served & np.isin(outcome.action, _flagging(entry.evaluator))
        flagged |= flags
        served_any |= served
        decided.append((entry, outcome, served))
    tally.outside += int(np.count_nonzero(~served_any))
    tally.rows += int(np.count_nonzero(served_any))
    tally.infringing += int(np.count_nonzero(served_any & (labels == 1)))
    tally.clean += int(np.count_nonzero(served_any & (labels == 0)))
    missed = served_any & (labels == 1) & ~flagged
    reason = np.full(columns.n, -1, dtype=np.int64)
    _overridden(tally, decided, columns, missed, reason)
    _shadowed(tally, decided, columns, missed, reason, labels)
    _near(tally, decided, columns, missed, reason)
    nothing = tally.reason(analysis.Reason("none", "", None, ""))
    reason[missed & (reason < 0)] = nothing
    _count(tally, analysis.MISSED, table, codes, regions, np.flatnonzero(missed), reason)
    clean = served_any & (labels == 0) & flagged
    deciders = np.full(columns.n, -1, dtype=np.int64)
    for entry, outcome, served in reversed(decided):  # the first bundle that flagged names it
        flags = clean & served & np.isin(outcome.action, _flagging(entry.evaluator))
        for rule_index in np.unique(outcome.rule[flags]).tolist():
            rule = entry.evaluator.rules[rule_index]
            found = tally.reason(
                analysis.Reason(
                    "flagged", entry.bundle.name, rule.id, f"decided {rule.rule.action}"
                )
            )
            deciders[flags & (outcome.rule == rule_index)] = found
    _count(tally, analysis.FLAGGED, table, codes, regions, np.flatnonzero(clean), deciders)


def _flagging(evaluator: BatchEvaluator) -> list[int]:
    return [i for i, action in enumerate(evaluator.actions) if action in FLAGGING]


def _flags(rule: Rule) -> bool:
    return rule.action in FLAGGING


def _overridden(
    tally: analysis.GapTally, decided: list[Any], columns: Columns, missed: Any, reason: Any
) -> None:
    """A rule that flags matched, in enforce mode, but another rule's action came first."""
    for entry, outcome, served in decided:
        ev = entry.evaluator
        for rule in ev.rules:
            if rule.rule.mode != "enforce" or not _flags(rule.rule):
                continue
            rows = missed & served & (reason < 0) & ev.matches(rule, columns)
            for decider in np.unique(outcome.rule[rows]).tolist():
                winner = ev.rules[decider]
                found = tally.reason(
                    analysis.Reason(
                        "overridden",
                        entry.bundle.name,
                        rule.id,
                        f"matched, but {winner.id} decided {winner.rule.action}",
                    )
                )
                reason[rows & (outcome.rule == decider)] = found


def _shadowed(
    tally: analysis.GapTally,
    decided: list[Any],
    columns: Columns,
    missed: Any,
    reason: Any,
    labels: Any,
) -> None:
    """A rule that would flag matched, but runs in shadow mode."""
    for entry, _, served in decided:
        ev = entry.evaluator
        for rule in ev.rules:
            if rule.rule.mode != "shadow" or not _flags(rule.rule):
                continue
            matched = served & ev.matches(rule, columns)
            tally.shadow_clean[(entry.bundle.name, rule.id)] += int(
                np.count_nonzero(matched & (labels == 0))
            )
            rows = missed & matched & (reason < 0)
            if rows.any():
                found = tally.reason(
                    analysis.Reason("shadow", entry.bundle.name, rule.id, "runs in shadow mode")
                )
                reason[rows] = found


def _near(
    tally: analysis.GapTally, decided: list[Any], columns: Columns, missed: Any, reason: Any
) -> None:
    """A rule that flags, one field test short: the first in bundle order."""
    for entry, _, served in decided:
        ev = entry.evaluator
        for rule in ev.rules:
            if rule.rule.mode != "enforce" or not _flags(rule.rule):
                continue
            if not (missed & served & (reason < 0)).any():
                return
            leaves, which = one_short(ev, rule, columns, close_only=True)
            for place, leaf in enumerate(leaves):
                rows = missed & served & (reason < 0) & (which == place)
                if not rows.any():
                    continue
                list_name = _list_of(leaf)
                found = tally.reason(
                    analysis.Reason(
                        "near",
                        entry.bundle.name,
                        rule.id,
                        describe(leaf),
                        _param_of(rule.rule, leaf.field),
                        list_name,
                    )
                )
                reason[rows] = found
                if list_name is not None:
                    _candidates(tally, found, entry.bundle, leaf, list_name, columns, rows)


def _list_of(leaf: Any) -> str | None:
    """The list a near miss looked for an entry of, when adding one could make it match."""
    label = getattr(leaf, "label", "")
    if isinstance(leaf, Keywords) or (isinstance(leaf, Member) and leaf.op == "in"):
        return label[len("list ") :] if label.startswith("list ") else None
    return None


def _param_of(rule: Rule, field_name: str) -> str | None:
    """The param the rule's test of `field_name` reads, if one does."""

    def walk(node: Any) -> str | None:
        if isinstance(node, dict):
            if node.get("field") == field_name:
                return _first_param(node)
            for child in node.values():
                found = walk(child)
                if found is not None:
                    return found
        if isinstance(node, list):
            for child in node:
                found = walk(child)
                if found is not None:
                    return found
        return None

    return walk(rule.when)


def _first_param(node: Any) -> str | None:
    if isinstance(node, dict):
        if set(node) == {"param"}:
            return str(node["param"])
        for child in node.values():
            found = _first_param(child)
            if found is not None:
                return found
    return None


def _candidates(
    tally: analysis.GapTally,
    reason: int,
    bundle: Bundle,
    leaf: Any,
    list_name: str,
    columns: Columns,
    rows: Any,
) -> None:
    """The entries the missed listings carry that the list lacks: for keywords, the words of
    the text close to an entry (misspellings, look-alikes); for ids, the values themselves."""
    listed = bundle.list_named(list_name)
    if listed is None:
        return
    entries = {normalize(str(e)) for e in listed.items}
    codes, values = columns.distinct(leaf.field)
    for code in np.unique(codes[rows]).tolist():
        if code < 0:
            continue
        count = int(np.count_nonzero(rows & (codes == code)))
        value = values[code]
        if isinstance(leaf, Member):
            found = [str(value)] if str(value) not in listed.items else []
        else:
            found = sorted(
                {
                    word
                    for word in WORD.findall(normalize(str(value)))
                    if word not in entries and get_close_matches(word, entries, n=1, cutoff=0.8)
                }
            )
        for word in found:
            tally.candidate(reason, [word] * count)


def _count(
    tally: analysis.GapTally,
    kind: str,
    table: Any,
    codes: Any,
    regions: list[str],
    rows: Any,
    reasons: Any,
) -> None:
    if not len(rows):
        return
    picked = table.take(pa.array(rows))
    region_names = [regions[c] for c in codes[rows].tolist()]
    columns = []
    for name in tally.by:
        if name == "region":
            columns.append(region_names)
        else:
            values = Columns(picked, codes[rows]).array(name).to_pylist()
            columns.append([analysis.NONE if v is None else str(v) for v in values])
    keys = list(zip(*columns, strict=True))
    ids = picked.column("id").to_pylist()

    def sample(i: int) -> tuple[str, dict[str, Any]]:
        return ids[i], _plain(picked.slice(i, 1).to_pylist()[0])

    tally.add(kind, keys, reasons[rows].tolist(), region_names, sample)


def _plain(item: Any) -> Any:
    """A row as the listing it was: no key for a field it did not have."""
    if isinstance(item, dict):
        return {k: _plain(v) for k, v in item.items() if v is not None and k != "label"}
    return item


def _explain_samples(found: analysis.Gaps, bundles: dict[str, Bundle], config: Config) -> None:
    """Each sample of the groups shown, in explain's own words for its reason's rule."""
    evaluators: dict[tuple[str, str], Any] = {}
    reasons = found.tally.reasons
    for kind in (analysis.MISSED, analysis.FLAGGED):
        for group in found.groups(kind)[: found.top]:
            for sample in group.samples:
                reason = reasons[sample.reason]
                if reason.rule is None:
                    continue
                key = (reason.bundle, sample.region)
                if key not in evaluators:
                    evaluators[key] = compile_bundle(bundles[reason.bundle], config, sample.region)
                why = explain(evaluators[key], sample.item)
                for rule in (*why.matched, *why.near):
                    if rule.rule == reason.rule:
                        sample.why = rule.reasons
                        break
