"""Why a listing got its decision: the reasons of every matched rule, and the rules that were one
condition short, and the listing read from JSON. Pure: no I/O."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from modctl.engine.compiler import CompiledRule, Decision, Evaluator, compile_bundle
from modctl.engine.conditions import Ctx
from modctl.engine.fields import LISTING_LIMIT, MAX_LISTING_BYTES, type_problem
from modctl.errors import UsageError, suggest
from modctl.model import Bundle, Config


@dataclass
class RuleWhy:
    rule: str
    action: str
    mode: str
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "action": self.action,
            "mode": self.mode,
            "reasons": self.reasons,
        }


@dataclass
class Explanation:
    bundle: str
    region: str
    decision: Decision
    matched: list[RuleWhy] = field(default_factory=list)
    near: list[RuleWhy] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "region": self.region,
            "action": self.decision.action,
            "decided_by": self.decision.rule,
            "matched": [m.to_dict() for m in self.matched],
            "almost_matched": [n.to_dict() for n in self.near],
        }


def parse_item(raw: bytes, name: str) -> dict[str, Any]:
    """The listing `raw` holds: one JSON object, in UTF-8, whose numbers are finite (what
    `--item` reads, at most MAX_LISTING_BYTES). UsageError naming `name` otherwise."""
    if len(raw) > MAX_LISTING_BYTES:
        raise UsageError(f"{name} is {LISTING_LIMIT}; --item takes one listing as a JSON object")
    try:
        text = raw.decode()
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name} is not UTF-8 text (byte 0x{raw[exc.start]:02x})") from None
    try:
        item = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except ValueError as exc:
        raise UsageError(f"{name} is not JSON: {exc}") from None
    if not isinstance(item, dict):
        raise UsageError(f"{name} must hold one JSON object, the listing")
    try:
        json.dumps(item, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        # JSON's \ud800 alone is half a character; a backtest refuses such a row too.
        raise UsageError(
            f"{name} holds a lone surrogate (such as \\ud800), which is not text"
        ) from None
    return item


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON has")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def explain_regions(
    bundle: Bundle, config: Config, item: dict[str, Any], region: str | None = None
) -> list[Explanation]:
    """Why `item` gets its decision in `region`, else in the item's own region, else in every
    region the bundle serves. A field of another type than modctl.yaml declares is a
    UsageError, as it is a bad row for `backtest`: no rule could read it."""
    problem = type_problem(item, config.fields)
    if problem is not None:
        raise UsageError(f"the listing's {problem}, as modctl.yaml declares it")
    wanted = region or item.get("region")
    if wanted is not None and wanted not in bundle.regions:
        raise UsageError(
            f"bundle {bundle.name!r} does not serve region {wanted!r}"
            f"{suggest(str(wanted), bundle.regions)} (it serves {', '.join(bundle.regions)})"
        )
    regions = [str(wanted)] if wanted is not None else list(bundle.regions)
    return [explain(compile_bundle(bundle, config, r), item) for r in regions]


def explain(evaluator: Evaluator, item: dict[str, Any]) -> Explanation:
    ctx = evaluator.context(item)
    decision = evaluator.decide(item)
    result = Explanation(evaluator.bundle, evaluator.region, decision)
    for compiled in evaluator.rules:
        rule = compiled.rule
        ok, reasons = compiled.condition.explain(ctx)
        if ok:
            result.matched.append(RuleWhy(rule.id, rule.action, rule.mode, reasons))
            continue
        short = _one_short(compiled, ctx)
        if short is not None:
            result.near.append(RuleWhy(rule.id, rule.action, rule.mode, [short]))
    return result


def _one_short(compiled: CompiledRule, ctx: Ctx) -> str | None:
    """The one field test whose opposite outcome would make the rule match, if there is one."""
    for leaf in compiled.condition.leaves():
        actual = leaf.check(ctx)
        leaf.forced = not actual
        try:
            would_match, _ = compiled.condition.explain(ctx)
        finally:
            leaf.forced = None
        if would_match:
            return leaf.why(ctx, actual)
    return None
