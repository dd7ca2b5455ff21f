"""`modctl sync`: reconcile the local state branch with the remote's, by commands, not patches.

Fetch the remote's branch and release tags; then fast-forward, push, or, when both sides moved,
run each local command again on the remote's newer state (`modctl.state.replay`): a command that
no longer applies there (a promote in a region frozen meanwhile, a start whose earlier wave was
rolled back) is dropped and said so, and the local branch as it was is kept on a
`BRANCH-rejected/...` branch, so nothing is lost. `--keep remote` takes the remote's state and
drops every local change (kept the same way); `--keep local` replays only when every local change
still applies. Release tags travel with the state: the remote's are fetched, and the ones the
remote lacks are pushed with the branch, atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from modctl.errors import ConflictError, ModctlError, RefusedError, UsageError
from modctl.model import Config
from modctl.source.config import Recorded
from modctl.state import journal
from modctl.state.files import manifests, tag_name
from modctl.state.remote import Remote
from modctl.state.replay import Command, Mismatch, recover
from modctl.state.store import Snapshot, Store, apply

KEEP = ("remote", "local")


@dataclass(frozen=True)
class Dropped:
    commit: str
    summary: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class Synced:
    """What a sync did: `result` in words, the local changes it dropped, and where the local
    branch as it was is kept when it dropped any."""

    result: str
    tip: str | None = None
    dropped: list[Dropped] = field(default_factory=list)
    kept_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "tip": self.tip,
            "dropped": [d.to_dict() for d in self.dropped],
            "kept_at": self.kept_at,
        }


def sync(store: Store, config: Config, keep: str | None = None) -> Synced:
    if store.remote is None:
        raise UsageError("no remote: name one as `state.remote` in modctl.yaml")
    if keep is not None and keep not in KEEP:
        raise UsageError(f"--keep takes remote or local, not {keep!r}")
    store.refuse_checked_out()
    try:
        synced = _sync(store, store.remote, config, keep)
    finally:
        store.drop_scratch()
    synced.tip = store.tip()
    return synced


def _sync(store: Store, remote: Remote, config: Config, keep: str | None) -> Synced:
    git = store.git
    theirs = remote.fetch(tags=True)
    local = store.tip()
    if theirs is not None:
        git.call("update-ref", f"refs/remotes/{remote.name}/{store.branch}", theirs)
    if local is None or local == theirs:
        if theirs is None:
            return Synced("nothing to sync")
        if local is None:
            store.move(theirs, None, "fetch the remote's state")
        _take_tags(store, remote, theirs)
        pushed = _push_tags(store, remote)
        said = "fetched the remote's state" if local is None else "already in sync"
        return Synced(said + (f"; pushed {pushed} release tag(s)" if pushed else ""))
    ahead = theirs is None or git.is_ancestor(theirs, local)
    behind = theirs is not None and git.is_ancestor(local, theirs)
    if behind:
        assert theirs is not None
        store.move(theirs, local, "fast-forward to the remote")
        _take_tags(store, remote, theirs)
        return Synced(f"fast-forwarded to {remote.name}")
    if keep == "remote":
        mine = _local_commands(store, config, local, theirs)
        return _keep_remote(store, remote, local, theirs, mine)
    if ahead:
        _push(store, remote, local, "local changes")
        return Synced(f"pushed local changes to {remote.name}")
    assert theirs is not None
    mine = _local_commands(store, config, local, theirs)
    return _replay(store, remote, config, local, theirs, mine, keep)


def _local_commands(
    store: Store, config: Config, local: str, theirs: str | None
) -> list[tuple[str, Command | Dropped]]:
    """Each local commit the remote lacks, oldest first, with the command that made it (or
    why it is no command modctl makes)."""
    found = store.git.call("merge-base", local, theirs) if theirs else None
    base = found.stdout.decode().strip() if found is not None and found.status == 0 else None
    span = f"{base}..{local}" if base else local
    commits = store.git.text("rev-list", "--first-parent", "--reverse", span).split()
    entries = {e.commit: e for e in journal.read(store.git, span)}
    configs = Recorded(store.git, config)
    changes = store.changes(commits)
    files = dict(store.read(base).files) if base else {}
    parent = base
    commands: list[tuple[str, Command | Dropped]] = []
    for commit in commits:
        entry = entries[commit]
        moment = datetime.fromisoformat(entry.time or "").astimezone(timezone.utc)
        try:
            command: Command | Dropped = recover(
                Snapshot(parent, files),
                entry,
                changes[commit].files,
                configs.of(entry.config),
                moment.replace(tzinfo=None),
            )
        except Mismatch as exc:
            command = Dropped(commit, entry.summary, f"not what its command makes: {exc.problem}")
        except ModctlError as exc:
            command = Dropped(commit, entry.summary, exc.message)
        commands.append((commit, command))
        apply(files, changes[commit].files)
        parent = commit
    return commands


def _replay(
    store: Store,
    remote: Remote,
    config: Config,
    local: str,
    theirs: str,
    mine: list[tuple[str, Command | Dropped]],
    keep: str | None,
) -> Synced:
    head = theirs
    files = dict(store.read(theirs).files)
    replayed = 0
    dropped: list[Dropped] = []
    for commit, command in mine:
        if isinstance(command, Dropped):
            dropped.append(command)
            continue
        try:
            written, made = command.run(Snapshot(head, files), config)
        except (RefusedError, UsageError) as exc:
            dropped.append(Dropped(commit, command.entry.summary, exc.message))
            continue
        written = {path: data for path, data in written.items() if files.get(path) != data}
        if not written:
            continue  # already so on the remote
        head = store.commit(head, written, made.message(), command.moment)
        apply(files, written)
        replayed += 1
    if dropped and keep == "local":
        raise ConflictError(
            f"--keep local: {len(dropped)} local change(s) no longer apply on {remote.name}'s "
            f"state, so nothing was synced: {_listed(dropped)}; `modctl sync` replays the "
            "others and keeps these aside"
        )
    kept_at = _keep_aside(store, local) if dropped else None
    if not store.move(head, local, "replay local changes on top of the remote"):
        raise ConflictError("the local state branch moved during sync; run `modctl sync` again")
    _take_tags(store, remote, head)
    if head != theirs:
        _push(store, remote, head, f"{replayed} replayed local change(s)")
    said = f"replayed {replayed} local change(s) on top of {remote.name} and pushed"
    if head == theirs:
        said = f"took {remote.name}'s state: no local change still applied"
    return Synced(said, dropped=dropped, kept_at=kept_at)


def _keep_remote(
    store: Store,
    remote: Remote,
    local: str,
    theirs: str | None,
    mine: list[tuple[str, Command | Dropped]],
) -> Synced:
    if theirs is None:
        raise UsageError(f"--keep remote: {remote.name} has no state branch to keep")
    dropped = [
        c if isinstance(c, Dropped) else Dropped(commit, c.entry.summary, "--keep remote")
        for commit, c in mine
    ]
    kept_at = _keep_aside(store, local)
    if not store.move(theirs, local, f"take {remote.name}'s state"):
        raise ConflictError("the local state branch moved during sync; run `modctl sync` again")
    _take_tags(store, remote, theirs)
    said = f"took {remote.name}'s state and dropped {len(dropped)} local change(s)"
    return Synced(said, dropped=dropped, kept_at=kept_at)


def _push(store: Store, remote: Remote, commit: str, what: str) -> None:
    tags = _tags_to_push(store, remote, commit)
    if remote.push(commit, tags) is not True:
        why = store.warnings[-1] if store.warnings else f"{remote.name} moved meanwhile"
        raise ConflictError(
            f"could not push {what} to {remote.name}: {why}; run `modctl sync` again"
        )


def _push_tags(store: Store, remote: Remote) -> int:
    """Push the release tags the remote lacks (releases cut before tags travelled)."""
    tip = store.tip()
    tags = _tags_to_push(store, remote, tip) if tip else ()
    if tags:
        remote.push_tags(tags)
    return len(tags)


def _tags_to_push(store: Store, remote: Remote, commit: str) -> tuple[str, ...]:
    """The tags of the releases on the state at `commit` that the remote lacks and that point
    here at the release's source commit."""
    wanted = []
    for manifest in manifests(store.read(commit)):
        tag = tag_name(manifest["bundle"], manifest["version"])
        if tag not in remote.tags and store.git.tag_target(tag) == manifest["source_commit"]:
            wanted.append(tag)
    return tuple(wanted)


