"""Hot-patches: small, expiring, audited overrides of a deployed release. Pure: no I/O.

A hot-patch (see the `hotpatch` schema) disables or enables a rule, changes its action, mode or
a declared param, or adds or removes list entries. One `hotpatch apply` makes one record, with
one id, written into every region it applies to. Patches apply in the order they were made, and
only while they live: from `created` until the earlier of `expires` and `created` plus
`hotpatch.max_ttl` as `modctl.yaml` says at render time, so a clock that was wrong when the
patch was made never keeps it alive for long.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from modctl.errors import RefusedError, UsageError
from modctl.state.rollout import DURATION, Situation, parse_stamp, seconds, stamp

OPS = (
    "disable_rule",
    "enable_rule",
    "set_action",
    "set_mode",
    "set_param",
    "list_add",
    "list_remove",
)
WITH_VALUE = ("set_action", "set_mode", "set_param", "list_add", "list_remove")
ACTIONS = ("takedown", "limit", "review", "warn", "allow")
MODES = ("enforce", "shadow")
DEFAULT_MAX_TTL = "24h"  # when modctl.yaml sets no hotpatch.max_ttl


def ends(patch: dict[str, Any], max_ttl: str | None) -> datetime:
    """When the patch stops applying: its `expires`, but never later than `created` plus
    `max_ttl`."""
    created = parse_stamp(str(patch["created"]))
    bound = created + timedelta(seconds=seconds(max_ttl or DEFAULT_MAX_TTL))
    return min(parse_stamp(str(patch["expires"])), bound)


def live(patch: dict[str, Any], now: datetime, max_ttl: str | None) -> bool:
    """Whether the patch applies at `now`. A patch made in the future (its writer's clock ran
    ahead) does not apply yet."""
    return parse_stamp(str(patch["created"])) <= now < ends(patch, max_ttl)


def expired(patch: dict[str, Any], now: datetime, max_ttl: str | None = None) -> bool:
    return not live(patch, now, max_ttl)


def lapsed(patch: dict[str, Any], now: datetime, max_ttl: str | None) -> bool:
    """Whether the patch has ended by `now` (one made in the future has not even begun)."""
    return ends(patch, max_ttl) <= now


def phase(patch: dict[str, Any], now: datetime, max_ttl: str | None) -> str:
    """`pending` (made by a clock that ran ahead: it applies from its `created`), `live` or
    `expired`."""
    if parse_stamp(str(patch["created"])) > now:
        return "pending"
    return "expired" if lapsed(patch, now, max_ttl) else "live"


def active(
    patches: tuple[dict[str, Any], ...], now: datetime, max_ttl: str | None = None
) -> list[dict[str, Any]]:
    return [p for p in patches if live(p, now, max_ttl)]


def make(
    bundle: str,
    op: str,
    target: str,
    value: Any,
    *,
    queue: str | None,
    expires_in: str,
    max_ttl: str | None,
    reason: str,
    incident: str | None,
    actor: str,
    now: datetime,
    lifetime: str = "--expires-in",
) -> dict[str, Any]:
    """A new hot-patch record, its id derived from what it does and when (so that replaying the
    command that made it makes the same record). UsageError for a malformed op or value, or an
    `expires_in` too long, naming it as `lifetime` (what the user set)."""
    check_shape(op, target, value, queue)
    limit = max_ttl or DEFAULT_MAX_TTL
    if not DURATION.fullmatch(expires_in) or seconds(expires_in) <= 0:
        raise UsageError(f"{lifetime} {expires_in!r} is not a duration such as 30m, 4h or 1d")
    if seconds(expires_in) > seconds(limit):
        raise UsageError(
            f"{lifetime} {expires_in} is longer than hotpatch.max_ttl ({limit}) in modctl.yaml"
        )
    created = stamp(now)
    record: dict[str, Any] = {"op": op, "target": target}
    if op in WITH_VALUE:
        record["value"] = value
    if queue is not None:
        record["queue"] = queue
    record.update(reason=reason, actor=actor)
    if incident:
        record["incident"] = incident
    record.update(created=created, expires=stamp(now + timedelta(seconds=seconds(expires_in))))
    seed = json.dumps([bundle, record], sort_keys=True, ensure_ascii=False).encode()
    ident = f"hp-{now.strftime('%Y%m%dt%H%M%S')}-{hashlib.sha256(seed).hexdigest()[:6]}"
    return {"id": ident, **record}


def check_shape(op: str, target: str, value: Any, queue: str | None) -> None:
    """UsageError unless `op` takes `target` and `value` as given."""
    if op not in OPS:
        raise UsageError(f"unknown hot-patch op {op!r}; the ops are {', '.join(OPS)}")
    if not target:
        raise UsageError(f"{op} needs a target")
    if op in WITH_VALUE and value is None:
        raise UsageError(f"{op} needs a value")
    if op not in WITH_VALUE and value is not None:
        raise UsageError(f"{op} takes no value")
    if op == "set_action":
        if value not in ACTIONS:
            raise UsageError(f"set_action takes one of {', '.join(ACTIONS)}, not {value!r}")
        if (value == "review") != (queue is not None):
            raise UsageError(
                "set_action review needs --queue (the review queue its matches go to)"
                if value == "review"
                else "--queue goes with set_action review only"
            )
    elif queue is not None:
        raise UsageError("--queue goes with set_action review only")
    if op == "set_mode" and value not in MODES:
        raise UsageError(f"set_mode takes {' or '.join(MODES)}, not {value!r}")
    if op == "set_param" and "." not in target:
        raise UsageError(f"set_param targets RULE.PARAM, not {target!r}")
    if op in ("list_add", "list_remove") and (
        not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value)
    ):
        raise UsageError(f"{op} takes one or more entries")


def check_target(patch: dict[str, Any], config: dict[str, Any], where: str) -> None:
    """RefusedError unless the release `config` (an artifact, as rendered for a region) has what
    `patch` targets, with a value of the declared param's type; `where` names the release."""
    op, target, value = patch["op"], patch["target"], patch.get("value")
    rules = {rule["id"]: rule for rule in config["rules"]}
    if op in ("list_add", "list_remove"):
        lists = config["lists"]
        if target not in lists:
            raise RefusedError(
                f"{where} has no list {target!r}{_known(lists)}; a hot-patch changes only what is "
                "deployed"
            )
        if lists[target]["kind"] == "map":
            raise RefusedError(f"list {target} is a map; {op} takes keyword, id or hash lists")
        return
    rule_id, _, param = target.partition(".") if op == "set_param" else (target, "", "")
    if rule_id not in rules:
        raise RefusedError(
            f"{where} has no rule {rule_id!r}{_known(rules)}; a hot-patch changes only what is "
            "deployed"
        )
    if op != "set_param":
        return
    declared = rules[rule_id].get("params") or {}
    if param not in declared:
        raise RefusedError(
            f"rule {rule_id} in {where} declares no param {param!r}"
            f"{_known(declared, 'its params: ')}; set_param changes declared params only"
        )
    if not _same_type(declared[param], value):
        raise UsageError(
            f"{rule_id}.{param} takes {_kind(declared[param])} (it is {declared[param]!r} in "
            f"{where}), not {value!r}"
        )


