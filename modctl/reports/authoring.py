"""Rendering what `modctl new bundle` and `modctl new rule` wrote, with the next step."""

from __future__ import annotations

from modctl.reports import to_json
from modctl.source.authoring import Authored


def bundle_text(done: Authored) -> str:
    verb = "Would create" if done.dry_run else "Created"
    lines = [f"{verb} bundle {done.bundle}:"]
    lines += [f"  {written.path}" for written in done.files]
    lines.append(
        "Next, add its first rule (until it has one, `modctl validate` says B003, a bundle with "
        f"no rules):\n  {done.next_step}"
    )
    return "\n".join(lines)


def rule_text(done: Authored) -> str:
    rules, tests = done.files
    assert done.rule is not None
    lines: list[str] = []
    if done.dry_run:
        lines.append(f"Would add rule {done.rule['id']} and test case {done.case!r}:")
        lines += rules.diff() + tests.diff()
        return "\n".join(lines)
    lines.append(f"Added rule {done.rule['id']} to {_file(rules.path, rules.created)}.")
    lines.append(
        f"Added test case {done.case!r} to {_file(tests.path, tests.created)}: it fails until "
        "its item is a listing the rule should match."
    )
    lines.append(f"Next: fill in the test case, then run `{done.next_step}`.")
    return "\n".join(lines)


def as_json(done: Authored) -> str:
    return to_json(done.to_dict())


def _file(path: str, created: bool) -> str:
    return f"{path} (new file)" if created else path
