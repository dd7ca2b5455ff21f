"""The one door to git: every git process modctl starts is started here.

git runs with a scrubbed environment (no inherited `GIT_DIR`, `GIT_INDEX_FILE`, `GIT_WORK_TREE`
and the like, which git exports to hooks: modctl behaves the same inside a hook as outside) and
with `LC_ALL=C`, so that what git prints is never translated. Failures are told apart by exit
status, machine-readable output (`cat-file --batch`, `push --porcelain`) and ref comparisons;
git's message is only shown to the user. One `cat-file --batch` process serves every read of an
invocation.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from modctl.errors import GitError

ZERO = "0" * 40
# Variables that say how to reach or authenticate to a remote, where the configuration lives and
# who commits; every other GIT_* variable (GIT_DIR, GIT_INDEX_FILE, GIT_WORK_TREE,
# GIT_OBJECT_DIRECTORY, GIT_PREFIX, ...) would point git at somewhere else than the repository
# modctl means.
KEEP = frozenset(
    {
        "GIT_EXEC_PATH",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSL_CAINFO",
        "GIT_SSL_NO_VERIFY",
        "GIT_HTTP_PROXY_AUTHMETHOD",
        "GIT_ALLOW_PROTOCOL",
        "GIT_ASKPASS",
        "GIT_TERMINAL_PROMPT",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    }
)


def environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment git runs in: `base` (default: this process's) without the GIT_* variables
    that redirect git, and with untranslated messages."""
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith("GIT_")
        or key in KEEP
        or key.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }
    env.pop("LANGUAGE", None)
    env["LC_ALL"] = "C"
    return env


@dataclass(frozen=True)
class Object:
    """One object read from the object database."""

    oid: str
    kind: str  # blob | tree | commit | tag
    data: bytes


@dataclass(frozen=True)
class Done:
    """A finished git process."""

    status: int
    stdout: bytes
    stderr: str


def failure(args: tuple[str, ...], done: Done) -> GitError:
    """The error for a git process that failed, carrying its exit status."""
    error = GitError(message_of(args, done.stderr))
    error.status = done.status
    error.detail = done.stderr
    return error


def message_of(args: tuple[str, ...], stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("hint:")]
    main = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
    return f"git {args[0]} failed: {main or (lines[-1] if lines else 'no message')}"