def check_effect(
    patch: dict[str, Any], config: dict[str, Any], live: list[dict[str, Any]], where: str
) -> None:
    """RefusedError when `patch` would change nothing on `config` as the `live` patches leave
    it: a list entry to remove that is not there (a typo would pass for a fix), one to add that
    is there already, a rule to enable that no patch disabled."""
    op, target, value = patch["op"], patch["target"], patch.get("value")
    if op == "enable_rule":
        if not any(p["op"] == "disable_rule" and p["target"] == target for p in live):
            raise RefusedError(
                f"rule {target} is not disabled in {where}; enable_rule takes back a live "
                "disable_rule (or `modctl hotpatch revert ID` takes that patch off)"
            )
        return
    if op not in ("list_add", "list_remove"):
        _check_rule_effect(patch, config, live, where)
        return
    items = apply(config, live)["lists"][target].get("items", [])
    values = value if isinstance(value, list) else [value]
    if op == "list_remove":
        absent = [v for v in values if v not in items]
        if absent:
            raise RefusedError(
                f"{', '.join(map(str, absent))} {'is' if len(absent) == 1 else 'are'} not in "
                f"list {target} of {where}; list_remove removes entries it has"
            )
    else:
        present = [v for v in values if v in items]
        if present:
            raise RefusedError(
                f"{', '.join(map(str, present))} {'is' if len(present) == 1 else 'are'} in list "
                f"{target} of {where} already"
            )


