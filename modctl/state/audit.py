"""`modctl audit verify`: replay the whole state branch and check what it promises.

The branch is linear, one command per commit. For every commit, oldest first: it carries the
Modctl trailers; the command its `Modctl-Action` trailer names, run on the parent's state at the
commit's time by the same pure functions the commands use, writes exactly the files the commit
wrote (region states, freezes, and `deploy/` rendered from them), so a forged state change fails
however its trailers read; and a release's manifest, artifact, digest and tag agree, and the
artifact is what the release's source commit builds to. A state that cannot be read is a finding
on its commit, never an internal error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from modctl.context import Context
from modctl.errors import ModctlError
from modctl.source.config import Recorded
from modctl.state import artifact, journal
from modctl.state.files import artifact_file, manifest_file, read_yaml, tag_name
from modctl.state.journal import TRAILERS, Entry
from modctl.state.replay import Mismatch, recover
from modctl.state.store import Change, Snapshot, Store, apply

# What reading a state file that modctl did not write can raise, besides ModctlError.
UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError)


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
    store = Store(context.root, context.config.state_branch, git=context.git)
    history = store.history()
    entries = {entry.commit: entry for entry in store.journal()}
    changes = store.changes([commit for commit, _parents in history])
    configs = Recorded(context.git, context.config)
    files: dict[str, bytes] = {}
    parent: str | None = None
    for commit, parents in history:
        entry = entries.get(commit)
        try:
            problem = _check(
                context, configs, Snapshot(parent, files), entry, parents, changes[commit]
            )
        except ModctlError as exc:
            problem = f"its state cannot be read: {exc.message}"
        except UNREADABLE as exc:
            problem = f"its state cannot be read: {type(exc).__name__}: {exc}"
        if problem:
            summary = entry.summary if entry else ""
            return Audit(len(history), Violation(commit, summary, problem))
        apply(files, changes[commit].files)
        parent = commit
    return Audit(len(history), None)


def _check(
    context: Context,
    configs: Recorded,
    parent: Snapshot,
    entry: Entry | None,
    parents: list[str],
    change: Change,
) -> str | None:
    if len(parents) > 1:
        return (
            "a merge commit: modctl writes the state branch one command per commit and never "
            "merges, so a merge can bring in any change"
        )
    if entry is not None and entry.problem:
        return f"its trailers cannot be read: {entry.problem}"
    if entry is None or not entry.action or not entry.actor:
        return "no Modctl-Action or Modctl-Actor trailer: written around modctl"
    for key in TRAILERS:
        value = getattr(entry, key.lower())
        found = journal.problem(value) if value else None
        if found:
            return f"its Modctl-{key} trailer {found}: modctl never writes that"
    if change.irregular:
        return f"it writes {change.irregular[0]} as something other than a regular file"
    if entry.time is None:
        return "it has no commit time"
    moment = datetime.fromisoformat(entry.time).astimezone(timezone.utc).replace(tzinfo=None)
    try:
        recover(parent, entry, change.files, configs.of(entry.config), moment)
    except Mismatch as exc:
        return exc.problem
    if entry.action == "release":
        return _release(context, entry, change.files)
    return None


def _release(context: Context, entry: Entry, files: dict[str, bytes | None]) -> str | None:
    """The manifest, artifact, digest and tag of a release agree, and the artifact is what its
    source commit builds to."""
    bundle, version = entry.bundle or "", entry.release or ""
    path = manifest_file(bundle, version)
    manifest = read_yaml(path, files[path] or b"")
    data = files[artifact_file(bundle, version)] or b""
    if not isinstance(manifest, dict):
        return f"{path} is not a release manifest"
    for key, want in (("bundle", bundle), ("version", version)):
        if manifest.get(key) != want:
            return f"{path} says {key} {manifest.get(key)!r}, its commit says {want!r}"
    if artifact.digest(data) != manifest.get("digest"):
        return f"artifact of {bundle} {version} does not match its digest"
    source = str(manifest.get("source_commit"))
    tag = tag_name(bundle, version)
    target = context.git.tag_target(tag)
    if target is None:
        return f"tag {tag} is missing here; `modctl sync` fetches release tags"
    if target != source:
        return f"tag {tag} does not point at the release's source commit {source[:12]}"
    return _rebuilt(context, bundle, version, source, data)


def _rebuilt(context: Context, bundle: str, version: str, source: str, data: bytes) -> str | None:
    from modctl.source import workspace

    try:
        loaded = workspace.load(context.root, [bundle], rev=source)
    except ModctlError as exc:
        return f"release {bundle} {version} cannot be built again from {source[:12]}: {exc.message}"
    built = artifact.build(loaded.bundle(bundle), loaded.config, version, source)
    if artifact.canonical(built) != data:
        return (
            f"artifact of {bundle} {version} is not what its source commit {source[:12]} builds to"
        )
    return None
