"""`modctl hotpatch fold`: a hot-patch written into its bundle's source in the working tree, so
that the next release carries it, with every other byte of the file kept.

The source is read as `validate` reads it (the strict loader, the schemas, the semantic checks).
The change is made twice: in the file's text through `yamledit`, and in its data here; the new
text must read back as exactly the new data before anything is written. Then the bundle is
checked again and its tests run: the tests that passed before and fail now expected the
behaviour the patch changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modctl import yamledit, yamlio
from modctl.engine.cases import CaseResult, run_cases
from modctl.errors import ChecksFailedError, RefusedError
from modctl.findings import Finding, Severity
from modctl.model import Bundle, Rule
from modctl.source import writing
from modctl.source.files import Cache, Loaded, lines, parse_all, read_all
from modctl.source.repo import Selection, bundle_names, inside, select
from modctl.source.validate import Analysis, analyse

RULE_OPS = ("disable_rule", "enable_rule", "set_action", "set_mode", "set_param")
BOM = "\ufeff"


@dataclass
class Failing:
    """A test case that passed on the source before the fold and fails after it."""

    result: CaseResult
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.result.to_dict(), "line": self.line}


@dataclass
class Folded:
    """What `fold` did, or would do with `dry_run`: the file it changed (none when the source
    already has the patch), the findings the change brings and the tests it makes fail."""

    patch: dict[str, Any]
    bundle: str
    regions: tuple[str, ...]
    status: str  # folded | already folded | nothing to fold
    what: str  # the change, or why there is none
    path: str | None = None
    before: str = ""
    after: str = ""
    dry_run: bool = False
    findings: list[Finding] = field(default_factory=list)
    failing: list[Failing] = field(default_factory=list)
    tests_run: bool = False
    gone: str | None = None  # how the patch left the state branch, when it no longer applies

    @property
    def written(self) -> bool:
        return self.path is not None and not self.dry_run

    def diff(self) -> list[str]:
        if self.path is None:
            return []
        return writing.diff(self.path, self.before, self.after)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hotpatch": self.patch["id"],
            "bundle": self.bundle,
            "op": self.patch["op"],
            "target": self.patch["target"],
            "value": self.patch.get("value"),
            "regions": list(self.regions),
            "status": self.status,
            "change": self.what,
            "dry_run": self.dry_run,
            "written": self.written,
            "files": [self.path] if self.path else [],
            "diff": "\n".join(self.diff()),
            "findings": [f.to_dict() for f in self.findings],
            "tests_run": self.tests_run,
            "failing_tests": [f.to_dict() for f in self.failing],
            "gone": self.gone,
        }


@dataclass
class _Edit:
    """One source file, changed in its text and in its data side by side."""

    path: str
    before: str
    doc: yamledit.Document
    data: Any

    @classmethod
    def of(cls, root: Path, rel: str) -> _Edit:
        text = yamlio.read_text(inside(root, rel))
        return cls(rel, text, yamledit.Document(text), yamlio.loads(text))


@dataclass
class _Plan:
    edit: _Edit | None
    what: str
    status: str = "folded"


def fold(
    root: Path,
    patch: dict[str, Any],
    bundle_name: str,
    regions: Sequence[str],
    *,
    dry_run: bool = False,
    gone: str | None = None,
) -> Folded:
    """Write `patch`, recorded for `bundle_name` in `regions`, into the bundle's source under
    `root`; with `dry_run`, only say what would change. `gone`: how the patch left the state
    branch, when it no longer applies."""
    if bundle_name not in bundle_names(root):
        raise RefusedError(
            f"{patch['id']} patches bundle {bundle_name}, which the working tree no longer has "
            f"(no strategies/{bundle_name}/); nothing to fold it into"
        )
    selection = select(root, [root / "strategies" / bundle_name])
    loaded = read_all(selection.root, selection.files)
    parse_all(loaded, Cache.of(root))
    before = analyse(selection, loaded)
    if before.config is None or bundle_name not in before.bundles:
        # Semantic findings do not stop a fold (a fold may well be what makes them): a file
        # that cannot be read or breaks its schema does.
        errors = [f for f in before.findings if f.severity is Severity.ERROR]
        first = f"; the first: {errors[0]}" if errors else ""
        raise ChecksFailedError(
            f"strategies/{bundle_name} does not validate ({len(errors)} errors{first}); fix it "
            "before folding a hot-patch into it (`modctl validate` lists them all)"
        )
    bundle = before.bundles[bundle_name]
    patched = tuple(r for r in bundle.regions if r in regions) + tuple(
        r for r in regions if r not in bundle.regions
    )
    try:
        plan = _plan(root, bundle, patch, patched)
    except yamledit.EditError as exc:
        raise RefusedError(
            f"modctl cannot fold {patch['id']} into the source in place: {exc.message}; "
            "make the change by hand"
        ) from None
    result = Folded(patch, bundle_name, patched, plan.status, plan.what, dry_run=dry_run, gone=gone)
    if plan.edit is None:
        return result
    edit = plan.edit
    after = edit.doc.text
    if _canonical(_reread(after)) != _canonical(edit.data):
        raise RefusedError(
            f"modctl could not write {plan.what} into {edit.path} without changing other "
            "values of the file; make the change by hand"
        )
    result.path, result.before, result.after = edit.path, edit.before, after
    if not dry_run:
        writing.check_writable(inside(root, edit.path), edit.path, "fold again")
    _check(root, result, loaded, before, selection)
    if not dry_run:
        _write(root, edit.path, after)
    return result


def _reread(text: str) -> Any:
    try:
        return yamlio.loads(text)
    except yamlio.YamlError:
        return None


def _canonical(data: Any) -> str:
    """The data as JSON: keys in any order are equal, 1, 1.0 and true are not."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def _plan(root: Path, bundle: Bundle, patch: dict[str, Any], regions: tuple[str, ...]) -> _Plan:
    op, target = patch["op"], str(patch["target"])
    if op in RULE_OPS:
        rule_id = target.partition(".")[0] if op == "set_param" else target
        rule = next((r for r in bundle.rules if r.id == rule_id), None)
        return _rule_plan(root, bundle, patch, regions, rule_id, rule)
    if op in ("list_add", "list_remove"):
        return _list_plan(root, bundle, patch, regions)
    raise RefusedError(f"{patch['id']} has op {op!r}, which fold does not know")


