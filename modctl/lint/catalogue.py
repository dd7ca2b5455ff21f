"""The stable catalogue of validation codes (`modctl validate --explain CODE`).

Codes never change meaning once released; retired codes (`RETIRED`) are not reused.
Y: reading YAML, S: JSON Schema, C: modctl.yaml, B: bundles and lists, R: rules, T: test cases,
H: hot-patches on the state branch, P: playbooks.
"""

from __future__ import annotations

from modctl.errors import UsageError, suggest
from modctl.findings import Check, Finding, Pointer, Severity

E, W = Severity.ERROR, Severity.WARNING

CHECKS: dict[str, Check] = {
    c.code: c
    for c in [
        Check(
            "Y001",
            E,
            "invalid YAML",
            "The file is not well-formed YAML. Fix the syntax at the reported line and column.",
        ),
        Check(
            "Y002",
            E,
            "duplicate key",
            "A mapping repeats a key. YAML libraries silently keep the last one, which hides mistakes, so modctl refuses it. Remove or rename one of the keys.",
        ),
        Check(
            "Y003",
            E,
            "anchor or alias",
            "Anchors (&name) and aliases (*name) are refused: they make files hard to review and allow alias bombs. Write the value out, or move shared values into a list.",
        ),
        Check(
            "Y004",
            E,
            "file too large",
            "Files over the size limit are refused so a mistaken or hostile file cannot exhaust memory. Split large lists into several files.",
        ),
        Check(
            "Y005",
            E,
            "not UTF-8",
            "modctl reads YAML as UTF-8. Re-save the file with UTF-8 encoding.",
        ),
        Check(
            "Y006",
            E,
            "binary file",
            "The file contains NUL bytes, so it is not YAML text. Remove it from strategies/ or playbooks/.",
        ),
        Check(
            "Y007",
            E,
            "empty file",
            "The file holds no YAML document. Add content or delete the file.",
        ),
        Check(
            "Y008", E, "tab indentation", "YAML forbids tabs for indentation. Indent with spaces."
        ),
        Check(
            "Y009", E, "non-text key", "Mapping keys must be text. Quote keys such as 1234 or true."
        ),
        Check(
            "Y010",
            E,
            "several documents",
            "A file must hold exactly one YAML document. Split the documents (separated by ---) into separate files.",
        ),
        Check(
            "Y011",
            E,
            "unreadable file",
            "The file could not be read (permissions, or it vanished). Check the path.",
        ),
        Check(
            "Y012",
            E,
            "number out of range",
            "Numbers must be finite and below 2**1023: .inf, .nan and numbers that overflow (1e999, an integer of hundreds of digits) are refused, since JSON, which artifacts are written in, has no infinity or NaN, and rules compare numbers as 64-bit floats. Write a smaller number, or quote the value if it is text.",
        ),
        Check(
            "S001",
            E,
            "schema violation",
            "The document does not match its JSON Schema (`modctl schema NAME` prints it). The message names the property and the expectation.",
        ),
        Check(
            "C001",
            E,
            "unknown region in wave",
            "A rollout wave lists a region that `regions` does not declare. Declare the region or remove it from the wave.",
        ),
        Check(
            "C002",
            E,
            "region in two waves",
            "A region may appear in one wave only, or its rollout order would be ambiguous.",
        ),
        Check(
            "C003",
            E,
            "bad wave steps",
            "A wave's steps must be strictly increasing canary weights that end at 100.",
        ),
        Check(
            "C004",
            E,
            "gate uses unknown metric",
            "A gate's numerator or denominator is not among `metrics.names`, so it could never be evaluated.",
        ),
        Check(
            "C005", E, "unknown gate", "`rollout.gates` names a gate that `gates` does not define."
        ),
        Check(
            "C006",
            W,
            "region in no wave",
            "A declared region is in no rollout wave, so no release can ever reach it.",
        ),
        Check(
            "C007",
            E,
            "field conflict",
            "A declared field cannot also hold other declared fields (`seller` and `seller.id`); `id` and `region` are strings when declared; `label` is the backtest label, not a field.",
        ),
        Check(
            "C008",
            E,
            "state branch is a source branch",
            "`state.branch` names the branch checked out in a work tree, or a branch that holds `modctl.yaml` (where bundles live). modctl moves the state branch without a checkout, so it must be a branch of its own (the default is `modctl-state`).",
        ),
        Check(
            "H001",
            W,
            "expired hot-patch",
            "A hot-patch on the state branch has expired: it no longer applies, but `deploy/` carries it until the region is written again. `modctl hotpatch expire` takes every lapsed patch off and renders `deploy/` again (run it from the scheduler that runs `rollout advance`); fold a patch that should stay into the bundle with `modctl hotpatch fold ID` and release.",
        ),
        Check(
            "C009",
            W,
            "gate without a tolerance",
            "A gate `rollout.gates` names sets neither `max_relative_increase` nor `max_absolute_increase`: the judge cannot tell an allowed increase from a bad one, so the gate stays inconclusive and `rollout advance` never promotes on it.",
        ),
        Check(
            "B001",
            E,
            "bundle.yaml missing",
            "Every folder under strategies/ is a bundle and needs a bundle.yaml.",
        ),
        Check(
            "B002",
            E,
            "bundle name mismatch",
            "`name` in bundle.yaml must equal the bundle's folder name.",
        ),
        Check(
            "B003",
            E,
            "empty bundle",
            "The bundle has no rules. Add rules under rules/ or remove the bundle.",
        ),
        Check(
            "B004", E, "duplicate list", "Two list files in one bundle declare the same list name."
        ),
        Check("B005", W, "unused list", "No rule references this list. Remove it or reference it."),
        Check(
            "B006",
            E,
            "region not declared",
            "A bundle, rule or test names a region that modctl.yaml does not declare, or a rule or test names a region outside its bundle's regions.",
        ),
        Check(
            "B007",
            W,
            "stray file",
            "A file in a bundle folder is not where modctl looks (bundle.yaml, rules/, lists/, tests/). It is ignored.",
        ),
        Check(
            "R001",
            E,
            "duplicate rule id",
            "Rule ids must be unique within a bundle; decisions and hot-patches refer to rules by id.",
        ),
        Check(
            "R002",
            E,
            "unknown field",
            "The condition reads a field that `fields` in modctl.yaml does not declare.",
        ),
        Check(
            "R003",
            E,
            "operator does not suit field type",
            "The operator cannot apply to this field's type (for example `lt` on a string, `contains_any` on a number, `within_distance` on anything but a phash).",
        ),
        Check(
            "R004",
            E,
            "unknown list",
            "The condition references a list that the bundle does not define.",
        ),
        Check(
            "R005",
            E,
            "unknown param",
            "The condition references a param that the rule's `params` does not declare.",
        ),
        Check(
            "R006",
            E,
            "wrong list kind",
            "The list's kind does not suit its use: contains_any needs keywords (or ids for a string_list field), in/not_in needs ids, within_distance needs hashes, lookup needs a map.",
        ),
        Check(
            "R007",
            E,
            "invalid regex",
            "The `matches` pattern does not compile as a Python regular expression.",
        ),
        Check(
            "R009",
            E,
            "value does not suit field type",
            "The literal or param compared with the field has the wrong type (for example a text value for a number field).",
        ),
        Check(
            "R010",
            W,
            "rule not tested",
            "No test case names this rule in `expect.rules`. Add a test case that shows the rule matching.",
        ),
        Check("R011", W, "unused param", "The rule declares a param no condition references."),
        Check(
            "R012",
            E,
            "contradictory condition",
            "Tests on one field inside the same `all` exclude each other (equal to two values, missing and present, a number above and below bounds that do not overlap), so the rule can never match.",
        ),
        Check(
            "R013",
            W,
            "overridden by an allow rule",
            "An allow rule's conditions are a subset of this rule's, in every region where this rule applies, so whenever this rule matches the allow rule does too and allow decides. Narrow the allow rule or remove this one.",
        ),
        Check(
            "R014",
            E,
            "regex the linear-time engine cannot run",
            "modctl runs every `matches` pattern in linear time (RE2), so no listing, however long or hostile, can stall test, backtest or explain. The pattern needs what only a backtracking engine does: a backreference (\\1, (?P=name)), a lookahead or lookbehind ((?=...), (?!...), (?<=...), (?<!...)), a conditional group, a possessive repeat (a*+) or an atomic group ((?>...)); or it repeats more than 1000 times, is too large once compiled, or mixes assertions one reading of the text cannot serve ((?a) and Unicode \\b; `$` outside and inside multiline mode). Rewrite it: a lookahead or a second pattern can often become another condition under `all` or `not`.",
        ),
        Check(
            "T001",
            E,
            "test names unknown rule",
            "A test case's `expect.rules` or `expect.not_rules` names a rule the bundle does not define.",
        ),
        Check(
            "T003",
            W,
            "test item field of the wrong type",
            "A test case's item gives a declared field a value of another type (a price written as text, a list where a string is declared). Rules never match such a value, so the test would pass or fail for the wrong reason.",
        ),
        Check(
            "T002",
            E,
            "duplicate test name",
            "Test case names must be unique within a bundle so failures can be told apart.",
        ),
        Check(
            "P001",
            E,
            "unknown playbook step",
            "A playbook step is none of the steps modctl runs: require, freeze, unfreeze, abort_canary, rollback, hotpatch, revert_hotpatch, verify, note. Each step is a mapping with exactly one of them as its key.",
        ),
        Check(
            "P002",
            E,
            "unknown parameter reference",
            "A step field names `${name}`, but the playbook declares no parameter of that name under `params`. `${incident}` and `${reason}` are built in: they read the run's --incident and --reason.",
        ),
        Check(
            "P003",
            E,
            "value of the wrong type for its field",
            "A step field holds a value its step cannot take: a parameter whose type does not suit the field (a `${name}` that is the whole value keeps its parameter's type: `regions` takes a region or regions parameter, `bundle` a bundle parameter, `to` a version, `expires_in` a duration), a literal that is not of the field's kind (an unknown region, a duration such as `4 hours`), a `${name}` inside a longer string where the field does not take text, or fields that do not go together (set_action review without `queue`, revert_hotpatch without `id` or `op` and `target`).",
        ),
        Check(
            "P004",
            E,
            "bad parameter declaration",
            "A parameter's default is not of its type or fails its own `pattern` or `choices`, a choice is not of the type, the pattern does not compile or cannot run in linear time, or the parameter is named `incident` or `reason`, which are built in (they read the run's --incident and --reason).",
        ),
        Check(
            "P005",
            E,
            "playbook name mismatch",
            "`name` in a playbook must equal its file name without `.yaml`: `modctl emergency run NAME` finds it by that name.",
        ),
        Check(
            "P006",
            W,
            "unused parameter",
            "The playbook declares a parameter no step field references. Remove it, or use it as `${name}`.",
        ),
    ]
}


RETIRED = {
    "R008": "catastrophic regex: retired, because modctl runs regexes in linear time (RE2) and "
    "no pattern can backtrack; R014 names the patterns the linear-time engine cannot run",
}


def named_check(code: str) -> Check:
    """The check with this code (any case), or a UsageError with a 'did you mean'."""
    check = CHECKS.get(code.upper())
    if code.upper() in RETIRED:
        raise UsageError(f"{code.upper()} ({RETIRED[code.upper()]})")
    if check is None:
        raise UsageError(
            f"no finding code {code!r}{suggest(code.upper(), CHECKS)} "
            "(docs/finding-codes.md lists every code)"
        )
    return check


def finding(
    code: str, path: str, message: str, pointer: Pointer = (), *, at_key: bool = False
) -> Finding:
    return Finding(code, CHECKS[code].severity, path, message, pointer, at_key)
