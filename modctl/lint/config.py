"""Checks of modctl.yaml beyond its schema: fields, waves, steps, gates and metrics."""

from __future__ import annotations

from itertools import pairwise

from modctl.errors import suggest
from modctl.findings import Finding
from modctl.lint.catalogue import finding
from modctl.model import Config


def check(config: Config) -> list[Finding]:
    found: list[Finding] = []
    path = config.path
    declared = set(config.regions)
    seen: dict[str, str] = {}
    for wave in config.waves:
        base = wave.origin.pointer
        for i, region in enumerate(wave.regions):
            where = (*base, "regions", i)
            if region not in declared:
                found.append(
                    finding(
                        "C001",
                        path,
                        f"wave {wave.name!r} lists region {region!r}, which `regions` does not "
                        f"declare{suggest(region, declared)}",
                        where,
                    )
                )
            elif region in seen:
                found.append(
                    finding(
                        "C002",
                        path,
                        f"region {region!r} is in wave {seen[region]!r} and again in wave "
                        f"{wave.name!r}; keep it in one wave",
                        where,
                    )
                )
            else:
                seen[region] = wave.name
        steps = list(wave.steps)
        if any(b <= a for a, b in pairwise(steps)) or steps[-1] != 100:
            found.append(
                finding(
                    "C003",
                    path,
                    f"wave {wave.name!r} has steps {steps}; steps must increase strictly and "
                    "end at 100",
                    (*base, "steps"),
                )
            )
    if config.waves:
        for i, region in enumerate(config.regions):
            if region not in seen:
                found.append(
                    finding(
                        "C006",
                        path,
                        f"region {region!r} is in no rollout wave; no release can reach it",
                        ("regions", i),
                    )
                )
    metrics = set(config.metrics)
    for name, gate in config.gates.items():
        for part in ("numerator", "denominator"):
            metric = gate[part]
            if metric not in metrics:
                found.append(
                    finding(
                        "C004",
                        path,
                        f"gate {name!r} {part} {metric!r} is not in metrics.names"
                        f"{suggest(metric, metrics)}",
                        ("gates", name, part),
                    )
                )
    found += _field_conflicts(config)
    for i, name in enumerate(config.rollout_gates):
        if name not in config.gates:
            found.append(
                finding(
                    "C005",
                    path,
                    f"rollout gate {name!r} is not defined under `gates`"
                    f"{suggest(name, config.gates)}",
                    ("rollout", "gates", i),
                )
            )
        elif not {"max_relative_increase", "max_absolute_increase"} & set(config.gates[name]):
            found.append(
                finding(
                    "C009",
                    path,
                    f"gate {name!r} allows no increase: without max_relative_increase or "
                    "max_absolute_increase it can never pass or fail, and stays inconclusive",
                    ("gates", name),
                )
            )
    return found


def _field_conflicts(config: Config) -> list[Finding]:
    found: list[Finding] = []
    for name, field_type in config.fields.items():
        inner = sorted(other for other in config.fields if other.startswith(f"{name}."))
        if inner:
            message = f"field {name!r} is a {field_type}, so it cannot hold field {inner[0]!r}"
        elif name in ("id", "region") and field_type != "string":
            message = f"field {name!r} names every listing's {name} and must be a string"
        elif name == "label":
            message = "field 'label' is the backtest label (infringing or clean), not a field rules can read"
        else:
            continue
        found.append(finding("C007", config.path, message, ("fields", name)))
    return found
