"""Where the benchmarks' time goes: `.venv/bin/python bench/profile.py [e2e] [sdk]`, under py-spy.

Runs a throughput benchmark (`e2e` or `sdk`, the bulk post) under py-spy and sorts the
samples of its timed part into categories, walking each stack from the leaf frame up to the
first frame that matches one (`CATEGORIES`, in that order per frame). Each run is done twice:
once with ``--idle`` (every sample, so shares of wall time, waits included) and once
without (on-CPU samples only). Anvil is not Python: its CPU time over the timed part comes
from ``/proc/<pid>/stat``, as does the machine's total.

Only samples inside the benchmark's timed part count: those whose ``measure`` frame is on a
line between the benchmark's start and end markers. The timed part's wall and CPU clocks are
read by a stand-in for the benchmark module's ``time`` whose ``perf_counter`` also reads
/proc; the benchmark's own code is not changed. Figures are printed; nothing is written to
bench/results/ unless ``--json`` names a file.

    .venv/bin/pip install py-spy  # not a project dependency
    .venv/bin/python bench/profile.py e2e sdk --runs 2
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Target:
    """A benchmark to profile.

    Attributes:
        module: the module in bench/ with a ``measure`` function.
        kwargs: arguments for ``measure``.
        start, end: source lines of ``measure`` that open and close the timed part.
        clock_calls: which ``time.perf_counter`` calls of one ``measure`` are its start and end.
        jobs_key: the figure that counts jobs per second.
    """

    module: str
    kwargs: dict[str, int]
    start: str
    end: str
    clock_calls: tuple[int, int]
    jobs_key: str


TARGETS = {
    "e2e": Target(
        "e2e",
        {},
        "started = time.perf_counter()",
        "elapsed = time.perf_counter() - started",
        (0, 1),
        "settled_jobs_per_s",
    ),
    # The naive loop runs first and is not profiled: keep it short.
    "sdk": Target(
        "sdk",
        {"naive_jobs": 10},
        "posted = client.post_jobs(",
        "bulk_elapsed = time.perf_counter() - started",
        (2, 3),
        "post_jobs_per_s",
    ),
}

# (category, pattern on "function (file:line)"); the first category any frame matches wins,
# walking from the leaf up. Within one frame the list is tried in order.
CATEGORIES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern))
    for name, pattern in [
        ("waiting (sleep, receipt polling pauses)", r"/tenacity/nap\.py|^sleep "),
        ("oracle store (sqlite)", r"/sqlite3/|/jouleledger_oracle/store/"),
        (
            "keccak / EIP-712",
            r"/eth_hash/|/Crypto/Hash/|/sha3|/eth_utils/crypto\.py|/jouleledger/eip712/"
            r"|/jouleledger/records\.py|/eth_account/messages\.py|/eth_account/_utils/encode_typed",
        ),
        (
            "signing (eth_account, eth_keys, coincurve)",
            r"/eth_account/|/eth_keys/|/coincurve/|/jouleledger/tx/signing\.py"
            r"|/jouleledger_oracle/signer\.py",
        ),
        (
            "ABI encoding / decoding, event logs",
            r"/eth_abi/|/jouleledger/tx/encode\.py|/web3/_utils/abi\.py|/web3/_utils/events\.py"
            r"|/web3/_utils/contracts\.py|/web3/contract/|/jouleledger/client/events\.py",
        ),
        (
            "web3 request/response formatting",
            r"/web3/_utils/method_formatters\.py|/web3/_utils/formatters\.py|/web3/middleware/"
            r"|/web3/_utils/rpc_abi\.py|/web3/method\.py|/web3/module\.py",
        ),
        (
            "JSON-RPC / HTTP client",
            r"/requests/|/urllib3/|/aiohttp/|/http/client\.py|/socket\.py|/ssl\.py|/selectors\.py"
            r"|/json/|/web3/providers/|/web3/manager\.py|/web3/_utils/request\.py"
            r"|/jouleledger/transport/|/jouleledger/tx/link\.py",
        ),
    ]
]
# What the SDK was doing: the stage closest to the leaf that any frame matches.
STAGES: list[tuple[str, re.Pattern[str]]] = [
    (name, re.compile(pattern))
    for name, pattern in [
        ("sign transactions (tx/signing.py)", r"/jouleledger/tx/signing\.py"),
        ("send signed batches (NodeLink.post_raw)", r"^NodeLink\.post_raw "),
        ("await receipts (ReceiptWatcher.collect)", r"^ReceiptWatcher\."),
        ("estimate gas", r"^GasEstimator\."),
        ("quote fees", r"^FeeQuoter\."),
        ("encode calldata", r"/jouleledger/tx/encode\.py|\.calldata "),
        ("approve allowance", r"_ensure_allowance "),
        ("decode events (web3 process_receipt)", r"\.process_receipt "),
        ("settle_batch (rest of it)", r"\.settle_batch "),
        ("build and hash the EIP-712 batch", r"^batch_digest |/jouleledger/eip712/"),
        ("read the latest block", r"^Eth\.get_block "),
    ]
]
OTHER = "other Python (SDK logic, hexbytes, eth_utils, ...)"
ANVIL = "anvil (node process, CPU)"
PROFILER = "py-spy itself"


# --- the child: one benchmark run, with its clocks read ------------------------------------


def _cpu_seconds(pid: int | str) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _child_pids(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == parent:
                found.append(int(entry.name))
    return found


class _ReadingClock:
    """Stands in for a benchmark module's ``time``: ``perf_counter`` also notes CPU clocks."""

    def __init__(self) -> None:
        self.readings: list[dict[str, float]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def perf_counter(self) -> float:
        nodes = _child_pids(os.getpid())
        busy, total = _machine_ticks()
        reading = {
            "python_cpu": time.process_time(),
            "node_cpu": sum(_cpu_seconds(pid) for pid in nodes),
            "profiler_cpu": _cpu_seconds(os.getppid()),  # py-spy, when it started us
            "machine_busy": busy / TICK,
            "machine_total": total / TICK,
        }
        reading["wall"] = now = time.perf_counter()
        self.readings.append(reading)
        return now


def run_child(name: str, out: Path) -> None:
    """Run benchmark `name` once and write its figures and timed-part clocks to `out`."""
    target = TARGETS[name]
    sys.path.insert(0, str(BENCH))
    module = importlib.import_module(target.module)
    clock = _ReadingClock()
    module.time = clock
    figures = module.measure(**target.kwargs)
    first, last = (clock.readings[i] for i in target.clock_calls)
    window = {key: last[key] - first[key] for key in first}
    out.write_text(json.dumps({"figures": figures, "window": window}))


# --- the parent: py-spy runs and the tally -------------------------------------------------


def _window_lines(target: Target) -> tuple[str, range]:
    """The benchmark's file and the lines of ``measure`` inside its timed part."""
    path = BENCH / f"{target.module}.py"
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines, 1) if target.start in line)
    end = next(i for i, line in enumerate(lines, 1) if i > start and target.end in line)
    return str(path), range(start, end + 1)


