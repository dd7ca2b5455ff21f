"""Rendering state changes and `rollout status`: text for people, JSON for machines."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modctl.reports import cell, to_json
from modctl.state.operations import Outcome

if TYPE_CHECKING:
    from modctl.state.analysis import Analysis, Plan
from modctl.state.status import Status

Paint = Callable[[str, str], str]  # (text, colour) -> the text as the terminal should show it


def outcome_text(outcome: Outcome, undo: str | None) -> str:
    if outcome.dry_run:
        return "\n".join([f"Would {outcome.summary}; the state would change:", *outcome.diff()])
    lines = [f"{note[0].upper()}{note[1:]}." for note in outcome.notes]
    if outcome.commit is None:
        return "\n".join([*lines, "Nothing written."])
    lines.append(f"Done: {outcome.summary} (state commit {outcome.commit[:12]}).")
    if undo:
        lines.append(f"Undo: {undo}")
    return "\n".join(lines)


def outcome_json(outcome: Outcome, undo: str | None) -> str:
    return to_json({**outcome.to_dict(), "undo": undo})


def plain(text: str, colour: str) -> str:
    """The painter for no colour: `text` as it is."""
    return text


def status_text(status: Status, paint: Paint = plain, width: int = 80) -> str:
    """Frozen regions first, with who froze them, when, why and for which incident, then one
    row per region and bundle; `paint(text, colour)` colours what needs attention."""
    parts = []
    if status.freezes:
        parts.append("\n".join(_freezes(status.freezes, width, paint)))
    if status.rows:
        parts.append("\n".join(_table(status.rows, paint)))
    else:
        name = cell(status.bundle) if status.bundle else "BUNDLE"
        staged = f" for {name}" if status.bundle else ""
        empty = (
            f"Nothing staged{staged} yet; `modctl rollout start {name} VERSION` stages a release."
        )
        parts.append("\n".join(_wrap(empty, width, "", "")))
    return "\n\n".join(parts)


def watched(text: str, status: Status) -> str:
    """One frame of `rollout status --watch`: from the top of the screen, when it was drawn and
    `text`, each line clearing what the frame before left there."""
    head = f"Refreshed {status.as_of:%Y-%m-%d %H:%M:%S} UTC, every second; Ctrl-C stops."
    lines = [head, "", *text.split("\n")]
    return "\033[H" + "".join(f"{line}\033[K\n" for line in lines) + "\033[J"


def status_json(status: Status) -> str:
    return to_json(status.to_dict())


def duration(seconds: int) -> str:
    """A span for a narrow column: 45s, 35m07s, 2h05m, 3d04h."""
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    if days:
        return f"{days}d{hrs:02d}h"
    if hours:
        return f"{hours}h{mins:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _freezes(freezes: list[dict[str, Any]], width: int, paint: Paint) -> list[str]:
    """One paragraph per hold (regions frozen together by one command share it), long values
    wrapped, none cut."""
    holds: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for freeze in freezes:
        key = tuple(freeze[k] for k in ("incident", "actor", "since", "reason"))
        holds.setdefault(key, []).append(freeze)
    lines = []
    for (incident, actor, since, reason), held in holds.items():
        regions = " ".join(cell(f["region"]) for f in held)
        head = f"Frozen: {regions} " + (f"for {cell(incident)}" if incident else "(no incident)")
        if since:
            head += f" since {cell(since)} ({duration(held[0]['frozen_seconds'])} ago)"
        lines += [paint(line, "red") for line in _wrap(head, width, "", "  ")]
        by = f"by {cell(actor)}" if actor else "by someone unrecorded"
        why = f"{by}: {cell(reason) if reason else 'no reason given'}"
        lines += _wrap(why, width, "  ", "    ")
    return lines


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    import textwrap

    return textwrap.wrap(
        text, width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


# Columns shown only when some row has something in them.
_OPTIONAL = ("HOT-PATCHES", "GATE")
_ALARM = {"frozen", "gate", "refused"}


def _table(rows: list[dict[str, Any]], paint: Paint) -> list[str]:
    """The rows as a table, every column headed; only the optional columns that say something."""
    cells = [_cells(row) for row in rows]
    headers = [h for h in cells[0] if h not in _OPTIONAL or any(c[h][0] != "-" for c in cells)]
    widths = {h: max(len(h), *(len(c[h][0]) for c in cells)) for h in headers}
    lines = ["  ".join(h.ljust(widths[h]) for h in headers).rstrip()]
    for row in cells:
        shown = []
        for header in headers:
            text, colour = row[header]
            padding = " " * (widths[header] - len(text))
            shown.append((paint(text, colour) if colour else text) + padding)
        lines.append("  ".join(shown).rstrip())
    return lines


def _cells(r: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Each column's text for one row, and the colour it needs, if any."""
    canary = r["canary"] is not None
    step = f"{r['step']}/{r['steps']}" if r["steps"] else str(r["step"])
    promote = r["hold"] or ("yes" if r["promotable"] else "-")
    bake = r["bake_remaining_seconds"]
    return {
        "REGION": (cell(r["region"]), "red" if r["frozen"] else None),
        "BUNDLE": (cell(r["bundle"]), None),
        "STABLE": (cell(r["stable"] or "-"), None),
        "CANARY": (cell(f"{r['canary']}@{r['weight']}%"), "yellow") if canary else ("-", None),
        "STEP": (step, "yellow") if canary else ("-", None),
        "AT STEP": (duration(r["seconds_at_step"]) if canary else "-", None),
        "BAKE": (duration(bake) if bake is not None else "-", None),
        "PROMOTE": (promote, "red" if promote in _ALARM else None),
        "HOT-PATCHES": (_hotpatches(r), None),
        "GATE": (_gate(r), "red" if r["gate"] == "fail" else None),
    }


