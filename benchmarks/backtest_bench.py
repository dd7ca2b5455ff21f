"""Time `modctl backtest` against a straightforward Python evaluation of the same bundle.

    python benchmarks/backtest_bench.py [--rows 1000000] [--rules 1000] [--keywords 5000]

Builds a strategy repository whose one bundle enlarges the reference bundles to 1,000 rules and
5,000 keywords, generates labelled listings with `modctl.backtest.sample`, then prints, each beside its
baseline measured in the same run:
  - listings per second of `modctl backtest` (one job, then --jobs N for every CPU, then one job
    on the same listings with every title and description made distinct);
  - listings per second of a per-rule, per-keyword evaluation of the same rules (on the first
    20,000 listings), the way one would write it without an automaton or rule index.
Generated files are kept under benchmarks/.work/ and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
NAIVE_ROWS = 2_000
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "ve",
    "zu",
    "po",
    "ni",
    "ta",
    "sen",
    "dor",
    "gal",
    "fi",
    "ro",
    "bel",
    "tra",
    "vin",
    "cor",
    "mar",
    "lux",
]


def build_repo(root: Path, rules: int, keywords: int, seed: int = 11) -> None:
    """One bundle `bench`: every reference rule once, then the rules built on keyword lists
    repeated over generated keyword groups (which also hold the real brands), as a strategy
    grows when it covers more brands and phrasings."""
    from modctl.source.scaffold import reference_root
    from modctl.source.workspace import load

    rng = random.Random(seed)
    reference = reference_root()
    shutil.rmtree(root, ignore_errors=True)
    (root / "strategies" / "bench" / "rules").mkdir(parents=True)
    (root / "strategies" / "bench" / "lists").mkdir()
    shutil.copy2(reference / "modctl.yaml", root / "modctl.yaml")
    workspace = load(reference)
    templates = [r for b in workspace.bundles.values() for r in b.rules]
    source_lists = {lst.name: lst for b in workspace.bundles.values() for lst in b.lists}
    lists_dir = root / "strategies" / "bench" / "lists"
    groups = _keyword_groups(lists_dir, source_lists, keywords, rng)
    used_lists: set[str] = set()
    keyworded = [
        t
        for t in templates
        if "contains_any" in json.dumps(t.when) and _uses_keywords(t.when, source_lists)
    ]
    plan = templates + [keyworded[i % len(keyworded)] for i in range(rules - len(templates))]
    out = []
    for i, template in enumerate(plan):
        group = f"kw-{i % groups:03d}"
        if i < len(templates):
            when = template.when
            used_lists |= set(_lists_in(when))
        else:
            when = _retarget(template.when, source_lists, group, used_lists)
        rule: dict[str, Any] = {
            "id": f"{template.id}-{i:04d}",
            "when": when,
            "action": template.action,
        }
        if template.params:
            rule["params"] = template.params
        if template.regions:
            rule["regions"] = list(template.regions)
        if template.queue:
            rule["queue"] = template.queue
        if template.mode != "enforce":
            rule["mode"] = template.mode
        out.append(rule)
    (root / "strategies" / "bench" / "rules" / "rules.yaml").write_text(
        json.dumps(out, ensure_ascii=False, indent=1)
    )
    for name in sorted(used_lists):
        lst = source_lists[name]
        body: dict[str, Any] = {"name": name, "kind": lst.kind}
        if lst.kind == "map":
            body["entries"] = lst.entries
        else:
            body["items"] = list(lst.items)
        (lists_dir / f"{name}.yaml").write_text(json.dumps(body, ensure_ascii=False))
    (root / "strategies" / "bench" / "bundle.yaml").write_text("name: bench\n")


def _keyword_groups(folder: Path, lists: dict[str, Any], keywords: int, rng: random.Random) -> int:
    """Write `keywords` keywords (the reference brands and phrases, plus made-up brand names) as
    lists of 100; return how many lists."""
    real = sorted({str(i) for lst in lists.values() if lst.kind == "keywords" for i in lst.items})
    per_list = 100
    groups = max(1, keywords // per_list)
    synthetic: set[str] = set()
    while len(synthetic) < keywords - len(real):
        synthetic.add(" ".join("".join(rng.sample(SYLLABLES, 3)) for _ in range(rng.randint(1, 2))))
    pool = sorted(synthetic) + real
    rng.shuffle(pool)
    for g in range(groups):
        items = pool[g * per_list : (g + 1) * per_list]
        body = {"name": f"kw-{g:03d}", "kind": "keywords", "items": items}
        (folder / f"kw-{g:03d}.yaml").write_text(json.dumps(body, ensure_ascii=False))
    return groups


def _lists_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("list", "lookup"):
                yield value
            else:
                yield from _lists_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _lists_in(value)


def _uses_keywords(node: Any, lists: dict[str, Any]) -> bool:
    if isinstance(node, dict):
        if set(node) == {"list"}:
            return bool(lists[node["list"]].kind == "keywords")
        return any(_uses_keywords(v, lists) for v in node.values())
    if isinstance(node, list):
        return any(_uses_keywords(v, lists) for v in node)
    return False


def _retarget(node: Any, lists: dict[str, Any], group: str, used: set[str]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"list"}:
            name = node["list"]
            if lists[name].kind == "keywords":
                return {"list": group}
            used.add(name)
            return node
        if "lookup" in node:
            used.add(node["lookup"])
        return {k: _retarget(v, lists, group, used) for k, v in node.items()}
    if isinstance(node, list):
        return [_retarget(v, lists, group, used) for v in node]
    return node


# ---------------------------------------------------------------------------- straightforward


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _value(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _has_keyword(text: str, keyword: str) -> bool:
    start = text.find(keyword)
    while start != -1:
        end = start + len(keyword)
        before = start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_")
        after = end == len(text) or not (text[end].isalnum() or text[end] == "_")
        if before and after:
            return True
        start = text.find(keyword, start + 1)
    return False


class Naive:
    """Walks each rule's condition for each listing and loops over every keyword."""

    def __init__(self, bundle: Any, config: Any) -> None:
        self.bundle = bundle
        self.config = config
        self.lists = {lst.name: lst for lst in bundle.lists}

    def resolve(self, rule: Any, value: Any, item: dict[str, Any]) -> Any:
        if isinstance(value, dict) and "param" in value:
            return rule.params[value["param"]]
        if isinstance(value, dict) and "list" in value:
            lst = self.lists[value["list"]]
            return list(lst.items)
        if isinstance(value, dict) and "lookup" in value:
            base = self.lists[value["lookup"]].entries.get(_value(item, value["key"]))
            if base is None:
                return None
            return base * float(self.resolve(rule, value.get("times", 1), item))
        return value

    def test(self, rule: Any, node: dict[str, Any], item: dict[str, Any]) -> bool:
        if "all" in node:
            return all(self.test(rule, c, item) for c in node["all"])
        if "any" in node:
            return any(self.test(rule, c, item) for c in node["any"])
        if "not" in node:
            return not self.test(rule, node["not"], item)
        op = next(k for k in node if k != "field")
        value = _value(item, node["field"])
        if op == "exists":
            return (value is not None) is node[op]
        if value is None:
            return False
        if op == "contains_any":
            if isinstance(value, list):
                wanted = {_norm(str(v)) for v in self.resolve(rule, node[op], item)}
                return any(isinstance(v, str) and _norm(v) in wanted for v in value)
            text = _norm(value) if isinstance(value, str) else ""
            return any(
                _has_keyword(text, _norm(str(k))) for k in self.resolve(rule, node[op], item)
            )
        if op == "matches":
            return isinstance(value, str) and re.search(node[op], value) is not None
        if op == "within_distance":
            target = node[op]["value"]
            hashes = self.resolve(rule, target, item) if isinstance(target, dict) else [target]
            limit = self.resolve(rule, node[op]["max"], item)
            return any(bin(int(value, 16) ^ int(h, 16)).count("1") <= limit for h in hashes)
        right = self.resolve(rule, node[op], item)
        if op in ("in", "not_in"):
            return (value in right) is (op == "in")
        if right is None:
            return False
        return {
            "eq": lambda: value == right,
            "ne": lambda: value != right,
            "lt": lambda: value < right,
            "lte": lambda: value <= right,
            "gt": lambda: value > right,
            "gte": lambda: value >= right,
        }[op]()

    def decide(self, item: dict[str, Any]) -> str:
        matched = [
            r
            for r in self.bundle.rules
            if (r.regions is None or item["region"] in r.regions) and self.test(r, r.when, item)
        ]
        enforce = [r.action for r in matched if r.mode == "enforce"]
        order = self.bundle.precedence
        return min(enforce, key=order.index) if enforce else "none"


