"""The one error family of modctl; each error knows its exit code (the README lists them)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECKS_FAILED = 1
    USAGE = 2
    CONFLICT = 3
    REFUSED = 4
    INTERNAL = 70


class ModctlError(Exception):
    """An error the user can act on; the message says what is wrong and what to do next."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        if not message:
            raise ValueError("a ModctlError needs a message")
        super().__init__(message)
        self.message = message


class ChecksFailedError(ModctlError):
    """Validation, tests or a gate failed."""

    exit_code = ExitCode.CHECKS_FAILED


class UsageError(ModctlError):
    """Bad arguments, unknown names, unreadable or missing input."""


class UnknownBundleError(UsageError):
    """No bundle of that name (in the working tree, or at a revision)."""


class RepoNotFoundError(UsageError):
    """No modctl.yaml in the given folder or any folder above it."""


class GitError(UsageError):
    """Git is missing, or the folder is not a repository, or a git command failed."""

    status = 0  # git's exit status, for telling kinds of failure apart
    detail = ""  # everything git said, for the log


class ConflictError(ModctlError):
    exit_code = ExitCode.CONFLICT


class RefusedError(ModctlError):
    exit_code = ExitCode.REFUSED


def suggest(name: str, known: Iterable[str]) -> str:
    """'; did you mean X?' when a known name is close, else '': for messages about unknown names."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
