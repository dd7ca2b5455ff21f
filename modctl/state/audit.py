"""`modctl audit verify`: replay the state branch and check what it promises.

Every commit carries Modctl trailers (nothing was written around modctl); release manifests and
artifacts are written once and never change; every artifact matches its manifest's digest and
its release tag points at the manifest's source commit; every region state change is one a
rollout command can make (canary weights on the wave's steps, a new stable only by promoting the
canary or rolling back to a release, nothing started or promoted in a frozen region); and the
rendered deploy/ files at the tip are what the region states render to.
"""

from __future__ import annotations

from dataclasses import dataclass

from modctl.context import Context
from modctl.errors import UsageError
from modctl.gitio import Git
from modctl.state import artifact
from modctl.state.files import (
    artifact_file,
    deploy_file,
    frozen,
    manifest_file,
    read_yaml,
    region_state,
    tag_name,
)
from modctl.state.render import render
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

    def to_dict(self) -> dict[str, object]:
        bad = self.violation
        return {
            "ok": bad is None,
            "commits": self.commits,
            "violation": None
            if bad is None
            else {"commit": bad.commit, "summary": bad.summary, "problem": bad.problem},
        }


def verify(context: Context) -> Audit:
    config = context.config
    store = Store(context.root, config.state_branch, git=context.git)
    entries = list(reversed(store.journal()))
    git = context.git
    steps = {region: wave.steps for wave in config.waves for region in wave.regions}
    files: dict[str, bytes] = {}
    for entry in entries:
        assert entry.commit is not None
        changed = store.changed_files(entry.commit)
        try:
            problem = _check(entry, files, changed, steps, git)
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
                deploy = deploy_file(state.region, state.bundle)
                expected = render(tip, state, store.last_written(deploy))
                deployed = tip.files.get(deploy)
                if deployed != expected:
                    last = entries[-1]
                    assert last.commit is not None
                    return Audit(
                        len(entries),
                        Violation(
                            last.commit,
                            last.summary,
                            f"{deploy} differs from what its region state renders to",
                        ),
                    )
    return Audit(len(entries), None)


def _check(
    entry: Entry,
    before: dict[str, bytes],
    changed: dict[str, bytes | None],
    steps: dict[str, tuple[int, ...]],
    git: Git,
) -> str | None:
    if not entry.action or not entry.actor:
        return "no Modctl-Action or Modctl-Actor trailer: written around modctl"
    for path, content in sorted(changed.items()):
        parts = path.split("/")
        if parts[0] in ("releases", "artifacts") and path in before:
            return f"{path} was changed or removed after it was written; releases are immutable"
        if parts[0] == "releases" and content is not None:
            manifest = read_yaml(path, content)
            bundle, version = parts[1], manifest["version"]
            data = changed.get(artifact_file(bundle, version))
            if data is None:
                return f"{path} has no artifact written with it"
            if artifact.digest(data) != manifest["digest"]:
                return f"artifact of {bundle} {version} does not match its digest"
            tag = tag_name(bundle, version)
            if git.tag_target(tag) != manifest["source_commit"]:
                return f"tag {tag} does not point at the release's source commit"
        if parts[0] == "regions" and not parts[2].startswith("_") and content is not None:
            problem = _transition(entry, before, path, content, steps)
            if problem:
                return problem
    return None


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
    is_frozen = frozen(before, new.region)
    if is_frozen and entry.action in ("start", "promote"):
        return f"{entry.action} in {new.region} while the region was frozen"
    if new.stable != old.stable:
        promoted = old.canary is not None and new.stable == old.canary.version
        released = new.stable is not None and manifest_file(new.bundle, new.stable) in before
        if not (entry.action == "promote" and promoted) and not (
            entry.action == "rollback" and released
        ):
            return f"stable in {new.region} changed from {old.stable} to {new.stable} by {entry.action!r}"
    return None
