"""The docs say what modctl does: every `modctl` command line in them names a command and options
that exist, and the GitHub Actions example is a workflow GitHub accepts."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT, tool
from tests.test_output import COMMANDS

DOCS = [*sorted((PROJECT / "docs").glob("*.md")), PROJECT / "README.md"]
WORKFLOW = PROJECT / "docs" / "examples" / "strategies.yml"


def command_lines(text: str) -> list[str]:
    """The `modctl ...` lines of a document's shell code blocks and inline code, comments
    dropped; synopses with alternatives (`cut|list|show`) are not command lines."""
    found = []
    fenced: str | None = None
    for line in text.replace("\\\n", " ").splitlines():
        if line.startswith("```"):
            fenced = None if fenced is not None else line[3:].strip()
            continue
        if fenced in ("sh", "bash", ""):
            found.append(line.split(" #")[0].strip())
    found += re.findall(r"`(modctl [^`]+)`", text)
    return [line for line in found if line.startswith("modctl ") and "|" not in line]


GLOBAL = ("--help", "--version", "--install-completion", "--show-completion")


def check(line: str) -> str | None:
    """What is wrong with a documented command line, or None."""
    try:
        words = shlex.split(line.replace("...", ""))[1:]
    except ValueError:
        return None  # a fragment such as `modctl hotpatch apply ... set_mode shadow`
    words = [w for w in words if not w.startswith(("--repo", "-v", "--verbose"))]
    if not words or words[0] in (*GLOBAL, "-o", "COMMAND"):
        return None
    if len(words) == 1 and any(name.startswith(f"{words[0]} ") for name in COMMANDS):
        return None  # a group, such as `modctl rollout`
    name = next(
        (
            " ".join(words[:n])
            for n in (2, 1)
            if " ".join(words[:n]) in COMMANDS and len(words) >= n
        ),
        None,
    )
    if name is None:
        return f"no command {' '.join(words[:2])!r}"
    known = {opt for param in COMMANDS[name].params for opt in (*param.opts, *param.secondary_opts)}
    known |= {"--help"}
    for word in words[: words.index("--")] if "--" in words else words:
        option = word.split("=")[0]
        if option.startswith("-") and not re.fullmatch(r"-[0-9].*", option) and option not in known:
            return f"{name} takes no {option}"
    return None


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_documented_command_exists_with_its_options(doc: Path) -> None:
    problems = [
        f"{line}: {problem}"
        for line in command_lines(doc.read_text(encoding="utf-8"))
        if (problem := check(line)) is not None
    ]
    assert problems == []


def test_a_documented_command_that_does_not_exist_is_caught() -> None:
    assert check("modctl rollout frobnicate x") == "no command 'rollout frobnicate'"
    assert check("modctl status --colour") == "status takes no --colour"
    assert check("modctl emergency run disable-rule -p bundle=b --yes") is None


def test_the_github_actions_example_is_a_valid_workflow() -> None:
    done = subprocess.run(
        [
            str(tool("check-jsonschema")),
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    steps = WORKFLOW.read_text()
    for line in steps.splitlines():
        words = line.strip().removeprefix("run: ").strip()
        if words.startswith("modctl "):
            assert check(words.split(" >")[0]) is None, words
