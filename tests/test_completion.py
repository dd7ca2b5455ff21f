"""Shell completion: `--install-completion` and `--show-completion`, and completing through the
completion variables the scripts set, with commands still loaded only when asked for."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import MODCTL
from tests.test_startup import imported


def complete(words: str) -> list[str]:
    """What bash completion offers for the last word of `words`, as the script asks modctl."""
    env = {
        **os.environ,
        "_MODCTL_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    done = subprocess.run([MODCTL], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_subcommand_names_complete() -> None:
    assert complete("modctl rol") == ["rollout", "rollback"]
    assert complete("modctl rollout pro") == ["promote"]
    assert "validate" in complete("modctl ")


def test_option_values_complete() -> None:
    assert complete("modctl log --action pro") == ["promote"]


def test_completing_a_name_loads_only_the_commands_it_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_MODCTL_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "modctl rol")
    monkeypatch.setenv("COMP_CWORD", "1")
    modules = imported(tmp_path)
    assert "modctl.cli.rollout" in modules
    assert not modules & {"modctl.cli.backtest", "modctl.cli.validate", "numpy", "pyarrow"}


def bash(script: str) -> str:
    """What bash prints running `script` with modctl on its PATH; the trailing command keeps
    bash from replacing itself with the last program, so modctl sees bash as its shell."""
    path = f"{MODCTL.parent}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(
        ["bash", "--norc", "-c", f"{script}\ntrue"],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_show_completion_prints_the_script_for_the_shell() -> None:
    script = bash("modctl --show-completion")
    assert "_modctl_completion()" in script
    assert "_MODCTL_COMPLETE=complete_bash" in script


def test_installed_completion_completes_in_bash() -> None:
    """`--install-completion` writes a script and sources it from ~/.bashrc (HOME is a
    temporary folder here); bash then completes subcommand names with it."""
    out = bash("modctl --install-completion")
    installed = Path.home() / ".bash_completions" / "modctl.sh"
    assert str(installed) in out
    assert f"source '{installed}'" in (Path.home() / ".bashrc").read_text()
    offered = bash(
        f"source '{installed}'\nCOMP_WORDS=(modctl unf)\nCOMP_CWORD=1\n"
        '_modctl_completion modctl\necho "${COMPREPLY[@]}"'
    )
    assert offered.split() == ["unfreeze"]
