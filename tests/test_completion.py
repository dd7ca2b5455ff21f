"""Shell completion: `--install-completion` and `--show-completion`, and completing through the
completion variables the scripts set, with commands still loaded only when asked for; values
(bundle names, regions, playbooks) come from the repository of the command line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from modctl import yamlio
from tests.conftest import MODCTL, built_once, modctl, write_files
from tests.test_startup import imported

BUNDLES = ["ipr-brand-misuse", "ipr-counterfeit", "ipr-notice-takedown"]


def complete(words: str, cwd: Path | None = None) -> list[str]:
    """What bash completion offers for the last word of `words`, as the script asks modctl
    (in `cwd`); a completion never says anything on stderr."""
    env = {
        **os.environ,
        "_MODCTL_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
    }
    done = subprocess.run([MODCTL], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.split()


@pytest.fixture
def repo(templates: Path, tmp_path: Path) -> Path:
    """A strategy repository as `modctl init` writes it (built once, copied for each test)."""

    def init(root: Path) -> None:
        assert modctl("init", root).returncode == 0

    return built_once(templates, "init", init, tmp_path / "repo")


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


def test_bundle_arguments_and_options_complete_to_the_bundles(repo: Path) -> None:
    assert complete("modctl rollback ", repo) == BUNDLES
    assert complete("modctl rollback ipr-c", repo) == ["ipr-counterfeit"]
    assert complete("modctl rollout start ipr-n", repo) == ["ipr-notice-takedown"]
    assert complete("modctl status ", repo) == BUNDLES
    assert complete("modctl hotpatch apply ipr-b", repo) == ["ipr-brand-misuse"]
    assert complete("modctl release cut ipr-c", repo) == ["ipr-counterfeit"]
    assert complete("modctl test ipr-counterfeit ipr-b", repo) == ["ipr-brand-misuse"]
    assert complete("modctl backtest ipr-c", repo) == ["ipr-counterfeit"]
    assert complete("modctl log --bundle ipr-n", repo) == ["ipr-notice-takedown"]
    # from a folder inside the repository, found upwards as every command finds it
    assert complete("modctl explain ", repo / "strategies" / "ipr-counterfeit") == BUNDLES


def test_region_options_complete_to_the_regions_of_modctl_yaml(repo: Path) -> None:
    regions = yamlio.load_file(repo / "modctl.yaml")["regions"]
    assert len(regions) > 1
    assert complete("modctl freeze --region ", repo) == regions
    assert complete("modctl rollout abort ipr-counterfeit -r M", repo) == ["MY"]
    assert complete("modctl rollout start ipr-counterfeit 1.0.0 --region S", repo) == ["SG"]
    assert complete("modctl render ipr-counterfeit --region U", repo) == ["US"]
    assert complete("modctl log --region T", repo) == ["TH"]
    # a list separated with commas completes its last region
    assert complete("modctl new bundle ipr-x --regions SG,M", repo) == ["SG,MY"]


def test_emergency_playbooks_complete_to_the_playbooks_emergency_list_lists(repo: Path) -> None:
    assert complete("modctl emergency run rollback-", repo) == [
        "rollback-everywhere",
        "rollback-region",
    ]
    assert complete("modctl emergency show fr", repo) == ["freeze-all"]


def test_the_repository_is_the_one_repo_names(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert complete(f"modctl --repo {repo} rollback ", outside) == BUNDLES
    assert complete(f"modctl --repo {repo} freeze -r G", outside) == ["GB"]
    assert complete(f"modctl --repo {tmp_path / 'none'} rollback ", repo) == []
    assert complete(f"modctl --repo {repo / 'modctl.yaml'} rollback ", repo) == []


def test_outside_a_repository_nothing_completes_and_nothing_is_said(tmp_path: Path) -> None:
    for words in (
        "modctl rollback ",
        "modctl freeze --region ",
        "modctl emergency run ",
        "modctl log --bundle ",
    ):
        assert complete(words, tmp_path) == []


@pytest.mark.parametrize(
    "config",
    [
        "regions: [SG, MY\n",  # not YAML
        "regions: &r [SG]\nagain: *r\n",  # refused by the strict loader
        "- SG\n",  # not a mapping
        "regions: SG\n",  # not a list
        b"\xff\xfe",  # not UTF-8
    ],
)
def test_a_modctl_yaml_that_cannot_be_read_completes_no_region(
    tmp_path: Path, config: str | bytes
) -> None:
    write_files(tmp_path, {"modctl.yaml": config, "strategies/ipr-a/bundle.yaml": "name: ipr-a\n"})
    assert complete("modctl freeze --region ", tmp_path) == []
    assert complete("modctl rollback ", tmp_path) == ["ipr-a"]


def test_only_names_a_command_would_take_are_offered(tmp_path: Path) -> None:
    """A folder or region whose name no schema allows (control characters that would steer
    the terminal, spaces, capitals) is not shown to the shell."""
    write_files(
        tmp_path,
        {
            "modctl.yaml": 'regions: [SG, "\\e[2J", my, 7]\n',
            "strategies/ipr-a/bundle.yaml": "",
            "strategies/\x1b[31mred/bundle.yaml": "",
            "strategies/Two Words/bundle.yaml": "",
            "strategies/.hidden/bundle.yaml": "",
            "playbooks/Freeze All.yaml": "",
        },
    )
    assert complete("modctl rollback ", tmp_path) == ["ipr-a"]
    assert complete("modctl freeze --region ", tmp_path) == ["SG"]
    assert complete("modctl emergency run ", tmp_path) == []


def test_completing_a_value_loads_no_bundle_and_runs_no_git(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    monkeypatch.setenv("_MODCTL_COMPLETE", "complete_bash")
    heavy = {"modctl.gitio", "modctl.source.workspace", "modctl.model", "jsonschema_rs"}
    for words, cword in (("modctl rollback ", "2"), ("modctl freeze --region ", "3")):
        monkeypatch.setenv("COMP_WORDS", words)
        monkeypatch.setenv("COMP_CWORD", cword)
        modules = imported(tmp_path)
        assert "modctl.source.repo" in modules
        assert not modules & heavy
    # bundle names are a folder listing: not even the YAML reader
    monkeypatch.setenv("COMP_WORDS", "modctl rollback ")
    monkeypatch.setenv("COMP_CWORD", "2")
    assert "yaml" not in imported(tmp_path)
