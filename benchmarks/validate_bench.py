"""Time `modctl validate` against check-jsonschema on the same generated strategy repository.

    python benchmarks/validate_bench.py [--rules 10000] [--files 200] [--repeat 3]

Generates a repository of about 10 MB of YAML (200 files, 10,000 rules), then prints, each beside
its baseline measured in the same run:
  - check-jsonschema (schema checks only) vs modctl validate cold (schema + semantic checks);
  - modctl validate warm (files unchanged since the last run);
  - CLI start-up: `modctl --version` vs a one-command Typer app.
Needs check-jsonschema on PATH (it is in the test extra).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
KINDS = {
    "config": ["modctl.yaml"],
    "bundle": ["strategies/*/bundle.yaml"],
    "rules": ["strategies/*/rules/*.yaml"],
    "list": ["strategies/*/lists/*.yaml"],
    "tests": ["strategies/*/tests/*.yaml"],
}
BRANDS = [
    "gucci",
    "louis vuitton",
    "chanel",
    "hermes",
    "prada",
    "rolex",
    "omega",
    "cartier",
    "nike",
    "adidas",
    "supreme",
    "off-white",
    "ray-ban",
    "dyson",
    "pandora",
    "swarovski",
    "balenciaga",
    "dior",
    "burberry",
    "moncler",
    "tissot",
    "longchamp",
    "coach",
    "michael kors",
    "lego",
]
REGIONS = ["SG", "MY", "TH", "ID", "PH", "VN", "GB", "US"]
CATEGORIES = ["bags", "watches", "shoes", "apparel", "jewelry", "eyewear", "toys", "electronics"]


def generate(root: Path, rules: int, files: int, seed: int = 7) -> int:
    """Write the repository; return its size in bytes."""
    rng = random.Random(seed)
    shutil.copy2(PROJECT / "modctl.yaml", root / "modctl.yaml")
    bundles = max(1, files // 20)
    per_bundle_files = files // bundles - 5  # bundle.yaml, 2 lists, 2 test files
    rules_per_file = max(1, rules // (bundles * per_bundle_files))
    for b in range(bundles):
        name = f"bench-{b:02d}"
        base = root / "strategies" / name
        (base / "rules").mkdir(parents=True)
        (base / "lists").mkdir()
        (base / "tests").mkdir()
        (base / "bundle.yaml").write_text(
            f"name: {name}\ndescription: generated bundle {b}\nowner: bench@example.com\n"
            f"regions: [{', '.join(REGIONS)}]\n"
        )
        keywords = sorted({f"{rng.choice(BRANDS)} {rng.randrange(10**6)}" for _ in range(800)})
        (base / "lists" / "brands.yaml").write_text(
            "name: brands\nkind: keywords\nitems:\n" + "".join(f"  - {k}\n" for k in keywords)
        )
        prices = {brand: rng.randrange(50, 5000) for brand in BRANDS}
        (base / "lists" / "reference-price.yaml").write_text(
            "name: reference-price\nkind: map\nentries:\n"
            + "".join(f"  {json.dumps(k)}: {v}\n" for k, v in prices.items())
        )
        ids = []
        for f in range(per_bundle_files):
            chunk = []
            for r in range(rules_per_file):
                rule_id = f"{name}-r{f:03d}-{r:03d}"
                ids.append(rule_id)
                regions = ", ".join(rng.sample(REGIONS, 3))
                cats = ", ".join(rng.sample(CATEGORIES, 4))
                chunk.append(
                    f"""- id: {rule_id}
  description: Brand keyword with a price far below reference in {cats}, generated rule {r}
  severity: {rng.choice(["low", "medium", "high", "critical"])}
  regions: [{regions}]
  params: {{max_price_ratio: {rng.choice([0.2, 0.3, 0.4])}, min_strikes: {rng.randrange(1, 5)}, max_hamming: 6}}
  when:
    all:
      - {{field: title, contains_any: {{list: brands}}}}
      - {{field: price, lt: {{lookup: reference-price, key: brand, times: {{param: max_price_ratio}}}}}}
      - any:
          - {{field: description, matches: "(?i)\\\\b(replica|1:1|aaa grade|mirror quality)\\\\b"}}
          - {{field: seller.ipr_strikes, gte: {{param: min_strikes}}}}
          - {{field: image_phash, within_distance: {{value: "{rng.getrandbits(64):016x}", max: {{param: max_hamming}}}}}}
          - {{field: category, in: [{cats}]}}
      - not: {{field: seller.id, in: [S-SG-{rng.randrange(10**6):06d}, S-MY-{rng.randrange(10**6):06d}]}}
  action: {rng.choice(["takedown", "limit", "warn"])}
  tags: [counterfeit, generated]
