"""Run the forge invariant suites (tests/forge) and write bench/results/invariants.json.

The JSON holds {"steps": random calls made across the invariant tests of every suite,
"failures": failed tests, "tool": "forge <version>", "suites": per suite its steps, and per
test: status, runs, calls, reverts (and the reason of a failure)}. The seed is fixed, so the
file only changes when the suites do; wall times are printed, not written, so that a test
run leaves the tracked file as it was.
Exits 1 if a test failed or none ran, 2 if forge is missing or its output cannot be read.

Usage:
    python scripts/invariants.py [--match-path tests/forge/TokenInvariants.t.sol]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "invariants.json"


def find_forge() -> str | None:
    """$FORGE, else npm's native package, else its node_modules/.bin link, else PATH."""
    candidates = [os.environ.get("FORGE", "")]
    candidates += sorted(str(p) for p in ROOT.glob("node_modules/@foundry-rs/forge-*/bin/forge"))
    candidates += [str(ROOT / "node_modules" / ".bin" / "forge"), shutil.which("forge") or ""]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def forge_version(forge: str) -> str:
    out = subprocess.run([forge, "--version"], capture_output=True, text=True, check=True)
    match = re.search(r"Version:\s*(\S+)", out.stdout)
    return f"forge {match.group(1) if match else out.stdout.strip()}"


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """Reduce `forge test --json` output to steps, failures and per-test figures."""
    suites: dict[str, Any] = {}
    steps = failures = 0
    for suite, data in sorted(report.items()):
        tests: dict[str, Any] = {}
        suite_steps = 0
        for name, result in sorted(data.get("test_results", {}).items()):
            entry: dict[str, Any] = {"status": str(result.get("status", "?")).lower()}
            kind = result.get("kind") or {}
            if "Invariant" in kind:
                inv = kind["Invariant"]
                entry.update(runs=inv["runs"], calls=inv["calls"], reverts=inv["reverts"])
                suite_steps += inv["calls"]
            if entry["status"] == "failure":
                failures += 1
                entry["reason"] = result.get("reason")
            tests[name] = entry
        steps += suite_steps
        suites[suite] = {"steps": suite_steps, "tests": tests}
    return {"steps": steps, "failures": failures, "suites": suites}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--match-path", help="only suites in files matching this glob")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)

    forge = find_forge()
    if forge is None:
        print("forge not found: run `make setup` (npm @foundry-rs/forge-*)", file=sys.stderr)
        return 2
    cmd = [forge, "test", "--json"]
    if args.match_path:
        cmd += ["--match-path", args.match_path]
    started = time.monotonic()
    # stdout is one JSON document; failures are also logged as JSON lines on stderr.
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(proc.stdout + proc.stderr)
        if proc.returncode == 0 and "No tests" in proc.stdout:
            return 1  # a --match-path that matches nothing is a mistake, not a pass
        print(f"forge exited {proc.returncode} without a JSON report", file=sys.stderr)
        return 2

    result = {"tool": forge_version(forge), **summarize(report)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    for suite, data in result["suites"].items():
        for name, test in data["tests"].items():
            calls = ""
            if "calls" in test:
                calls = f"  calls {test['calls']:,}, reverts {test['reverts']:,}"
            print(f"{test['status'].upper():<8}{suite.split(':')[-1]}.{name}{calls}")
            if test.get("reason"):
                print(f"        {test['reason']}")
    ran = sum(len(s["tests"]) for s in result["suites"].values())
    print(
        f"{ran} tests, {result['failures']} failed, {result['steps']:,} invariant calls "
        f"in {elapsed:.1f} s ({result['tool']}); wrote {args.out}"
    )
    if ran == 0:
        print("no forge tests ran", file=sys.stderr)
        return 1
    return 1 if result["failures"] or proc.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
