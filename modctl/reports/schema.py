"""Rendering the list of JSON Schemas: a table for people, JSON for scripts."""

from __future__ import annotations

from modctl.reports import to_json

# name -> (file it describes, one-line summary), as `modctl.schemas.SCHEMAS` holds them
Catalogue = dict[str, tuple[str, str]]


def text(catalogue: Catalogue) -> str:
    from tabulate import tabulate

    rows = [(name, describes, summary) for name, (describes, summary) in catalogue.items()]
    return str(tabulate(rows, headers=["NAME", "DESCRIBES", "SUMMARY"], tablefmt="plain"))


def as_json(catalogue: Catalogue) -> str:
    return to_json(
        [
            {"name": name, "describes": describes, "summary": summary}
            for name, (describes, summary) in catalogue.items()
        ]
    )
