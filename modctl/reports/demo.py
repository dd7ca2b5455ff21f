"""Rendering `modctl demo`: the narration as shell comments around each command typed (`$ modctl
...`, the one thing in colour), how to explore a kept repository, and the acts as JSON."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from modctl.demo.run import Demo, Played
from modctl.demo.story import INCIDENT, Act, Action, Command
from modctl.reports import cell, to_json

Paint = Callable[[str, str], str]


def act(number: int, total: int, act: Act) -> str:
    story = textwrap.fill(act.story, width=98, initial_indent="# ", subsequent_indent="# ")
    return f"\n# {number}/{total}  {act.title}\n{story}"


def action(action: Action) -> str:
    return f"#   (demo) {action.what}"


def command(command: Command, paint: Paint) -> str:
    return paint(f"$ {cell(command.line)}", "cyan")


def played(played: Played) -> str:
    return f"# ({played.seconds:.2f} s)"


def summary(demo: Demo) -> str:
    head = f"\n# Done: {demo.commands} commands in {len(demo.played)} acts, {demo.seconds:.1f} s."
    if not demo.kept:
        return (
            f"{head} The demo's folder is removed again; `modctl demo --keep` keeps it to explore."
        )
    repo = cell(demo.place.repo)
    return "\n".join(
        [
            f"{head} The repository is kept in {repo} (its remote: {cell(demo.place.remote)}).",
            "# Explore it:",
            f"#   cd {repo}",
            "#   modctl status                   # what runs where, with the hot-patch",
            "#   modctl log                      # the journal, newest first",
            f"#   modctl incident show {INCIDENT}   # the incident's timeline",
            "#   git log --oneline modctl-state  # the state branch: one commit per change",
            "# modctl's on-call runbook (docs/oncall.md) walks through the first minutes of an "
            "incident on it.",
        ]
    )


def as_json(demo: Demo) -> str:
    return to_json(demo.to_dict())
