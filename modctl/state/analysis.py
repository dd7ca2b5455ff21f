"""Gate evaluations of the canaries in flight, recorded under `analyses/BUNDLE/REGION/` so that
`audit verify` can recompute every verdict from its recorded inputs. Pure: the metrics rows come
in, the files to write go out.

An analysis file holds the canary it judged (release, step, since), when, the look number (how
many analyses of that canary at that step there have been), the digest and origin of the metrics
rows, and per gate the gate's configuration, the counts of the look and the verdict with its
reason: everything the judge needs to give the same answer again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modctl.errors import RefusedError, UsageError
from modctl.gates.judge import FAIL, PASS, Counts, Gate, Verdict, judge, overall
from modctl.model import Config
from modctl.source.metrics import Metrics, counts
from modctl.state import rollout
from modctl.state.artifact import canonical
from modctl.state.files import judged, read_analysis, region_file, region_state
from modctl.state.journal import Entry
from modctl.state.rollout import RegionState, Situation, parse_stamp
from modctl.state.store import Snapshot


@dataclass
class Analysis:
    region: str
    state: RegionState
    look: int
    verdicts: list[Verdict]
    counts: dict[str, Counts]

    @property
    def verdict(self) -> str:
        return overall(self.verdicts)


def in_flight(
    snapshot: Snapshot, config: Config, bundle: str, regions: list[str] | None
) -> list[RegionState]:
    """The region states of `bundle` with a canary, in the order of `modctl.yaml`'s regions."""
    found = []
    for region in dict.fromkeys(regions or config.regions):
        if region not in config.regions:
            raise UsageError(
                f"unknown region {region!r}; modctl.yaml declares {', '.join(config.regions)}"
            )
        raw = snapshot.files.get(region_file(region, bundle))
        state = region_state(region_file(region, bundle), raw) if raw else None
        if state is not None and state.canary is not None:
            found.append(state)
    return found


def flying(snapshot: Snapshot) -> list[str]:
    """The bundles with a canary in some region."""
    return sorted(
        {
            path.split("/")[2].removesuffix(".yaml")
            for path, data in snapshot.files.items()
            if path.startswith("regions/")
            and not path.split("/")[2].startswith("_")
            and region_state(path, data).canary is not None
        }
    )


def gates(config: Config) -> list[Gate]:
    """The gates `rollout.gates` names, in that order."""
    return [Gate.from_config(name, config.gates[name]) for name in config.rollout_gates]


def analyse(
    snapshot: Snapshot,
    config: Config,
    bundle: str,
    metrics: Metrics,
    regions: list[str] | None = None,
) -> list[Analysis]:
    """One look at every canary of `bundle` in flight (in `regions`, default all)."""
    found = []
    for state in in_flight(snapshot, config, bundle, regions):
        assert state.canary is not None
        since = parse_stamp(state.canary.since)
        looks = _looks(snapshot, bundle, state)
        per_gate = {
            g.name: counts(metrics.rows, bundle, state.region, since, g) for g in gates(config)
        }
        verdicts = [judge(g, per_gate[g.name]) for g in gates(config)]
        found.append(Analysis(state.region, state, looks + 1, verdicts, per_gate))
    return found


def files(
    analyses: list[Analysis],
    bundle: str,
    config: Config,
    metrics: Metrics,
    moment: datetime,
    taken: Collection[str],
) -> dict[str, bytes | None]:
    """The analysis files one run writes, beside the files `taken` already."""
    written: dict[str, bytes | None] = {}
    for analysis in analyses:
        canary = analysis.state.canary
        assert canary is not None
        record = {
            "bundle": bundle,
            "region": analysis.region,
            "release": canary.version,
            "step": canary.step,
            "since": canary.since,
            "at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "look": analysis.look,
            "metrics": {"origin": metrics.origin, "digest": metrics.digest},
            "gates": [
                {
                    "gate": v.gate,
                    "config": config.gates[v.gate],
                    "counts": analysis.counts[v.gate].__dict__,
                    "verdict": v.verdict,
                    "reason": v.reason,
                }
                for v in analysis.verdicts
            ],
            "verdict": analysis.verdict,
        }
        written[analysis_file(bundle, analysis.region, moment, taken)] = canonical(record)
    return written


def entry(bundle: str, written: dict[str, bytes | None], journal: Any, config: Config) -> Entry:
    """The journal entry of the analyses `written`: what each region's canary got."""
    records = sorted(
        (json.loads(data) for data in written.values() if data), key=lambda r: r["region"]
    )
    said = ", ".join(f"{r['region']} {r['verdict']}" for r in records)
    return Entry(
        "analyze",
        journal.actor,
        f"analyze {bundle}: {said}",
        bundle=bundle,
        region=",".join(r["region"] for r in records),
        incident=journal.incident,
        reason=journal.reason,
        config=config.blob,
    )


def analysis_file(bundle: str, region: str, moment: datetime, taken: Collection[str] = ()) -> str:
    """Where an analysis made at `moment` goes: named by its second, and numbered `_2`, `_3`, ...
    after the first of the same second, so that none replaces another."""
    stem = f"analyses/{bundle}/{region}/{moment.strftime('%Y%m%dT%H%M%SZ')}"
    path, number = f"{stem}.json", 1
    while path in taken:
        number += 1
        path = f"{stem}_{number}.json"
    return path


