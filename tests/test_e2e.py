"""The installed `modctl` as a subprocess, and the real tools that read what it emits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT, modctl, tool, write_files


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_readme_main_line_flow(tmp_path: Path) -> None:
    """`modctl init` into a new folder, then `modctl validate` there, as a new user does."""
    target = tmp_path / "strategies"
    init = modctl("init", target, cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    checked = modctl("--repo", target, "validate", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip().endswith("files checked, no problems")


def test_project_root_is_a_valid_strategy_repository(reference_repo: Path) -> None:
    done = modctl("validate", "--no-cache", cwd=reference_repo / "strategies")
    assert done.returncode == 0, done.stdout + done.stderr


def test_broken_file_exit_code_and_no_traceback(reference_repo: Path) -> None:
    write_files(reference_repo, {"strategies/ipr-counterfeit/rules/price.yaml": "- id: [\n"})
    done = modctl("validate", cwd=reference_repo)
    assert done.returncode == 1
    assert "strategies/ipr-counterfeit/rules/price.yaml:2:1: error Y001" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_check_jsonschema_accepts_the_schemas_and_the_reference_files(tmp_path: Path) -> None:
    schemas = sorted((PROJECT / "modctl" / "schemas").glob("*.schema.json"))
    meta = run(tool("check-jsonschema"), "--check-metaschema", *schemas, cwd=tmp_path)
    assert meta.returncode == 0, meta.stdout + meta.stderr
    rules = sorted(PROJECT.glob("strategies/*/rules/*.yaml"))
    done = run(
        tool("check-jsonschema"),
        "--schemafile",
        PROJECT / "modctl" / "schemas" / "rules.schema.json",
        *rules,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def try_repo(repo: Path, hook: str = "modctl-validate") -> subprocess.CompletedProcess[str]:
    """pre-commit installs modctl from this checkout into a hook environment and runs the hook."""
    command = ("-m", "pre_commit", "try-repo", PROJECT, hook, "--all-files")
    return run(sys.executable, *command, cwd=repo)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the module: the hook environment is built once per revision."""
    if not (PROJECT / ".git").exists():
        pytest.skip("pre-commit try-repo needs modctl's source as a git repository")
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.mark.slow
def test_pre_commit_try_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pre_commit_home: Path
) -> None:
    repo = tmp_path / "strategies"
    assert modctl("init", repo, cwd=tmp_path).returncode == 0
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))
    passed = try_repo(repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "modctl validate" in passed.stdout
    assert "Passed" in passed.stdout
    write_files(repo, {"strategies/ipr-counterfeit/rules/price.yaml": "- id: a\n  id: b\n"})
    failed = try_repo(repo)
    assert failed.returncode == 1
    assert (
        "strategies/ipr-counterfeit/rules/price.yaml:2:3: error Y002 duplicate key 'id'"
        in failed.stdout
    )


@pytest.mark.slow
def test_pre_commit_try_repo_fmt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pre_commit_home: Path
) -> None:
    repo = tmp_path / "strategies"
    assert modctl("init", repo, cwd=tmp_path).returncode == 0
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))
    passed = try_repo(repo, "modctl-fmt")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "modctl fmt" in passed.stdout
    assert "Passed" in passed.stdout
    bundle = repo / "strategies/ipr-counterfeit/bundle.yaml"
    bundle.write_text(bundle.read_text() + "\n\n")
    failed = try_repo(repo, "modctl-fmt")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "would reformat strategies/ipr-counterfeit/bundle.yaml" in failed.stdout
