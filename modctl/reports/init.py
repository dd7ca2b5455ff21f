"""Rendering what `modctl init` wrote: text with the next steps for people, JSON for scripts."""

from __future__ import annotations

import json

from modctl.source.scaffold import InitResult


def text(result: InitResult) -> str:
    where = "a new git repository" if result.created_repo else "the existing git repository"
    if result.dry_run:
        lines = [
            f"Would write {len(result.written)} files in {result.root} and commit them to {where}:"
        ]
        lines += [
            f"  {rel}{'  (overwrite)' if rel in result.overwritten else ''}"
            for rel in result.written
        ]
        return "\n".join(lines)
    committed = f"commit {result.commit[:12]}" if result.commit else "already committed as is"
    lines = [f"Wrote {len(result.written)} files in {result.root} ({where}, {committed})."]
    if result.overwritten:
        lines.append(f"Overwrote {len(result.overwritten)} existing files (--force).")
    lines.append(
        "\nNext steps:\n"
        f"  cd {result.root}\n"
        "  modctl validate                 # check every bundle, playbook and modctl.yaml\n"
        "  pre-commit install              # validate on every commit (pip install pre-commit)\n"
        "  modctl schema rules             # JSON Schema for your editor's YAML support"
    )
    return "\n".join(lines)


def as_json(result: InitResult) -> str:
    # Non-ASCII stays escaped here, unlike `reports.to_json`: init has always written it so.
    return json.dumps(result.to_dict(), indent=2)
