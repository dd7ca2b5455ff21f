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
from pathlib import Path

from modctl.errors import ConflictError, GitError, ModctlError, RefusedError

ZERO = "0" * 40
TRAILERS = ("Action", "Bundle", "Region", "Release", "Incident", "Actor", "Reason")
RETRIES = 30


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
    def __init__(self, root: Path, branch: str = "modctl-state") -> None:
        self.root = root
        self.ref = f"refs/heads/{branch}"
        self.git_dir = Path(self._git("rev-parse", "--absolute-git-dir").strip())

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
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {message[-1] if message else 'no message'}")
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
        """Apply `transition` as one commit on the state branch; return its entry, with the commit."""
        for attempt in range(RETRIES):
            snapshot = self.read()
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
            if self._move(commit, snapshot.commit, entry.summary):
                return Entry(**{**entry.__dict__, "commit": commit})
            # Another writer won: wait a little, longer each time, so racing writers spread out.
            time.sleep(random.uniform(0, 0.005 * min(2**attempt, 64)))
        raise ConflictError(
            f"the state branch kept moving: lost the race {RETRIES} times; try again"
        )

    def _commit(self, snapshot: Snapshot, changes: dict[str, bytes | None], entry: Entry) -> str:
        with tempfile.TemporaryDirectory(prefix="modctl-index-") as folder:
            env = {"GIT_INDEX_FILE": str(Path(folder) / "index")}
            if snapshot.commit:
                self._git("read-tree", snapshot.commit, env=env)
            lines = []
            for path, content in sorted(changes.items()):
                if content is None:
                    lines.append(f"0 {ZERO}\t{path}")
                else:
                    blob = self._git("hash-object", "-w", "--stdin", stdin=content).strip()
                    lines.append(f"100644 {blob}\t{path}")
            if lines:
                self._git(
                    "update-index",
                    "--index-info",
                    stdin=("\n".join(lines) + "\n").encode(),
                    env=env,
                )
            tree = self._git("write-tree", env=env).strip()
        args = ["commit-tree", tree]
        if snapshot.commit:
            args += ["-p", snapshot.commit]
        if self._signing():
            args.append("-S")
        return self._git(*args, stdin=entry.message().encode()).strip()

    def _signing(self) -> bool:
        try:
            return self._git("config", "--type=bool", "commit.gpgsign").strip() == "true"
        except GitError:
            return False

    def _move(self, commit: str, expected: str | None, summary: str) -> bool:
        # A failed compare-and-swap is a lost race, even when the tip now equals our commit:
        # a writer that did the same thing in the same second made that same commit.
        try:
            self._git("update-ref", "-m", f"modctl: {summary}", self.ref, commit, expected or ZERO)
        except GitError:
            return False
        return True

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
