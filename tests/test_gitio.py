"""The one git door: a scrubbed environment, untranslated messages, failures told by status."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from modctl.errors import GitError
from modctl.gitio import Git, environment, git_dir, repository
from tests.conftest import MINIMAL, MODCTL, commit_minimal, modctl, run_git, write_files


def test_environment_drops_variables_that_redirect_git() -> None:
    inherited = {
        "GIT_DIR": "/elsewhere/.git",
        "GIT_WORK_TREE": "/elsewhere",
        "GIT_INDEX_FILE": "/elsewhere/.git/next-index.lock",
        "GIT_OBJECT_DIRECTORY": "/elsewhere/objects",
        "GIT_PREFIX": "sub/",
        "GIT_SSH_COMMAND": "ssh -i key",
        "GIT_CONFIG_KEY_0": "user.email",
        "GIT_CONFIG_VALUE_0": "a@example.com",
        "LANGUAGE": "de",
        "LANG": "de_DE.UTF-8",
        "PATH": "/usr/bin",
    }
    env = environment(base=inherited)
    assert set(env) == {
        "GIT_SSH_COMMAND",
        "GIT_CONFIG_KEY_0",
        "GIT_CONFIG_VALUE_0",
        "LANG",
        "PATH",
        "LC_ALL",
    }
    assert env["LC_ALL"] == "C"


def test_failures_carry_the_exit_status(tmp_path: Path) -> None:
    commit_minimal(tmp_path)
    with pytest.raises(GitError) as raised:
        Git(tmp_path).run("rev-parse", "--verify", "no-such-rev")
    assert raised.value.status == 128
    assert Git(tmp_path).resolve("no-such-rev") is None
    assert Git(tmp_path).toplevel() == tmp_path.resolve()
    outside = tmp_path.parent / "not-a-repo"
    outside.mkdir()
    assert Git(outside).toplevel() is None
    with pytest.raises(GitError, match="needs a git repository"):
        repository(outside, "this")


def test_one_reader_answers_many_reads(tmp_path: Path) -> None:
    commit_minimal(tmp_path)
    cat = Git(tmp_path).cat()
    config = cat.read("HEAD:./modctl.yaml")
    assert config is not None
    assert config.kind == "blob"
    assert config.data == MINIMAL["modctl.yaml"].encode()
    assert cat.read("HEAD:./missing.yaml") is None
    many = cat.read_many([f"HEAD:{path}" for path in MINIMAL] * 200)
    assert many == [content.encode() for content in MINIMAL.values()] * 200


def test_state_write_and_validate_from_inside_a_git_hook(tmp_path: Path) -> None:
    """A hook of another repository runs with GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE pointing
    at that repository: modctl must still act on the repository it is given."""
    strategies = commit_minimal(tmp_path / "strategies")
    other = tmp_path / "other"
    other.mkdir()
    run_git(other, "init", "-q")
    (other / "file.txt").write_text("one\n")
    run_git(other, "add", "file.txt")
    run_git(other, "commit", "-qm", "one")
    results = tmp_path / "results"
    hook = other / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        "#!/bin/sh\n"
        f"env | grep '^GIT_' > '{results}.env'\n"
        f"'{MODCTL}' --repo '{strategies}' freeze --region SG --reason hook > '{results}.freeze' 2>&1\n"
        f"echo $? >> '{results}.freeze'\n"
        f"'{MODCTL}' --repo '{strategies}' validate > '{results}.validate' 2>&1\n"
        f"echo $? >> '{results}.validate'\n"
        "exit 0\n"
    )
    hook.chmod(0o755)
    (other / "file.txt").write_text("two\n")
    # A partial commit, through --git-dir and --work-tree: git hands the hook a temporary index
    # and exports where the other repository lives.
    run_git(
        tmp_path,
        f"--git-dir={other / '.git'}",
        f"--work-tree={other}",
        "commit",
        "-qm",
        "two",
        "--",
        str(other / "file.txt"),
    )
    exported = Path(f"{results}.env").read_text()
    assert "GIT_INDEX_FILE=" in exported
    assert "GIT_DIR=" in exported
    freeze = Path(f"{results}.freeze").read_text()
    assert freeze.strip().endswith("0"), freeze
    assert "Done: freeze SG" in freeze
    validate = Path(f"{results}.validate").read_text()
    assert validate.strip().endswith("0"), validate
    assert run_git(strategies, "show", "modctl-state:regions/SG/_region.yaml").startswith(
        "frozen: true"
    )
    assert "modctl-state" not in run_git(other, "branch", "--list")
    assert run_git(other, "show", "HEAD:file.txt") == "two\n"
    assert run_git(other, "status", "--porcelain") == ""


def _german(tmp_path: Path) -> dict[str, str]:
    """An environment asking for German messages, with the locale generated when the machine
    lacks it."""
    locales = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False)
    env = {**os.environ, "LANGUAGE": "de", "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"}
    if "de_DE.utf8" not in locales.stdout.lower().replace("-", ""):
        if shutil.which("localedef") is None:
            pytest.skip("no German locale and no localedef to generate one")
        folder = tmp_path / "locale"
        folder.mkdir()
        made = subprocess.run(
            ["localedef", "-i", "de_DE", "-f", "UTF-8", str(folder / "de_DE.UTF-8")],
            capture_output=True,
            check=False,
        )
        if not (folder / "de_DE.UTF-8").exists():
            pytest.skip(f"cannot generate a German locale: {made.stderr.decode()[-200:]}")
        env["LOCPATH"] = str(folder)
    probe = subprocess.run(
        ["git", "rev-parse", "--verify", "no-such-rev"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if "fatal:" in probe.stderr:
        pytest.skip("this git prints no translated messages, so there is nothing to prove")
    return env


def test_remote_writes_under_a_german_locale(tmp_path: Path) -> None:
    env = _german(tmp_path)
    remote = tmp_path / "remote.git"
    run_git(tmp_path, "init", "-q", "--bare", str(remote))
    root = commit_minimal(tmp_path / "strategies", remote="origin")
    run_git(root, "remote", "add", "origin", str(remote))
    run_git(root, "push", "-q", "origin", "HEAD:refs/heads/main")
    # The remote has no state branch yet: git's "couldn't find remote ref", in German, must not
    # be taken for an unreachable remote.
    first = modctl("--repo", root, "freeze", "--region", "SG", env=env)
    assert first.returncode == 0, first.stderr
    assert "warning" not in first.stderr
    assert run_git(remote, "rev-parse", "modctl-state") == run_git(
        root, "rev-parse", "modctl-state"
    )
    # Another clone writes first: the push is rejected and the change applied on top.
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", str(remote), str(clone))
    run_git(clone, "fetch", "-q", "origin", "modctl-state:modctl-state")
    assert modctl("--repo", clone, "freeze", "--region", "MY", env=env).returncode == 0
    second = modctl("--repo", root, "freeze", "--region", "GB", env=env)
    assert second.returncode == 0, second.stderr
    assert "warning" not in second.stderr
    log = run_git(remote, "log", "--format=%s", "modctl-state")
    assert log.split("\n")[:3] == ["freeze GB", "freeze MY", "freeze SG"]
    # An unreachable remote: the change stays local, with the warning, in English.
    run_git(root, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    offline = modctl("--repo", root, "unfreeze", "--region", "MY", env=env)
    assert offline.returncode == 0, offline.stderr
    assert "remote origin is unreachable" in offline.stderr
    assert "does not appear to be a git repository" in offline.stderr
    # And validate does not care about the locale either.
    assert modctl("--repo", root, "validate", env=env).returncode == 0


def test_a_lock_left_by_a_killed_writer_is_named_with_what_to_do(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path)
    assert modctl("--repo", root, "freeze", "--region", "SG").returncode == 0
    lock = root / ".git" / "refs" / "heads" / "modctl-state.lock"
    lock.write_text("")
    before = run_git(root, "rev-parse", "modctl-state")
    stuck = modctl("--repo", root, "unfreeze", "--region", "SG")
    assert stuck.returncode == 2
    assert f"the state branch is locked by {lock}" in stuck.stderr
    assert "remove that file and try again" in stuck.stderr
    assert run_git(root, "rev-parse", "modctl-state") == before
    lock.unlink()
    assert modctl("--repo", root, "unfreeze", "--region", "SG").returncode == 0


def test_a_missing_object_on_the_state_branch_is_one_clear_line(tmp_path: Path) -> None:
    root = commit_minimal(tmp_path)
    assert modctl("--repo", root, "freeze", "--region", "SG").returncode == 0
    blob = run_git(root, "rev-parse", "modctl-state:regions/SG/_region.yaml").strip()
    (root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    damaged = modctl("--repo", root, "rollout", "status")
    assert damaged.returncode == 2, damaged.stderr
    assert "regions/SG/_region.yaml" in damaged.stderr
    assert "`git fsck` shows what is missing" in damaged.stderr
    assert "Traceback" not in damaged.stderr


def _plain(tmp_path: Path) -> Path:
    return write_files(tmp_path / "plain", MINIMAL)


def _top(tmp_path: Path) -> Path:
    return commit_minimal(tmp_path / "repo")


def _subfolder(tmp_path: Path) -> Path:
    """modctl.yaml in a folder of a larger repository."""
    root = write_files(tmp_path / "repo" / "moderation", MINIMAL)
    run_git(tmp_path / "repo", "init", "-q")
    return root


def _linked_worktree(tmp_path: Path) -> Path:
    run_git(commit_minimal(tmp_path / "repo"), "worktree", "add", "-q", str(tmp_path / "linked"))
    return tmp_path / "linked"


def _submodule(tmp_path: Path) -> Path:
    inner = commit_minimal(tmp_path / "inner")
    outer = tmp_path / "outer"
    outer.mkdir()
    run_git(outer, "init", "-q")
    run_git(outer, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "m")
    return outer / "m"


def _bare(tmp_path: Path) -> Path:
    run_git(tmp_path, "init", "-q", "--bare", "bare.git")
    return tmp_path / "bare.git"


def _broken_gitfile(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "repo", MINIMAL)
    (root / ".git").write_text("gitdir: ../nowhere\n")
    return root


def _not_a_repository_inside_one(tmp_path: Path) -> Path:
    commit_minimal(tmp_path / "repo")
    inner = write_files(tmp_path / "repo" / "inner", MINIMAL)
    (inner / ".git").mkdir()
    (inner / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return inner


LAYOUTS = {
    "plain folder": _plain,
    "top of a work tree": _top,
    "subfolder": _subfolder,
    "linked worktree": _linked_worktree,
    "submodule": _submodule,
    "bare repository": _bare,
    "broken .git file": _broken_gitfile,
    ".git folder that is no repository": _not_a_repository_inside_one,
}


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_git_dir_is_where_git_finds_it(tmp_path: Path, layout: Callable[[Path], Path]) -> None:
    """Read from disk without starting git, and the same answer as git's."""
    folder = layout(tmp_path)
    done = subprocess.run(
        ["git", "rev-parse", "--absolute-git-dir"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env=environment(),
    )
    expected = Path(done.stdout.strip()).resolve() if done.returncode == 0 else None
    assert git_dir(folder) == expected


def test_closing_a_reader_whose_git_died_with_requests_unsent_raises_nothing(
    tmp_path: Path,
) -> None:
    """Outside a repository `cat-file` dies at once; requests still buffered for it made
    closing the reader raise BrokenPipeError, and the command exit 1 after its report."""
    git = Git(tmp_path)
    with pytest.raises(GitError, match="is this folder inside a git repository"):
        git.cat().read("refs/heads/modctl-state")
    cat = git.cat()
    stdin = cat._process.stdin
    assert stdin is not None
    stdin.write(b"HEAD\n")  # buffered, never flushed: the process is gone
    git.close()
    assert git._cat is None