def _gate(row: dict[str, Any]) -> str:
    """The last verdict and how long ago it was given: `pass 12m`."""
    if not row["gate"]:
        return "-"
    ago = row.get("gate_seconds_ago")
    said = cell(row["gate"]) + (f" {duration(ago)}" if ago is not None else "")
    missing = row.get("samples_missing")
    return said + (f", {missing} samples to go" if missing else "")


def _hotpatches(row: dict[str, Any]) -> str:
    others = [
        f"{row[key]} {word}"
        for key, word in (("expired_hotpatches", "expired"), ("pending_hotpatches", "pending"))
        if row.get(key)
    ]
    if not row["hotpatches"] and not others:
        return "-"
    return f"{row['hotpatches']}" + (f" ({', '.join(others)})" if others else "")


def analyses_text(analyses: list[Analysis], outcome: Outcome) -> str:
    """One row per region and gate, then each verdict's reason, then what was recorded."""
    from tabulate import tabulate

    rows = []
    reasons = []
    # The interval is at each gate's confidence: in the header when the gates share one.
    levels = {v.confidence for a in analyses for v in a.verdicts}
    shared = len(levels) == 1
    for a in analyses:
        canary = a.state.canary
        assert canary is not None
        for v in a.verdicts:
            interval = v.difference_interval
            rows.append(
                [
                    a.region,
                    f"{canary.version}@{canary.weight}%",
                    a.look,
                    v.gate,
                    _rate(v.canary_rate),
                    _rate(v.stable_rate),
                    "-" if v.difference is None else f"{v.difference:+.2%}",
                    "-"
                    if interval is None
                    else ("" if shared else f"{_level(v.confidence)} ")
                    + f"[{interval[0]:+.2%}, {interval[1]:+.2%}]",
                    "-" if v.p_value is None else f"{v.p_value:.3g}",
                    v.samples,
                    v.verdict,
                ]
            )
            reasons.append(f"{a.region} {v.gate}: {v.reason}")
    headers = [
        "REGION",
        "CANARY",
        "LOOK",
        "GATE",
        "RATE",
        "STABLE",
        "DIFF",
        f"{_level(levels.pop())} CI" if shared else "CI",
        "P",
        "N",
        "VERDICT",
    ]
    table = str(tabulate([[cell(c) for c in r] for r in rows], headers=headers, tablefmt="plain"))
    done = (
        "Dry run: nothing recorded."
        if outcome.dry_run
        else f"Recorded under analyses/ (state commit {(outcome.commit or '')[:12]})."
    )
    return "\n".join([table, "", *[cell(r) for r in reasons], "", done])


def analyses_json(analyses: list[Analysis], outcome: Outcome) -> str:
    return to_json(
        {
            "analyses": [
                {
                    "region": a.region,
                    "release": a.state.canary.version if a.state.canary else None,
                    "look": a.look,
                    "verdict": a.verdict,
                    "gates": [v.to_dict() for v in a.verdicts],
                }
                for a in analyses
            ],
            "commit": outcome.commit,
            "dry_run": outcome.dry_run,
        }
    )


def advance_json(plans: list[Plan], outcome: Outcome) -> str:
    """Per bundle and region in flight: what `rollout advance` did, its verdict and why."""
    actions = {"pass": "promoted", "fail": "aborted"}
    return to_json(
        {
            "bundles": [
                {
                    "bundle": plan.bundle,
                    "regions": [
                        {
                            "region": a.region,
                            "release": a.state.canary.version if a.state.canary else None,
                            "verdict": a.verdict,
                            "action": actions.get(plan.decisions.get(a.region, ""), "held"),
                            "said": line,
                            "gates": [v.to_dict() for v in a.verdicts],
                        }
                        for a, line in zip(plan.analyses, plan.lines, strict=True)
                    ],
                }
                for plan in plans
            ],
            "commit": outcome.commit,
            "dry_run": outcome.dry_run,
        }
    )


def _level(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.2%}"
