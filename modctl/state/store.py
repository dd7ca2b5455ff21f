"""The state branch: every state change is one commit, written with git plumbing only.

A write reads the branch tip (one `cat-file --batch` process serves every read), applies a pure
transition to the files there, writes blobs, trees and the commit with one `git fast-import`
(into a private scratch ref), then moves the branch with one `update-ref` transaction that checks
the expected old tip and drops the scratch ref. The user's working tree, index and HEAD are never
touched, so a dirty checkout, a detached HEAD or another branch checked out never blocks a write.
When another writer moved the branch first (the tip is no longer the expected one), the
transition is applied again to the new tip while it still applies; otherwise the write fails with
a conflict. The journal is the branch history: each commit carries `Modctl-*` trailers.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from modctl import gitio
from modctl.errors import ConflictError, GitError, ModctlError, RefusedError, UsageError
from modctl.gitio import ZERO, Git
from modctl.state import journal
from modctl.state.journal import Entry

__all__ = ["Change", "Entry", "Snapshot", "Store", "Transition", "actor", "apply"]

RETRIES = 30
LOCK_WAITS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


@dataclass
class Snapshot:
    """The state branch at one commit: every file's content by path."""

    commit: str | None
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Change:
    """What one commit changed: each file's new content (None: deleted), and the paths it
    wrote as something other than a regular file."""

    files: dict[str, bytes | None] = field(default_factory=dict)
    irregular: list[str] = field(default_factory=list)


def apply(files: dict[str, bytes], changes: dict[str, bytes | None]) -> None:
    """Write `changes` into `files` in place: new contents, and None deletes."""
    for path, content in changes.items():
        if content is None:
            files.pop(path, None)
        else:
            files[path] = content


# A transition gets the current state and returns the files to write (None deletes) and the
# journal entry; it raises RefusedError when it does not apply.
Transition = Callable[[Snapshot], tuple[dict[str, bytes | None], Entry]]