def _check_rule_effect(
    patch: dict[str, Any], config: dict[str, Any], live: list[dict[str, Any]], where: str
) -> None:
    """RefusedError when a rule op would leave the rule as the live patches (or the release)
    have it already: disabled, or with that action and queue, mode or param value."""
    op, target, value = patch["op"], patch["target"], patch.get("value")
    rule_id, _, param = target.partition(".")
    by = [p["id"] for p in live if p["op"] == op and p["target"] == target]
    source = f" (by {', '.join(by)})" if by else ""
    rules = {rule["id"]: rule for rule in apply(config, live)["rules"]}
    rule = rules.get(rule_id)
    if op == "disable_rule":
        if rule is None and any(r["id"] == rule_id for r in config["rules"]):
            raise RefusedError(f"rule {rule_id} is disabled in {where} already{source}")
        return
    if rule is None:
        return  # disabled by a live patch: this one applies once that one ends
    same = {
        "set_action": rule.get("action") == value and rule.get("queue") == patch.get("queue"),
        "set_mode": rule.get("mode", "enforce") == value,
        "set_param": (rule.get("params") or {}).get(param) == value,
    }
    if same.get(op):
        said = f"{param} {value!r}" if op == "set_param" else f"{op.removeprefix('set_')} {value}"
        raise RefusedError(f"rule {rule_id} has {said} in {where} already{source}")


def _same_type(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, int) and not isinstance(old, bool):
        return isinstance(new, int) or (isinstance(new, float) and new.is_integer())
    if isinstance(old, float):
        return isinstance(new, (int, float))
    return type(old) is type(new)


def _known(names: Any, label: str = "it has ") -> str:
    shown = sorted(names)[:8]
    return f" ({label}{', '.join(shown)}{', ...' if len(names) > 8 else ''})" if shown else ""