def naive_rate(root: Path, data: Path) -> tuple[float, float, float]:
    """Listings per second of the straightforward evaluation, and how often modctl's engines
    agree with it on the same listings (row evaluator, batch evaluator): a correctness check of
    the comparison."""
    from modctl.backtest.data import Reader
    from modctl.engine.columnar import BatchEvaluator, Columns
    from modctl.engine.compiler import compile_bundle
    from modctl.source.workspace import load

    workspace = load(root, ["bench"])
    bundle = workspace.bundle("bench")
    naive = Naive(bundle, workspace.config)
    with data.open() as handle:
        lines = list(islice(handle, NAIVE_ROWS))
    rows = [json.loads(line) for line in lines]
    start = time.perf_counter()
    naive_actions = [naive.decide(row) for row in rows]
    elapsed = time.perf_counter() - start
    evaluators = {r: compile_bundle(bundle, workspace.config, r) for r in workspace.config.regions}
    row_agree = sum(
        evaluators[row["region"]].decide(row).action == a
        for row, a in zip(rows, naive_actions, strict=True)
    )
    head = WORK / "head.jsonl"
    head.write_text("".join(lines))
    batch = BatchEvaluator(bundle, workspace.config)
    reader = Reader(head, workspace.config.fields, set(workspace.config.regions))
    batch_actions = [
        batch.actions[code]
        for part in reader.batches()
        for code in batch.decide(Columns(part.table, part.region_codes)).action.tolist()
    ]
    batch_agree = sum(a == b for a, b in zip(batch_actions, naive_actions, strict=True))
    return len(rows) / elapsed, row_agree / len(rows), batch_agree / len(rows)