class Store:
    def __init__(
        self,
        root: Path,
        branch: str = "modctl-state",
        remote: str | None = None,
        git: Git | None = None,
    ) -> None:
        self.root = root
        self.branch = branch
        self.ref = f"refs/heads/{branch}"
        self.git = git or Git(root)
        self.warnings: list[str] = []
        # Commits are made here first, so that no half-written commit is ever on the branch.
        self.scratch = f"refs/modctl/commit/{os.getpid()}-{random.getrandbits(32):08x}"
        self._scratch: dict[str, str] = {}  # scratch ref -> the commit it holds
        from modctl.state.remote import Remote

        self.remote = Remote(self, remote) if remote else None

    @property
    def settings(self) -> dict[str, str]:
        return self.git.settings()

    def tip(self) -> str | None:
        found = self.git.cat().read(self.ref)
        if found is None:
            return None
        if found.kind != "commit":
            raise GitError(f"{self.ref} does not point at a commit; it was not written by modctl")
        return found.oid

    def read(self, commit: str | None = None) -> Snapshot:
        commit = commit or self.tip()
        if commit is None:
            return Snapshot(None)
        cat = self.git.cat()
        head = cat.read(commit)
        if head is None or head.kind != "commit":
            raise GitError(f"{commit} is not a commit")
        trees = [("", head.data.split(b"\n", 1)[0].split()[1].decode())]
        blobs: list[tuple[str, str]] = []
        while trees:
            found = cat.read_objects([oid for _prefix, oid in trees])
            level = []
            for (prefix, tree_oid), tree in zip(trees, found, strict=True):
                if tree is None:
                    raise _damaged(commit, prefix or "/", tree_oid)
                for mode, name, oid in gitio.tree_entries(tree.data):
                    if mode == "40000":
                        level.append((f"{prefix}{name}/", oid))
                    else:
                        blobs.append((f"{prefix}{name}", oid))
            trees = level
        files = {}
        for (path, oid), data in zip(
            blobs, cat.read_many([oid for _path, oid in blobs]), strict=True
        ):
            if data is None:
                raise _damaged(commit, path, oid)
            files[path] = data
        return Snapshot(commit, files)

    def write(
        self, transition: Transition, when: datetime | None = None, tags: tuple[str, ...] = ()
    ) -> Entry:
        """Apply `transition` as one commit on the state branch; return its entry, with the commit.

        `when` is the moment the transition acted at (UTC, whole seconds): the commit records it
        as its time, so that `audit verify` replays the transition at that very moment. `tags`
        (release tags) go to the remote with the commit, all or nothing.

        Without a remote, the local branch is the truth: the commit is made on its tip and the
        branch moved with compare-and-swap. With a remote, the remote is the truth (see
        `modctl.state.remote`).
        """
        self.refuse_checked_out()
        try:
            for attempt in range(RETRIES):
                base, online = self.remote.base() if self.remote else (self.tip(), False)
                snapshot = self.read(base) if base else Snapshot(None)
                try:
                    changes, entry = transition(snapshot)
                except RefusedError as exc:
                    if attempt == 0:
                        raise
                    raise ConflictError(
                        "another writer changed the state first and this change no longer "
                        f"applies: {exc.message}"
                    ) from None
                commit = self.commit(base, changes, entry.message(), when)
                if self.remote and online:
                    done = self.remote.publish(commit, base, tags)
                else:
                    done = self.move(commit, base, entry.summary)
                if done:
                    return replace(entry, commit=commit)
                # Another writer won: wait a little, longer each time, so racing writers spread.
                time.sleep(random.uniform(0, 0.005 * min(2**attempt, 64)))
        finally:
            self.drop_scratch()
        raise ConflictError(
            f"the state branch kept moving: lost the race {RETRIES} times; try again"
        )

    def refuse_checked_out(self) -> None:
        """Writes move the branch without a checkout: refuse while a work tree has it out,
        whose files would stay behind (and whose next commit would undo the write), and refuse
        a branch that holds the bundles."""
        where = self.git.worktree_of(self.ref)
        if where:
            raise UsageError(
                f"the state branch {self.branch} is checked out in {where}; check out another "
                "branch there, or give the state a branch of its own (state.branch in "
                "modctl.yaml, default modctl-state)"
            )
        if self.git.cat().read(f"{self.ref}:modctl.yaml") is not None:
            raise UsageError(
                f"the state branch {self.branch} holds modctl.yaml: it is where bundles live, "
                "not a state branch; give the state a branch of its own (state.branch in "
                "modctl.yaml, default modctl-state)"
            )

    def commit(
        self,
        parent: str | None,
        changes: dict[str, bytes | None],
        message: str,
        when: datetime | None = None,
    ) -> str:
        """Write `changes` on top of `parent` as a commit (not yet on any branch); its id. The
        commit's time is `when` (UTC) when given."""
        ident = self.settings.get("GIT_COMMITTER_IDENT")
        if not ident:
            raise GitError(
                "git does not know who you are; run `git config --global user.email "
                "you@example.com` and `git config --global user.name 'Your Name'`"
            )
        date = None
        if when is not None:
            date = f"{int(when.replace(tzinfo=timezone.utc).timestamp())} +0000"
            ident = f"{ident.rsplit(' ', 2)[0]} {date}"
        scratch = f"{self.scratch}-{len(self._scratch)}"
        stream = [f"commit {scratch}\nmark :1\ncommitter {ident}\n".encode()]
        stream.append(_data(message.encode()))
        if parent:
            stream.append(f"from {parent}\n".encode())
        for path, content in sorted(changes.items()):
            if "\n" in path or path.startswith('"'):
                raise ModctlError(f"cannot write {path!r} on the state branch")
            if content is None:
                stream.append(f"D {path}\n".encode())
            else:
                stream.append(f"M 100644 inline {path}\n".encode() + _data(content))
        stream.append(b"\nget-mark :1\ndone\n")
        out = self.git.run("fast-import", "--quiet", "--done", stdin=b"".join(stream))
        commit = out.decode().split()[0]
        self._scratch[scratch] = commit
        if _true(self.settings.get("commit.gpgsign", "")):
            # fast-import cannot sign: the same tree and message again, signed by commit-tree.
            args = ["commit-tree", f"{commit}^{{tree}}", "-S"]
            args += ["-p", parent] if parent else []
            dated = {"GIT_COMMITTER_DATE": date} if date else None
            commit = self.git.text(*args, stdin=message.encode(), env=dated).strip()
        return commit

    def move(self, commit: str, expected: str | None, summary: str) -> bool:
        """Move the branch from `expected` to `commit`, dropping the scratch ref in the same
        transaction. False when the branch was not at `expected` (another writer won): a failed
        compare-and-swap is a lost race even when the tip now equals `commit`, since a writer
        that made the same change in the same second made that very commit."""
        lines = [f"update {self.ref} {commit} {expected or ZERO}"]
        lines += [f"delete {ref} {held}" for ref, held in self._scratch.items()]
        request = ("\n".join(lines) + "\n").encode()
        done = self.git.call("update-ref", "-m", f"modctl: {summary}", "--stdin", stdin=request)
        for pause in LOCK_WAITS:
            if done.status == 0:
                self._scratch.clear()
                return True
            if self.tip() != expected:
                return False
            # The branch is where we expected, yet the update failed: another writer holds its
            # lock for a moment, or the repository refuses writes. Try again briefly, then say so.
            time.sleep(pause)
            done = self.git.call("update-ref", "-m", f"modctl: {summary}", "--stdin", stdin=request)
        lock = self._lock_file()
        if lock is not None:
            raise GitError(
                f"the state branch is locked by {lock}: another git process is writing it, or one "
                "was killed mid-write; if none is running, remove that file and try again"
            )
        raise gitio.failure(("update-ref",), done)

    def _lock_file(self) -> Path | None:
        """The lock file that keeps the branch from moving, if there is one."""
        for name in (f"{self.ref}.lock", "packed-refs.lock"):
            path = Path(self.git.text("rev-parse", "--git-path", name).strip())
            path = path if path.is_absolute() else self.root / path
            if path.exists():
                return path
        return None

    def drop_scratch(self) -> None:
        """Forget the commits made but never published (a lost race, a failure)."""
        if self._scratch:
            lines = "".join(f"delete {ref} {held}\n" for ref, held in self._scratch.items())
            self.git.call("update-ref", "--stdin", stdin=lines.encode())
            self._scratch.clear()

    def history(self) -> list[tuple[str, list[str]]]:
        """Every commit along the branch's first parents, oldest first, with its parents."""
        if self.tip() is None:
            return []
        listing = self.git.text("rev-list", "--first-parent", "--reverse", "--parents", self.ref)
        return [(line.split()[0], line.split()[1:]) for line in listing.splitlines()]

    def changes(self, commits: list[str]) -> dict[str, Change]:
        """What each commit changed against its first parent, from one `diff-tree`."""
        request = "".join(f"{commit}\n" for commit in commits).encode()
        tokens = self.git.run(
            "diff-tree", "--stdin", "-r", "-z", "--root", "--no-renames", stdin=request
        ).split(b"\0")
        found = {commit: Change() for commit in commits}
        current = ""
        wanted: list[tuple[str, str, str]] = []
        index = 0
        while index < len(tokens):
            token = tokens[index].decode()
            index += 1
            if not token.startswith(":"):
                current = token
                continue
            path = tokens[index].decode(errors="replace")
            index += 1
            _old_mode, mode, _old, oid, status = token[1:].split()
            if status == "D":
                found[current].files[path] = None
            elif mode != "100644":
                found[current].irregular.append(path)
            else:
                wanted.append((current, path, oid))
        contents = self.git.cat().read_many(oid for _commit, _path, oid in wanted)
        for (commit, path, oid), content in zip(wanted, contents, strict=True):
            if content is None:
                raise _damaged(commit, path, oid)
            found[commit].files[path] = content
        return found

    def last_change(self, text: str, under: str) -> tuple[str, datetime, str] | None:
        """The newest commit of the branch that changed how often `text` occurs in the files
        under `under` (`git log -S`), with its time in UTC and its action; None when no commit
        did."""
        if not text or self.tip() is None:
            return None
        fmt = "%H%x00%ct%x00%(trailers:key=Modctl-Action,valueonly,separator=%x2C)"
        found = self.git.text("log", "-1", f"--format={fmt}", "-S", text, self.ref, "--", under)
        if not found.strip():
            return None
        commit, seconds, action = found.strip().split("\0")
        moment = datetime.fromtimestamp(int(seconds), timezone.utc).replace(tzinfo=None)
        return commit, moment, action

    def journal(self, since: datetime | None = None) -> list[Entry]:
        """Every entry, newest first (with `since`, in UTC, those from then on), from one
        `git log`."""
        if self.tip() is None:
            return []
        return journal.read(self.git, self.ref, since)


