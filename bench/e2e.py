"""End-to-end throughput on anvil: `make bench-e2e` -> bench/results/e2e.json.

`settled_jobs_per_s` counts jobs that were posted, claimed, run with a trivial workload,
attested and batch-settled, divided by the wall time of all of it (chain start and
deployment excluded), on the batched path: `post_jobs` (`postJobs`, up to MAX_BATCH jobs
per transaction), `claim_next(n)` (`claimNextJobs`) and `settle_batches` (`settleBatch` of
`BATCH` records under one signature each, sent together). `single_path_jobs_per_s` is
measured in the same run on the same chain with one transaction per job at every step
(still pre-signed and sent in JSON-RPC batches by the SDK's `send_many`), and `ratio` is
the first over the second.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

from eth_account import Account
from eth_account.signers.local import LocalAccount
from protocol import deployed_protocol
from report import write_results

from jouleledger.client import JobRequest, JouleLedger
from jouleledger.client.batches import claimed_ids, settled_ids
from jouleledger.deployment import ProtocolConfig
from jouleledger.records import MeterKind, UsageRecord, batch_digest, record_digest
from jouleledger.units import parse_amount

JOBS = 4096
SINGLE_JOBS = 256
BATCH = 256
CLASS = "nvidia-h100"


def records_for(provider: JouleLedger, jobs: Sequence[int], now: int) -> list[UsageRecord]:
    """Usage records of the trivial workload (one simulated GPU-second) for `jobs`."""
    return [
        UsageRecord(
            job_id=job_id,
            provider=provider.address,
            gpu_millis=1_000,
            energy_mj=300_000,
            ai_tokens=1_000,
            result_hash=job_id.to_bytes(32, "big"),
            start_time=now - 1,
            end_time=now,
            meter_kind=MeterKind.SIMULATED,
            gpu_id_hash=b"\x01" * 32,
        )
        for job_id in jobs
    ]


def batched(client: JouleLedger, provider: JouleLedger, oracle: LocalAccount, jobs: int) -> int:
    """Post, claim and settle `jobs` jobs with one transaction per batch at every step;
    returns how many settled."""
    request = JobRequest(CLASS, parse_amount("0.001"), parse_amount("1"))
    posted = client.post_jobs([request] * jobs)
    claimed = provider.claim_next(len(posted))
    if len(claimed) != jobs:
        raise RuntimeError(f"only {len(claimed)} of {jobs} jobs were claimed")
    now = int(provider.w3.eth.get_block("latest")["timestamp"])
    batches = []
    for start in range(0, jobs, BATCH):
        records = records_for(provider, claimed[start : start + BATCH], now)
        digest = batch_digest(provider.domain, records)
        batches.append((records, bytes(Account.unsafe_sign_hash(digest, oracle.key).signature)))
    receipts = provider.settle_batches(batches)
    return sum(len(settled_ids(receipt, provider.deployment.market)) for receipt in receipts)


def single(client: JouleLedger, provider: JouleLedger, oracle: LocalAccount, jobs: int) -> int:
    """The same with one transaction per job at every step; returns how many settled."""
    market = provider.deployment.market
    request = JobRequest(CLASS, parse_amount("0.001"), parse_amount("1"))
    now = int(client.w3.eth.get_block("latest")["timestamp"])
    client.approve(market, request.escrow * jobs)
    post = {"to": market, "data": client.calldata("postJob", request.as_args(now))}
    _all_ok(client.sender.send_many([post] * jobs, gas=300_000), "post")
    claim = {"to": market, "data": provider.calldata("claimNext")}
    results = _all_ok(provider.sender.send_many([claim] * jobs, gas=400_000), "claim")
    claimed = [job for r in results if r.receipt for job in claimed_ids(r.receipt, market)]
    now = int(provider.w3.eth.get_block("latest")["timestamp"])
    calls = []
    for record in records_for(provider, claimed, now):
        digest = record_digest(provider.domain, record)
        signature = bytes(Account.unsafe_sign_hash(digest, oracle.key).signature)
        data = provider.calldata("settle", record.as_tuple(), signature, [])
        calls.append({"to": market, "data": data})
    results = _all_ok(provider.sender.send_many(calls, gas=300_000), "settle")
    return sum(len(settled_ids(r.receipt, market)) for r in results if r.receipt)


def _all_ok(results: list, step: str) -> list:  # type: ignore[type-arg]
    failed = [r for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} {step} transactions failed, first: {failed[0].error}")
    return results


def timed(run: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    settled = run()
    return settled, time.perf_counter() - started


def measure(jobs: int = JOBS, single_jobs: int = SINGLE_JOBS) -> dict[str, float]:
    config = ProtocolConfig(fee_bps=100)
    with deployed_protocol(accounts=4, users=2, cpt_each="1000000", config=config) as protocol:
        provider, client = protocol.users
        oracle = Account.create()
        provider.stake(parse_amount("1000000"))
        provider.register_provider(oracle, CLASS, parse_amount("0.001"), "http://bench")
        settled, seconds = timed(lambda: batched(client, provider, oracle, jobs))
        single_settled, single_seconds = timed(
            lambda: single(client, provider, oracle, single_jobs)
        )
        if settled != jobs or single_settled != single_jobs:
            raise RuntimeError(
                f"settled {settled}/{jobs} batched, {single_settled}/{single_jobs} single"
            )
        rate = settled / seconds
        single_rate = single_settled / single_seconds
        return {
            "jobs": jobs,
            "batch_size": BATCH,
            "seconds": round(seconds, 3),
            "settled_jobs_per_s": round(rate, 1),
            "single_path_jobs": single_jobs,
            "single_path_jobs_per_s": round(single_rate, 1),
            "ratio": round(rate / single_rate, 1),
        }


def main() -> int:
    write_results("e2e", measure())
    return 0


if __name__ == "__main__":
    sys.exit(main())
