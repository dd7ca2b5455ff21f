"""The playbook planner: a run of a playbook as one state change. Pure: no I/O.

`plan` applies every step, for every region, in order, to the state files in memory, with the
same transitions the single commands use (freeze, abort, rollback, hot-patch apply and revert),
and returns the files of the one commit that writes it all (region states, freezes, `deploy/`
rendered at the run's moment, and the run record under `emergencies/`), its journal entry, one
line per step and region, the `verify` steps to run on the state each of them sees, and the
commands that undo the run. A step that does not apply raises the error of the transition that
refused it, saying which step, of which kind, in which region. `audit verify` and `sync` replay
a run through this same function, from its record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modctl.emergency import fields
from modctl.emergency.params import ALL
from modctl.emergency.playbook import Playbook
from modctl.errors import (
    ChecksFailedError,
    ConflictError,
    ExitCode,
    ModctlError,
    RefusedError,
    UsageError,
    suggest,
)
from modctl.model import Config
from modctl.state import hotpatch, rollout
from modctl.state.files import freeze_of, situation
from modctl.state.journal import Entry
from modctl.state.operations import Journal, froze, transitioned
from modctl.state.rollout import RegionState, Situation, stamp
from modctl.state.store import Snapshot, apply

RECORDS = "emergencies/"


@dataclass(frozen=True)
class Line:
    """What one step does (or checks) in one region (None: not in a region)."""

    step: int
    kind: str
    region: str | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Check:
    """A `verify` step: the bundle and regions to check, on the state files as that step sees
    them."""

    step: int
    bundle: str
    regions: list[str]
    files: dict[str, bytes]


@dataclass
class Plan:
    playbook: str
    base: str | None  # the state branch commit it was planned on
    files: dict[str, bytes | None]  # what the commit writes; empty when nothing changes
    entry: Entry
    record: dict[str, Any]
    path: str  # the run record's path
    lines: list[Line]
    checks: list[Check]
    undo: list[str]
    before: dict[str, bytes]

    @property
    def mitigates(self) -> bool:
        """Whether it changes what production serves (a `deploy/` file)."""
        return any(path.startswith("deploy/") for path in self.files)


def plan(
    snapshot: Snapshot,
    config: Config,
    playbook: Playbook,
    params: dict[str, Any],
    journal: Journal,
    moment: datetime,
) -> Plan:
    """The run of `playbook` with `params` (typed, defaults filled in) on `snapshot` at
    `moment`, by `journal`'s actor, for its reason and incident."""
    journal = Journal(
        journal.actor,
        " ".join(journal.reason.split()) if journal.reason else None,
        " ".join(journal.incident.split()) if journal.incident else None,
    )
    # An optional parameter not given is nothing: a field that is just it is left out.
    unset = dict.fromkeys(playbook.params)
    values = {**unset, **params, "incident": journal.incident, "reason": journal.reason}
    run = _Run(snapshot, config, journal, moment)
    for number, step in enumerate(playbook.steps, 1):
        kind, body = next(iter(step.items()))
        run.step, run.kind, run.region = number, kind, None
        try:
            if kind not in fields.STEPS:  # the schema refuses it; a forged run record may not
                raise UsageError(f"{kind!r} is no playbook step")
            resolved = _resolve(kind, body, values, config)
            getattr(run, kind)(resolved)
        except ModctlError as exc:
            raise _failed(exc, number, kind, run.region) from None
    return run.finish(playbook, params)


def _resolve(kind: str, body: Any, values: dict[str, Any], config: Config) -> dict[str, Any]:
    """A step's fields with the parameters substituted, each as the step takes it; a field
    whose whole value is an optional parameter that was not given is left out."""
    if kind == "note":
        text = fields.substitute(body, values)
        return {"text": fields.parse("text", text, config.regions, "note")}
    op = fields.substitute(body.get("op"), values)
    resolved = {}
    for name, raw in body.items():
        value = fields.substitute(raw, values)
        if value is not None:
            resolved[name] = fields.parse(fields.STEPS[kind][name], value, config.regions, name, op)
    needed = [*fields.REQUIRED.get(kind, ())]
    if kind == "revert_hotpatch":
        needed += ["id"] if "id" in body else ["op", "target"]
    for name in needed:
        if name not in resolved:
            ref = fields.whole(body.get(name))
            raise UsageError(
                f"{name} is ${{{ref}}}, which the run did not give: pass -p {ref}=VALUE"
                if ref
                else f"{kind} needs {name}"
            )
    return resolved


_ERRORS: dict[ExitCode, type[ModctlError]] = {
    ExitCode.CHECKS_FAILED: ChecksFailedError,
    ExitCode.CONFLICT: ConflictError,
    ExitCode.REFUSED: RefusedError,
}


