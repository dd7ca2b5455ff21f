"""Verifying effective configs before a hot-patch is written: lint and the bundle's tests on what
each region would run.

For every region and every release deployed there (stable and canary), the release's config as
rendered for the region, with the region's live hot-patches applied, must pass lint (no error)
and the test cases of that region, as the release's source commit has them. A case no longer
applies when it expects a rule a hot-patch touches to match, or when the release without the
hot-patches decides it by such a rule: the patch is there to change exactly that. Every other
case must still pass, so a patch that catches clean listings or breaks an unrelated rule is
refused before it is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from modctl.errors import ModctlError
from modctl.findings import Severity
from modctl.model import Config, TestCase
from modctl.state import hotpatch
from modctl.state.artifact import to_bundle
from modctl.state.files import artifact_file, manifests, region_file, region_state
from modctl.state.store import Snapshot


@dataclass
class Verification:
    checked: list[str] = field(default_factory=list)  # one line per region and release
    problems: list[str] = field(default_factory=list)  # empty: it passes

    @property
    def passed(self) -> bool:
        return not self.problems


def touched(patches: list[dict[str, Any]], config: dict[str, Any]) -> set[str]:
    """The rules of `config` whose behaviour `patches` change."""
    found = set()
    for patch in patches:
        if patch["op"] in ("list_add", "list_remove"):
            found |= {r["id"] for r in config["rules"] if _names_list(r["when"], patch["target"])}
        else:
            found.add(
                patch["target"].partition(".")[0] if patch["op"] == "set_param" else patch["target"]
            )
    return found


def _names_list(node: Any, name: str) -> bool:
    if isinstance(node, dict):
        return node.get("list") == name or any(_names_list(v, name) for v in node.values())
    if isinstance(node, list):
        return any(_names_list(v, name) for v in node)
    return False


def verify(
    root: Path,
    snapshot: Snapshot,
    config: Config,
    bundle: str,
    regions: list[str],
    moment: datetime,
) -> Verification:
    """Lint and test `bundle`'s effective configs in `regions` of `snapshot` (the state after
    the change) at `moment`."""
    from modctl.engine.cases import run_cases
    from modctl.lint.bundle import check

    result = Verification()
    sources = {m["version"]: m.get("source_commit") for m in manifests(snapshot, bundle)}
    tests: dict[str, tuple[TestCase, ...]] = {}
    for region in regions:
        raw = snapshot.files.get(region_file(region, bundle))
        if raw is None:
            continue
        state = region_state(region_file(region, bundle), raw)
        live = hotpatch.active(state.hotpatches, moment, config.max_hotpatch_ttl)
        for version in [v for v in (state.stable, state.canary and state.canary.version) if v]:
            where = f"{region} {bundle} {version}"
            data = snapshot.files.get(artifact_file(bundle, version))
            if data is None:
                result.problems.append(f"{where}: no artifact on the state branch")
                continue
            built = json.loads(data)
            built["rules"] = [
                r for r in built["rules"] if r["regions"] in (None, []) or region in r["regions"]
            ]
            if version not in tests:
                tests[version] = _cases(root, bundle, sources.get(version), result, where)
            cases = tuple(c for c in tests[version] if c.region == region)
            before = to_bundle(built, f"deploy/{region}/{bundle}.json", cases)
            patched = to_bundle(hotpatch.apply(built, live), f"deploy/{region}/{bundle}.json")
            # A config whose every rule is disabled is a mitigation, not a mistake (B003).
            errors = [
                f
                for f in check(patched, config)
                if f.severity is Severity.ERROR and f.code != "B003"
            ]
            result.problems += [f"{where}: lint {f.code} {f.message}" for f in errors]
            changed = touched(live, built)
            unpatched = run_cases(before, config).cases
            kept = [
                c
                for c, old in zip(cases, unpatched, strict=True)
                if not set(c.rules) & changed and old.decision.rule not in changed
            ]
            patched.tests = kept
            failed = run_cases(patched, config).failed
            for case in failed:
                got = case.decision.action
                said = f"expected {case.case.action}, got {got}"
                if case.missing:
                    said += f"; {', '.join(case.missing)} did not match"
                if case.unexpected:
                    said += f"; {', '.join(case.unexpected)} matched"
                result.problems.append(
                    f"{where}: test {case.case.name!r} ({case.case.origin.path}) fails: {said}"
                )
            aside = len(cases) - len(kept)
            result.checked.append(
                f"{where}: lint, {len(kept)} test case{'' if len(kept) == 1 else 's'}"
                + (f" ({aside} set aside: they test what the hot-patches change)" if aside else "")
            )
    return result


def _cases(
    root: Path, bundle: str, commit: str | None, result: Verification, where: str
) -> tuple[TestCase, ...]:
    """The test cases of `bundle` at the release's source commit."""
    from modctl.source.workspace import load

    if not commit:
        result.problems.append(f"{where}: its manifest names no source commit to take tests from")
        return ()
    try:
        return tuple(load(root, [bundle], rev=commit).bundle(bundle).tests)
    except ModctlError as exc:
        result.problems.append(f"{where}: its tests at {commit[:12]} cannot be read: {exc.message}")
        return ()
