"""The command line that made a journal entry, written back from the entry and from what its
commit changed, for `incident report`. Pure: the caller reads the commit.

The journal's trailers name most of a command; the rest is read off the commit: `start
--at-step` from the canary's step, `rollback --to` unless the rollback took the previous stable
off the history, `promote --full` when the canary jumped past steps of its wave, `--metrics` when
the recorded metrics are not the configured source's, `--auto-rollback` when `advance` aborted,
`hotpatch revert --region` when the patch stayed in other regions, a hot-patch's op, target,
value and lifetime from its record, an emergency's playbook and parameters from its run record.
Values are quoted for a POSIX shell.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modctl.state.journal import Entry
from modctl.state.rollout import RegionState, parse_stamp

States = list[tuple[RegionState, RegionState]]  # each region file a commit changed: before, after


@dataclass(frozen=True)
class Written:
    """What an entry's commit wrote that its command line needs."""

    states: States = field(default_factory=list)
    run: dict[str, Any] | None = None  # an emergency's run record
    patch: dict[str, Any] | None = None  # the record of the hot-patch the entry names
    origins: frozenset[str] = frozenset()  # where the metrics of its gate verdicts came from
    failed: bool = False  # a gate verdict it recorded failed
    steps: tuple[int, ...] = ()  # the steps of the wave of its region, as its modctl.yaml had them
    partial: bool = False  # a revert left the hot-patch in other regions: it named its own


def command(e: Entry, written: Written, default_metrics: Callable[[str], bool]) -> str | None:
    """`modctl ...` as it was run for entry `e`; None when the entry does not say enough.
    `default_metrics(origin)`: whether metrics from `origin` need no `--metrics`."""
    words = _words(e, written, default_metrics)
    if words is None:
        return None
    tail: list[str] = []
    if "--" in words:  # arguments that start with `-` follow it, so the options go before it
        words, tail = words[: words.index("--")], words[words.index("--") :]
    run = written.run or {}
    incident, reason = run.get("incident") or e.incident, run.get("reason") or e.reason
    if incident:
        words += ["--incident", str(incident)]
    if reason:
        words += ["--reason", str(reason)]
    if e.action == "emergency":
        words.append("--yes")
    return "modctl " + " ".join(shlex.quote(word) for word in [*words, *tail])


def duration(total: int) -> str:
    """Seconds as `modctl` writes durations: 4h, 1h30m, 2m5s, 0s; a negative span (clocks
    that disagree) keeps its sign."""
    if total < 0:
        return "-" + duration(-total)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def text(value: Any) -> str:
    """A typed value (a playbook parameter, a hot-patch value) as the command line takes it:
    a list (a playbook's regions) separated by commas, as `-p` reads it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, list):
        return ",".join(map(text, value))
    return json.dumps(value, ensure_ascii=False)


def _words(e: Entry, w: Written, default_metrics: Callable[[str], bool]) -> list[str] | None:
    action, bundle = e.action, (e.bundles[0] if len(e.bundles) == 1 else None)
    regions = [word for region in e.regions for word in ("--region", region)]
    metrics = (
        []
        if all(default_metrics(origin) for origin in w.origins)
        else ["--metrics", min(w.origins)]
    )
    if action in ("freeze", "unfreeze") and e.regions:
        forced = ["--force"] if action == "unfreeze" and e.forced == "incident" else []
        return [action, *regions, *forced]
    if action == "hotpatch-revert" and e.hotpatch:
        return ["hotpatch", "revert", e.hotpatch, *(regions if w.partial else [])]
    if action == "emergency":
        return _emergency(e, w.run)
    if action == "advance":
        auto = ["--auto-rollback"] if w.failed else []
        return ["rollout", "advance", *([bundle] if bundle else []), *metrics, *auto]
    if bundle is None:
        return None
    if action == "release" and e.release:
        return ["release", "cut", bundle, "--version", e.release]
    if action == "analyze":
        return ["rollout", "analyze", bundle, *regions, *metrics]
    if action == "hotpatch":
        return _hotpatch(bundle, regions, w.patch)
    if action == "start" and e.release and e.regions:
        at = [after.canary.step for _before, after in w.states if after.canary]
        step = ["--at-step", str(at[0] + 1)] if at and at[0] else []
        return ["rollout", "start", bundle, e.release, *regions, *step]
    if len(e.regions) != 1:
        return None
    if action == "rollback":
        return ["rollback", bundle, *regions, *_rollback_to(w.states)]
    if action == "promote":
        full = ["--full"] if _full(w.states, w.steps) else []
        forced = ["--force"] if e.forced == "min_bake" else []
        return ["rollout", "promote", bundle, *regions, *full, *forced]
    if action in ("demote", "pause", "resume", "abort"):
        return ["rollout", action, bundle, *regions]
    return None


def _rollback_to(states: States) -> list[str]:
    """`--to VERSION` unless the rollback went back to the previous stable, as one without
    `--to` does (taking it off the history)."""
    for before, after in states:
        popped = before.history[-1:] == (after.stable,) and after.history == before.history[:-1]
        if after.stable and not popped:
            return ["--to", after.stable]
    return []


def _full(states: States, steps: tuple[int, ...]) -> bool:
    """Whether a promote jumped past steps of its wave straight to stable (`--full`)."""
    for before, after in states:
        canary = before.canary
        if canary and after.canary is None and after.stable == canary.version:
            return canary.step + 1 < len(steps) - 1
    return False


def _hotpatch(bundle: str, regions: list[str], record: dict[str, Any] | None) -> list[str] | None:
    """`hotpatch apply` as its patch record says it was called."""
    if record is None or "op" not in record:
        return None
    value = record.get("value")
    values = [value] if value is not None and not isinstance(value, list) else value or []
    queue = ["--queue", str(record["queue"])] if record.get("queue") else []
    try:
        ttl = parse_stamp(str(record["expires"])) - parse_stamp(str(record["created"]))
        expires = ["--expires-in", duration(int(ttl.total_seconds()))]
    except (KeyError, ValueError):
        expires = []
    words = [str(record["op"]), str(record.get("target", "")), *map(text, values)]
    if any(word.startswith("-") for word in words):
        return ["hotpatch", "apply", bundle, *regions, *queue, *expires, "--", *words]
    return ["hotpatch", "apply", bundle, *regions, *words, *queue, *expires]


def _emergency(e: Entry, run: dict[str, Any] | None) -> list[str] | None:
    """`emergency run` as its run record says it was called."""
    name = (run or {}).get("playbook") or e.playbook
    if not name:
        return None
    params = (run or {}).get("params")
    given = params.items() if isinstance(params, dict) else []
    return ["emergency", "run", str(name), *(w for k, v in given for w in ("-p", f"{k}={text(v)}"))]
