"""Time an emergency mitigation in 8 regions on a state branch with 10,000 earlier commits.

    python benchmarks/emergency_bench.py [--repeat 5]

Prints, beside the raw git plumbing the same commit needs (as a shell script, measured in the
same run), the time of:
  - `modctl emergency run disable-rule ... --yes` (when this modctl has `emergency`);
  - `modctl hotpatch apply BUNDLE --region ... disable_rule RULE` in the 8 regions.
Each run is undone (`modctl hotpatch revert`) before the next, outside the timing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rollback_bench import ENV, git, pad_history

REGIONS = ["SG", "MY", "TH", "ID", "PH", "VN", "GB", "US"]
CONFIG = f"""version: 1
regions: [{", ".join(REGIONS)}]
fields: {{title: string, price: number}}
rollout:
  waves:
    - {{name: pilot, regions: [SG], steps: [10, 100]}}
    - {{name: rest, regions: [{", ".join(REGIONS[1:])}], steps: [50, 100]}}
hotpatch: {{max_ttl: 24h}}
"""
RULES = (
    "- {id: r, when: {field: title, contains_any: [gucci]}, action: takedown}\n"
    "- {id: s, when: {field: title, contains_any: [prada]}, action: takedown}\n"
)
TESTS = "- {name: t, region: SG, item: {title: prada}, expect: {action: takedown, rules: [s]}}\n"

# What one mitigating commit costs with git alone: read each region's state, write it and its
# deploy/ file again, one tree, one commit with trailers, one compare-and-swap of the branch.
RAW = r"""set -e
ref=refs/heads/modctl-state
old=$(git rev-parse --verify -q "$ref")
export GIT_INDEX_FILE=$(mktemp -u)
git read-tree "$old"
for region in SG MY TH ID PH VN GB US; do
  state=$(git cat-file blob "$old:regions/$region/b00.yaml")
  blob=$(printf '%s\n# patched\n' "$state" | git hash-object -w --stdin)
  deploy=$(printf '{"patched": "%s"}' "$region" | git hash-object -w --stdin)
  printf '100644 %s\tregions/%s/b00.yaml\n100644 %s\tdeploy/%s/b00.json\n' \
    "$blob" "$region" "$deploy" "$region" | git update-index --index-info
done
tree=$(git write-tree)
rm -f "$GIT_INDEX_FILE"
new=$(printf 'emergency\n\nModctl-Action: emergency\nModctl-Actor: bench@example.com\n' \
  | git commit-tree "$tree" -p "$old")
git update-ref "$ref" "$new" "$old"
"""


def modctl(root: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "modctl", "--repo", str(root), *args],
        check=True,
        capture_output=True,
        env=ENV,
        text=True,
    )
    return time.perf_counter() - start, done.stdout


def build(root: Path) -> None:
    """b00 0.1.0 stable in all 8 regions."""
    root.mkdir(parents=True)
    git(root, "init", "-q")
    git(root, "config", "user.email", "bench@example.com")
    git(root, "config", "user.name", "bench")
    (root / "modctl.yaml").write_text(CONFIG)
    folder = root / "strategies" / "b00"
    (folder / "rules").mkdir(parents=True)
    (folder / "tests").mkdir()
    (folder / "bundle.yaml").write_text("name: b00\n")
    (folder / "rules" / "r.yaml").write_text(RULES)
    (folder / "tests" / "t.yaml").write_text(TESTS)
    playbooks = Path(__file__).resolve().parent.parent / "playbooks"
    if (playbooks / "disable-rule.yaml").exists():
        (root / "playbooks").mkdir()
        (root / "playbooks" / "disable-rule.yaml").write_bytes(
            (playbooks / "disable-rule.yaml").read_bytes()
        )
    git(root, "add", ".")
    git(root, "commit", "-qm", "strategies")
    modctl(root, "release", "cut", "b00", "--version", "0.1.0")
    modctl(root, "rollout", "start", "b00", "0.1.0", "--region", "SG")
    modctl(root, "rollout", "promote", "b00", "--region", "SG", "--full", "--force")
    modctl(root, "rollout", "start", "b00", "0.1.0")
    for region in REGIONS[1:]:
        modctl(root, "rollout", "promote", "b00", "--region", region, "--full", "--force")


def revert_all(root: Path) -> None:
    _, out = modctl(root, "hotpatch", "list", "-o", "json")
    for row in json.loads(out)["hotpatches"]:
        modctl(root, "hotpatch", "revert", row["id"])


def timed(root: Path, args: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        took, _ = modctl(root, *args)
        times.append(took)
        revert_all(root)
        time.sleep(1.0)  # a new second: the next patch gets a new id
    return min(times)


def raw(root: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(["bash", "-c", RAW], cwd=root, check=True, capture_output=True, env=ENV)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modctl-emergency-") as tmp:
        root = Path(tmp) / "repo"
        build(root)
        pad_history(root, 10_000)
        journal = ["--incident", "INC-1", "--reason", "bench"]
        results: dict[str, float] = {}
        emergency = subprocess.run(
            [sys.executable, "-m", "modctl", "emergency", "--help"],
            check=False,
            capture_output=True,
            env=ENV,
        )
        if emergency.returncode == 0:
            command = ["emergency", "run", "disable-rule", "-p", "bundle=b00", "-p", "rule=r"]
            results["emergency run disable-rule, 8 regions"] = timed(
                root, [*command, *journal, "--yes"], args.repeat
            )
        regions = [word for region in REGIONS for word in ("--region", region)]
        results["hotpatch apply disable_rule, 8 regions"] = timed(
            root, ["hotpatch", "apply", "b00", *regions, "disable_rule", "r", *journal], args.repeat
        )
        baseline = raw(Path(root), args.repeat)
    print("10,000 earlier state commits, 8 regions; best of", args.repeat)
    print(f"  {'raw git plumbing for the same commit':44s} {baseline:7.3f} s")
    for name, took in results.items():
        print(f"  {name:44s} {took:7.3f} s   {took / baseline:5.1f}x raw git")


if __name__ == "__main__":
    main()
