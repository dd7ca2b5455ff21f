"""`modctl new bundle|rule`: a bundle scaffolded, a rule written with its test case."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from modctl.cli import completion
from modctl.cli._app import command_app, context_of, echo, warn
from modctl.cli.options import Bundle, DryRun, Output, OutputOption

app = command_app(
    help="Write a new bundle or rule in the layout of the reference bundles.",
    no_args_is_help=True,
)
Regions = Annotated[
    list[str] | None,
    typer.Option(
        "--region",
        "--regions",
        "-r",
        help="Regions (repeat, or separate with commas).",
        autocompletion=completion.regions,
    ),
]


class Severity(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


@app.command("bundle")
def bundle_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Bundle name: the folder under strategies/.")],
    region: Regions = None,
    description: Annotated[
        str | None, typer.Option("--description", help="What the strategy catches, and why.")
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Who owns it (default: git user.email).")
    ] = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Scaffold strategies/NAME/: bundle.yaml, an empty rules file and tests file, and lists/,
    with comments saying what goes where. Nothing is committed.

    Example: modctl new bundle ipr-knockoff-toys --region SG --region MY
    """
    from modctl.reports import authoring as report
    from modctl.source.authoring import new_bundle

    context = context_of(ctx)
    if owner is None:
        owner = context.git.settings().get("user.email") or None
    regions = [r for each in region or [] for r in each.split(",") if r]
    done = new_bundle(
        context.root, name, regions, description=description, owner=owner, dry_run=dry_run
    )
    echo(report.as_json(done) if output is Output.json else report.bundle_text(done))


@app.command("rule")
def rule_command(
    ctx: typer.Context,
    bundle: Bundle,
    ident: Annotated[str, typer.Argument(metavar="ID", help="Rule id, new in the bundle.")],
    field: Annotated[
        str, typer.Option("--field", help="Listing field the rule reads (modctl.yaml fields).")
    ],
    op: Annotated[
        str,
        typer.Option(
            "--op",
            help="Operator: eq, ne, lt, lte, gt, gte, in, not_in, contains_any, matches, exists "
            "or within_distance.",
        ),
    ],
    value: Annotated[
        str,
        typer.Option(
            "--value",
            help="A regex for matches and text for eq or ne on a text field, as written; "
            "otherwise one YAML value: 0.3, true, [a, b], '{list: NAME}'.",
        ),
    ],
    action: Annotated[
        str, typer.Option("--action", help="takedown, limit, review (with --queue), warn, allow.")
    ],
    queue: Annotated[
        str | None, typer.Option("--queue", help="Review queue, for --action review.")
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            metavar="rules/NAME.yaml",
            help="Rules file in the bundle's folder (default: its only one, or rules/main.yaml).",
        ),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="What the rule catches.")
    ] = None,
    severity: Annotated[Severity | None, typer.Option("--severity", help="Severity.")] = None,
    region: Regions = None,
    dry_run: DryRun = False,
    output: OutputOption = Output.text,
) -> None:
    """Append a rule to the bundle's rules file, comments and layout kept, and a test case for
    it to the tests file of the same name; the case fails until its item is a listing the rule
    should match. Nothing is written unless the bundle still validates.

    Example: modctl new rule ipr-counterfeit replica-watch --field title --op matches --value
    '(?i)\\bwatch replica\\b' --action review --queue ipr-review --file rules/phrasing.yaml
    """
    from modctl.reports import authoring as report
    from modctl.source.authoring import RuleSpec, new_rule

    spec = RuleSpec(
        ident,
        field,
        op,
        value,
        action,
        queue=queue,
        description=description,
        severity=severity.value if severity else None,
        regions=[r for each in region or [] for r in each.split(",") if r],
        file=file,
    )
    done = new_rule(context_of(ctx).root, bundle, spec, dry_run=dry_run)
    for finding in done.warnings:
        warn(str(finding))
    echo(report.as_json(done) if output is Output.json else report.rule_text(done))