def _take_tags(store: Store, remote: Remote, commit: str) -> None:
    """Make each release tag of the state at `commit` what the remote has, where the local one
    is missing or does not point at the release's source commit."""
    updates = []
    for manifest in manifests(store.read(commit)):
        tag = tag_name(manifest["bundle"], manifest["version"])
        theirs = remote.tags.get(tag)
        source = manifest["source_commit"]
        if theirs is not None and theirs[1] == source and store.git.tag_target(tag) != source:
            updates.append(f"update refs/tags/{tag} {theirs[0]}\n")
    if updates:
        try:
            store.git.run("update-ref", "--stdin", stdin="".join(updates).encode())
        except ModctlError as exc:
            store.warnings.append(f"could not take {remote.name}'s release tags: {exc.message}")


def _keep_aside(store: Store, local: str) -> str:
    """A new branch holding the local state branch as it was; its name."""
    moment = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(100):
        name = f"{store.branch}-rejected/{moment}" + (f"-{attempt}" if attempt else "")
        done = store.git.call("update-ref", f"refs/heads/{name}", local, "")
        if done.status == 0:
            return name
    raise ConflictError(f"could not keep the local changes aside on {store.branch}-rejected/")


def _listed(dropped: list[Dropped]) -> str:
    return "; ".join(f"{d.commit[:12]} {d.summary!r}: {d.why}" for d in dropped)
