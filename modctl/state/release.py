"""Releases: immutable, validated, tested snapshots of a bundle, recorded on the state branch.

`release cut` refuses unless the bundle is committed as it is, validates and passes its tests at
that commit, and takes a version that does not exist yet. It then tags the source commit
`modctl/BUNDLE/X.Y.Z` and writes the manifest and the canonical artifact in one state commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modctl import yamlio
from modctl.context import Context
from modctl.engine.cases import BundleResult, run_cases
from modctl.errors import ChecksFailedError, RefusedError, UsageError
from modctl.gitio import Git, repository
from modctl.source import workspace
from modctl.source.repo import bundle_names
from modctl.state import artifact
from modctl.state.files import artifact_file, manifest_file, manifests, semver, tag_name
from modctl.state.journal import check
from modctl.state.rollout import stamp
from modctl.state.store import Entry, Snapshot

SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
FIRST = "0.1.0"


@dataclass
class Cut:
    bundle: str
    version: str
    digest: str
    source_commit: str
    tag: str
    manifest: dict[str, Any]
    state_commit: str | None = None
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "version": self.version,
            "digest": self.digest,
            "source_commit": self.source_commit,
            "tag": self.tag,
            "state_commit": self.state_commit,
            "dry_run": self.dry_run,
        }


def _tag(git: Git, tag: str, commit: str, message: str) -> bool:
    """Tag the release's source commit; whether the tag is new (an existing one must agree)."""
    target = git.tag_target(tag)
    if target is not None and target != commit:
        raise RefusedError(
            f"tag {tag} already points at {target[:12]}; delete it or choose another version"
        )
    if target is None:
        git.create_tag(tag, commit, message)
    return target is None


def _tests(results: BundleResult) -> dict[str, Any]:
    return {
        "cases": len(results.cases),
        "passed": len(results.cases) - len(results.failed),
        "rule_coverage": round(results.coverage, 1),
    }


def next_version(existing: list[str], bump: str) -> str:
    if not existing:
        return FIRST
    major, minor, patch = max(semver(v) for v in existing)
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def cut(
    context: Context,
    bundle: str,
    *,
    actor: str,
    version: str | None = None,
    bump: str = "patch",
    notes: str = "",
    reason: str | None = None,
    incident: str | None = None,
    dry_run: bool = False,
) -> Cut:
    reason = _reason(reason, incident, notes)
    root = context.root
    git, prefix = repository(root, "`modctl release cut`")
    folder = f"{prefix}strategies/{bundle}"
    commit = _committed(root, git, prefix, bundle)
    loaded = workspace.load(root, [bundle], rev=commit)
    model, config = loaded.bundle(bundle), loaded.config
    results = run_cases(model, config)
    if results.failed:
        names = ", ".join(repr(c.case.name) for c in results.failed[:3])
        raise ChecksFailedError(
            f"{len(results.failed)} test case(s) of {bundle} fail ({names}); "
            f"`modctl test {bundle}` shows why"
        )
    if version is not None and not SEMVER.match(version):
        raise UsageError(f"version {version!r} is not X.Y.Z (semantic versioning, e.g. 1.4.0)")
    store = context.store
    existing = [m["version"] for m in manifests(store.read(), bundle)]
    version = version or next_version(existing, bump)
    moment = context.now().replace(microsecond=0)
    if version in existing:
        raise RefusedError(
            f"release {version} of {bundle} already exists; use --bump patch or choose another "
            "version"
        )
    built = artifact.build(model, config, version, commit)
    data = artifact.canonical(built)
    digest = artifact.digest(data)
    manifest = {
        "bundle": bundle,
        "version": version,
        "source_commit": commit,
        "source_tree": git.tree_of(commit, folder),
        "digest": digest,
        "notes": notes,
        "author": actor,
        "created": stamp(moment),
        "tests": _tests(results),
    }
    tag = tag_name(bundle, version)
    result = Cut(bundle, version, digest, commit, tag, manifest, dry_run=dry_run)
    if dry_run:
        return result
    created_tag = _tag(git, tag, commit, f"modctl release {bundle} {version}\n\n{notes}".strip())

    def record(snapshot: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        if version in [m["version"] for m in manifests(snapshot, bundle)]:
            raise RefusedError(f"release {version} of {bundle} was just cut by someone else")
        files: dict[str, bytes | None] = {
            manifest_file(bundle, version): yamlio.dump(manifest).encode(),
            artifact_file(bundle, version): data,
        }
        entry = Entry(
            "release",
            actor,
            f"release {bundle} {version}",
            bundle=bundle,
            release=version,
            incident=incident,
            reason=reason,
        )
        return files, entry

    try:
        result.state_commit = store.write(record, moment, (tag,)).commit
        result.warnings = store.warnings
    except BaseException:
        if created_tag:
            git.delete_tag(tag)
        raise
    return result


def _committed(root: Path, git: Git, prefix: str, bundle: str) -> str:
    """The commit to release from: HEAD, when the bundle and modctl.yaml are committed as they
    are in the working tree."""
    if bundle not in bundle_names(root):
        workspace.load(root, [bundle])  # says which bundles exist
    dirty = git.changed_paths([f"{prefix}strategies/{bundle}", f"{prefix}modctl.yaml"])
    if dirty:
        shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
        raise RefusedError(
            f"{bundle} has changes that are not committed ({shown}); a release is always a "
            "commit: commit or stash them first"
        )
    commit = git.resolve("HEAD")
    if commit is None:
        raise RefusedError("the repository has no commit yet; commit the bundle first")
    return commit


def _reason(reason: str | None, incident: str | None, notes: str) -> str | None:
    """The journal's reason for a release (the notes on one line when no reason is given),
    after checking what goes into the journal."""
    if incident:
        check("--incident", incident)
    if reason:
        return check("--reason", reason)
    return check("--notes", " ".join(notes.split())) if notes.strip() else None
