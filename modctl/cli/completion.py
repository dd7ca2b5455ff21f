"""What a shell completes as values: bundle names, regions, playbook names and journal actions.

Names come from the strategy repository of the command line being completed: `--repo` when it
is given there, else the one at or above the current folder, as every command finds it. Each
reads a folder listing or `modctl.yaml`, nothing more (no bundle is loaded, git is not run),
and imports what it needs only when asked. A completion has nowhere to say what is wrong:
outside a repository, or with a `modctl.yaml` that cannot be read, it offers nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from modctl.errors import ModctlError

if TYPE_CHECKING:
    from collections.abc import Callable

# What the schemas accept: a name that does not match is not offered (nor shown to the shell).
NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")  # bundles and playbooks
REGION = re.compile(r"[A-Z][A-Z0-9-]{1,15}")


def bundles(ctx: typer.Context, incomplete: str) -> list[str]:
    """The bundles under `strategies/`."""
    from modctl.source.repo import bundle_names

    return _offered(ctx, bundle_names, NAME, incomplete)


def playbooks(ctx: typer.Context, incomplete: str) -> list[str]:
    """The playbooks under `playbooks/`, as `emergency list` lists them."""
    from modctl.source.repo import playbook_names

    return _offered(ctx, playbook_names, NAME, incomplete)


def regions(ctx: typer.Context, incomplete: str) -> list[str]:
    """The regions of `modctl.yaml`; after a comma (`--region SG,M`), the next one of a list."""
    head, comma, last = incomplete.rpartition(",")
    offered = _offered(ctx, _declared_regions, REGION, last)
    return [f"{head}{comma}{region}" for region in offered]


def journal_actions(incomplete: str) -> list[str]:
    """The actions the journal records."""
    from modctl.state.replay import ACTIONS

    return [action for action in ACTIONS if action.startswith(incomplete)]


def _declared_regions(root: Path) -> list[str]:
    from modctl import yamlio
    from modctl.source.repo import CONFIG_NAME

    try:
        data = yamlio.load_file(root / CONFIG_NAME)
    except yamlio.YamlError:
        return []
    declared = data.get("regions") if isinstance(data, dict) else None
    return [str(region) for region in declared] if isinstance(declared, list) else []


def _offered(
    ctx: typer.Context,
    names: Callable[[Path], list[str]],
    form: re.Pattern[str],
    incomplete: str,
) -> list[str]:
    """`names` of the repository that have the `form` of such a name and begin with
    `incomplete`; none when there is no repository or it cannot be read."""
    try:
        root = _root(ctx)
        found = names(root) if root is not None else []
    except (ModctlError, OSError, ValueError, RuntimeError):  # RecursionError is a RuntimeError
        return []
    return [name for name in found if form.fullmatch(name) and name.startswith(incomplete)]


def _root(ctx: typer.Context) -> Path | None:
    """The repository as the command line names it, or None when `--repo` names no folder
    (nor a folder in a repository)."""
    from modctl.source.repo import find_root

    top = ctx.find_root()
    repo = top.params.get("repo")
    if repo is not None:
        return find_root(Path(repo)) if Path(repo).is_dir() else None
    # A --repo naming a file is on the command line yet parsed to None: no repository then.
    # (Compared by name: Typer carries its own copy of click's ParameterSource.)
    given = getattr(top.get_parameter_source("repo"), "name", None) == "COMMANDLINE"
    return None if given else find_root(Path.cwd())
