"""Collect bench/results/*.json into bench/results/summary.md, with the machine they ran on."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from report import RESULTS_DIR as RESULTS

# (file, key, what it is, target)
ROWS = [
    ("gas.json", "post_job", "gas: post a job (whole tx)", ""),
    ("gas.json", "raise_bid", "gas: raise a bid", ""),
    ("gas.json", "claim_next", "gas: claim the next job (no junk ahead)", "<= 60,000"),
    ("gas.json", "claim_job", "gas: claim a named job", ""),
    ("gas.json", "claim_next_behind_1000_junk", "gas: claim behind 1,000 junk jobs", ""),
    ("gas.json", "claim_per_junk_job", "gas per junk job passed by a claim", ""),
    ("gas.json", "junk_post_cost", "gas a junk job costs its poster", ">= 20x per junk"),
    ("gas.json", "lock_holdings", "gas: lock holdings", ""),
    ("gas.json", "settle_single", "gas: settle one job", "<= 50,000"),
    ("gas.json", "settle_batch_per_job_8", "gas per job: batch of 8", ""),
    ("gas.json", "settle_batch_per_job_32", "gas per job: batch of 32", ""),
    ("gas.json", "settle_batch_per_job_128", "gas per job: batch of 128", "<= 12,000"),
    ("gas.json", "withdraw", "gas: provider withdraws one job", ""),
    ("gas.json", "full_lifecycle", "gas: post + claim + settle + withdraw", "<= 250,000"),
    ("gas.json", "post_jobs_per_job_64", "gas per job: postJobs of 64", ""),
    ("gas.json", "claim_next_per_job_64", "gas per job: claimNextJobs(64)", ""),
    ("gas.json", "settle_batch_per_job_64", "gas per job: settleBatch of 64", ""),
    ("gas.json", "withdraw_per_job_64", "gas per job: withdraw of 64", ""),
    ("gas.json", "batch_lifecycle_per_job_64", "gas per job: life in batches of 64", "<= 60,000"),
    ("gas.json", "stake", "gas: stake", ""),
    ("gas.json", "request_unbond", "gas: request unbonding", ""),
    ("gas.json", "open_dispute", "gas: open a dispute", ""),
    ("gas.json", "resolve_dispute", "gas: resolve a dispute (slash)", ""),
    ("gas.json", "expire_job", "gas: expire a claimed job", ""),
    ("invariants.json", "steps", "forge invariant calls per make test", ">= 10,000"),
    ("invariants.json", "failures", "invariant failures", "0"),
    ("sdk.json", "post_jobs_per_s", "SDK bulk posting, jobs/s", ">= 500"),
    ("sdk.json", "naive_post_jobs_per_s", "naive transact() + receipt, jobs/s", ""),
    ("sdk.json", "ratio", "bulk / naive", ">= 20"),
    ("oracle.json", "attestations_per_s", "oracle: single records signed/s", ">= 4,000"),
    ("oracle.json", "batch_records_per_s", "oracle: batch-signed records/s", ">= 50,000"),
    ("e2e.json", "settled_jobs_per_s", "end to end: posted..settled jobs/s", ">= 1,000"),
    ("e2e.json", "single_path_jobs_per_s", "end to end, one transaction per job: jobs/s", ""),
    ("e2e.json", "ratio", "end to end: batched / single", ""),
    ("dashboard.json", "index_events_per_s_sqlite", "indexer: events/s into SQLite", ">= 5,000"),
    ("dashboard.json", "index_events_per_s_postgresql", "indexer: events/s into PostgreSQL", ""),
    (
        "dashboard.json",
        "account_page_p95_ms",
        "dashboard: account page p95 ms (100k jobs, 20 clients)",
        "<= 150",
    ),
    (
        "dashboard.json",
        "provider_page_p95_ms",
        "dashboard: provider page p95 ms (100k jobs, 20 clients)",
        "<= 150",
    ),
]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def render() -> str:
    loaded: dict[str, dict[str, float]] = {}
    for name in {row[0] for row in ROWS}:
        path = RESULTS / name
        if path.exists():
            loaded[name] = json.loads(path.read_text())
    lines = [
        "# Benchmark results",
        "",
        f"- machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()}",
        f"- python {platform.python_version()}; chain: anvil (devnet launcher)",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "- reproduce: `make bench`",
        "",
        "| figure | value | target |",
        "| --- | ---: | --- |",
    ]
    for file, key, what, target in ROWS:
        value = loaded.get(file, {}).get(key)
        shown = "not run" if value is None else f"{value:,}"
        lines.append(f"| {what} | {shown} | {target} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    text = render()
    (RESULTS / "summary.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
