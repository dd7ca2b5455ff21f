"""The state branch: every state change is one commit, written with git plumbing only.

A write reads the branch tip, applies a pure transition to the files there, writes blobs, a tree
(through a private index file) and a commit, then moves the branch with
`update-ref NEW EXPECTED-OLD`. The user's working tree, index and HEAD are never touched, so a
dirty checkout, a detached HEAD or another branch checked out never blocks a write. When another
writer moved the branch first, the transition is applied again to the new tip while it still
applies; otherwise the write fails with a conflict. The journal is the branch history: each
commit carries `Modctl-*` trailers, read back with one `git log`.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from modctl.errors import ConflictError, GitError, ModctlError, RefusedError, UsageError

ZERO = "0" * 40
TRAILERS = ("Action", "Bundle", "Region", "Release", "Incident", "Actor", "Reason")
RETRIES = 30
# What git says when another writer moved the ref (or held its lock) first.
LOST_RACE = (
    "rejected",
    "non-fast-forward",
    "fetch first",
    "stale info",
    "cannot lock ref",
    "failed to lock",
    "failed to update ref",
)


@dataclass(frozen=True)
class Entry:
    """What a state commit did and why, as its subject line and trailers."""

    action: str
    actor: str
    summary: str
    bundle: str | None = None
    region: str | None = None
    release: str | None = None
    incident: str | None = None
    reason: str | None = None
    commit: str | None = None
    time: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)

    def message(self) -> str:
        lines = [self.summary, ""]
        for key in TRAILERS:
            value = getattr(self, key.lower())
            if value:
                lines.append(f"Modctl-{key}: {' '.join(str(value).split())}")
        return "\n".join(lines) + "\n"


@dataclass
class Snapshot:
    """The state branch at one commit: every file's content by path."""

    commit: str | None
    files: dict[str, bytes] = field(default_factory=dict)


# A transition gets the current state and returns the files to write (None deletes) and the
# journal entry; it raises RefusedError when it does not apply.
Transition = Callable[[Snapshot], tuple[dict[str, bytes | None], Entry]]


