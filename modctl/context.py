"""One context per invocation: the repository root, its committed `modctl.yaml`, the state store
and the clock, built once and handed to the operations.

Everything is built on first use, so a command that never touches the state branch never reads
`modctl.yaml` at HEAD, and one that reads it does so once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modctl.gitio import Git
    from modctl.model import Config
    from modctl.state.store import Store


def utcnow() -> datetime:
    """Now in UTC, without time zone: how state files and transitions hold time."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _unheard(message: str) -> None:
    """Where warnings go when nobody listens (a context built by a library caller)."""


@dataclass
class Context:
    root: Path
    clock: Callable[[], datetime] = field(default=utcnow)
    warn: Callable[[str], None] = field(default=_unheard)  # one line for the user, on stderr

    @classmethod
    def discover(cls, start: Path | None = None, warn: Callable[[str], None] = _unheard) -> Context:
        """The context of the strategy repository at or above `start` (default: the cwd)."""
        from modctl.source.repo import find_root

        return cls(find_root(start or Path.cwd()), warn=warn)

    @cached_property
    def git(self) -> Git:
        """git in the repository root; one `cat-file` process serves every read."""
        from modctl.gitio import Git

        return Git(self.root)

    @cached_property
    def config(self) -> Config:
        """`modctl.yaml` as committed at HEAD: what every state command obeys. Warns when the
        working tree's copy sets `state` otherwise (an edit of `state.remote` not committed)."""
        from modctl.source.config import config_at, uncommitted_state

        config = config_at(self.git)
        changed = uncommitted_state(self.git, self.root, config)
        if changed is not None:
            self.warn(changed)
        return config

    @cached_property
    def store(self) -> Store:
        from modctl.state.store import Store

        return Store(self.root, self.config.state_branch, self.config.remote, git=self.git)

    def now(self) -> datetime:
        return self.clock()

    def actor(self, explicit: str | None) -> str:
        """Who is acting: --actor, else MODCTL_ACTOR, else git's user.email."""
        from modctl.state.store import actor

        return actor(explicit, self.git)

    def close(self) -> None:
        """Stop the git processes this context started."""
        if "git" in self.__dict__:
            self.git.close()
