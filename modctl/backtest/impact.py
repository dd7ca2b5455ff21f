"""What a bundle does to a set of listings, and what a change does. Pure: counting only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from modctl.engine.columnar import Outcome

FLAGGING = frozenset({"takedown", "limit", "review"})
EXAMPLES = 5


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, flagged: NDArray[np.bool_], labels: NDArray[np.int8]) -> None:
        """Count a batch: per row, whether it was flagged and its label (1, 0, -1 for none)."""
        infringing, clean = labels == 1, labels == 0
        self.tp += int(np.count_nonzero(flagged & infringing))
        self.fp += int(np.count_nonzero(flagged & clean))
        self.fn += int(np.count_nonzero(~flagged & infringing))
        self.tn += int(np.count_nonzero(~flagged & clean))

    def merge(self, other: Confusion) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn

    @property
    def labelled(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled,
            "true_positives": self.tp,
            "false_positives": self.fp,
            "false_negatives": self.fn,
            "true_negatives": self.tn,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class Change:
    id: str
    region: str
    before: str
    before_rule: str | None
    after: str
    after_rule: str | None
    label: bool | None

    @property
    def kind(self) -> str:
        if self.after == "takedown":
            return "new takedown"
        if self.before == "takedown":
            return "lost takedown"
        if self.after in FLAGGING and self.before not in FLAGGING:
            return "newly flagged"
        if self.before in FLAGGING and self.after not in FLAGGING:
            return "no longer flagged"
        return "other change"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "region": self.region,
            "kind": self.kind,
            "before": self.before,
            "before_rule": self.before_rule,
            "after": self.after,
            "after_rule": self.after_rule,
            "label": self.label,
        }


@dataclass
class Tally:
    """Counts over the listings of a backtest; tallies of several workers merge."""

    rows: int = 0
    actions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (region, action)
    hits: Counter[str] = field(default_factory=Counter)  # rule -> matches
    decided: Counter[str] = field(default_factory=Counter)  # rule -> decisions it made
    confusion: Confusion = field(default_factory=Confusion)
    baseline_confusion: Confusion = field(default_factory=Confusion)
    changed: int = 0
    change_kinds: Counter[str] = field(default_factory=Counter)
    change_regions: Counter[tuple[str, str]] = field(default_factory=Counter)
    change_rules: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[str, list[Change]] = field(default_factory=dict)

    def add(
        self,
        regions: Sequence[str],
        codes: NDArray[np.int64],
        actions: Sequence[str],
        rule_ids: Sequence[str],
        outcome: Outcome,
        labels: NDArray[np.int8],
    ) -> None:
        """Count one decided batch: `codes` index `regions`, outcome actions index `actions`."""
        self.rows += len(codes)
        width = len(actions)
        pairs = np.bincount(codes * width + outcome.action, minlength=len(regions) * width)
        for i in np.flatnonzero(pairs).tolist():
            self.actions[regions[i // width], actions[i % width]] += int(pairs[i])
        for i in np.flatnonzero(outcome.hits).tolist():
            self.hits[rule_ids[i]] += int(outcome.hits[i])
        decided = np.bincount(outcome.rule[outcome.rule >= 0], minlength=len(rule_ids))
        for i in np.flatnonzero(decided).tolist():
            self.decided[rule_ids[i]] += int(decided[i])
        self.confusion.add(_flagged(actions, outcome), labels)

    def compare(self, actions: Sequence[str], baseline: Outcome, labels: NDArray[np.int8]) -> None:
        self.baseline_confusion.add(_flagged(actions, baseline), labels)

    def change(self, change: Change) -> None:
        self.changed += 1
        kind = change.kind
        self.change_kinds[kind] += 1
        self.change_regions[change.region, kind] += 1
        rule = change.after_rule if change.after_rule else change.before_rule
        self.change_rules[rule or "(none)", kind] += 1
        examples = self.examples.setdefault(kind, [])
        if len(examples) < EXAMPLES:
            examples.append(change)

    def merge(self, other: Tally) -> None:
        self.rows += other.rows
        self.actions.update(other.actions)
        self.hits.update(other.hits)
        self.decided.update(other.decided)
        self.confusion.merge(other.confusion)
        self.baseline_confusion.merge(other.baseline_confusion)
        self.changed += other.changed
        self.change_kinds.update(other.change_kinds)
        self.change_regions.update(other.change_regions)
        self.change_rules.update(other.change_rules)
        for kind, changes in other.examples.items():
            mine = self.examples.setdefault(kind, [])
            mine += changes[: EXAMPLES - len(mine)]

    def to_dict(self, *, rules: list[str], baseline: bool) -> dict[str, Any]:
        regions = sorted({region for region, _ in self.actions})
        report: dict[str, Any] = {
            "rows": self.rows,
            "decisions": {
                region: {
                    action: count
                    for (r, action), count in sorted(self.actions.items())
                    if r == region
                }
                for region in regions
            },
            "rules": {
                rule: {"matches": self.hits.get(rule, 0), "decided": self.decided.get(rule, 0)}
                for rule in rules
            },
            "labels": self.confusion.to_dict() if self.confusion.labelled else None,
        }
        if baseline:
            report["baseline"] = {
                "labels": self.baseline_confusion.to_dict()
                if self.baseline_confusion.labelled
                else None,
                "changed": self.changed,
                "by_kind": dict(self.change_kinds),
                "by_region": _nest(self.change_regions),
                "by_rule": _nest(self.change_rules),
                "examples": {k: [c.to_dict() for c in v] for k, v in self.examples.items()},
            }
        return report


def _flagged(actions: Sequence[str], outcome: Outcome) -> NDArray[np.bool_]:
    flagging = [i for i, action in enumerate(actions) if action in FLAGGING]
    return np.isin(outcome.action, flagging)


def _nest(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (outer, inner), count in sorted(counter.items()):
        out.setdefault(outer, {})[inner] = count
    return out