def _damaged(commit: str, path: str, oid: str) -> GitError:
    return GitError(
        f"the state branch at {commit[:12]} names {path} as object {oid[:12]}, which the "
        "repository does not have; it is damaged: `git fsck` shows what is missing"
    )


def _data(content: bytes) -> bytes:
    return f"data {len(content)}\n".encode() + content + b"\n"


def _true(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "on", "1")


def _email(settings: dict[str, str]) -> str:
    email = settings.get("user.email", "").strip()
    if not email:
        raise ModctlError(
            "no actor: pass --actor, set MODCTL_ACTOR, or run "
            "`git config --global user.email you@example.com`"
        )
    if "\ufffd" in email:  # what git's configuration held was not UTF-8
        raise UsageError(
            "git's user.email is not UTF-8 text; the journal takes one line of visible, "
            "printable text: pass --actor or fix it with `git config user.email`"
        )
    return journal.check("git's user.email", email)


def actor(explicit: str | None, git: Git | Path) -> str:
    """Who is acting: --actor, else MODCTL_ACTOR, else git's user.email; UsageError when that
    is not one line of visible, printable text."""
    if explicit:
        return journal.check("--actor", explicit)
    if os.environ.get("MODCTL_ACTOR"):
        return journal.check("MODCTL_ACTOR", os.environ["MODCTL_ACTOR"])
    return _email((git if isinstance(git, Git) else Git(git)).settings())
