"""Rendering an incident: its timeline for `incident show` (text, JSON) and the postmortem
skeleton of `incident report` (Markdown with a Mermaid timeline, or JSON).

Every value from the journal or the state branch is escaped for where it lands: `cell` for the
terminal, `markdown` for Markdown text, `mermaid` for the diagram (a colon, `#`, `%` or `<` in a
reason would otherwise split, end or steer it), and `shlex.quote` in the commands.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from modctl import printable
from modctl.reports import cell, to_json
from modctl.reports.journal import FORCED
from modctl.reports.markdown import code, markdown
from modctl.state.commandline import duration, text
from modctl.state.incident import Incident, OpenPatch, Patch, Step, Verdict

WIDTH = 80
INDENT = "    "
EVENT = 160  # characters of a step's summary in the diagram; the table below it has all
NONE = "no commit of the incident changed what production serves (deploy/)"


def show_text(incident: Incident, width: int = WIDTH) -> str:
    """The timeline: a head with the span, then each step with its time, action, commit and
    actor, and indented lines with what it did, where, why, its hot-patches and gate verdicts."""
    parts = ["\n".join(wrapped for line in _head(incident) for wrapped in _wrap(line, width, ""))]
    parts += [_step(incident, step, width) for step in incident.steps]
    if incident.open:
        lines = ["Hot-patches still open:"]
        for found in incident.open:
            lines += _wrap(f"{_open(found)}; undo with `{cell(found.revert)}`", width, INDENT)
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _head(incident: Incident) -> list[str]:
    own = incident.own
    related = len(incident.steps) - len(own)
    span = f"from {incident.first.time} to {incident.last.time} (UTC)"
    outside = _count(related, "gate analysis", "gate analyses")
    lines = [
        f"Incident {cell(incident.id)}: {_count(len(own), 'journal entry', 'journal entries')} "
        + span
        + (f", and {outside} made meanwhile outside it" if related else "")
        + "."
    ]
    scope = [
        f"{name} {', '.join(cell(v) for v in values)}"
        for name, values in (
            ("bundles", incident.bundles),
            ("regions", incident.regions),
            ("releases", incident.releases),
            ("actors", incident.actors),
        )
        if values
    ]
    said = "; ".join(scope)
    lines.append(said[:1].upper() + said[1:] + ".")
    found = incident.mitigated
    if found is None or incident.time_to_mitigate is None:
        lines.append(f"Not mitigated: {NONE}.")
    else:
        lines.append(
            f"Mitigated at {found.time}, {duration(incident.time_to_mitigate)} after the first "
            f"entry, by {(found.entry.commit or '')[:12]}: {cell(found.entry.summary)}."
        )
    return lines


def _step(incident: Incident, step: Step, width: int) -> str:
    e = step.entry
    head = [step.time, cell(e.action), (e.commit or "")[:12], cell(e.actor)]
    if step is incident.mitigated:
        head.append("MITIGATED")
    elif step.mitigating:
        head.append("mitigating")
    if step.related:
        head.append(f"(not under {cell(incident.id)})")
    body = [cell(e.summary), _scope(step)]
    if e.reason:
        body.append(f"reason: {cell(e.reason)}")
    if e.forced:
        body.append(FORCED.get(e.forced, f"forced past {cell(e.forced)}"))
    if e.playbook or step.run:
        body.append(_playbook(step))
    body += [_patch(p) for p in step.patches]
    body += [_verdict(v) for v in step.verdicts]
    if e.problem:
        body.append(f"trailers unreadable: {cell(e.problem)}")
    lines = _wrap("  ".join(v for v in head if v), width, "")
    for line in body:
        if line:
            lines += _wrap(line, width, INDENT)
    return "\n".join(lines)


def _scope(step: Step) -> str:
    e = step.entry
    named = [
        (("bundle" if len(e.bundles) == 1 else "bundles"), e.bundles),
        (("release" if len(step.releases) == 1 else "releases"), step.releases),
        (("region" if len(e.regions) == 1 else "regions"), e.regions),
    ]
    return ", ".join(
        f"{name} {', '.join(cell(v) for v in values)}" for name, values in named if values
    )


def _playbook(step: Step) -> str:
    run = step.run or {}
    name = run.get("playbook") or step.entry.playbook
    params = run.get("params")
    given = ", ".join(
        f"{cell(k)}={cell(text(v))}"
        for k, v in (params if isinstance(params, dict) else {}).items()
    )
    return f"playbook {cell(name)}" + (f" with {given}" if given else "")


def _patch(patch: Patch) -> str:
    return (
        f"hot-patch {cell(patch.id)} {patch.change} in {', '.join(map(cell, patch.regions))}: "
        + _what(patch.record)
    )


def _what(record: dict[str, Any]) -> str:
    """What a hot-patch does, in words: `disable_rule fake-brand until ...`."""
    words = [str(record.get(k)) for k in ("op", "target") if record.get(k) is not None]
    value = record.get("value")
    if isinstance(value, list):
        words.append(", ".join(map(text, value)))
    elif value is not None:
        words.append(text(value))
    if record.get("queue"):
        words.append(f"(queue {record['queue']})")
    if record.get("expires"):
        words.append(f"until {record['expires']}")
    return cell(" ".join(words)) if words else "(no record)"


def _verdict(verdict: Verdict) -> str:
    where = " ".join(cell(v) for v in (verdict.bundle, verdict.region, verdict.release) if v)
    gates = "; ".join(f"{cell(g)} {cell(v)}: {cell(r)}" for g, v, r in verdict.gates)
    return f"gate verdict {where}: {cell(verdict.verdict)}" + (f" ({gates})" if gates else "")


def _open(found: OpenPatch) -> str:
    return (
        f"{cell(found.id)} on {cell(found.bundle)} in {', '.join(map(cell, found.regions))}: "
        f"{_what({**found.record, 'expires': found.until})}"
    )


def _wrap(line: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(
        line,
        width,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
        break_long_words=False,
    ) or [indent]


def show_json(incident: Incident) -> str:
    return to_json(
        {
            "incident": incident.id,
            "as_of": incident.as_of,
            "state_commit": incident.tip,
            "timeline": [step.to_dict() for step in incident.steps],
        }
    )


def report_json(incident: Incident) -> str:
    return to_json(
        {
            "summary": incident.summary(),
            "timeline": [step.to_dict() for step in incident.steps],
            "open_hotpatches": [found.to_dict() for found in incident.open],
            "commands": _commands(incident),
        }
    )


def _commands(incident: Incident) -> list[dict[str, Any]]:
    return [
        {"time": s.time, "actor": s.entry.actor, "commit": s.entry.commit, "command": s.command}
        for s in incident.own
    ]


# What the diagram keeps as it is: letters and digits of any script, the space, and punctuation
# that means nothing to Mermaid's timeline grammar or to the HTML it renders into.
_PLAIN = frozenset(" .,-_/()+=@!?*'[]")


def mermaid(value: Any) -> str:
    """A value as Mermaid text: control characters escaped as `modctl` shows them, then every
    character but letters, digits and plain punctuation as an entity code (`#58;` for a colon,
    which would end an event; `#35;`, `#37;`, `#60;` for what starts comments, directives and
    HTML), so a value can neither split an event nor steer the diagram."""
    return "".join(
        ch if ch.isalnum() or ch in _PLAIN else f"#{ord(ch)};"
        for ch in printable.escape(str(value))
    )


def diagram(incident: Incident) -> str:
    """A Mermaid `timeline` of the incident: one section per UTC day, one period per moment,
    each step an event."""
    lines = ["timeline", f"    title {mermaid(f'Incident {incident.id} (UTC)')}"]
    day = ""
    period = ""
    for step in incident.steps:
        if step.time[:10] != day:
            day = step.time[:10]
            lines.append(f"    section {mermaid(day)}")
            period = ""
        event = mermaid(_event(incident, step))
        if step.time != period:
            period = step.time
            lines.append(f"        {mermaid(step.time[11:19])} : {event}")
        else:
            lines.append(f"            : {event}")
    return "\n".join(lines)


def _event(incident: Incident, step: Step) -> str:
    if step.related:
        said = ", ".join(f"{v.bundle} {v.region} {v.verdict}" for v in step.verdicts)
        words = f"gate verdicts outside the incident: {said}"
    else:
        words = step.entry.summary or step.entry.action or "(no summary)"
    if step is incident.mitigated:
        words = f"MITIGATED by {words}"
    return words if len(words) <= EVENT else words[: EVENT - 1] + "\u2026"


def report_markdown(incident: Incident) -> str:
    """The postmortem skeleton: summary, impact, the timeline (diagram and table), root cause,
    what went well and what did not, follow-ups (the hot-patches still open first), and the
    commands that were run."""
    out = [
        f"# Postmortem: incident {markdown(incident.id)}",
        "",
        f"_Drafted by `modctl incident report` from the journal of the state branch at "
        f"{code(incident.tip[:12])}, {incident.as_of}. Times are UTC. Fill in the sections in "
        "italics._",
        "",
        "## Summary",
        "",
        *_summary(incident),
        "",
        "## Impact",
        "",
        "_Who and what was affected (listings, sellers, rights holders, regions), how many, for "
        "how long; how it was noticed._",
        "",
        "## Timeline (UTC)",
        "",
        "```mermaid",
        diagram(incident),
        "```",
        "",
        "| Time (UTC) | Who | What | Where | Why |",
        "| --- | --- | --- | --- | --- |",
        *(_row(incident, step) for step in incident.steps),
        "",
        "## Root cause",
        "",
        "_What made the strategy misfire, and why the checks before release did not catch it._",
        "",
        "## What went well",
        "",
        "_..._",
        "",
        "## What went wrong",
        "",
        "_..._",
        "",
        "## Follow-ups",
        "",
        *_follow_ups(incident),
        "",
        "## Commands run",
        "",
        *_commands_block(incident),
    ]
    return "\n".join(out)


def _summary(incident: Incident) -> list[str]:
    first, last = incident.first, incident.last
    ttm = incident.time_to_mitigate
    rows = [
        ("Incident", markdown(incident.id)),
        ("First entry", f"{first.time}: {markdown(first.entry.summary)}"),
        ("Last entry", f"{last.time}: {markdown(last.entry.summary)}"),
        ("Mitigated", _mitigated(incident)),
        ("Time to mitigate", _time_to_mitigate(ttm)),
        ("Journal entries", str(len(incident.own))),
        ("Bundles", _list(incident.bundles)),
        ("Regions", _list(incident.regions)),
        ("Releases", _list(incident.releases)),
        ("Actors", _list(incident.actors)),
        ("Hot-patches still open", _list([f.id for f in incident.open])),
    ]
    return ["| | |", "| --- | --- |", *(f"| {name} | {value} |" for name, value in rows)]


def _time_to_mitigate(seconds: int | None) -> str:
    """`2m (120 s)`; under a minute, the seconds once (`32s`)."""
    if seconds is None:
        return "none"
    return f"{duration(seconds)} ({seconds} s)" if seconds >= 60 else duration(seconds)


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _mitigated(incident: Incident) -> str:
    found = incident.mitigated
    if found is None:
        return f"not yet: {NONE}"
    commit = code((found.entry.commit or "")[:12])
    return f"{found.time} by {commit}: {markdown(found.entry.summary)}"


def _list(values: list[str]) -> str:
    return ", ".join(markdown(v) for v in values) or "none"


def _row(incident: Incident, step: Step) -> str:
    e = step.entry
    what = [markdown(e.summary or e.action)]
    if step is incident.mitigated:
        what.insert(0, "**mitigated:**")
    if step.related:
        what.insert(0, f"(not under {markdown(incident.id)})")
    what += [markdown(_patch(p)) for p in step.patches]
    what += [markdown(_verdict(v)) for v in step.verdicts]
    if e.playbook or step.run:
        what.append(markdown(_playbook(step)))
    where = _scope(step)
    why = markdown(e.reason or "")
    if e.forced:
        why += ("; " if why else "") + markdown(FORCED.get(e.forced, f"forced past {e.forced}"))
    commit = f" {code((e.commit or '')[:12])}" if e.commit else ""
    cells = [f"{step.time}{commit}", markdown(e.actor), "<br>".join(what), markdown(where), why]
    return "| " + " | ".join(cells) + " |"


def _follow_ups(incident: Incident) -> list[str]:
    lines = []
    if incident.open:
        lines += [
            "Hot-patches of the incident that still apply: fold each into its bundle's source "
            "(then commit, cut a release and roll it out), and revert it once that release is "
            "stable.",
            "",
        ]
        for found in incident.open:
            lines.append(
                f"- [ ] {markdown(_open(found))}: fold {code(found.fold)}, "
                f"revert {code(found.revert)}"
            )
    else:
        lines.append("No hot-patch of the incident still applies.")
    lines += ["", "- [ ] _..._"]
    return lines


def _commands_block(incident: Incident) -> list[str]:
    """Each command with its time and actor as a comment, in a fence no command can close."""
    lines = []
    for step in incident.own:
        lines.append(f"# {step.time} {printable.escape(step.entry.actor)}")
        lines.append(
            printable.escape(step.command)
            if step.command
            else f"# (no command: {printable.escape(step.entry.action)} is not one modctl "
            "can write again from its journal entry)"
        )
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}sh", body, fence]