class Git:
    """git in one folder of a repository."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self._cat: CatFile | None = None
        self._settings: dict[str, str] | None = None

    def call(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> Done:
        """Run git, with the variables `env` added to its environment; never raises for a
        non-zero exit status (the caller decides by it)."""
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.cwd,
                input=stdin,
                capture_output=True,
                check=False,
                env={**environment(), **(env or {})},
            )
        except FileNotFoundError:
            raise GitError(
                "git is not available (not installed, or not on PATH); install git"
            ) from None
        except NotADirectoryError:
            raise GitError(f"{self.cwd} is not a folder") from None
        return Done(done.returncode, done.stdout, done.stderr.decode(errors="replace"))

    def run(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> bytes:
        """Run git; its stdout, or GitError (with the exit status) when it fails."""
        done = self.call(*args, stdin=stdin, env=env)
        if done.status != 0:
            raise failure(args, done)
        return done.stdout

    def text(
        self, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> str:
        return self.run(*args, stdin=stdin, env=env).decode()

    def cat(self) -> CatFile:
        """The invocation's one `cat-file --batch` reader, started on first use."""
        if self._cat is None:
            self._cat = CatFile(self.cwd)
        return self._cat

    def close(self) -> None:
        if self._cat is not None:
            self._cat.close()
            self._cat = None

    # Questions answered by exit status.

    def toplevel(self) -> Path | None:
        """The work tree holding this folder, or None outside any repository."""
        done = self.call("rev-parse", "--show-toplevel")
        if done.status != 0:
            return None
        return Path(done.stdout.decode().strip())

    def resolve(self, rev: str) -> str | None:
        """The commit `rev` names, or None when it names none."""
        done = self.call(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
        return done.stdout.decode().strip() if done.status == 0 else None

    def is_ancestor(self, older: str, newer: str) -> bool:
        done = self.call("merge-base", "--is-ancestor", older, newer)
        if done.status not in (0, 1):
            raise failure(("merge-base",), done)
        return done.status == 0

    def settings(self) -> dict[str, str]:
        """git's configuration and logical variables (`GIT_COMMITTER_IDENT`...), last value
        winning, from one `git var -l` per invocation."""
        if self._settings is None:
            done = self.call("var", "-l")
            self._settings = {}
            for line in done.stdout.decode(errors="replace").splitlines():
                key, sep, value = line.partition("=")
                if sep:
                    self._settings[key] = value
        return self._settings

    # The user's repository.

    def changed_paths(self, paths: list[str]) -> list[str]:
        """Paths under `paths` that differ from HEAD: modified, staged, deleted or untracked."""
        out = self.run("status", "--porcelain", "-z", "--untracked-files=all", "--", *paths)
        fields = iter(out.decode().split("\0"))
        changed = []
        for entry in fields:
            if len(entry) > 3:
                changed.append(entry[3:])
                if entry[0] in "RC":
                    next(fields, None)  # a rename or copy is followed by its source path
        return changed

    def read_tree(
        self, rev: str, paths: list[str], *, max_bytes: int | None = None
    ) -> tuple[dict[str, bytes], dict[str, int]]:
        """Every file under `paths` (repository paths) at `rev`, keyed by repository path; files
        over `max_bytes` are not read, only their sizes given (second dict)."""
        commit = self.resolve(rev)
        if commit is None:
            raise GitError(
                f"revision {rev!r} does not exist; give a commit, branch or tag (see `git log`)"
            )
        listing = self.run("ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--", *paths)
        entries = []
        oversize = {}
        for entry in filter(None, listing.split(b"\0")):
            meta, path = entry.split(b"\t", 1)
            _mode, kind, sha, size = meta.split()
            if kind != b"blob":
                continue
            if max_bytes is not None and int(size) > max_bytes:
                oversize[path.decode()] = int(size)
            else:
                entries.append((path.decode(), sha.decode()))
        blobs = self.cat().read_many([sha for _path, sha in entries])
        found = {
            path: blob
            for (path, _sha), blob in zip(entries, blobs, strict=True)
            if blob is not None
        }
        return found, oversize

    def tree_of(self, rev: str, path: str) -> str:
        done = self.call("rev-parse", "--verify", "--quiet", f"{rev}:{path}")
        if done.status != 0:
            raise GitError(f"{path} does not exist at {rev}")
        return done.stdout.decode().strip()

    def worktree_of(self, ref: str) -> str | None:
        """The work tree where the branch `ref` is checked out, if it is."""
        done = self.call("for-each-ref", "--format=%(worktreepath)", ref)
        return (done.stdout.decode(errors="replace").strip() or None) if done.status == 0 else None

    def tag_target(self, name: str) -> str | None:
        """The commit a tag points to, or None when there is no such tag."""
        return self.resolve(f"refs/tags/{name}")

    def create_tag(self, name: str, commit: str, message: str) -> None:
        """An annotated tag (signed when tag.gpgSign says so); never touches the working tree."""
        done = self.call("tag", "-a", "-F", "-", name, commit, stdin=message.encode())
        if done.status != 0:
            raise GitError(f"cannot create tag {name}: {message_of(('tag',), done.stderr)}")

    def delete_tag(self, name: str) -> None:
        self.run("tag", "-d", name)

    def check_identity(self) -> None:
        """Fail before any write when git could not attribute a commit."""
        for ident in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
            if self.call("var", ident).status != 0:
                raise GitError(
                    "git does not know who you are; run `git config --global user.name 'Your "
                    "Name'` and `git config --global user.email you@example.com`"
                )

    def init(self) -> None:
        done = self.call("init", "--quiet", ".")
        if done.status != 0:
            raise GitError(f"git init failed in {self.cwd}: {message_of(('init',), done.stderr)}")

    def commit_paths(self, paths: list[str], message: str) -> str | None:
        """Commit exactly `paths` (other staged changes stay staged); the commit id, or None when
        they are already committed as they are."""
        self.run("add", "--", *paths)
        has_head = self.resolve("HEAD") is not None
        if has_head and self.call("diff", "--cached", "--quiet", "HEAD", "--", *paths).status == 0:
            return None
        self.run(
            "commit", "--quiet", "--no-verify", "-F", "-", "--", *paths, stdin=message.encode()
        )
        head = self.resolve("HEAD")
        assert head is not None
        return head


def git_dir(start: Path) -> Path | None:
    """The git directory of the repository holding `start`, found on disk as the git processes
    modctl starts would find it (from the folder up, stopping at a file system boundary, GIT_DIR
    ignored), without starting git; None outside any repository, when `.git` names no
    repository, or when another user owns it (git refuses those too)."""
    try:
        here = start.resolve()
        device = here.stat().st_dev
        for folder in (here, *here.parents):
            if folder.stat().st_dev != device:
                return None
            dotgit = folder / ".git"
            if dotgit.is_file():
                found = _gitfile_target(dotgit)
                return found if found is not None and _ours(found) else None
            for candidate in (dotgit, folder):
                if _is_git_directory(candidate):
                    return candidate if _ours(candidate) else None
    except OSError:
        return None
    return None


def _gitfile_target(gitfile: Path) -> Path | None:
    """Where a `.git` file (a linked worktree's, a submodule's) points, if that is a repository."""
    content = gitfile.read_bytes().decode(errors="replace")
    if not content.startswith("gitdir: "):
        return None
    target = (gitfile.parent / content[len("gitdir: ") :].strip()).resolve()
    return target if _is_git_directory(target) else None


def _is_git_directory(path: Path) -> bool:
    """git's own test: a HEAD that names a ref or a commit, and `objects/` and `refs/` in the
    common directory (a linked worktree's `commondir` says where that is)."""
    try:
        head = (path / "HEAD").read_bytes()
    except OSError:
        return False
    if not (head.startswith(b"ref: refs/") or _is_object_id(head.strip())):
        return False
    common = path
    if (path / "commondir").is_file():
        common = path / (path / "commondir").read_bytes().decode(errors="replace").strip()
    return (common / "objects").is_dir() and (common / "refs").is_dir()


def _is_object_id(text: bytes) -> bool:
    return len(text) in (40, 64) and all(c in b"0123456789abcdef" for c in text)


def _ours(path: Path) -> bool:
    return not hasattr(os, "geteuid") or path.stat().st_uid == os.geteuid()


def repository(path: Path, what: str) -> tuple[Git, str]:
    """git at the top of the work tree holding `path`, and where `path` sits in it as a POSIX
    prefix ('' at the top, else ending in '/'); GitError outside any repository."""
    top = Git(path).toplevel()
    if top is None:
        raise GitError(
            f"{what} needs a git repository, and {path} is not inside one; run `git init` first"
        )
    rel = path.resolve().relative_to(top.resolve()).as_posix()
    return Git(top), "" if rel == "." else rel + "/"


class CatFile:
    """One `git cat-file --batch` process answering any number of object reads."""

    def __init__(self, cwd: Path) -> None:
        try:
            self._process = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=environment(),
            )
        except FileNotFoundError:
            raise GitError(
                "git is not available (not installed, or not on PATH); install git"
            ) from None
        self._lock = threading.Lock()

    def read(self, spec: str) -> Object | None:
        """The object `spec` names (`HEAD:./modctl.yaml`, a ref, an id), or None when there is
        none."""
        return self.read_objects([spec])[0]

    def read_many(self, specs: Iterable[str]) -> list[bytes | None]:
        return [None if found is None else found.data for found in self.read_objects(list(specs))]

    def read_objects(self, specs: list[str]) -> list[Object | None]:
        """Many objects at once: requests are written while answers are read, so a large batch
        never fills a pipe both ways."""
        if any("\n" in spec for spec in specs):
            raise GitError("an object name cannot hold a line break")
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        with self._lock:
            request = "".join(f"{spec}\n" for spec in specs).encode()
            writer = threading.Thread(target=_write, args=(stdin, request), daemon=True)
            if len(request) > 16384:
                writer.start()
            else:
                _write(stdin, request)
            answers = [self._answer(stdout) for _ in specs]
            if writer.is_alive():
                writer.join()
        return answers

    def _answer(self, stdout: IO[bytes]) -> Object | None:
        header = stdout.readline()
        if not header:
            self._process.wait()
            stderr = (
                self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
            )
            error = GitError(
                message_of(("cat-file",), stderr)
                + (
                    "; is this folder inside a git repository? run `git init` first"
                    if self._process.returncode == 128
                    else ""
                )
            )
            error.status = self._process.returncode
            error.detail = stderr
            raise error
        parts = header.split()
        if len(parts) != 3:  # "<name> missing" or "<name> ambiguous"
            return None
        size = int(parts[2])
        content = stdout.read(size + 1)[:size]
        return Object(parts[0].decode(), parts[1].decode(), content)

    def close(self) -> None:
        if self._process.stdin is not None:
            # git may have died (not a repository) before reading what was still buffered.
            with contextlib.suppress(BrokenPipeError):
                self._process.stdin.close()
        self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()


def _write(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
        stream.flush()
    except BrokenPipeError:
        pass  # git died (not a repository): the reader reports it with git's message


def tree_entries(tree: bytes) -> list[tuple[str, str, str]]:
    """(mode, name, object id) of each entry of a raw tree object."""
    entries = []
    offset = 0
    while offset < len(tree):
        space = tree.index(b" ", offset)
        nul = tree.index(b"\0", space)
        mode = tree[offset:space].decode()
        name = tree[space + 1 : nul].decode()
        entries.append((mode, name, tree[nul + 1 : nul + 21].hex()))
        offset = nul + 21
    return entries
