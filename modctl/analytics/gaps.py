"""What labelled listings show the bundles miss: infringing listings no rule flagged and clean
listings a rule flagged, grouped (by default by category, region and brand), each group with
the most common reason: the rule that came closest and the condition that stopped it (the near
misses of `explain`), a shadow rule that matched, or an allow rule that won. Pure: counting and
suggestions; `backtest.gaps` decides the listings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modctl.analytics import suggest

MISSED, FLAGGED = "missed", "flagged"
NONE = "(none)"
SAMPLES = 3  # per group
TOP_CANDIDATES = 5  # list entries suggested at once


@dataclass(frozen=True)
class Reason:
    """Why listings ended as they did. `kind`: overridden (an allow rule won over a rule that
    flags), shadow (a rule that flags matched in shadow mode), near (the rule was one test
    short: `condition`), none (no rule came within one test), flagged (a clean listing, decided
    by `rule`). `param` is the rule's param the failed test reads, if any; `list_name` the list
    whose entries it looks for, if any."""

    kind: str
    bundle: str
    rule: str | None
    condition: str
    param: str | None = None
    list_name: str | None = None

    def text(self) -> str:
        if self.kind == "none":
            return "no rule came within one condition"
        where = f"{self.bundle}/{self.rule}"
        if self.kind == "near":
            return f"{where} one condition short: {self.condition}"
        if self.kind == "shadow":
            return f"{where} matched, but runs in shadow mode"
        return f"{where}: {self.condition}"

    def short(self) -> str:
        """The rule and how it came short or flagged, to head explain's words about it."""
        where = f"{self.bundle}/{self.rule}"
        if self.kind == "near":
            return f"{where} one condition short"
        if self.kind == "shadow":
            return f"{where} in shadow mode"
        return f"{where} {self.condition}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "bundle": self.bundle or None,
            "rule": self.rule,
            "condition": self.condition,
            "text": self.text(),
        }


@dataclass
class Sample:
    id: str
    region: str
    item: dict[str, Any]
    reason: int
    why: list[str] = field(default_factory=list)  # explain's own words, filled in at the end

    def to_dict(self, reasons: Sequence[Reason]) -> dict[str, Any]:
        return {
            "id": self.id,
            "region": self.region,
            "reason": reasons[self.reason].text(),
            "why": self.why,
        }


@dataclass
class Group:
    key: tuple[str, ...]
    count: int = 0
    reasons: Counter[int] = field(default_factory=Counter)
    samples: list[Sample] = field(default_factory=list)

    @property
    def top(self) -> int:
        return self.reasons.most_common(1)[0][0]


@dataclass
class GapTally:
    """Listings counted as they are decided, batch by batch."""

    by: tuple[str, ...]
    rows: int = 0
    infringing: int = 0
    clean: int = 0
    outside: int = 0
    reasons: list[Reason] = field(default_factory=list)
    ids: dict[Reason, int] = field(default_factory=dict)
    groups: dict[tuple[str, tuple[str, ...]], Group] = field(default_factory=dict)
    regions: dict[int, Counter[str]] = field(default_factory=dict)  # reason -> missed per region
    candidates: dict[int, Counter[str]] = field(default_factory=dict)  # reason -> list entries
    shadow_clean: Counter[tuple[str, str]] = field(default_factory=Counter)  # (bundle, rule)

    def reason(self, reason: Reason) -> int:
        found = self.ids.get(reason)
        if found is None:
            found = self.ids[reason] = len(self.reasons)
            self.reasons.append(reason)
        return found

    def add(
        self,
        kind: str,
        keys: Sequence[tuple[str, ...]],
        reasons: Sequence[int],
        regions: Sequence[str],
        sample: Any,
    ) -> None:
        """Count listings of `kind` (missed or flagged): each one's group key, reason id and
        region; `sample(i)` gives the i-th one as (id, item) when a group keeps it."""
        for i, (key, reason, region) in enumerate(zip(keys, reasons, regions, strict=True)):
            group = self.groups.get((kind, key))
            if group is None:
                group = self.groups[(kind, key)] = Group(key)
            group.count += 1
            group.reasons[reason] += 1
            if kind == MISSED:
                self.regions.setdefault(reason, Counter())[region] += 1
            if len(group.samples) < SAMPLES:
                item_id, item = sample(i)
                group.samples.append(Sample(item_id, region, item, reason))

    def candidate(self, reason: int, entries: Sequence[str]) -> None:
        self.candidates.setdefault(reason, Counter()).update(entries)


