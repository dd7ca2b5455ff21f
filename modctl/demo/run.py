"""Playing the story: each act in turn, each command run through the `invoke` the CLI hands in
(the same application, in this process) from inside the demo's repository, each step timed. The
first step that goes wrong (a command ending with another exit status than the story expects,
or something the demo does itself failing) stops the demo with one line that names it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from modctl import printable
from modctl.demo import workspace
from modctl.demo.story import INCIDENT, Act, Action, Command, acts
from modctl.demo.workspace import Place
from modctl.errors import ChecksFailedError, ModctlError

# Runs `modctl ARGS` in the current folder: its exit status, and what it printed when the
# caller captures it (else None: it went to the terminal).
Invoke = Callable[[Sequence[str]], tuple[int, str | None]]


class DemoStopped(ChecksFailedError):
    """A step of the demo went wrong."""


@dataclass
class Ran:
    command: Command
    exit_code: int
    seconds: float
    output: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command.line,
            "exit_code": self.exit_code,
            "expected": self.command.expect,
            "seconds": round(self.seconds, 3),
            **({"output": self.output} if self.output is not None else {}),
        }


@dataclass
class Played:
    """An act, done."""

    number: int
    act: Act
    seconds: float = 0.0
    steps: list[Ran | Action] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "act": self.number,
            "title": self.act.title,
            "story": self.act.story,
            "seconds": round(self.seconds, 3),
            "steps": [s.to_dict() if isinstance(s, Ran) else {"demo": s.what} for s in self.steps],
        }


@dataclass
class Demo:
    place: Place
    kept: bool
    played: list[Played] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def commands(self) -> int:
        return sum(isinstance(s, Ran) for p in self.played for s in p.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.place.folder),
            "repository": str(self.place.repo),
            "remote": str(self.place.remote),
            "kept": self.kept,
            "incident": INCIDENT,
            "seconds": round(self.seconds, 3),
            "commands": self.commands,
            "acts": [p.to_dict() for p in self.played],
        }


class Listener(Protocol):
    """Told each step as it comes, to show it."""

    def act(self, number: int, total: int, act: Act) -> None: ...

    def action(self, action: Action) -> None: ...

    def command(self, command: Command) -> None: ...

    def ran(self, ran: Ran) -> None: ...

    def played(self, played: Played) -> None: ...


def play(directory: Path | None, keep: bool, invoke: Invoke, listener: Listener) -> Demo:
    """The whole story in `directory` (default: a new temporary folder), which is removed or
    emptied again at the end unless `keep`."""
    place = workspace.claim(directory)
    demo = Demo(place, keep)
    started = time.perf_counter()
    home = Path.cwd()
    try:
        story = acts(place)
        for number, act in enumerate(story, 1):
            listener.act(number, len(story), act)
            played = Played(number, act)
            begun = time.perf_counter()
            for step in act.steps:
                if isinstance(step, Action):
                    listener.action(step)
                    _act_out(step, place, played, demo)
                else:
                    listener.command(step)
                    listener.ran(_run(step, invoke, place, played, demo))
            played.seconds = time.perf_counter() - begun
            demo.played.append(played)
            listener.played(played)
    finally:
        os.chdir(home)
        if not keep:
            workspace.clear(place)
    demo.seconds = time.perf_counter() - started
    return demo


def _act_out(action: Action, place: Place, played: Played, demo: Demo) -> None:
    try:
        action.do(place)
    except ModctlError as exc:
        raise _stopped(played, demo, f"{action.what}: {exc.message}") from None
    except OSError as exc:
        raise _stopped(played, demo, f"{action.what}: {exc.strerror or exc}") from None
    played.steps.append(action)


def _run(command: Command, invoke: Invoke, place: Place, played: Played, demo: Demo) -> Ran:
    os.chdir(place.repo)
    begun = time.perf_counter()
    code, output = invoke(command.args)
    ran = Ran(command, code, time.perf_counter() - begun, output)
    played.steps.append(ran)
    if code != command.expect:
        said = [line for line in (output or "").splitlines() if line.strip()]
        why = f" ({said[-1].strip()})" if said else ""
        raise _stopped(
            played,
            demo,
            f"`{command.line}` exited {code} where {command.expect} was expected{why}",
        )
    return ran


def _stopped(played: Played, demo: Demo, what: str) -> DemoStopped:
    kept = f"; what it made is kept in {demo.place.folder}" if demo.kept else ""
    said = f"the demo stopped at act {played.number}, {played.act.title}: {what}{kept}"
    return DemoStopped(printable.escape(said))
