"""The door to git for everything but the state branch: repository discovery, init, commits.

Every GitPython error becomes a GitError that says what to check.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modctl.errors import GitError

if TYPE_CHECKING:
    import git


def _git() -> Any:
    try:
        import git
    except ImportError as exc:
        raise GitError(
            f"git is not available ({str(exc).splitlines()[0]}); install git and make sure it "
            "is on PATH"
        ) from None
    return git


def find_repo(path: Path) -> git.Repo | None:
    """The repository whose work tree holds `path`, or None outside any repository."""
    gitlib = _git()
    try:
        repo: git.Repo = gitlib.Repo(path, search_parent_directories=True)
    except (gitlib.InvalidGitRepositoryError, gitlib.NoSuchPathError):
        return None
    return repo


def require_repo(path: Path, what: str) -> git.Repo:
    repo = find_repo(path)
    if repo is None:
        raise GitError(
            f"{what} needs a git repository, and {path} is not inside one; run `git init` first"
        )
    return repo


def repo_prefix(repo: git.Repo, root: Path) -> str:
    """Where `root` sits inside the repository's work tree, as a POSIX prefix ('' at the top)."""
    top = Path(str(repo.working_tree_dir)).resolve()
    rel = root.resolve().relative_to(top).as_posix()
    return "" if rel == "." else rel + "/"


def read_tree(repo: git.Repo, rev: str, prefix: str) -> dict[str, bytes]:
    """modctl.yaml and every file under strategies/ at `rev`, keyed by path below `prefix`."""
    gitlib = _git()
    try:
        commit = repo.commit(rev)
    except (gitlib.BadName, gitlib.BadObject, ValueError):
        raise GitError(
            f"revision {rev!r} does not exist; give a commit, branch or tag (see `git log`)"
        ) from None
    files: dict[str, bytes] = {}
    try:
        listing = repo.git.ls_tree(
            "-r",
            "-z",
            "--full-tree",
            commit.hexsha,
            "--",
            f"{prefix}modctl.yaml",
            f"{prefix}strategies",
        )
        for entry in filter(None, listing.split("\0")):
            meta, path = entry.split("\t", 1)
            _mode, kind, sha = meta.split()
            if kind == "blob":
                files[path[len(prefix) :]] = repo.odb.stream(bytes.fromhex(sha)).read()
    except gitlib.GitCommandError as exc:
        raise GitError(f"cannot read {rev}: {_stderr(exc)}") from None
    return files


def changed_paths(repo: git.Repo, paths: list[str]) -> list[str]:
    """Paths under `paths` that differ from HEAD: modified, staged, deleted or untracked."""
    gitlib = _git()
    try:
        out = repo.git.status("--porcelain", "--untracked-files=all", "--", *paths)
    except gitlib.GitCommandError as exc:
        raise GitError(f"git status failed: {_stderr(exc)}") from None
    return [line[3:] for line in out.splitlines() if line.strip()]


def resolve(repo: git.Repo, rev: str) -> str:
    gitlib = _git()
    try:
        return str(repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}"))
    except gitlib.GitCommandError:
        raise GitError(f"revision {rev!r} does not exist; give a commit, branch or tag") from None


def tree_of(repo: git.Repo, rev: str, path: str) -> str:
    gitlib = _git()
    try:
        return str(repo.git.rev_parse("--verify", f"{rev}:{path}"))
    except gitlib.GitCommandError:
        raise GitError(f"{path} does not exist at {rev}") from None


def tag_target(repo: git.Repo, name: str) -> str | None:
    """The commit a tag points to, or None when there is no such tag."""
    gitlib = _git()
    try:
        return str(repo.git.rev_parse("--verify", "--quiet", f"refs/tags/{name}^{{commit}}"))
    except gitlib.GitCommandError:
        return None


def create_tag(repo: git.Repo, name: str, commit: str, message: str) -> None:
    """An annotated tag (signed when tag.gpgSign says so); never touches the working tree."""
    gitlib = _git()
    try:
        repo.git.tag("-a", "-m", message, name, commit)
    except gitlib.GitCommandError as exc:
        raise GitError(f"cannot create tag {name}: {_stderr(exc)}") from None


def delete_tag(repo: git.Repo, name: str) -> None:
    gitlib = _git()
    try:
        repo.git.tag("-d", name)
    except gitlib.GitCommandError as exc:
        raise GitError(f"cannot delete tag {name}: {_stderr(exc)}") from None


def check_identity(path: Path) -> None:
    """Fail before any write when git could not attribute a commit."""
    gitlib = _git()
    try:
        gitlib.Git(str(path)).var("GIT_AUTHOR_IDENT")
        gitlib.Git(str(path)).var("GIT_COMMITTER_IDENT")
    except gitlib.GitCommandError:
        raise GitError(
            "git does not know who you are; run `git config --global user.name 'Your Name'` "
            "and `git config --global user.email you@example.com`"
        ) from None


def init(path: Path) -> git.Repo:
    gitlib = _git()
    try:
        repo: git.Repo = gitlib.Repo.init(path)
    except gitlib.GitCommandError as exc:
        raise GitError(f"git init failed in {path}: {_stderr(exc)}") from None
    return repo


def commit_paths(repo: git.Repo, paths: list[str], message: str) -> str | None:
    """Commit exactly `paths` (other staged changes stay staged); return the commit id, or
    None when they are already committed as they are."""
    gitlib = _git()
    try:
        repo.git.add("--", *paths)
        if repo.head.is_valid() and not repo.git.diff(
            "--cached", "--name-only", "HEAD", "--", *paths
        ):
            return None
        repo.git.commit("--quiet", "-m", message, "--", *paths)
        return str(repo.head.commit.hexsha)
    except gitlib.GitCommandError as exc:
        raise GitError(f"git commit failed: {_stderr(exc)}") from None


def _stderr(exc: Any) -> str:
    text = str(getattr(exc, "stderr", "") or exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1].removeprefix("stderr: ").strip("'") if lines else "unknown error"
