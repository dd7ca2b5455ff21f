"""Suggestions are data, not edits: each names the rule, the evidence, and the exact modctl
command that would act on it, quoted for a POSIX shell. Pure: no I/O."""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

EXPIRES_IN = "4h"  # long enough to gather evidence, well within the default hotpatch.max_ttl
DATA_PLACEHOLDER = "LABELLED.jsonl"  # where a report read no listings: the user's labelled file


@dataclass(frozen=True)
class Suggestion:
    """One thing to try: `kind` (shadow, sweep, list_add, enforce), the bundle and rule it is
    about, why (`evidence`), and the command that does it."""

    kind: str
    bundle: str
    rule: str | None
    evidence: str
    command: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "bundle": self.bundle,
            "rule": self.rule,
            "evidence": self.evidence,
            "command": self.command,
        }


def hotpatch(bundle: str, regions: Sequence[str], op: str, *args: str, reason: str) -> str:
    """`modctl hotpatch apply` of one op in `regions`, expiring, with its reason."""
    words = ["modctl", "hotpatch", "apply", bundle]
    for region in regions:
        words += ["--region", region]
    words += [op, *args, "--expires-in", EXPIRES_IN, "--reason", reason]
    return shlex.join(words)


def reads(node: Any, param: str) -> bool:
    """Whether a rule's condition reads `param` (`{param: NAME}` anywhere in it): only such a
    param changes a decision, and only such a param `--sweep` takes."""
    if isinstance(node, dict):
        if node.get("param") == param and len(node) == 1:
            return True
        return any(reads(v, param) for v in node.values())
    if isinstance(node, list):
        return any(reads(v, param) for v in node)
    return False


def sweep(bundle: str, data: str, rule: str, param: str, spec: str) -> str:
    """`modctl backtest --sweep` of one param over `spec` (START:STOP:STEP or a list)."""
    return shlex.join(
        ["modctl", "backtest", bundle, "--data", data, "--sweep", f"{rule}.{param}={spec}"]
    )


def sweep_range(value: float) -> str | None:
    """A range of about nine values around a param's current `value`, in round steps:
    0.3 -> 0.1:0.5:0.05, 6 -> 2:10:1. None for a value that is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if isinstance(value, int):
        whole = max(1, round(abs(value) / 10))
        bottom = max(0, value - 4 * whole) if value >= 0 else value - 4 * whole
        return f"{bottom}:{value + 4 * whole}:{whole}"
    step = _round_step(abs(value) / 5 if value else 0.1)
    current = Decimal(str(value))
    low, high = current - 4 * step, current + 4 * step
    if value > 0 and low <= 0:
        low = step
    return f"{_decimal(low)}:{_decimal(high)}:{_decimal(step)}"


def _round_step(raw: float) -> Decimal:
    """The 1, 2 or 5 times a power of ten nearest below `raw`."""
    power = math.floor(math.log10(raw))
    for factor in (5, 2, 1):
        step = Decimal(factor).scaleb(power)
        if step <= Decimal(str(raw)):
            return step
    return Decimal(1).scaleb(power)  # pragma: no cover


def _decimal(value: Decimal) -> str:
    return format(value.normalize(), "f")