def categorise(stack: list[str]) -> str:
    """The category of one sample: the first match walking from the leaf frame up."""
    for frame in reversed(stack):
        for name, pattern in CATEGORIES:
            if pattern.search(frame):
                return name
    return OTHER


def stage(stack: list[str]) -> str:
    """What the SDK was doing in one sample: the stage nearest the leaf frame."""
    for frame in reversed(stack):
        for name, pattern in STAGES:
            if pattern.search(frame):
                return name
    return "other"


def tally(raw: Path, path: str, lines: range) -> dict[str, Counter[str]]:
    """Samples per category and per stage in a py-spy raw file, in the timed part only."""
    measure = re.compile(rf"^measure \({re.escape(path)}:(\d+)\)$")
    counts: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    for row in raw.read_text().splitlines():
        stack_text, _, count = row.rpartition(" ")
        stack = stack_text.split(";")
        timed = any((m := measure.match(f)) and int(m.group(1)) in lines for f in stack)
        if timed:
            counts[categorise(stack)] += int(count)
            stages[stage(stack)] += int(count)
    return {"categories": counts, "stages": stages}


def profile_once(name: str, kind: str, rate: int, py_spy: str, tmp: Path) -> dict[str, Any]:
    """One benchmark run: its figures, clocks and samples per category and stage.

    Args:
        name: the benchmark.
        kind: "idle" (py-spy ``--idle``: wall), "cpu" (on-CPU samples) or "none" (no
            profiler: the throughput to compare with).
        rate: samples per second.
        py_spy: the py-spy program.
        tmp: a folder for py-spy's output.
    """
    raw, out = tmp / f"{name}-{kind}.txt", tmp / f"{name}-{kind}.json"
    child = [sys.executable, __file__, "--child", name, str(out)]
    if kind == "none":
        subprocess.run(child, check=True, stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())
    command = [
        py_spy,
        "record",
        "--full-filenames",
        "--rate",
        str(rate),
        "--format",
        "raw",
        "-o",
        str(raw),
    ]
    command += ["--idle"] if kind == "idle" else []
    command += ["--", *child]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = json.loads(out.read_text())
    result["samples"] = tally(raw, *_window_lines(TARGETS[name]))
    return result


def _seconds(samples: Counter[str], seconds: float, runs: int, into: Counter[str]) -> None:
    total = sum(samples.values())
    for key, count in samples.items():
        into[key] += seconds * count / total / runs


