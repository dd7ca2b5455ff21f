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
from modctl.state.files import TAGS

if TYPE_CHECKING:
    from modctl.state.store import Store

RETRIES = 30


class Remote:
    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name
        self.git = store.git
        self._url: str | None = None
        self.seen: str | None = None  # the remote's tip as last fetched
        self.tags: dict[str, tuple[str, str]] = {}  # release tags as last fetched

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

    def stale(self) -> str | None:
        """Why the local state branch may not show the remote's state, from what git last
        fetched (no network): missing here, behind, or diverged; None when it is current."""
        tracking = self.git.resolve(f"refs/remotes/{self.name}/{self.store.branch}")
        local = self.store.tip()
        if tracking is None or tracking == local:
            return None
        if local is None:
            return (
                f"there is no local state branch yet, but {self.name} has one: run `modctl sync` "
                "to fetch it"
            )
        if self.git.is_ancestor(tracking, local):
            return None
        if self.git.is_ancestor(local, tracking):
            return (
                f"the local state branch is behind {self.name}'s: run `modctl sync` to bring it "
                "up to date"
            )
        return (
            f"the local state branch and {self.name}'s have diverged: run `modctl sync` to "
            "replay the local changes on top of the remote's"
        )

    def publish(self, commit: str, base: str | None, tags: tuple[str, ...] = ()) -> bool:
        """Push `commit` (made on `base`), and `tags` with it, all or nothing; then move the
        local branch up to it. False when the remote moved first."""
        pushed = self.push(commit, tags)
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

    def fetch(self, tags: bool = False) -> str | None:
        """Fetch the remote state branch (and with `tags`, its release tags into `self.tags`);
        its tip, or None when the remote has none yet. Raises GitError when the remote cannot
        be reached.

        Each fetch lands in refs of its own and leaves nothing behind, so writers running at
        once in one clone never contend for a remote-tracking ref's lock.
        """
        ref = self.store.ref
        scratch = f"refs/modctl/fetch/{os.getpid()}-{random.getrandbits(32):08x}"
        args = ("fetch", "--quiet", "--no-write-fetch-head", "--no-tags", "--refmap=", self.name)
        specs = [f"+{ref}:{scratch}/tip"]
        specs += [f"+refs/tags/{TAGS}*:{scratch}/tags/*"] if tags else []
        done = self.git.call(*args, *specs)
        for _ in range(RETRIES):
            if done.status == 0:
                break
            # Is the branch missing there, or is the remote unreachable? ls-remote tells by its
            # exit status: 2 when it reached the remote and found no such ref, 0 when the branch
            # is there after all (another writer just created it: fetch again).
            looked = self.git.call("ls-remote", "--exit-code", self.name, ref)
            if looked.status == 2:
                self.seen = None
                return None
            if looked.status != 0:
                raise gitio.failure(args, done)
            done = self.git.call(*args, *specs)
        else:
            raise gitio.failure(args, done)
        fetched = self._refs(scratch)
        self.git.call(
            "update-ref", "--stdin", stdin="".join(f"delete {r}\n" for r in fetched).encode()
        )
        self.tags = {
            TAGS + name.removeprefix(f"{scratch}/tags/"): target
            for name, target in fetched.items()
            if name.startswith(f"{scratch}/tags/")
        }
        self.seen = fetched[f"{scratch}/tip"][1]
        return self.seen

    def _refs(self, prefix: str) -> dict[str, tuple[str, str]]:
        """Each ref under `prefix`: the object it names and the commit that object leads to."""
        listing = self.git.text(
            "for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", prefix
        )
        found = {}
        for line in listing.splitlines():
            name, oid, *peeled = line.split()
            found[name] = (oid, peeled[0] if peeled else oid)
        return found

    def push(self, commit: str | None = None, tags: tuple[str, ...] = ()) -> bool | None:
        """Push `commit` (default: the local branch) to the remote branch, fast-forward only,
        with the release tags `tags`, atomically. True when pushed, False when rejected because
        the remote moved since the last fetch, None when unreachable; ConflictError when the
        remote refused it although it did not move (a server hook, a protected branch)."""
        ref = self.store.ref
        specs = [f"{commit or ref}:{ref}"] + [f"refs/tags/{t}:refs/tags/{t}" for t in tags]
        # Push to the URL, not the remote's name, so git touches no remote-tracking ref here;
        # --atomic (which some servers lack) only when tags go with the branch.
        atomic = ["--atomic"] if tags else []
        done = self.git.call("push", "--porcelain", *atomic, self.url(), *specs)
        # Porcelain ref lines are "<flag>\t<from>:<to>\t<summary>"; "!" means rejected.
        lines = [
            line.split("\t")
            for line in done.stdout.decode(errors="replace").splitlines()
            if line.count("\t") >= 2
        ]
        flags = {to.rpartition(":")[2]: (flag, summary) for flag, to, summary, *_ in lines}
        flag, summary = flags.get(ref, ("", ""))
        if any(f == "!" for f, _ in flags.values()):
            looked = self.git.call("ls-remote", self.url(), ref)
            there = looked.stdout.decode().split()[0] if looked.stdout.strip() else None
            if looked.status == 0 and there == self.seen:
                said = [
                    line.removeprefix("remote:").strip()
                    for line in done.stderr.splitlines()
                    if line.startswith("remote:") and line.removeprefix("remote:").strip()
                ]
                why = "; ".join(said) or " ".join(s for _, s in flags.values() if s) or summary
                raise ConflictError(
                    f"{self.name} refused the push of the state branch ({why}); nothing was "
                    "written there: ask whoever runs the remote, or fix what its hook names"
                )
            return False  # rejected: the remote's branch moved (or its lock was held) first
        if done.status != 0:
            self._warn_offline(gitio.failure(("push",), done).message)
            return None
        # "=" means the remote already had this very commit: a writer that made the same change
        # in the same second got there first, so ours is a lost race, not a success.
        return flag != "="

    def push_tags(self, tags: tuple[str, ...]) -> None:
        """Push release tags alone (ones made while the remote was unreachable), atomically."""
        specs = [f"refs/tags/{t}:refs/tags/{t}" for t in tags]
        done = self.git.call("push", "--porcelain", "--atomic", self.url(), *specs)
        if done.status != 0:
            raise ConflictError(
                f"could not push release tags to {self.name}: "
                f"{gitio.failure(('push',), done).message}; `modctl audit verify` there names "
                "a release whose tag is missing or points elsewhere"
            )

    def url(self) -> str:
        if self._url is None:
            self._url = self.git.text("remote", "get-url", self.name).strip()
        return self._url

    def _warn_offline(self, why: str) -> None:
        self.store.warnings.append(
            f"remote {self.name} is unreachable ({why}); the change is committed locally only: "
            "run `modctl sync` once the remote is back"
        )
