"""Options that many commands share, declared once, and the one bundle they travel in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Annotated

import typer


class Output(str, Enum):
    text = "text"
    json = "json"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="Result format.")]
Region = Annotated[str, typer.Option("--region", "-r", help="Region.")]
Regions = Annotated[list[str] | None, typer.Option("--region", "-r", help="Regions.")]
Actor = Annotated[
    str | None,
    typer.Option("--actor", help="Who acts (default: MODCTL_ACTOR, then git user.email)."),
]
Reason = Annotated[str | None, typer.Option("--reason", help="Why, for the journal.")]
Incident = Annotated[str | None, typer.Option("--incident", help="Incident id, for the journal.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the change; write nothing.")]


@dataclass(frozen=True)
class WriteOptions:
    """What every command that writes state takes: who, why, for which incident, whether to
    write at all, and how to report."""

    actor: str | None = None
    reason: str | None = None
    incident: str | None = None
    dry_run: bool = False
    output: Output = Output.text
