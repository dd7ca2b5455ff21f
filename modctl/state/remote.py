"""The state branch with a remote: the remote's branch is the truth.

A write fetches the remote's tip, makes its commit on top of it, pushes (fast-forward only, so the
push is the compare-and-swap) and only then moves the local branch; a rejected push means another
writer won, and the store applies the transition again on the new tip. When the remote cannot be
reached, the commit is made locally, with a loud warning, and `modctl sync` later pushes it, or
replays the local-only commits on top of the remote's when both moved.

A rejection is told from an unreachable remote by `push --porcelain`'s status flags and by
comparing refs, never by git's (translatable) messages.
"""

from __future__ import annotations

import os
import random
from typing import TYPE_CHECKING

from modctl import gitio
from modctl.errors import ConflictError, GitError

if TYPE_CHECKING:
    from modctl.state.store import Store

RETRIES = 30


class Remote:
    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name
        self.git = store.git
        self._url: str | None = None

    def base(self) -> tuple[str | None, bool]:
        """The commit to build on, and whether the remote is there to push to."""
        local = self.store.tip()
        try:
            remote_tip = self.fetch()
        except GitError as exc:
            self._warn_offline(exc.message)
            return local, False
        if local is None or local == remote_tip:
            return remote_tip, True
        if remote_tip is not None and self.git.is_ancestor(local, remote_tip):
            return remote_tip, True
        if remote_tip is None or self.git.is_ancestor(remote_tip, local):
            return local, True  # local commits the remote lacks: they go with the next push
        raise ConflictError(
            f"the local state branch and {self.name}'s have diverged; run `modctl sync` to "
            "replay the local changes on top of the remote's"
        )

    def publish(self, commit: str, base: str | None) -> bool:
        """Push `commit` (made on `base`); then move the local branch up to it. False when the
        remote moved first."""
        pushed = self.push(commit)
        if pushed is False:
            return False
        if pushed is None:
            return self.store.move(commit, base, "commit locally: the remote is unreachable")
        for _ in range(RETRIES):
            local = self.store.tip()
            if local == commit or (local is not None and self.git.is_ancestor(commit, local)):
                return True  # another writer already moved the local branch past it
            if local is not None and not self.git.is_ancestor(local, commit):
                return True  # local-only commits wait for `modctl sync`; the remote has ours
            if self.store.move(commit, local, "fast-forward to the pushed state"):
                return True
        return True

    def fetch(self) -> str | None:
        """Fetch the remote state branch; its tip, or None when the remote has none yet. Raises
        GitError when the remote cannot be reached.

        Each fetch lands in a ref of its own and leaves nothing behind, so writers running at
        once in one clone never contend for a remote-tracking ref's lock.
        """
        ref = self.store.ref
        scratch = f"refs/modctl/fetch/{os.getpid()}-{random.getrandbits(32):08x}"
        args = ("fetch", "--quiet", "--no-write-fetch-head", "--refmap=", self.name)
        done = self.git.call(*args, f"+{ref}:{scratch}")
        for _ in range(RETRIES):
            if done.status == 0:
                break
            # Is the branch missing there, or is the remote unreachable? ls-remote tells by its
            # exit status: 2 when it reached the remote and found no such ref, 0 when the branch
            # is there after all (another writer just created it: fetch again).
            looked = self.git.call("ls-remote", "--exit-code", self.name, ref)
            if looked.status == 2:
                return None
            if looked.status != 0:
                raise gitio.failure(args, done)
            done = self.git.call(*args, f"+{ref}:{scratch}")
        else:
            raise gitio.failure(args, done)
        tip = self.git.resolve(scratch)
        self.git.call("update-ref", "-d", scratch)
        return tip

    def push(self, commit: str | None = None) -> bool | None:
        """Push `commit` (default: the local branch) to the remote branch, fast-forward only.
        True when pushed, False when rejected (the remote moved), None when unreachable."""
        ref = self.store.ref
        # Push to the URL, not the remote's name, so git touches no remote-tracking ref here.
        done = self.git.call("push", "--porcelain", self.url(), f"{commit or ref}:{ref}")
        # Porcelain ref lines are "<flag>\t<from>:<to>\t<summary>"; "!" means rejected.
        lines = done.stdout.decode(errors="replace").splitlines()
        flags = [line.split("\t", 1)[0] for line in lines if "\t" in line]
        if "!" in flags:
            return False  # rejected: the remote's branch moved (or its lock was held) first
        if done.status != 0:
            self._warn_offline(gitio.failure(("push",), done).message)
            return None
        # "=" means the remote already had this very commit: a writer that made the same change
        # in the same second got there first, so ours is a lost race, not a success.
        return "=" not in flags

    def url(self) -> str:
        if self._url is None:
            self._url = self.git.text("remote", "get-url", self.name).strip()
        return self._url

    def _warn_offline(self, why: str) -> None:
        self.store.warnings.append(
            f"remote {self.name} is unreachable ({why}); the change is committed locally only: "
            "run `modctl sync` once the remote is back"
        )

    def sync(self) -> str:
        """Reconcile with the remote: fast-forward, push, or replay local-only commits on top of
        the remote's tip when both moved. Returns what it did."""
        remote_tip = self.fetch()
        local = self.store.tip()
        if local is None:
            if remote_tip is not None:
                self.store.move(remote_tip, None, "fetch the remote's state")
            return "fetched the remote's state" if remote_tip else "nothing to sync"
        if remote_tip is None or self.git.is_ancestor(remote_tip, local):
            if remote_tip == local:
                return "already in sync"
            if self.push() is not True:
                why = self.store.warnings[-1] if self.store.warnings else "rejected"
                raise ConflictError(f"could not push to {self.name}: {why}")
            return f"pushed local changes to {self.name}"
        if self.git.is_ancestor(local, remote_tip):
            self.store.move(remote_tip, local, "fast-forward to the remote")
            return f"fast-forwarded to {self.name}"
        replayed = self._replay(local, remote_tip)
        if self.push() is not True:
            raise ConflictError(
                f"replayed {replayed} local change(s) but the push to {self.name} failed; "
                "run `modctl sync` again"
            )
        return f"replayed {replayed} local change(s) on top of {self.name} and pushed"

    def _replay(self, local: str, remote_tip: str) -> int:
        done = self.git.call("merge-base", local, remote_tip)
        # No merge base: the local branch was started while the remote was unreachable.
        base = done.stdout.decode().strip() if done.status == 0 else None
        if base is None:
            theirs = set(self.store.read(remote_tip).files)
            ours = set(self.store.read(local).files)
            mine = self.git.text("rev-list", "--reverse", local).split()
        else:
            theirs = set(self._names("diff", "--name-only", "-z", base, remote_tip))
            ours = set(self._names("diff", "--name-only", "-z", base, local))
            mine = self.git.text("rev-list", "--reverse", f"{base}..{local}").split()
        clash = sorted(theirs & ours)
        if clash:
            raise ConflictError(
                f"the local state and {self.name}'s both changed {', '.join(clash[:3])}; "
                "decide which holds, then redo the local change"
            )
        head = remote_tip
        for commit in mine:
            files = self.store.changed_files(commit)
            message = self.git.text("log", "-1", "--format=%B", commit)
            head = self.store.commit(head, files, message)
        if not self.store.move(head, local, "replay local changes on top of the remote"):
            raise ConflictError("the local state branch moved during sync; run `modctl sync` again")
        return len(mine)

    def _names(self, *args: str) -> list[str]:
        return [name for name in self.git.text(*args).split("\0") if name]
