"""`modctl new bundle` and `modctl new rule`: a bundle scaffolded, and a rule written into a
bundle's source with a test case that fails until someone fills it in, in the layout of the
reference bundles.

Nothing is written unless the result validates: the new text is read back by the strict loader
as exactly the data meant, then the bundle is checked as `validate` checks it, with the new files
in memory. Files are written in the working tree and never committed: the author reviews them.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modctl import yamledit, yamlio
from modctl.engine.compiler import compile_bundle
from modctl.errors import ChecksFailedError, RefusedError, UnknownBundleError, UsageError, suggest
from modctl.findings import Finding, Severity
from modctl.lint.bundle import OPERATOR_TYPES
from modctl.model import Config
from modctl.source import writing
from modctl.source.files import Loaded, parse_all, read_all
from modctl.source.repo import CONFIG_NAME, Selection, SourceFile, bundle_names, inside, select
from modctl.source.validate import Analysis, analyse

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")  # bundle names and rule ids, as the schemas say
MAX_NAME = 80
ACTIONS = ("takedown", "limit", "review", "warn", "allow")
TEXT_TYPES = ("string", "string_list", "phash")
RULE_FLOW = frozenset({"when", "regions", "tags"})  # written `when: {field: ..., op: ...}`
CASE_FLOW = frozenset({"rules", "not_rules"})


@dataclass
class Written:
    """One file `new` writes, or would write: its text before (empty when new) and after."""

    path: str
    after: str
    before: str = ""
    created: bool = True

    def diff(self) -> list[str]:
        return writing.diff(self.path, self.before, self.after, created=self.created)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "created": self.created, "diff": "\n".join(self.diff())}


@dataclass
class Authored:
    """What `new bundle` or `new rule` wrote (or, with `dry_run`, would write)."""

    bundle: str
    files: list[Written]
    dry_run: bool = False
    rule: dict[str, Any] | None = None
    case: str | None = None
    warnings: list[Finding] = dataclasses.field(default_factory=list)
    next_step: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "dry_run": self.dry_run,
            "files": [f.to_dict() for f in self.files],
            "rule": self.rule,
            "test_case": self.case,
            "warnings": [f.to_dict() for f in self.warnings],
            "next": self.next_step,
        }


def check_name(what: str, name: str) -> None:
    if len(name) > MAX_NAME or not NAME.match(name):
        raise UsageError(
            f"{what} {name!r} is not a valid name: lower-case letters, digits, '.', '_' and '-', "
            f"starting with a letter or digit, at most {MAX_NAME} characters"
        )


def new_bundle(
    root: Path,
    name: str,
    regions: list[str],
    *,
    description: str | None = None,
    owner: str | None = None,
    dry_run: bool = False,
) -> Authored:
    """Scaffold strategies/NAME/: bundle.yaml, an empty rules file and tests file, lists/."""
    check_name("bundle name", name)
    folder = f"strategies/{name}"
    if (root / folder).exists() or (root / folder).is_symlink():
        raise UsageError(f"bundle {name} already exists ({folder}/); choose another name")
    config = _config(root)
    for region in regions:
        if region not in config.regions:
            raise UsageError(
                f"region {region!r} is not declared in {CONFIG_NAME}"
                f"{suggest(region, config.regions)} (regions: {', '.join(config.regions)})"
            )
    meta: dict[str, Any] = {"name": name}
    if description:
        meta["description"] = description
    if owner:
        meta["owner"] = owner
    if regions:
        meta["regions"] = list(dict.fromkeys(regions))
    add = _next_rule(name, config)
    files = [
        Written(
            f"{folder}/bundle.yaml",
            _schema_line(root, "bundle", 2)
            + f"# {name}. Rules: rules/; the lists they read: lists/; test cases: tests/.\n"
            + ("" if description else "# Say what the strategy catches, and why, in description.\n")
            + yamledit.block(meta, frozenset({"regions"})),
        ),
        Written(
            f"{folder}/rules/main.yaml",
            _schema_line(root, "rules", 3)
            + f"# Rules of {name}; add one with `modctl new rule`, for example:\n#   {add}\n[]\n",
        ),
        Written(
            f"{folder}/tests/main.yaml",
            _schema_line(root, "tests", 3)
            + "# Test cases: a listing, the region it is decided in, and the action and rules\n"
            "# expected (`modctl test`). `modctl new rule` adds one for each rule it writes.\n[]\n",
        ),
        Written(f"{folder}/lists/.gitkeep", ""),
    ]
    done = Authored(name, files, dry_run, next_step=add)
    if not dry_run:
        _write(root, files, "run modctl new bundle again")
    return done


def _config(root: Path) -> Config:
    """modctl.yaml as the working tree has it; refused when it does not validate."""
    loaded = read_all(root, [SourceFile(CONFIG_NAME, "config")])
    parse_all(loaded, None)
    doc = loaded[CONFIG_NAME]
    if not doc.ok:
        first = doc.findings[0] if doc.findings else None
        raise ChecksFailedError(
            f"{CONFIG_NAME} does not validate ({first}); fix it first (`modctl validate`)"
        )
    return Config.from_data(doc.data)


def _next_rule(bundle: str, config: Config) -> str:
    """A `modctl new rule` command line for the bundle, on a field modctl.yaml declares."""
    texts = [f for f, kind in config.fields.items() if kind == "string"]
    text = next((f for f in ("title", "description") if f in texts), texts[0] if texts else None)
    if text is None:
        return (
            f"modctl new rule {bundle} RULE-ID --field FIELD --op OP --value VALUE --action ACTION"
        )
    return (
        f"modctl new rule {bundle} {bundle}-replica --field {text} --op matches "
        "--value '(?i)\\breplica\\b' --action review --queue ipr-review"
    )


def _schema_line(root: Path, kind: str, depth: int) -> str:
    """The editor's schema line, when the repository keeps the schemas in .schemas/ (as the
    command reference shows); the path is relative to a file `depth` folders down."""
    if not (root / ".schemas" / f"{kind}.json").is_file():
        return ""
    return f"# yaml-language-server: $schema={'../' * depth}.schemas/{kind}.json\n"


@dataclass
class RuleSpec:
    """What `new rule` is asked to write."""

    id: str
    field: str
    op: str
    value: str
    action: str
    queue: str | None = None
    description: str | None = None
    severity: str | None = None
    regions: list[str] = dataclasses.field(default_factory=list)
    file: str | None = None  # relative to the bundle's folder: rules/X.yaml


def new_rule(root: Path, bundle_name: str, spec: RuleSpec, *, dry_run: bool = False) -> Authored:
    """Append the rule to the bundle's rules file and a failing test case for it to the tests
    file of the same name, after checking the bundle with both in place."""
    check_name("rule id", spec.id)
    selection, loaded, before = _analysed(root, bundle_name)
    bundle = before.bundles[bundle_name]
    config = before.config
    assert config is not None  # a bundle is built only with modctl.yaml read
    existing = next((r for r in bundle.rules if r.id == spec.id), None)
    if existing is not None:
        raise UsageError(
            f"rule {spec.id!r} already exists in {existing.origin.path}; choose another id"
        )
    rule = _rule(spec, config, bundle.regions)
    rules_rel = _rules_file(bundle_name, spec.file, sorted({r.origin.path for r in bundle.rules}))
    tests_rel = rules_rel.replace("/rules/", "/tests/", 1)
    region = (spec.regions or list(bundle.regions))[0]
    case = _case(spec, config.fields[spec.field], region, {c.name for c in bundle.tests})
    rules_file = _appended(root, rules_rel, "rules", rule, RULE_FLOW, "")
    tests_file = _appended(root, tests_rel, "tests", case, CASE_FLOW, _case_comment(spec.id))
    changed = dict(loaded)
    for written, kind in ((rules_file, "rules"), (tests_file, "tests")):
        source = SourceFile(written.path, kind, bundle_name)
        changed[written.path] = Loaded(source, written.after.encode())
        if written.path not in loaded:
            selection.files.append(source)
    parse_all({w.path: changed[w.path] for w in (rules_file, tests_file)}, None)
    after = analyse(selection, changed)
    known = {(f.code, f.path, f.message) for f in before.findings}
    new = [f for f in after.findings if (f.code, f.path, f.message) not in known]
    errors = [f for f in new if f.severity is Severity.ERROR]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ChecksFailedError(
            f"the new rule does not validate: {errors[0]}{more}; nothing written"
        )
    decision = compile_bundle(after.bundles[bundle_name], config, region).decide(case["item"])
    if spec.id in decision.matched:
        # The rule matches its placeholder (`ne`, `not_in`, a regex that finds TODO): without
        # the field no test of one field matches but `exists: false`, which needs the field.
        case["item"] = {}
        tests_file = _appended(root, tests_rel, "tests", case, CASE_FLOW, _case_comment(spec.id))
    done = Authored(
        bundle_name,
        [rules_file, tests_file],
        dry_run,
        rule=rule,
        case=case["name"],
        warnings=[f for f in new if f.severity is not Severity.ERROR],
        next_step=f"modctl test {bundle_name}",
    )
    if not dry_run:
        _write(root, done.files, "run modctl new rule again")
    return done


def _analysed(root: Path, bundle_name: str) -> tuple[Selection, dict[str, Loaded], Analysis]:
    """The bundle's files as `validate` reads them, and what it finds; refused when the bundle
    is not there or does not pass its schemas."""
    known = bundle_names(root)
    if bundle_name not in known:
        raise UnknownBundleError(
            f"no bundle named {bundle_name!r} in strategies/{suggest(bundle_name, known)} "
            f"(bundles: {', '.join(known) or 'none'}); `modctl new bundle {bundle_name}` makes one"
        )
    selection = select(root, [root / "strategies" / bundle_name])
    loaded = read_all(selection.root, selection.files)
    parse_all(loaded, None)
    analysis = analyse(selection, loaded)
    if analysis.config is None or bundle_name not in analysis.bundles:
        errors = [f for f in analysis.findings if f.severity is Severity.ERROR]
        first = f"; the first: {errors[0]}" if errors else ""
        raise ChecksFailedError(
            f"strategies/{bundle_name} does not validate ({len(errors)} "
            f"error{'' if len(errors) == 1 else 's'}{first}); fix it "
            "before adding a rule (`modctl validate` lists them all)"
        )
    return selection, loaded, analysis


def _write(root: Path, files: list[Written], again: str) -> None:
    """Write every file, after checking that none of those that exist is read-only."""
    for written in files:
        if not written.created:
            writing.check_writable(inside(root, written.path), written.path, again)
    for written in files:
        path = inside(root, written.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        writing.replace(path, _bytes(path, written), written.path)


def _rule(spec: RuleSpec, config: Config, served: tuple[str, ...]) -> dict[str, Any]:
    """The rule as data, after checking its field, operator, action and regions."""
    kind = config.fields.get(spec.field)
    if kind is None:
        raise UsageError(
            f"--field {spec.field}: modctl.yaml declares no such field"
            f"{suggest(spec.field, config.fields)} (fields: {', '.join(config.fields)})"
        )
    if spec.op not in OPERATOR_TYPES:
        raise UsageError(
            f"--op {spec.op}: no such operator{suggest(spec.op, OPERATOR_TYPES)} "
            f"(operators: {', '.join(OPERATOR_TYPES)})"
        )
    if kind not in OPERATOR_TYPES[spec.op]:
        fits = [op for op, kinds in OPERATOR_TYPES.items() if kind in kinds]
        raise UsageError(
            f"--op {spec.op} does not apply to {spec.field}, a {kind} field; "
            f"for a {kind} field: {', '.join(fits)}"
        )
    if spec.action not in ACTIONS:
        raise UsageError(
            f"--action {spec.action}: no such action{suggest(spec.action, ACTIONS)} "
            f"(actions: {', '.join(ACTIONS)})"
        )
    if spec.action == "review" and not spec.queue:
        raise UsageError("--action review needs --queue NAME: the review queue it sends to")
    if spec.queue and spec.action != "review":
        raise UsageError(f"--queue goes with --action review, not --action {spec.action}")
    for region in spec.regions:
        if region not in served:
            raise UsageError(
                f"region {region!r} is not served by the bundle{suggest(region, served)} "
                f"(regions: {', '.join(served)})"
            )
    rule: dict[str, Any] = {"id": spec.id}
    if spec.description:
        rule["description"] = spec.description
    if spec.severity:
        rule["severity"] = spec.severity
    if spec.regions:
        rule["regions"] = spec.regions
    rule["when"] = {"field": spec.field, spec.op: _value(spec.op, kind, spec.value)}
    rule["action"] = spec.action
    if spec.queue:
        rule["queue"] = spec.queue
    return rule


def _value(op: str, kind: str, raw: str) -> Any:
    """--value as the operator takes it: a regex, or text compared with a text field, as
    written; anything else read as one YAML value (`0.3`, `true`, `[a, b]`, `{list: NAME}`).
    For `in`, `not_in` and `contains_any` one value stands for a list of one (as written, for
    a text field)."""
    if op == "matches":
        return yamledit.quoted(raw)
    if op in ("eq", "ne") and kind in TEXT_TYPES:
        return raw
    try:
        value = yamlio.loads(raw)
    except yamlio.YamlError as exc:
        raise UsageError(f"--value {raw!r} is not one YAML value: {exc.message}") from None
    if op in ("in", "not_in", "contains_any") and not isinstance(value, dict | list):
        value = [raw if kind in TEXT_TYPES else value]
    return value


def _rules_file(bundle: str, given: str | None, existing: list[str]) -> str:
    """The rules file to append to, as a repository path."""
    prefix = f"strategies/{bundle}/"
    if given is None:
        if len(existing) > 1:
            shown = ", ".join(p.removeprefix(prefix) for p in existing)
            raise UsageError(
                f"bundle {bundle} has {len(existing)} rules files ({shown}); name one with "
                "--file rules/NAME.yaml"
            )
        return existing[0] if existing else f"{prefix}rules/main.yaml"
    rel = given.removeprefix(prefix)
    parts = rel.split("/")
    if len(parts) != 2 or parts[0] != "rules" or not parts[1].endswith((".yaml", ".yml")):
        raise UsageError(f"--file {given}: a rules file is rules/NAME.yaml in the bundle's folder")
    check_name("rules file name", parts[1].rsplit(".", 1)[0])
    return prefix + rel


PLACEHOLDERS: dict[str, Any] = {
    "string": "TODO",
    "number": 0,
    "integer": 0,
    "boolean": False,
    "string_list": ["TODO"],
    "phash": "0000000000000000",
}


def _case(spec: RuleSpec, kind: str, region: str, names: set[str]) -> dict[str, Any]:
    """A test case for the rule whose item holds the rule's field with a placeholder of its
    type, for the author to replace with a listing the rule matches; until then it fails."""
    name = f"{spec.id} matches"
    number = 2
    while name in names:
        name, number = f"{spec.id} matches ({number})", number + 1
    item: Any = PLACEHOLDERS[kind]
    for part in reversed(spec.field.split(".")):
        item = {part: item}
    return {
        "name": name,
        "region": region,
        "item": item,
        "expect": {"action": spec.action, "rules": [spec.id]},
    }


def _case_comment(rule_id: str) -> str:
    return (
        f"# TODO: make the item a listing that {rule_id} should match (the fields its\n"
        "# condition reads) and check the expected action; this case fails until then.\n"
    )


def _appended(
    root: Path, rel: str, kind: str, value: dict[str, Any], flow: frozenset[str], lead: str
) -> Written:
    """The file at `rel` with `value` as its last item: appended through `yamledit`, or a new
    file; read back, it must hold what it held and `value` after it."""
    item = lead + yamledit.block_item(value, flow)
    path = inside(root, rel)
    if not path.exists():
        text = _schema_line(root, kind, 3) + item
        return Written(rel, text)
    before = yamlio.read_text(path)
    doc = yamledit.Document(before)
    try:
        doc.append_item(item)
    except yamledit.EditError as exc:
        raise RefusedError(
            f"{rel}: {exc.message}; modctl cannot add to it in place: add the rule by hand, or "
            "name another file with --file"
        ) from None
    old = yamlio.loads(before)
    try:
        reread = yamlio.loads(doc.text)
    except yamlio.YamlError:
        reread = None
    if reread != [*old, value]:
        raise RefusedError(
            f"{rel}: modctl could not append to it without changing what it holds; add the "
            "rule by hand, or name another file with --file"
        )
    return Written(rel, doc.text, before, created=False)


def _bytes(path: Path, written: Written) -> bytes:
    """The new text as the file's bytes, with the byte order mark it had."""
    bom = "\ufeff".encode()
    had = path.exists() and path.read_bytes().startswith(bom)
    return (bom if had else b"") + written.after.encode()