def _failed(exc: ModctlError, number: int, kind: str, region: str | None) -> ModctlError:
    where = f"step {number} ({kind})" + (f" in {region}" if region else "")
    return _ERRORS.get(exc.exit_code, UsageError)(f"{where}: {exc.message}")


def record_path(name: str, moment: datetime, files: dict[str, bytes]) -> str:
    """Where the run record goes: by time and playbook, numbered when a run of the same
    playbook in the same second has one there already."""
    base = f"{RECORDS}{moment:%Y%m%dT%H%M%SZ}-{name}"
    path, number = f"{base}.json", 1
    while path in files:
        number += 1
        path = f"{base}-{number}.json"
    return path


class _Run:
    """The state of one run while its steps apply."""

    def __init__(
        self, snapshot: Snapshot, config: Config, journal: Journal, moment: datetime
    ) -> None:
        self.base = snapshot
        self.config = config
        self.journal = journal
        self.moment = moment
        self.files = dict(snapshot.files)
        self.changes: dict[str, bytes | None] = {}
        self.lines: list[Line] = []
        self.checks: list[Check] = []
        self.steps: list[dict[str, Any]] = []
        self.summaries: list[str] = []
        self.made: list[str] = []  # hot-patch ids made
        self.reverted: list[dict[str, Any]] = []  # hot-patch records taken off
        self.step, self.kind = 0, ""
        self.region: str | None = None  # the region a step is acting in, for its errors

    # The steps, one method each, named as the playbook names them.

    def require(self, body: dict[str, Any]) -> None:
        if body.get("incident") and not self.journal.incident:
            raise RefusedError("this playbook runs for an incident: pass --incident ID")
        if body.get("incident"):
            self._line(None, f"incident {self.journal.incident}")
        bundle = body.get("bundle")
        wanted = {key: body[key] for key in ("has_stable", "has_canary", "frozen") if key in body}
        if bundle is None:
            regions = self._config_regions(body.get("regions", ALL))
            for region in regions if "frozen" in wanted else []:
                self.region = region
                self._frozen(region, wanted["frozen"])
                self._line(region, "frozen" if wanted["frozen"] else "not frozen")
            self._record(body, regions)
            return
        s = self._situation(bundle)
        regions = self._bundle_regions(s, body.get("regions", ALL), canary=body.get("has_canary"))
        for region in regions:
            self.region = region
            s.check_region(region)
            state = s.state(region)
            if not (state.stable or state.canary):
                raise RefusedError(f"{bundle} runs no release in {region}")
            if "has_stable" in wanted and bool(state.stable) != wanted["has_stable"]:
                raise RefusedError(
                    f"{bundle} has stable release {state.stable} in {region}"
                    if state.stable
                    else f"{bundle} has no stable release in {region}, only a canary"
                )
            if "has_canary" in wanted and bool(state.canary) != wanted["has_canary"]:
                raise RefusedError(
                    f"{bundle} has canary {state.canary.version} in {region}"
                    if state.canary
                    else f"{bundle} has no canary in {region}"
                )
            if "frozen" in wanted:
                self._frozen(region, wanted["frozen"])
            self._line(region, _described(state) + ("; frozen" if s.frozen(region) else ""))
        self.region = None
        self._record(body, regions)

    def freeze(self, body: dict[str, Any], frozen: bool = True) -> None:
        regions = self._config_regions(body["regions"])
        files, entry, left = froze(self._snapshot(), regions, frozen, self.journal, self.moment)
        word = "frozen" if frozen else "unfrozen"
        for region in regions:
            if region in left:
                said = "already frozen; left as it is" if frozen else "not frozen; nothing to lift"
            else:
                said = word
                if not frozen:
                    said += f" (was {freeze_of(self.files, region).describe([region])})"
            self._line(region, said)
        self._apply(files)
        if files:
            self.summaries.append(entry.summary)
        self._record(body, regions)

    def unfreeze(self, body: dict[str, Any]) -> None:
        self.freeze(body, frozen=False)

    def abort_canary(self, body: dict[str, Any]) -> None:
        bundle = body["bundle"]
        regions = self._bundle_regions(
            self._situation(bundle), body.get("regions", ALL), canary=True
        )
        self._each(bundle, "abort", regions, rollout.abort)
        self.summaries.append(f"abort {bundle} canary in {', '.join(regions)}")
        self._record(body, regions)

    def rollback(self, body: dict[str, Any]) -> None:
        bundle, to = body["bundle"], body.get("to")
        regions = self._bundle_regions(self._situation(bundle), body.get("regions", ALL))

        def back(s: Situation, region: str) -> str:
            state = s.state(region)
            if to is None and not state.history:
                raise RefusedError(
                    f"{bundle} has no earlier stable release in {region} to roll back to; "
                    "name one with the step's `to` (-p to=VERSION)"
                )
            if to is None or state.stable != to:
                return rollout.rollback(s, region, to)
            # A region already back on the release: only a canary beside it comes off.
            said = f"{to} is already stable in {region}"
            if state.canary is None:
                return f"{said}; left as it is"
            return f"{said}; {rollout.abort(s, region)}"

        self._each(bundle, "rollback", regions, back)
        self.summaries.append(
            f"rollback {bundle} in {', '.join(regions)}" + (f" to {to}" if to else "")
        )
        self._record(body, regions)

    def hotpatch(self, body: dict[str, Any]) -> None:
        bundle, op, target = body["bundle"], body["op"], body["target"]
        s = self._situation(bundle)
        regions = self._bundle_regions(s, body.get("regions", ALL))
        value = body.get("value")
        if op == "set_param" and isinstance(value, str):
            declared = hotpatch.declared(s, regions, target)
            if declared is not None:
                value = hotpatch.coerce(value, declared, target)
        reason = body.get("reason") or self.journal.reason or ""
        record = hotpatch.make(
            bundle,
            op,
            target,
            value,
            queue=body.get("queue"),
            expires_in=body["expires_in"],
            max_ttl=self.config.max_hotpatch_ttl,
            reason=" ".join(reason.split()),
            incident=self.journal.incident,
            actor=self.journal.actor,
            now=self.moment,
            lifetime="expires_in",
        )
        said = f"{hotpatch.describe(record)} until {record['expires']} ({record['id']})"

        def patch(s: Situation, region: str) -> str:
            hotpatch.patch(s, [region], record)
            return said

        self._each(bundle, "hotpatch", regions, patch)
        self.made.append(record["id"])
        self.summaries.append(
            f"hotpatch {bundle} {record['id']}: {hotpatch.describe(record)} in "
            f"{', '.join(regions)} until {record['expires']}"
        )
        self._record({**body, "value": value, "id": record["id"]}, regions)

    def revert_hotpatch(self, body: dict[str, Any]) -> None:
        bundle = body["bundle"]
        s = self._situation(bundle)
        wanted = body.get("regions", ALL)
        holders: dict[str, list[str]] = {}
        for region in self.config.regions:
            for patch in s.state(region).hotpatches:
                if "id" in body:
                    matches = patch["id"] == body["id"]
                else:
                    matches = (patch["op"], patch["target"]) == (body["op"], body["target"])
                if matches and (wanted == ALL or region in wanted):
                    holders.setdefault(str(patch["id"]), []).append(region)
        if "id" in body and not holders:
            ids = {str(p["id"]) for r in self.config.regions for p in s.state(r).hotpatches}
            hint = suggest(body["id"], ids)
            raise UsageError(
                f"{bundle} has no hot-patch {body['id']}"
                + (f" in {', '.join(wanted)}" if wanted != ALL else "")
                + f"{hint}; `modctl hotpatch list --all` shows them"
            )
        if not holders:
            where = f" in {', '.join(wanted)}" if wanted != ALL else ""
            raise RefusedError(
                f"{bundle} has no hot-patch {body['op']} {body['target']}{where}; nothing to revert"
            )
        if "id" in body and wanted != ALL:
            missing = [r for r in wanted if r not in holders[body["id"]]]
            if missing:
                raise RefusedError(f"hot-patch {body['id']} is not in {', '.join(missing)}")

        def mutate(s: Situation) -> str:
            for ident, regions in holders.items():
                record = next(p for p in s.state(regions[0]).hotpatches if p["id"] == ident)
                for region in regions:
                    self.region = region
                    hotpatch.unpatch(s, ident, [region])
                    self._line(region, f"revert {ident} ({hotpatch.describe(record)})")
                if all(r["id"] != ident for r in self.reverted):
                    self.reverted.append(record)
            self.region = None
            return ""

        self._transition(bundle, "hotpatch-revert", mutate)
        regions = sorted({region for found in holders.values() for region in found})
        self.summaries.append(f"revert {bundle} {', '.join(holders)} in {', '.join(regions)}")
        self._record({**body, "ids": list(holders)}, regions)

    def verify(self, body: dict[str, Any]) -> None:
        bundle = body["bundle"]
        regions = self._bundle_regions(
            self._situation(bundle), body.get("regions", ALL), empty=True
        )
        self.checks.append(Check(self.step, bundle, regions, dict(self.files)))
        for region in regions:
            self._line(region, f"lint and the tests of {bundle} that still apply")
        if not regions:
            self._line(None, f"{bundle} runs no release: nothing to verify")
        self._record(body, regions)

    def note(self, body: dict[str, Any]) -> None:
        self._line(None, body["text"])
        self.steps.append({"step": self.step, "kind": "note", "text": body["text"]})

    # What the steps share.

    def _snapshot(self) -> Snapshot:
        return Snapshot(self.base.commit, self.files)

    def _apply(self, files: dict[str, bytes | None]) -> None:
        apply(self.files, files)
        self.changes.update(files)

    def _line(self, region: str | None, text: str) -> None:
        self.lines.append(Line(self.step, self.kind, region, text))

    def _record(self, body: dict[str, Any], regions: list[str]) -> None:
        self.steps.append({"step": self.step, "kind": self.kind, **body, "regions": regions})

    def _situation(self, bundle: str) -> Situation:
        s = situation(self._snapshot(), self.config, bundle, self.moment)
        if not s.releases and not s.states:
            known = sorted(
                {path.split("/")[1] for path in self.files if path.startswith("releases/")}
            )
            raise UsageError(
                f"no bundle {bundle!r} on the state branch{suggest(bundle, known)} "
                f"(bundles released: {', '.join(known) or 'none'})"
            )
        return s

    def _config_regions(self, value: Any) -> list[str]:
        return list(self.config.regions) if value == ALL else list(value)

    def _bundle_regions(
        self, s: Situation, value: Any, *, canary: bool | None = False, empty: bool = False
    ) -> list[str]:
        """The regions a bundle step acts in: those named, or for `all` every region where
        the bundle runs a release (with `canary`, where it has a canary)."""
        if value != ALL:
            return list(value)
        found = [
            region
            for region in self.config.regions
            if (s.state(region).canary if canary else _runs(s.state(region)))
        ]
        if not found and not empty:
            what = "no canary" if canary else "no release"
            raise RefusedError(f"{s.bundle} runs {what} in any region")
        return found

    def _frozen(self, region: str, frozen: bool) -> None:
        hold = freeze_of(self.files, region)
        if hold.frozen != frozen:
            raise RefusedError(
                hold.describe([region]) if hold.frozen else f"{region} is not frozen"
            )

    def _each(
        self, bundle: str, action: str, regions: list[str], act: Callable[[Situation, str], str]
    ) -> None:
        def mutate(s: Situation) -> str:
            for region in regions:
                self.region = region
                self._line(region, act(s, region))
            self.region = None
            return ""

        self._transition(bundle, action, mutate)

    def _transition(self, bundle: str, action: str, mutate: Callable[[Situation], str]) -> None:
        files, _entry = transitioned(
            self._snapshot(), self.config, bundle, action, mutate, self.journal, self.moment
        )
        self._apply(files)

    def finish(self, playbook: Playbook, params: dict[str, Any]) -> Plan:
        from modctl.emergency.undo import undo

        before = self.base.files
        written = {path: data for path, data in self.changes.items() if before.get(path) != data}
        path = record_path(playbook.name, self.moment, before)
        record = {
            "playbook": playbook.name,
            "source": playbook.source,
            "params": params,
            "incident": self.journal.incident,
            "reason": self.journal.reason,
            "actor": self.journal.actor,
            "at": stamp(self.moment),
            "steps": self.steps,
        }
        regions = sorted(
            {p.split("/")[1] for p in written if p.startswith(("regions/", "deploy/"))}
        )
        bundles = sorted(
            {
                p.split("/")[2].removesuffix(".yaml")
                for p in written
                if p.startswith("regions/") and not p.split("/")[2].startswith("_")
            }
        )
        entry = Entry(
            "emergency",
            self.journal.actor,
            f"emergency {playbook.name}: " + ("; ".join(self.summaries) or "nothing to change"),
            bundle=",".join(bundles) or None,
            region=",".join(regions) or None,
            incident=self.journal.incident,
            reason=self.journal.reason,
            config=self.config.blob,
            playbook=playbook.name,
        )
        if written:
            written[path] = _canonical(record)
        return Plan(
            playbook=playbook.name,
            base=self.base.commit,
            files=written,
            entry=entry,
            record=record,
            path=path,
            lines=self.lines,
            checks=self.checks,
            undo=undo(before, self.files, self.config, self.made, self.reverted, self.journal),
            before=before,
        )


def _runs(state: RegionState) -> bool:
    return bool(state.stable or state.canary)


def _described(state: RegionState) -> str:
    said = [f"stable {state.stable}"] if state.stable else []
    if state.canary:
        said.append(f"canary {state.canary.version} at {state.canary.weight}%")
    return f"{state.bundle} runs " + ", ".join(said)


def _canonical(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
