from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import git
import pytest
from typer.testing import CliRunner

from modctl.cli import app

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE = PROJECT / "modctl" / "samples" / "sample-listings.jsonl"


def tool(name: str) -> Path:
    """A console script installed beside the interpreter running the tests (modctl,
    check-jsonschema), never whichever one comes first on PATH."""
    return Path(sys.executable).parent / name


MODCTL = tool("modctl")


@cache
def reference_workspace() -> Any:
    """The project's own strategies, loaded once for the tests that only read them."""
    from modctl.source.workspace import load

    return load(PROJECT)


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real git, but never the developer's: no system or global config, a pinned identity,
    and nothing written to $HOME."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Author\n\temail = author@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "MODCTL_ACTOR"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, root: Path, *args: str) -> tuple[int, str]:
    """`modctl --repo ROOT ARGS...` through the CliRunner: its exit code and everything it
    printed."""
    result = runner.invoke(app, ["--repo", str(root), *args])
    return result.exit_code, result.output


def modctl(
    *args: str | os.PathLike[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """The installed `modctl` as a subprocess, its output as text; the caller checks the
    exit status. With `timeout`, a run that takes longer is killed and the test fails
    (subprocess.TimeoutExpired) instead of hanging."""
    return subprocess.run(
        [str(MODCTL), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def memory_limit(megabytes: int) -> Callable[[], None]:
    """For `subprocess.run(preexec_fn=...)`: the child may map at most `megabytes` of memory,
    so that reading something huge whole fails instead of succeeding slowly."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))

    return limit


def read_terminal(main: int) -> bytes:
    """Everything written to a pseudo-terminal, read from its main side until the other side
    closes (the processes holding it are gone); the main side is closed then."""
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the other side of the terminal closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    return shown


def run_git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """What a git command that must succeed prints on standard output."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, env=env
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def assert_fsck_clean(root: Path) -> None:
    """`git fsck --strict` finds no broken or missing object in the repository."""
    done = subprocess.run(
        ["git", "fsck", "--strict"], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def copy_reference(dest: Path) -> Path:
    """The project's own strategy repository (modctl.yaml, strategies/, playbooks/), no git."""
    shutil.copy2(PROJECT / "modctl.yaml", dest / "modctl.yaml")
    for folder in ("strategies", "playbooks"):
        shutil.copytree(PROJECT / folder, dest / folder)
    return dest


@pytest.fixture
def reference_repo(tmp_path: Path) -> Path:
    return copy_reference(tmp_path)


MINIMAL = {
    "modctl.yaml": """\
version: 1
regions: [SG, MY, GB]
fields:
  title: string
  price: number
  strikes: integer
  tags: string_list
  image: phash
  verified: boolean
  seller.id: string
rollout:
  waves:
    - {name: pilot, regions: [SG], steps: [10, 100]}
    - {name: rest, regions: [MY, GB], steps: [50, 100]}
  gates: [overturn-rate]
gates:
  overturn-rate: {numerator: overturned, denominator: appeals, worse: higher, max_relative_increase: 0.1}
metrics:
  names: [overturned, appeals]
""",
    "strategies/demo/bundle.yaml": "name: demo\nregions: [SG, MY]\n",
    "strategies/demo/rules/main.yaml": """\
- id: fake-brand
  params: {max_price: 20}
  when:
    all:
      - {field: title, contains_any: {list: brands}}
      - {field: price, lt: {param: max_price}}
  action: takedown
""",
    "strategies/demo/lists/brands.yaml": "name: brands\nkind: keywords\nitems: [gucci, prada]\n",
    "strategies/demo/tests/main.yaml": """\
- name: cheap gucci
  region: SG
  item: {title: Gucci bag, price: 5}
  expect: {action: takedown, rules: [fake-brand]}
""",
}


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def minimal_repo(tmp_path: Path) -> Path:
    return write_files(tmp_path, MINIMAL)


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where repositories built once per session wait to be copied into the tests that use them."""
    return tmp_path_factory.mktemp("templates")


def built_once(templates: Path, key: str, build: Callable[[Path], object], dest: Path) -> Path:
    """`dest` holding what `build` makes in an empty folder, built only the first time the
    session asks for `key`: a repository with a history costs many git and modctl runs, a copy
    costs one git run."""
    source = templates / key
    if not source.exists():
        partial = templates / f"{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        build(partial)
        partial.rename(source)
    shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)
    if (dest / ".git").is_dir():
        # The copied index describes the template's files (inode, ctime): refresh it so that
        # git sees the copy as the clean work tree it is, as it did the original.
        run_git(dest, "update-index", "-q", "--refresh")
    return dest


def commit_minimal(root: Path, remote: str | None = None) -> Path:
    """The minimal strategy repository, committed once; with `remote`, modctl.yaml keeps the
    state branch on that git remote."""
    config = MINIMAL["modctl.yaml"]
    if remote is not None:
        config += f"state: {{branch: modctl-state, remote: {remote}}}\n"
    write_files(root, {**MINIMAL, "modctl.yaml": config})
    run_git(root, "init", "-q")
    run_git(root, "add", ".")
    run_git(root, "commit", "-qm", "first")
    return root


@pytest.fixture
def committed_repo(templates: Path, minimal_repo: Path) -> git.Repo:
    """The minimal repository as a git repository with one commit."""
    return git.Repo(built_once(templates, "committed", commit_minimal, minimal_repo))


@pytest.fixture
def repo_after(templates: Path, minimal_repo: Path) -> Callable[..., Path]:
    """The committed minimal repository after the given modctl commands, each of which must
    succeed. Each sequence runs once per session; its tests get copies."""

    def after(*commands: Sequence[str]) -> Path:
        def build(root: Path) -> None:
            commit_minimal(root)
            runner = CliRunner()
            for args in commands:
                code, out = run(runner, root, *args)
                assert code == 0, (args, out)

        key = "after-" + hashlib.sha256(repr(commands).encode()).hexdigest()[:16]
        return built_once(templates, key, build, minimal_repo)

    return after


def record_hotpatch(root: Path, bundle: str, regions: list[str], patch: dict[str, Any]) -> None:
    """Write `patch` into the state of `regions` on the state branch as `hotpatch apply` records
    one: the same record, with one id, in each region's state."""
    from modctl import yamlio
    from modctl.state.store import Entry, Snapshot, Store

    def transition(state: Snapshot) -> tuple[dict[str, bytes | None], Entry]:
        files: dict[str, bytes | None] = {}
        for region in regions:
            path = f"regions/{region}/{bundle}.yaml"
            raw = state.files.get(path)
            data = (
                yamlio.loads(raw.decode())
                if raw
                else {"bundle": bundle, "region": region, "stable": "1.0.0", "history": []}
            )
            data["hotpatches"] = [*(data.get("hotpatches") or []), patch]
            files[path] = yamlio.dump(data).encode()
        return files, Entry("hotpatch", str(patch["actor"]), f"hotpatch {bundle} {patch['id']}")

    Store(root).write(transition)


def snapshot(root: Path) -> dict[str, str]:
    """Every file under root with its content hash, to prove a command wrote nothing."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def chdir(monkeypatch: pytest.MonkeyPatch) -> object:
    return monkeypatch.chdir