def apply(config: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of a release config with `patches` applied."""
    patched = copy.deepcopy(config)
    rules = {rule["id"]: rule for rule in patched["rules"]}
    disabled: set[str] = set()
    for patch in patches:
        op, target, value = patch["op"], patch["target"], patch.get("value")
        if op == "disable_rule":
            disabled.add(target)
        elif op == "enable_rule":
            disabled.discard(target)
        elif op == "set_action" and target in rules:
            rules[target]["action"] = value
            rules[target]["queue"] = patch.get("queue")
        elif op == "set_mode" and target in rules:
            rules[target]["mode"] = value
        elif op == "set_param":
            rule_id, _, param = target.partition(".")
            if rule_id in rules:
                old = (rules[rule_id].get("params") or {}).get(param)
                new = float(value) if isinstance(old, float) and isinstance(value, int) else value
                rules[rule_id]["params"] = {**(rules[rule_id].get("params") or {}), param: new}
        elif op in ("list_add", "list_remove") and target in patched["lists"]:
            entry = patched["lists"][target]
            items = entry.get("items", [])
            values = value if isinstance(value, list) else [value]
            if op == "list_add":
                entry["items"] = items + [v for v in values if v not in items]
            else:
                entry["items"] = [i for i in items if i not in values]
    patched["rules"] = [rule for rule in patched["rules"] if rule["id"] not in disabled]
    return patched


def describe(patch: dict[str, Any]) -> str:
    """One line: what the patch does, e.g. `set_action lux-cheap review (queue ipr-l2)`."""
    value = patch.get("value")
    shown = ", ".join(value) if isinstance(value, list) else value
    said = f"{patch['op']} {patch['target']}" + (f" {shown}" if value is not None else "")
    return said + (f" (queue {patch['queue']})" if patch.get("queue") else "")


def patch(s: Situation, regions: list[str], record: dict[str, Any]) -> str:
    """Apply the hot-patch `record` to `s.bundle` in `regions`: refused where the bundle runs
    nothing, or where no deployed release (stable or canary) has what it targets."""
    if not regions:
        raise UsageError("a hot-patch needs at least one region")
    for region in regions:
        s.check_region(region)
        state = s.state(region)
        deployed = [v for v in (state.stable, state.canary and state.canary.version) if v]
        if not deployed:
            raise RefusedError(
                f"{s.bundle} runs no release in {region}; there is nothing to hot-patch there"
            )
        if any(p["id"] == record["id"] for p in state.hotpatches):
            raise RefusedError(f"{region} already has hot-patch {record['id']}")
        refusals = []
        for version in deployed:
            config = s.artifact(version)
            if config is None:
                raise RefusedError(f"{s.bundle} {version} has no artifact on the state branch")
            config = {
                **config,
                "rules": [
                    r for r in config["rules"] if r["regions"] is None or region in r["regions"]
                ],
            }
            where = f"{s.bundle} {version} in {region}"
            try:
                check_target(record, config, where)
                live_now = active(state.hotpatches, s.now, s.config.max_hotpatch_ttl)
                check_effect(record, config, live_now, where)
            except RefusedError as exc:
                refusals.append(exc)
        if len(refusals) == len(deployed):
            raise refusals[0]
        s.changed[region] = replace(state, hotpatches=(*state.hotpatches, record))
        s.release = state.canary.version if state.canary else state.stable
    s.hotpatch = record["id"]
    return (
        f"hotpatch {s.bundle} {record['id']}: {describe(record)} in {', '.join(sorted(regions))} "
        f"until {record['expires']}"
    )


def expire(s: Situation) -> str:
    """Take every hot-patch of `s.bundle` that has lapsed off the regions that have it."""
    taken: dict[str, list[str]] = {}
    for region in s.config.regions:
        state = s.state(region)
        gone = [p for p in state.hotpatches if lapsed(p, s.now, s.config.max_hotpatch_ttl)]
        if gone:
            kept = tuple(p for p in state.hotpatches if p not in gone)
            s.changed[region] = replace(state, hotpatches=kept)
            for patch in gone:
                taken.setdefault(str(patch["id"]), []).append(region)
    if not taken:
        raise RefusedError(f"no hot-patch of {s.bundle} has lapsed")
    said = "; ".join(f"{ident} in {', '.join(regions)}" for ident, regions in sorted(taken.items()))
    return f"hotpatch-expire: {s.bundle} {said}"


def unpatch(s: Situation, ident: str, regions: list[str] | None = None) -> str:
    """Take the hot-patch `ident` off `s.bundle` in `regions` (default: every region that has
    it, expired or not)."""
    holding = [r for r in s.config.regions if any(p["id"] == ident for p in s.state(r).hotpatches)]
    if not holding:
        raise UsageError(
            f"{s.bundle} has no hot-patch {ident}; `modctl hotpatch list --all` shows them"
        )
    targets = regions or holding
    for region in targets:
        s.check_region(region)
    missing = [r for r in targets if r not in holding]
    if missing:
        raise RefusedError(
            f"hot-patch {ident} is not in {', '.join(missing)}; it is in {', '.join(holding)}"
        )
    record: dict[str, Any] = {}
    for region in targets:
        state = s.state(region)
        record = next(p for p in state.hotpatches if p["id"] == ident)
        kept = tuple(p for p in state.hotpatches if p["id"] != ident)
        s.changed[region] = replace(state, hotpatches=kept)
        s.release = state.canary.version if state.canary else state.stable
    s.hotpatch = ident
    return (
        f"revert {s.bundle} hot-patch {ident} ({describe(record)}) in {', '.join(sorted(targets))}"
    )


def coerce(text: str, declared: Any, where: str) -> Any:
    """A set_param value typed on the command line, read as the type of the param's declared
    value; UsageError when it is not of that type."""
    try:
        if isinstance(declared, bool):
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if isinstance(declared, int):
            return int(text)
        if isinstance(declared, float):
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(text)
            return number
    except ValueError:
        raise UsageError(
            f"{where} takes {_kind(declared)} (it is {declared!r}), not {text!r}"
        ) from None
    return text


def _kind(value: Any) -> str:
    """What a param's declared value takes, in words."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    return "a number" if isinstance(value, float) else "text"


def declared(s: Situation, regions: list[str], target: str) -> Any:
    """The value a deployed release declares for the param `target` (RULE.PARAM) in the first
    of `regions` that has it, or None."""
    rule_id, _, param = target.partition(".")
    for region in regions:
        state = s.state(region)
        for version in [v for v in (state.stable, state.canary and state.canary.version) if v]:
            for rule in (s.artifact(version) or {}).get("rules", []):
                if rule["id"] == rule_id and param in (rule.get("params") or {}):
                    return rule["params"][param]
    return None


def listed(
    snapshot: Any, config: Any, now: datetime, bundle: str | None, *, every: bool
) -> list[dict[str, Any]]:
    """Every hot-patch on the state branch (of `bundle`), once per id with the regions that
    have it, oldest first; live and pending ones only unless `every`."""
    from modctl.state.files import hotpatches

    rows = [
        {
            **found.patch,
            "bundle": found.bundle,
            "regions": list(found.regions),
            "live": live(found.patch, now, config.max_hotpatch_ttl),
            "state": phase(found.patch, now, config.max_hotpatch_ttl),
            "ends": stamp(ends(found.patch, config.max_hotpatch_ttl)),
        }
        for found in hotpatches(snapshot).values()
        if bundle is None or found.bundle == bundle
    ]
    rows.sort(key=lambda r: (r["created"], r["id"]))
    return [r for r in rows if every or r["state"] != "expired"]


def applying(
    regions: list[str],
    request: dict[str, Any],
    *,
    actor: str,
    reason: str,
    incident: str | None,
) -> Callable[[Situation], str]:
    """The transition `hotpatch apply` makes: the record for `request` (op, target, value,
    queue, expires_in) made at the situation's time, a set_param value read as its param's
    type, applied in `regions`."""

    def mutate(s: Situation) -> str:
        value = request.get("value")
        if request["op"] == "set_param" and isinstance(value, str):
            old = declared(s, regions, request["target"])
            if old is not None:
                value = coerce(value, old, request["target"])
        record = make(
            s.bundle,
            request["op"],
            request["target"],
            value,
            queue=request.get("queue"),
            expires_in=request["expires_in"],
            max_ttl=s.config.max_hotpatch_ttl,
            reason=" ".join(reason.split()),
            incident=incident,
            actor=actor,
            now=s.now,
        )
        return patch(s, regions, record)

    return mutate


def request_of(record: dict[str, Any]) -> dict[str, Any]:
    """The request that makes `record` again: what `audit verify` and `sync` replay."""
    lived = parse_stamp(str(record["expires"])) - parse_stamp(str(record["created"]))
    return {
        "op": record["op"],
        "target": record["target"],
        "value": record.get("value"),
        "queue": record.get("queue"),
        "expires_in": f"{int(lived.total_seconds())}s",
    }
