"""`modctl validate`: schema and semantic checks, for people and for CI."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modctl.cli._app import command_app, context_of, echo
from modctl.cli.options import checked_path
from modctl.errors import ExitCode, RepoNotFoundError

if TYPE_CHECKING:
    from modctl.findings import Finding


class Format(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    junit = "junit"


app = command_app()


@app.command("validate")
def validate_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders to check (default: the whole repository). A file selects "
            "its whole bundle, since rules, lists and tests depend on each other. With "
            "--explain: finding codes.",
            show_default=False,
            callback=checked_path,
        ),
    ] = None,
    output: Annotated[
        Format,
        typer.Option("--output", "-o", "--format", "-f", help="Report format (--format: alias)."),
    ] = Format.text,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Explain the finding codes given in place of paths (`--explain R004`) and "
            "exit; with none, list every code.",
        ),
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Parse every file again; ignore the parse cache.")
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes for parsing (default: CPUs)."),
    ] = None,
) -> None:
    """Check modctl.yaml, bundles and playbooks: schemas, names, types, regexes, regions, waves.

    Exit 0 when clean, 1 when checks fail, 2 on bad usage.

    Example: modctl validate strategies/ipr-counterfeit --format github
    """
    from modctl.reports import findings as formatters

    if explain:
        from modctl.lint.catalogue import CHECKS, RETIRED, named_check
        from modctl.reports import to_json

        # Typer has no option with an optional value: the codes come as the arguments.
        codes = [str(code).upper() for code in paths or []]
        retired = {code: RETIRED[code] for code in codes if code in RETIRED}
        checks = (
            [named_check(c) for c in codes if c not in retired] if codes else list(CHECKS.values())
        )
        if output is Format.json:
            found: list[dict[str, str]] = [
                {
                    "code": c.code,
                    "severity": c.severity.value,
                    "title": c.title,
                    "explanation": c.explanation,
                }
                for c in checks
            ]
            found += [{"code": code, "retired": why} for code, why in retired.items()]
            echo(to_json(found))
        elif codes:
            texts = {c.code: formatters.explanation(c) for c in checks}
            texts.update({code: f"{code}: {why}" for code, why in retired.items()})
            echo("\n\n".join(texts[code] for code in codes))
        else:
            echo(formatters.catalogue(checks))
        return
    from modctl.source.validate import validate

    paths = paths or []
    try:
        root = context_of(ctx, paths[0] if paths else None).root
    except RepoNotFoundError:
        if not paths:
            raise
        # No repository holds the path: when --repo or the current folder names one, the path
        # is outside it, which `select` says.
        root = context_of(ctx).root
    report = validate(root, paths, use_cache=not no_cache, jobs=jobs)
    report.findings += _expired_hotpatches(ctx, root)
    rendered = formatters.FORMATS[output.value](report, strict=strict)
    if rendered:
        echo(rendered)
    if report.failed(strict=strict):
        raise typer.Exit(int(ExitCode.CHECKS_FAILED))


def _expired_hotpatches(ctx: typer.Context, root: Path) -> list[Finding]:
    """H001 for each expired hot-patch still recorded on the state branch (none when the
    repository has no state branch or its modctl.yaml cannot be read)."""
    from modctl.errors import ModctlError
    from modctl.lint.catalogue import finding
    from modctl.state.hotpatch import listed

    try:
        context = context_of(ctx, root)
        if context.git.toplevel() is None:
            return []  # a plain folder: no state branch
        snapshot = context.store.read()
        rows = listed(snapshot, context.config, context.now(), None, every=True)
    except ModctlError:
        return []
    branch = context.config.state_branch
    return [
        finding(
            "H001",
            f"{branch}:regions/{region}/{r['bundle']}.yaml",
            f"hot-patch {r['id']} ({r['op']} {r['target']}) expired at {r['ends']}; "
            "`modctl hotpatch expire` takes every lapsed one off",
        ).located(1, 1)
        for r in rows
        if r["state"] == "expired"
        for region in r["regions"][:1]
    ]
