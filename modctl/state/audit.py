"""`modctl audit verify`: replay the state branch and check the promises of DESIGN.md section 6.

Every commit carries Modctl trailers (nothing was written around modctl); release manifests and
artifacts are written once and never change; every artifact matches its manifest's digest and
its release tag points at the manifest's source commit; every region state change is one a
rollout command can make (canary weights on the wave's steps, a new stable only by promoting the
canary or rolling back to a release, nothing started or promoted in a frozen region); and the
rendered deploy/ files at the tip are what the region states render to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from modctl import gitio as scm
from modctl.errors import UsageError
from modctl.model import Config
from modctl.state.files import freeze_file, read_yaml, region_state
from modctl.state.operations import render
from modctl.state.rollout import RegionState
from modctl.state.store import Entry, Store


@dataclass
class Violation:
    commit: str
    summary: str
    problem: str

    def __str__(self) -> str:
        return f"{self.commit[:12]} {self.summary!r}: {self.problem}"


@dataclass
class Audit:
    commits: int
    violation: Violation | None


def verify(root: Path, config: Config) -> Audit:
    store = Store(root, config.state_branch)
    entries = list(reversed(store.journal()))
    repo = scm.require_repo(root, "`modctl audit verify`")
    steps = {region: wave.steps for wave in config.waves for region in wave.regions}
    files: dict[str, bytes] = {}
    for entry in entries:
        assert entry.commit is not None
        changed = store.changed_files(entry.commit)
        try:
            problem = _check(entry, files, changed, steps, repo)
        except UsageError as exc:  # a state file modctl did not write
            problem = exc.message
        if problem:
            return Audit(len(entries), Violation(entry.commit, entry.summary, problem))
        for path, content in changed.items():
            if content is None:
                files.pop(path, None)
            else:
                files[path] = content
    if entries:
        tip = store.read()
        for path, content in tip.files.items():
            parts = path.split("/")
            if parts[0] == "regions" and not parts[2].startswith("_"):
                state = region_state(path, content)
                deploy = f"deploy/{state.region}/{state.bundle}.json"
                expected = render(tip, state, store.last_written(deploy))
                deployed = tip.files.get(f"deploy/{state.region}/{state.bundle}.json")
                if deployed != expected:
                    last = entries[-1]
                    assert last.commit is not None
                    return Audit(
                        len(entries),
                        Violation(
                            last.commit,
                            last.summary,
                            f"deploy/{state.region}/{state.bundle}.json differs from what its region state renders to",
                        ),
                    )
    return Audit(len(entries), None)


def _check(
    entry: Entry,
    before: dict[str, bytes],
    changed: dict[str, bytes | None],
    steps: dict[str, tuple[int, ...]],
    repo: object,
) -> str | None:
    if not entry.action or not entry.actor:
        return "no Modctl-Action or Modctl-Actor trailer: written around modctl"
    for path, content in sorted(changed.items()):
        parts = path.split("/")
        if parts[0] in ("releases", "artifacts") and path in before:
            return f"{path} was changed or removed after it was written; releases are immutable"
        if parts[0] == "releases" and content is not None:
            manifest = read_yaml(path, content)
            data = changed.get(f"artifacts/{parts[1]}/{manifest['version']}.json")
            if data is None:
                return f"{path} has no artifact written with it"
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            if digest != manifest["digest"]:
                return f"artifact of {parts[1]} {manifest['version']} does not match its digest"
            tag = scm.tag_target(repo, f"modctl/{parts[1]}/{manifest['version']}")  # type: ignore[arg-type]
            if tag != manifest["source_commit"]:
                return f"tag modctl/{parts[1]}/{manifest['version']} does not point at the release's source commit"
        if parts[0] == "regions" and not parts[2].startswith("_") and content is not None:
            problem = _transition(entry, before, path, content, steps)
            if problem:
                return problem
    return None


def frozen_in(files: dict[str, bytes], region: str) -> bool:
    raw = files.get(freeze_file(region))
    return bool(raw and (read_yaml(freeze_file(region), raw) or {}).get("frozen"))


def _transition(
    entry: Entry,
    before: dict[str, bytes],
    path: str,
    content: bytes,
    steps: dict[str, tuple[int, ...]],
) -> str | None:
    new = region_state(path, content)
    old_raw = before.get(path)
    old = region_state(path, old_raw) if old_raw else RegionState(new.bundle, new.region)
    if new.canary is not None and new.canary.weight not in steps.get(new.region, ()):
        return f"canary weight {new.canary.weight}% in {new.region} is not a step of its wave"
    frozen = frozen_in(before, new.region)
    if frozen and entry.action in ("start", "promote"):
        return f"{entry.action} in {new.region} while the region was frozen"
    if new.stable != old.stable:
        promoted = old.canary is not None and new.stable == old.canary.version
        released = f"releases/{new.bundle}/{new.stable}.yaml" in before
        if not (entry.action == "promote" and promoted) and not (
            entry.action == "rollback" and released
        ):
            return f"stable in {new.region} changed from {old.stable} to {new.stable} by {entry.action!r}"
    return None