class Store:
    def __init__(self, root: Path, branch: str = "modctl-state", remote: str | None = None) -> None:
        self.root = root
        self.branch = branch
        self.ref = f"refs/heads/{branch}"
        self.remote = remote
        self.warnings: list[str] = []
        self._remote_url: str | None = None

    def _git(
        self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> str:
        return self._run(*args, stdin=stdin, env=env).decode()

    def _run(
        self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
    ) -> bytes:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.root,
                input=stdin,
                capture_output=True,
                check=False,
                env={**os.environ, **(env or {})},
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH; install git") from None
        if done.returncode != 0:
            text = done.stderr.decode(errors="replace").strip()
            lines = [line for line in text.splitlines() if not line.startswith("hint:")]
            main = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
            error = GitError(
                f"git {args[0]} failed: {main or (lines[-1] if lines else 'no message')}"
            )
            error.detail = text
            raise error
        return done.stdout

    def tip(self) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"{self.ref}^{{commit}}").strip()
        except GitError:
            return None

    def read(self, commit: str | None = None) -> Snapshot:
        commit = commit or self.tip()
        if commit is None:
            return Snapshot(None)
        listing = self._run("ls-tree", "-r", "-z", commit).split(b"\0")
        entries = []
        for entry in filter(None, listing):
            meta, name = entry.split(b"\t", 1)
            entries.append((meta.split()[2].decode(), name.decode()))
        if not entries:
            return Snapshot(commit)
        batch = self._run(
            "cat-file", "--batch", stdin="".join(f"{sha}\n" for sha, _ in entries).encode()
        )
        files: dict[str, bytes] = {}
        offset = 0
        for _sha, path in entries:
            header_end = batch.index(b"\n", offset)
            size = int(batch[offset:header_end].split()[2])
            start = header_end + 1
            files[path] = batch[start : start + size]
            offset = start + size + 1
        return Snapshot(commit, files)

    def write(self, transition: Transition) -> Entry:
        """Apply `transition` as one commit on the state branch; return its entry, with the commit.

        Without a remote, the local branch is the truth: the commit is made on its tip and the
        branch moved with compare-and-swap. With a remote, the remote is the truth: the commit is
        made on the remote's tip, pushed (fast-forward only, so a push is the compare-and-swap),
        and only then does the local branch move; a rejected push means another writer won, and
        the transition is applied again on the new tip. When the remote cannot be reached, the
        commit is made locally, with a warning, for `modctl sync` to push later.
        """
        for attempt in range(RETRIES):
            base, online = self._base()
            snapshot = self.read(base) if base else Snapshot(None)
            try:
                changes, entry = transition(snapshot)
            except RefusedError as exc:
                if attempt == 0:
                    raise
                raise ConflictError(
                    f"another writer changed the state first and this change no longer applies: "
                    f"{exc.message}"
                ) from None
            commit = self._commit(snapshot, changes, entry)
            done = (
                self._publish(commit, base) if online else self._move(commit, base, entry.summary)
            )
            if done:
                return Entry(**{**entry.__dict__, "commit": commit})
            # Another writer won: wait a little, longer each time, so racing writers spread out.
            time.sleep(random.uniform(0, 0.005 * min(2**attempt, 64)))
        raise ConflictError(
            f"the state branch kept moving: lost the race {RETRIES} times; try again"
        )

    def _base(self) -> tuple[str | None, bool]:
        """The commit to build on, and whether the remote is there to push to."""
        local = self.tip()
        if self.remote is None:
            return local, False
        try:
            remote_tip = self._fetch()
        except GitError as exc:
            self._warn_offline(exc.message)
            return local, False
        if local is None or local == remote_tip:
            return remote_tip, True
        if remote_tip is not None and self._is_ancestor(local, remote_tip):
            return remote_tip, True
        if remote_tip is None or self._is_ancestor(remote_tip, local):
            return local, True  # local commits the remote lacks: they go with the next push
        raise ConflictError(
            f"the local state branch and {self.remote}'s have diverged; run `modctl sync` to "
            "replay the local changes on top of the remote's"
        )

    def _publish(self, commit: str, base: str | None) -> bool:
        """Push `commit` (made on `base`); then move the local branch up to it. False when the
        remote moved first."""
        pushed = self._push(commit)
        if pushed is False:
            return False
        if pushed is None:
            return self._move(commit, base, "commit locally: the remote is unreachable")
        for _ in range(RETRIES):
            local = self.tip()
            if local == commit or (local is not None and self._is_ancestor(commit, local)):
                return True  # another writer already moved the local branch past it
            if local is not None and not self._is_ancestor(local, commit):
                return True  # local-only commits wait for `modctl sync`; the remote has ours
            if self._move(commit, local, "fast-forward to the pushed state"):
                return True
        return True

    def _commit(self, snapshot: Snapshot, changes: dict[str, bytes | None], entry: Entry) -> str:
        return self._commit_message(snapshot, changes, entry.message())

    def _commit_message(
        self, snapshot: Snapshot, changes: dict[str, bytes | None], message: str
    ) -> str:
        with tempfile.TemporaryDirectory(prefix="modctl-index-") as folder:
            env = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
            if snapshot.commit:
                self._git("read-tree", snapshot.commit, env=env)
            written = sorted(path for path, content in changes.items() if content is not None)
            sources = []
            for number, path in enumerate(written):
                source = Path(folder) / f"blob{number}"
                source.write_bytes(changes[path] or b"")
                sources.append(str(source))
            blobs = (
                self._git(
                    "hash-object", "-w", "--stdin-paths", stdin="\n".join(sources).encode()
                ).split()
                if sources
                else []
            )
            lines = [f"100644 {blob}\t{path}" for path, blob in zip(written, blobs, strict=True)]
            lines += [f"0 {ZERO}\t{path}" for path, content in changes.items() if content is None]
            if lines:
                self._git(
                    "update-index",
                    "--index-info",
                    stdin=("\n".join(lines) + "\n").encode(),
                    env=env,
                )
            tree = self._git("write-tree", env=env).strip()
        args = ["commit-tree", tree] + (["-p", snapshot.commit] if snapshot.commit else [])
        if self._signing():
            args.append("-S")  # commit-tree itself ignores commit.gpgSign
        return self._git(*args, stdin=message.encode()).strip()

    def _signing(self) -> bool:
        try:
            return self._git("config", "--type=bool", "commit.gpgsign").strip() == "true"
        except GitError:
            return False

    def _fetch(self) -> str | None:
        """Fetch the remote state branch; its tip, or None when the remote has none yet. Raises
        GitError when the remote cannot be reached.

        Each fetch lands in a ref of its own and leaves nothing behind, so writers running at
        once in one clone never contend for a remote-tracking ref's lock.
        """
        scratch = f"refs/modctl/fetch/{os.getpid()}-{random.getrandbits(32):08x}"
        try:
            self._git(
                "fetch",
                "--quiet",
                "--no-write-fetch-head",
                "--refmap=",
                str(self.remote),
                f"+{self.ref}:{scratch}",
            )
        except GitError as exc:
            if "couldn't find remote ref" in exc.detail:
                return None
            raise
        try:
            return self._git("rev-parse", scratch).strip()
        finally:
            self._git("update-ref", "-d", scratch)

    def _push(self, commit: str | None = None) -> bool | None:
        """Push `commit` (default: the local branch) to the remote branch, fast-forward only.
        True when pushed, False when rejected (the remote moved), None when unreachable."""
        source = commit or self.ref
        try:
            # Push to the URL, not the remote's name, so git touches no remote-tracking ref here:
            # then a lock error can only mean the remote's branch moved, a lost race.
            out = self._git("push", "--porcelain", self._url(), f"{source}:{self.ref}")
        except GitError as exc:
            text = exc.detail.lower()
            if any(word in text for word in LOST_RACE):
                return False
            self._warn_offline(exc.message)
            return None
        # "=" means the remote already had this very commit: a writer that made the same change
        # in the same second got there first, so ours is a lost race, not a success.
        return not any(line.startswith("=\t") for line in out.splitlines())

    def _url(self) -> str:
        if self._remote_url is None:
            self._remote_url = self._git("remote", "get-url", str(self.remote)).strip()
        return self._remote_url

    def _warn_offline(self, why: str) -> None:
        self.warnings.append(
            f"remote {self.remote} is unreachable ({why}); the change is committed locally only: "
            "run `modctl sync` once the remote is back"
        )

    def _is_ancestor(self, older: str, newer: str) -> bool:
        try:
            self._git("merge-base", "--is-ancestor", older, newer)
        except GitError:
            return False
        return True

    def sync(self) -> str:
        """Reconcile with the remote: fast-forward, push, or replay local-only commits on top of
        the remote's tip when both moved. Returns what it did."""
        if self.remote is None:
            raise UsageError("no remote: name one as `state.remote` in modctl.yaml")
        remote_tip = self._fetch()
        local = self.tip()
        if local is None:
            if remote_tip is not None:
                self._move(remote_tip, None, "fetch the remote's state")
            return "fetched the remote's state" if remote_tip else "nothing to sync"
        if remote_tip is None or self._is_ancestor(remote_tip, local):
            if remote_tip == local:
                return "already in sync"
            if self._push() is not True:
                raise ConflictError(
                    f"could not push to {self.remote}: {self.warnings[-1] if self.warnings else 'rejected'}"
                )
            return f"pushed local changes to {self.remote}"
        if self._is_ancestor(local, remote_tip):
            self._move(remote_tip, local, "fast-forward to the remote")
            return f"fast-forwarded to {self.remote}"
        replayed = self._replay(local, remote_tip)
        if self._push() is not True:
            raise ConflictError(
                f"replayed {replayed} local change(s) but the push to {self.remote} failed; run `modctl sync` again"
            )
        return f"replayed {replayed} local change(s) on top of {self.remote} and pushed"

    def _replay(self, local: str, remote_tip: str) -> int:
        try:
            base: str | None = self._git("merge-base", local, remote_tip).strip()
        except GitError:
            base = None  # the local branch was started while the remote was unreachable
        if base is None:
            theirs, ours = set(self.read(remote_tip).files), set(self.read(local).files)
            mine = self._git("rev-list", "--reverse", local).split()
        else:
            theirs = set(self._git("diff", "--name-only", base, remote_tip).split())
            ours = set(self._git("diff", "--name-only", base, local).split())
            mine = self._git("rev-list", "--reverse", f"{base}..{local}").split()
        clash = sorted(theirs & ours)
        if clash:
            raise ConflictError(
                f"the local state and {self.remote}'s both changed {', '.join(clash[:3])}; "
                "decide which holds, then redo the local change"
            )
        head = remote_tip
        for commit in mine:
            snapshot = self.read(head)
            changed = self._git(
                "diff-tree", "-r", "--root", "--no-commit-id", "--name-status", commit
            )
            files: dict[str, bytes | None] = {}
            after = self.read(commit).files
            for line in filter(None, changed.splitlines()):
                status, path = line.split("\t", 1)
                files[path] = None if status.startswith("D") else after[path]
            message = self._git("log", "-1", "--format=%B", commit)
            head = self._commit_message(snapshot, files, message)
        if not self._move(head, local, "replay local changes on top of the remote"):
            raise ConflictError("the local state branch moved during sync; run `modctl sync` again")
        return len(mine)

    def _move(self, commit: str, expected: str | None, summary: str) -> bool:
        # A failed compare-and-swap is a lost race, even when the tip now equals our commit:
        # a writer that did the same thing in the same second made that same commit.
        try:
            self._git("update-ref", "-m", f"modctl: {summary}", self.ref, commit, expected or ZERO)
        except GitError:
            return False
        return True

    def changed_files(self, commit: str) -> dict[str, bytes | None]:
        """The files one commit added or changed (their content) or deleted (None)."""
        listing = self._git("diff-tree", "-r", "--root", "--no-commit-id", "--name-status", commit)
        changed: dict[str, bytes | None] = {}
        wanted = []
        for line in filter(None, listing.splitlines()):
            status, path = line.split("\t", 1)
            if status.startswith("D"):
                changed[path] = None
            else:
                wanted.append(path)
        if wanted:
            batch = self._run(
                "cat-file", "--batch", stdin="".join(f"{commit}:{p}\n" for p in wanted).encode()
            )
            offset = 0
            for path in wanted:
                header_end = batch.index(b"\n", offset)
                size = int(batch[offset:header_end].split()[2])
                start = header_end + 1
                changed[path] = batch[start : start + size]
                offset = start + size + 1
        return changed

    def last_written(self, path: str) -> datetime:
        """When the state branch last changed `path` (UTC, without time zone)."""
        when = self._git("log", "-1", "--format=%cI", self.ref, "--", path).strip()
        return datetime.fromisoformat(when).astimezone(timezone.utc).replace(tzinfo=None)

    def journal(self, since: str | None = None) -> list[Entry]:
        """Every entry, newest first, from one `git log`."""
        if self.tip() is None:
            return []
        keys = ",".join(f"key=Modctl-{k}" for k in TRAILERS)
        fmt = f"%H%x1f%cI%x1f%s%x1f%(trailers:{keys},unfold,separator=%x1e)%x1d"
        args = ["log", f"--format={fmt}"] + ([f"--since={since}"] if since else []) + [self.ref]
        out = self._git(*args)
        entries = []
        for record in filter(None, (r.strip("\n") for r in out.split("\x1d"))):
            commit, when, summary, trailers = record.split("\x1f")
            values: dict[str, str] = {}
            for trailer in filter(None, trailers.split("\x1e")):
                key, _, value = trailer.partition(": ")
                values[key.removeprefix("Modctl-").lower()] = value
            entries.append(
                Entry(
                    action=values.pop("action", ""),
                    actor=values.pop("actor", ""),
                    summary=summary,
                    commit=commit,
                    time=when,
                    **values,
                )
            )
        return entries


def actor(explicit: str | None, root: Path) -> str:
    """Who is acting: --actor, else MODCTL_ACTOR, else git's user.email."""
    if explicit:
        return explicit
    if os.environ.get("MODCTL_ACTOR"):
        return os.environ["MODCTL_ACTOR"]
    done = subprocess.run(
        ["git", "config", "user.email"], cwd=root, capture_output=True, text=True, check=False
    )
    if done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip()
    raise ModctlError(
        "no actor: pass --actor, set MODCTL_ACTOR, or run `git config --global user.email you@example.com`"
    )