def unique_text(data: Path) -> Path:
    """The same listings with a distinct number appended to every title and description: no
    text repeats, so nothing is saved by scanning each distinct value once."""
    out = data.with_name(data.stem + "-unique.jsonl")
    if not out.exists():
        with data.open("rb") as source, out.open("w", encoding="utf-8") as sink:
            for i, line in enumerate(source):
                row = json.loads(line)
                for name in ("title", "description"):
                    if isinstance(row.get(name), str):
                        row[name] += f" {i:07d}"
                sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


def distinct_titles(data: Path) -> float:
    with data.open("rb") as handle:
        titles = [json.loads(line).get("title") for line in handle]
    return len(set(titles)) / len(titles)


def backtest_rate(root: Path, data: Path, jobs: int) -> tuple[float, int]:
    modctl = shutil.which("modctl") or sys.exit("modctl is not installed")
    start = time.perf_counter()
    done = subprocess.run(
        [
            modctl,
            "--repo",
            str(root),
            "backtest",
            "bench",
            "--data",
            str(data),
            "--jobs",
            str(jobs),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(done.stderr)
    rows = json.loads(done.stdout)["rows"]
    return rows / elapsed, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--keywords", type=int, default=5000)
    args = parser.parse_args()
    from modctl.backtest import sample

    WORK.mkdir(exist_ok=True)
    root = WORK / f"repo-{args.rules}-{args.keywords}"
    build_repo(root, args.rules, args.keywords)
    data = WORK / f"listings-{args.rows}.jsonl"
    if not data.exists():
        sample.write(data, args.rows, seed=3)
    size = data.stat().st_size
    cpus = os.cpu_count() or 1
    print(
        f"bundle: {args.rules} rules, {args.keywords} keywords; data: {args.rows:,} listings, {size / 1e6:.0f} MB; {cpus} CPUs"
    )
    one, _rows = backtest_rate(root, data, 1)
    many, _ = backtest_rate(root, data, cpus)
    unique = unique_text(data)
    worst, _ = backtest_rate(root, unique, 1)
    naive, row_agreement, batch_agreement = naive_rate(root, data)
    print(f"{'measure':44}  {'listings/s':>11}  {'baseline/s':>11}  ratio   target")
    print(
        f"{'backtest, 1 job (whole run, wall clock)':44}  {one:11,.0f}  {'':>11}  {'':5}   >= 100,000"
    )
    print(
        f"{'backtest, 1 job, no text repeated':44}  {worst:11,.0f}  {one:11,.0f}  {worst / one:5.2f}x"
    )
    print(
        f"{'backtest, 1 job vs straightforward Python':44}  {one:11,.0f}  {naive:11,.0f}  {one / naive:5.0f}x  >= 50x"
    )
    print(
        f"{f'backtest, --jobs {cpus} vs 1 job':44}  {many:11,.0f}  {one:11,.0f}  {many / one:5.2f}x  near {cpus}x"
    )
    print(
        f"straightforward evaluation ran on the first {NAIVE_ROWS:,} listings; the row evaluator "
        f"agreed with it on {row_agreement:.2%} of them, the batch evaluator on {batch_agreement:.2%}"
    )
    print(f"distinct titles: {distinct_titles(data):.1%} of the listings")


if __name__ == "__main__":
    main()