@dataclass
class Gaps:
    bundles: list[str]
    data: str
    by: tuple[str, ...]
    tally: GapTally
    top: int
    suggestions: list[suggest.Suggestion] = field(default_factory=list)
    skipped: int = 0
    first_skip: str | None = None

    def groups(self, kind: str) -> list[Group]:
        found = [g for (k, _), g in self.tally.groups.items() if k == kind]
        return sorted(found, key=lambda g: (-g.count, g.key))

    def total(self, kind: str) -> int:
        return sum(g.count for g in self.groups(kind))

    def by_reason(self, kind: str) -> list[tuple[Reason, int]]:
        counts: Counter[int] = Counter()
        for group in self.groups(kind):
            counts.update(group.reasons)
        return [(self.tally.reasons[i], n) for i, n in counts.most_common()]

    def margin(self, kind: str, dimension: str) -> Counter[str]:
        """Listings of `kind` per value of one grouping field."""
        place = self.by.index(dimension)
        found: Counter[str] = Counter()
        for group in self.groups(kind):
            found[group.key[place]] += group.count
        return found

    def to_dict(self) -> dict[str, Any]:
        tally = self.tally
        reasons = tally.reasons

        def groups(kind: str) -> list[dict[str, Any]]:
            return [
                {
                    **dict(zip(self.by, g.key, strict=True)),
                    "listings": g.count,
                    "reason": reasons[g.top].to_dict(),
                    "reasons": [
                        {**reasons[r].to_dict(), "listings": n} for r, n in g.reasons.most_common()
                    ],
                    "samples": [s.to_dict(reasons) for s in g.samples],
                }
                for g in self.groups(kind)[: self.top]
            ]

        return {
            "bundles": self.bundles,
            "data": self.data,
            "by": list(self.by),
            "listings": tally.rows,
            "infringing": tally.infringing,
            "clean": tally.clean,
            "skipped_rows": self.skipped,
            "rows_outside_bundle_regions": tally.outside,
            "missed": self.total(MISSED),
            "flagged_clean": self.total(FLAGGED),
            "missed_groups": len(self.groups(MISSED)),
            "flagged_clean_groups": len(self.groups(FLAGGED)),
            "missed_by_reason": [{**r.to_dict(), "listings": n} for r, n in self.by_reason(MISSED)],
            "missed_top_groups": groups(MISSED),
            "flagged_clean_top_groups": groups(FLAGGED),
            "suggestions": [s.to_dict() for s in self.suggestions],
        }


def suggestions(
    found: Gaps, params: dict[tuple[str, str], dict[str, Any]], scopes: dict[tuple[str, str], Any]
) -> list[suggest.Suggestion]:
    """From the reasons most listings were missed for: a sweep of the param a near miss failed
    on, the list entries its missed listings carry, or a shadow rule to enforce. `params` gives
    each (bundle, rule)'s params, `scopes` its regions (None: every region)."""
    tally = found.tally
    made: list[suggest.Suggestion] = []
    seen: set[tuple[str, str, str]] = set()  # (bundle, rule, param) swept already
    for reason, count in found.by_reason(MISSED):
        if reason.rule is None or count < 2:
            continue
        index = tally.ids[reason]
        regions = sorted(tally.regions.get(index, Counter()))
        scope = scopes.get((reason.bundle, reason.rule))
        if scope is not None:
            regions = [r for r in regions if r in scope]
        evidence = f"{count:,} infringing listings missed: {reason.text()}"
        if reason.kind == "near" and reason.param is not None:
            key = (reason.bundle, reason.rule, reason.param)
            value = params[(reason.bundle, reason.rule)][reason.param]
            spec = suggest.sweep_range(value)
            if key not in seen and spec is not None:
                seen.add(key)
                made.append(
                    suggest.Suggestion(
                        "sweep",
                        reason.bundle,
                        reason.rule,
                        evidence,
                        suggest.sweep(reason.bundle, found.data, reason.rule, reason.param, spec),
                    )
                )
        elif reason.kind == "near" and reason.list_name and tally.candidates.get(index):
            entries = [e for e, n in tally.candidates[index].most_common(TOP_CANDIDATES) if n > 1]
            if entries and regions:
                listed = ", ".join(f"{e!r} ({tally.candidates[index][e]})" for e in entries)
                made.append(
                    suggest.Suggestion(
                        "list_add",
                        reason.bundle,
                        reason.rule,
                        f"{evidence}; they carry {listed}, not on {reason.list_name}",
                        suggest.hotpatch(
                            reason.bundle,
                            regions,
                            "list_add",
                            reason.list_name,
                            *entries,
                            reason=f"gaps: {count} infringing listings {reason.rule} missed",
                        ),
                    )
                )
        elif reason.kind == "shadow" and regions:
            clean = tally.shadow_clean[(reason.bundle, reason.rule)]
            made.append(
                suggest.Suggestion(
                    "enforce",
                    reason.bundle,
                    reason.rule,
                    f"{count:,} infringing listings the bundles miss match {reason.rule} in "
                    f"shadow mode; it matches {clean:,} clean listings too",
                    suggest.hotpatch(
                        reason.bundle,
                        regions,
                        "set_mode",
                        reason.rule,
                        "enforce",
                        reason=f"gaps: {reason.rule} catches {count} missed infringing listings",
                    ),
                )
            )
    return made