def recheck(snapshot: Snapshot, config: Config, path: str, data: bytes) -> None:
    """RefusedError unless the analysis `data` at `path` judged a canary in flight in `snapshot`
    under `config`'s gates, and each recorded verdict is what the judge gives its recorded counts."""
    try:
        record = json.loads(data)
        bundle, region = record["bundle"], record["region"]
        raw = snapshot.files.get(region_file(region, bundle))
        state = region_state(region_file(region, bundle), raw) if raw else None
        canary = state.canary if state else None
        if canary is None or (canary.version, canary.step) != (record["release"], record["step"]):
            raise RefusedError(f"{path} judges a canary that is not in flight in {region}")
        stem = analysis_file(bundle, region, parse_stamp(record["at"])).removesuffix(".json")
        if not re.fullmatch(re.escape(stem) + r"(_[1-9][0-9]*)?\.json", path):
            raise RefusedError(f"{path} is not where its bundle, region and time put it")
        verdicts = []
        for gate in record["gates"]:
            name = gate["gate"]
            if config.gates.get(name) != gate["config"]:
                raise RefusedError(f"{path}: gate {name} is not configured so in modctl.yaml")
            again = judge(Gate.from_config(name, gate["config"]), Counts(**gate["counts"]))
            if (again.verdict, again.reason) != (gate["verdict"], gate["reason"]):
                raise RefusedError(
                    f"{path}: gate {name} recorded {gate['verdict']!r}, its counts give "
                    f"{again.verdict!r}"
                )
            verdicts.append(again)
        if overall(verdicts) != record["verdict"]:
            raise RefusedError(f"{path}: the overall verdict is not what its gates give")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RefusedError(
            f"{path} is not an analysis modctl writes ({type(exc).__name__})"
        ) from None


def _looks(snapshot: Snapshot, bundle: str, state: RegionState) -> int:
    """How many analyses of this canary at this step are recorded already."""
    assert state.canary is not None
    prefix = f"analyses/{bundle}/{state.region}/"
    return sum(
        1
        for path, data in snapshot.files.items()
        if path.startswith(prefix) and judged(read_analysis(path, data), state.canary)
    )


@dataclass
class Plan:
    """What `rollout advance` does in each region of one bundle, and why, in one line each."""

    bundle: str
    decisions: dict[str, str]  # region -> pass (promote one step) | fail (abort)
    lines: list[str]
    analyses: list[Analysis]
    failed: bool = False  # a gate failed
    frozen: bool = False  # a freeze held back a promotion the gates allowed


def plan(
    snapshot: Snapshot,
    config: Config,
    bundle: str,
    metrics: Metrics,
    moment: datetime,
    *,
    auto_rollback: bool,
) -> Plan:
    """Judge every canary of `bundle` in flight and decide: promote one step when every gate
    passes and the rollout rules allow it, abort on a failed gate with `auto_rollback`, else
    hold. Pure."""
    from modctl.state.files import situation

    found = analyse(snapshot, config, bundle, metrics)
    result = Plan(bundle, {}, [], found)
    for a in found:
        canary = a.state.canary
        assert canary is not None
        where = f"{a.region} {bundle} {canary.version}@{canary.weight}%"
        failing = [v for v in a.verdicts if v.verdict == FAIL]
        if failing:
            result.failed = True
            why = f"gate {failing[0].gate} failed ({_rates(a, failing[0], config)}): {failing[0].reason}"
            if auto_rollback:
                result.decisions[a.region] = FAIL
                result.lines.append(f"{where}: aborted; {why}")
            else:
                result.lines.append(f"{where}: held; {why} (--auto-rollback aborts it)")
            continue
        if a.verdict != PASS:
            unsure = next(v for v in a.verdicts if v.verdict != PASS)
            result.lines.append(f"{where}: held; gate {unsure.gate} inconclusive: {unsure.reason}")
            continue
        try:
            rollout.promote(situation(snapshot, config, bundle, moment), a.region)
        except RefusedError as exc:
            result.frozen = result.frozen or getattr(exc, "hold", "") == "frozen"
            said = getattr(exc, "brief", exc.message)
            result.lines.append(f"{where}: held; every gate passes, but {said}")
            continue
        result.decisions[a.region] = PASS
        result.lines.append(f"{where}: promoted one step; every gate passes")
    return result


def _rates(analysis: Analysis, verdict: Verdict, config: Config) -> str:
    """Both rates and their samples: `canary 12.00% of 2,500 appeals, stable 8.00% of 22,500`."""
    seen = analysis.counts[verdict.gate]
    denominator = config.gates[verdict.gate]["denominator"]
    return (
        f"canary {verdict.canary_rate or 0:.2%} of {seen.canary_of:,} {denominator}, "
        f"stable {verdict.stable_rate or 0:.2%} of {seen.stable_of:,}"
    )


def advancing(decisions: dict[str, str]) -> Callable[[Situation], str]:
    """The transition `advance` makes: promote where the gates passed, abort where one failed."""

    def mutate(s: Situation) -> str:
        done = []
        for region, verdict in sorted(decisions.items()):
            if verdict == PASS:
                done.append(rollout.promote(s, region))
            else:
                done.append(rollout.abort(s, region))
        return "advance: " + "; ".join(done)

    return mutate
