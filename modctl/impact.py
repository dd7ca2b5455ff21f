"""What a bundle does to a set of listings, and what a change does. Pure: counting only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from modctl.engine.compiler import Decision

FLAGGING = frozenset({"takedown", "limit", "review"})
EXAMPLES = 5


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, flagged: bool, infringing: bool) -> None:
        if flagged and infringing:
            self.tp += 1
        elif flagged:
            self.fp += 1
        elif infringing:
            self.fn += 1
        else:
            self.tn += 1

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

    def add(self, region: str, decision: Decision, label: bool | None) -> None:
        self.rows += 1
        self.actions[region, decision.action] += 1
        for match in decision.matches:
            self.hits[match.rule] += 1
        if decision.rule:
            self.decided[decision.rule] += 1
        if label is not None:
            self.confusion.add(decision.action in FLAGGING, label)

    def compare(self, baseline: Decision, label: bool | None) -> None:
        if label is not None:
            self.baseline_confusion.add(baseline.action in FLAGGING, label)

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


def _nest(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (outer, inner), count in sorted(counter.items()):
        out.setdefault(outer, {})[inner] = count
    return out