def _rule_plan(
    root: Path,
    bundle: Bundle,
    patch: dict[str, Any],
    regions: tuple[str, ...],
    rule_id: str,
    rule: Rule | None,
) -> _Plan:
    pid, op = patch["id"], patch["op"]
    if rule is None:
        if op == "disable_rule":
            return _Plan(
                None, f"rule {rule_id} is not in strategies/{bundle.name}", "already folded"
            )
        if op == "enable_rule":
            raise RefusedError(
                f"{pid} re-enables rule {rule_id}, which the working tree's "
                f"strategies/{bundle.name} lacks; restore the rule by hand from the release "
                f"deployed in {', '.join(regions)}, or revert the patch"
            )
        raise RefusedError(
            f"{pid} changes rule {rule_id}, which the working tree's strategies/{bundle.name} "
            "no longer has; nothing to fold it into"
        )
    served = rule.regions if rule.regions is not None else bundle.regions
    if op == "enable_rule":
        unserved = [r for r in regions if r in bundle.regions and r not in served]
        if unserved:
            raise RefusedError(
                f"{pid} re-enables rule {rule_id} in {', '.join(unserved)}, where the working "
                "tree's rule does not apply (its `regions` leave them out); add them by hand, "
                "or revert the patch"
            )
        return _Plan(
            None,
            f"{pid} re-enables rule {rule_id}, which the source has; it needs no change",
            "nothing to fold",
        )
    if op == "disable_rule":
        return _disable(root, bundle, rule, served, regions)
    others = [r for r in served if r not in regions]
    if others:
        thing = {"set_action": "action", "set_mode": "mode"}.get(
            op, f"param {str(patch['target']).partition('.')[2]}"
        )
        raise RefusedError(
            f"{pid} sets the {thing} of rule {rule.id} in {', '.join(regions)} only, but in the "
            f"source the rule also serves {', '.join(others)}, and a rule has one {thing} for "
            "all its regions: apply the patch there too, or give the patched regions a rule of "
            "their own by hand"
        )
    edit = _Edit.of(root, rule.origin.path)
    index = int(rule.origin.pointer[0])
    data = edit.data[index]
    value = patch.get("value")
    where = f"rule {rule.id} in {edit.path}"
    if op == "set_param":
        param = str(patch["target"]).partition(".")[2]
        if param not in rule.params:
            raise RefusedError(
                f"{pid} sets param {param} of rule {rule.id}, which the source's rule no longer "
                "declares; nothing to fold it into"
            )
        if _canonical(rule.params[param]) == _canonical(value):
            return _Plan(None, f"{where} has {param}: {value!r}", "already folded")
        edit.doc.set_value((index, "params", param), value)
        data["params"][param] = value
        return _Plan(edit, f"rule {rule.id}: params.{param} {rule.params[param]!r} -> {value!r}")
    key = "action" if op == "set_action" else "mode"
    old = rule.action if op == "set_action" else rule.mode
    queue = patch.get("queue") if value == "review" else None
    if value == "review" and queue is None and rule.queue is None:
        raise RefusedError(
            f"{pid} sets rule {rule.id} to review without a queue and the source's rule has "
            "none; a review needs a queue: fold it by hand"
        )
    if old == value and (queue is None or rule.queue == queue):
        return _Plan(None, f"{where} has {key} {value}", "already folded")
    if old != value:
        _set(edit, index, key, value)
    what = f"rule {rule.id}: {key} {old} -> {value}"
    if queue is not None and rule.queue != queue:
        _set(edit, index, "queue", queue)
        what += f", queue {queue}"
    return _Plan(edit, what)


def _set(edit: _Edit, index: int, key: str, value: Any) -> None:
    """Set a key of rule `index`; a key the rule lacks is written after its action (and after
    its queue, when it has one and the key is not the queue)."""
    rule = edit.data[index]
    if key in rule:
        edit.doc.set_value((index, key), value)
    else:
        after = "queue" if "queue" in rule and key != "queue" else "action"
        edit.doc.add_key((index,), key, value, after=after)
    rule[key] = value