def summarise(name: str, runs: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Average the runs: seconds per category and stage, of wall (idle pass) and of CPU
    (on-CPU pass, scaled to the Python process's measured CPU time)."""
    wall: Counter[str] = Counter()
    cpu: Counter[str] = Counter()
    stage_wall: Counter[str] = Counter()
    stage_cpu: Counter[str] = Counter()
    clocks: Counter[str] = Counter()
    rates: dict[str, list[float]] = {}
    n = len(runs)
    for run in runs:
        walled, cpued = run["idle"], run["cpu"]
        seconds, python_cpu = walled["window"]["wall"], cpued["window"]["python_cpu"]
        _seconds(walled["samples"]["categories"], seconds, n, wall)
        _seconds(walled["samples"]["stages"], seconds, n, stage_wall)
        _seconds(cpued["samples"]["categories"], python_cpu, n, cpu)
        _seconds(cpued["samples"]["stages"], python_cpu, n, stage_cpu)
        cpu[ANVIL] += cpued["window"]["node_cpu"] / n
        cpu[PROFILER] += cpued["window"]["profiler_cpu"] / n
        for key, value in cpued["window"].items():
            clocks[key] += value / n
        for kind, result in run.items():
            rates.setdefault(kind, []).append(result["figures"][TARGETS[name].jobs_key])
    return {
        "wall": dict(wall),
        "cpu": dict(cpu),
        "stage_wall": dict(stage_wall),
        "stage_cpu": dict(stage_cpu),
        "clocks": dict(clocks),
        "jobs_per_s": rates,
    }


def table(summary: dict[str, Any]) -> str:
    """The categories as a markdown table."""
    wall, cpu, clocks = summary["wall"], summary["cpu"], summary["clocks"]
    wall_total, machine = sum(wall.values()), clocks["machine_busy"]
    rows = [
        "| category | wall s | share of wall | CPU s | share of machine busy |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for category in [*(name for name, _ in CATEGORIES), OTHER]:
        w, c = wall.get(category, 0.0), cpu.get(category, 0.0)
        rows.append(
            f"| {category} | {w:.2f} | {w / wall_total:.0%} | {c:.2f} | {c / machine:.0%} |"
        )
    for name in (ANVIL, PROFILER):
        c = cpu[name]
        rows.append(f"| {name} | - | - | {c:.2f} | {c / machine:.0%} |")
    rest = machine - sum(cpu.values())
    rows.append(f"| rest (kernel, other processes) | - | - | {rest:.2f} | {rest / machine:.0%} |")
    rows.append(
        f"| **total** | {wall_total:.2f} | 100% | {machine:.2f} "
        f"| of {clocks['machine_total']:.2f} core-s |"
    )
    return "\n".join(rows)


def stage_table(summary: dict[str, Any]) -> str:
    """The stages as a markdown table (main thread: wall and Python CPU)."""
    wall, cpu = summary["stage_wall"], summary["stage_cpu"]
    wall_total = sum(wall.values())
    rows = ["| SDK stage | wall s | share of wall | Python CPU s |", "| --- | ---: | ---: | ---: |"]
    for name in sorted(wall, key=wall.__getitem__, reverse=True):
        w, c = wall[name], cpu.get(name, 0.0)
        rows.append(f"| {name} | {w:.2f} | {w / wall_total:.0%} | {c:.2f} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("benchmarks", nargs="*", default=list(TARGETS))
    parser.add_argument("--runs", type=int, default=2, help="runs per pass (default 2)")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--json", type=Path, help="also write the summaries here")
    parser.add_argument("--child", nargs=2, metavar=("NAME", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = set(args.benchmarks) - set(TARGETS)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {sorted(TARGETS)}")
    if args.child:
        run_child(args.child[0], Path(args.child[1]))
        return 0
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        print("py-spy not found: .venv/bin/pip install py-spy", file=sys.stderr)
        return 1
    summaries = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.benchmarks:
            runs = [
                {
                    kind: profile_once(name, kind, args.rate, py_spy, Path(folder))
                    for kind in ("none", "idle", "cpu")
                }
                for _ in range(args.runs)
            ]
            summaries[name] = summary = summarise(name, runs)
            print(f"\n## {name}\n\njobs/s per run, by py-spy mode:")
            for kind, rates in summary["jobs_per_s"].items():
                print(f"  {kind:>4}: " + ", ".join(f"{r:,.0f}" for r in rates))
            clocks = summary["clocks"]
            print(
                f"timed part (on-CPU pass, mean): {clocks['wall']:.2f} s wall, Python "
                f"{clocks['python_cpu']:.2f} CPU-s, anvil {clocks['node_cpu']:.2f} CPU-s\n"
            )
            print(table(summary) + "\n")
            print(stage_table(summary))
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