"""
                )
            (base / "rules" / f"rules-{f:03d}.yaml").write_text("".join(chunk))
        for t in range(2):
            named = ids[t::2]
            (base / "tests" / f"cases-{t}.yaml").write_text(
                f"""- name: generated case {t}
  region: SG
  item: {{title: gucci 1, price: 1, brand: gucci}}
  expect:
    action: takedown
    rules: [{", ".join(named)}]
"""
            )
    return sum(p.stat().st_size for p in root.rglob("*.yaml"))


def timed(command: list[str], cwd: Path, expect: int = 0) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != expect:
        sys.exit(
            f"{' '.join(command[:3])} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return elapsed


def best(
    command: list[str], cwd: Path, repeat: int, setup: Callable[[], None] | None = None
) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        times.append(timed(command, cwd))
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    modctl = shutil.which("modctl") or sys.exit(
        "modctl is not installed (pip install -e '.[test]')"
    )
    checker = shutil.which("check-jsonschema") or sys.exit("check-jsonschema is not installed")

    with tempfile.TemporaryDirectory(prefix="modctl-bench-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        schemas = Path(tmp) / "schemas"
        schemas.mkdir()
        size = generate(root, args.rules, args.files)
        # The parse cache lives in the git directory: without one, modctl runs uncached.
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        files = {
            kind: sorted(str(p) for g in globs for p in root.glob(g))
            for kind, globs in KINDS.items()
        }
        count = sum(len(v) for v in files.values())
        for kind in KINDS:
            (schemas / f"{kind}.json").write_text(
                subprocess.run(
                    [modctl, "schema", kind], capture_output=True, text=True, check=True
                ).stdout
            )
        print(
            f"repository: {count} files, {args.rules} rules, {size / 1e6:.1f} MB of YAML, {os.cpu_count()} CPUs"
        )

        def check_jsonschema() -> float:
            total = 0.0
            for kind, paths in files.items():
                total += timed(
                    [checker, "--schemafile", str(schemas / f"{kind}.json"), *paths], root
                )
            return total

        baseline = check_jsonschema()
        cache = root / ".git" / "modctl" / "cache"
        cold = best([modctl, "validate"], root, args.repeat, lambda: shutil.rmtree(cache, True))
        no_cache = best([modctl, "validate", "--no-cache"], root, args.repeat)
        timed([modctl, "validate"], root)  # fills the cache
        warm = best([modctl, "validate"], root, args.repeat)
        edited = next(root.glob("strategies/*/rules/*.yaml"))
        edits = iter(range(10**6))

        def edit() -> None:
            with edited.open("a") as handle:
                handle.write(f"# edit {next(edits)}\n")

        one_edit = best([modctl, "validate"], root, args.repeat, edit)

        app = Path(tmp) / "floor.py"
        app.write_text(
            "import typer\napp = typer.Typer()\n@app.command()\ndef main() -> None:\n    pass\napp()\n"
        )
        floor = best([sys.executable, str(app), "--help"], root, args.repeat * 3)
        version = best([modctl, "--version"], root, args.repeat * 3)
        helptext = best([modctl, "--help"], root, args.repeat * 3)

    check = "check-jsonschema (schema only)"
    typer_floor = "one-command Typer app --help"
    rows = [
        ("validate, fresh checkout (schema + semantics)", cold, check, baseline, "<= 0.10"),
        ("validate --no-cache", no_cache, check, baseline, "<= 0.10"),
        ("validate, one file edited since last run", one_edit, check, baseline, ""),
        ("validate, nothing changed since last run", warm, check, baseline, "< 1 s"),
        ("modctl --version", version, typer_floor, floor, "near 1"),
        ("modctl --help", helptext, typer_floor, floor, "near 1"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'modctl':>8}  {'baseline':>8}  ratio   target  baseline is")
    for name, ours, base_name, base, target in rows:
        print(
            f"{name.ljust(width)}  {ours:7.3f}s  {base:7.3f}s  {ours / base:5.3f}  {target:>7}  {base_name}"
        )


if __name__ == "__main__":
    main()