def _disable(
    root: Path, bundle: Bundle, rule: Rule, served: Sequence[str], regions: tuple[str, ...]
) -> _Plan:
    kept = [r for r in served if r not in regions]
    if len(kept) == len(served):
        return _Plan(
            None, f"rule {rule.id} already serves none of {', '.join(regions)}", "already folded"
        )
    edit = _Edit.of(root, rule.origin.path)
    index = int(rule.origin.pointer[0])
    if not kept:
        edit.doc.remove_item((), index)
        del edit.data[index]
        return _Plan(edit, f"removed rule {rule.id}")
    data = edit.data[index]
    if "regions" in data:
        for at in reversed(range(len(data["regions"]))):
            if data["regions"][at] not in kept:
                edit.doc.remove_item((index, "regions"), at)
                del data["regions"][at]
    else:
        _set(edit, index, "regions", kept)
    return _Plan(
        edit,
        f"rule {rule.id} now serves {', '.join(kept)} only (was {', '.join(served)})",
    )


def _list_plan(
    root: Path, bundle: Bundle, patch: dict[str, Any], regions: tuple[str, ...]
) -> _Plan:
    pid, op, name = patch["id"], patch["op"], str(patch["target"])
    found = bundle.list_named(name)
    if found is None:
        raise RefusedError(
            f"{pid} changes list {name}, which the working tree's strategies/{bundle.name} no "
            "longer has; nothing to fold it into"
        )
    if found.kind == "map":
        raise RefusedError(
            f"{pid} changes the items of list {name}, but the source's {name} is a map of "
            "entries; fold it by hand"
        )
    others = [r for r in bundle.regions if r not in regions]
    if others:
        raise RefusedError(
            f"{pid} changes list {name} in {', '.join(regions)} only, but a list serves every "
            f"region of bundle {bundle.name}: folding would change it in {', '.join(others)} "
            "too; apply the patch there as well, or fold it by hand"
        )
    raw = patch.get("value")
    values = raw if isinstance(raw, list) else [raw]
    edit = _Edit.of(root, found.origin.path)
    items: list[Any] = edit.data["items"]
    where = f"list {name} in {edit.path}"
    if op == "list_add":
        new: list[Any] = []
        for value in values:
            if value not in items and value not in new:
                new.append(value)
        if not new:
            return _Plan(None, f"{where} has every item the patch adds", "already folded")
        edit.doc.append_items(("items",), new)
        items.extend(new)
        return _Plan(edit, f"list {name}: added {_items(new)}")
    gone = [i for i, item in enumerate(items) if item in values]
    if not gone:
        return _Plan(None, f"{where} has none of the items the patch removes", "already folded")
    removed = [items[i] for i in gone]
    for at in reversed(gone):
        edit.doc.remove_item(("items",), at)
        del items[at]
    return _Plan(edit, f"list {name}: removed {_items(removed)}")


def _items(values: list[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:5])
    more = f" and {len(values) - 5} more" if len(values) > 5 else ""
    return f"{len(values)} item{'' if len(values) == 1 else 's'} ({shown}{more})"


def _check(
    root: Path,
    result: Folded,
    loaded: dict[str, Loaded],
    before: Analysis,
    selection: Selection,
) -> None:
    """The findings the new source brings, and the tests that passed before and fail now."""
    assert result.path is not None
    changed = dict(loaded)
    raw = result.after.encode()
    changed[result.path] = Loaded(loaded[result.path].source, raw)
    parse_all({result.path: changed[result.path]}, None)
    after = analyse(selection, changed)
    known = {(f.code, f.path, f.message) for f in before.findings}
    result.findings = [f for f in after.findings if (f.code, f.path, f.message) not in known]
    new_bundle = after.bundles.get(result.bundle)
    if _blocking(before) or _blocking(after) or new_bundle is None or after.config is None:
        return
    assert before.config is not None
    old = run_cases(before.bundles[result.bundle], before.config)
    passed = {(c.case.origin, c.case.name) for c in old.cases if c.passed}
    now = run_cases(new_bundle, after.config)
    failing = [c for c in now.failed if (c.case.origin, c.case.name) in passed]
    where = lines(root, [c.origin for c in failing])
    result.failing = [Failing(c, where.get(c.origin, 1)) for c in failing]
    result.tests_run = True


def _blocking(analysis: Analysis) -> bool:
    """Whether errors keep the tests from running: any but those of tests naming rules that are
    gone, and of a bundle left with no rules."""
    return analysis.config is None or any(
        f.severity is Severity.ERROR and not f.code.startswith("T") and f.code != "B003"
        for f in analysis.findings
    )


def _write(root: Path, rel: str, text: str) -> None:
    """Replace the file, keeping a byte order mark it had."""
    path = inside(root, rel)
    data = text.encode()
    if path.read_bytes().startswith(BOM.encode()):
        data = BOM.encode() + data
    writing.replace(path, data, rel)
