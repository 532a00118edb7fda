"""End-to-end throughput on anvil: `make bench-e2e` -> bench/results/e2e.json.

`settled_jobs_per_s` counts jobs that were posted, claimed, run with a trivial workload,
attested and batch-settled, divided by the wall time of all of it (chain start and
deployment excluded). Jobs go through the SDK's bulk path (pre-signed transactions in
JSON-RPC batches), claims likewise, and settlement in batches of `BATCH` records under one
signature each.
"""

from __future__ import annotations

import sys
import time

from eth_account import Account
from protocol import deployed_protocol
from report import write_results
from web3.logs import DISCARD

from jouleledger.client import JobRequest
from jouleledger.deployment import ProtocolConfig
from jouleledger.records import MeterKind, UsageRecord, batch_digest
from jouleledger.units import parse_amount

JOBS = 1024
BATCH = 128
CLASS = "nvidia-h100"


def measure(jobs: int = JOBS, batch: int = BATCH) -> dict[str, float]:
    config = ProtocolConfig(fee_bps=100)
    with deployed_protocol(accounts=4, users=2, cpt_each="1000000", config=config) as protocol:
        net, deployment = protocol.net, protocol.deployment
        provider, client = protocol.users
        oracle = Account.create()
        provider.stake(parse_amount("1000000"))
        provider.register_provider(oracle, CLASS, parse_amount("0.001"), "http://bench")
        request = JobRequest(CLASS, parse_amount("0.001"), parse_amount("1"))

        started = time.perf_counter()
        posted = client.post_jobs([request] * jobs)
        failed = [r for r in posted if not r.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} posts failed, first: {failed[0].error}")
        claim = {"to": deployment.market, "data": provider.calldata("claimNext")}
        claims = provider.sender.send_many([claim] * jobs, gas=400_000)
        claimed = [
            e["args"]["jobId"]
            for r in claims
            if r.ok and r.receipt is not None
            for e in provider.market.events.JobClaimed().process_receipt(r.receipt, errors=DISCARD)
        ]
        if len(claimed) != jobs:
            raise RuntimeError(f"only {len(claimed)} of {jobs} claims went through")
        settled = 0
        for start in range(0, jobs, batch):
            now = int(net.w3.eth.get_block("latest")["timestamp"])
            records = [
                UsageRecord(
                    job_id=job_id,
                    provider=provider.address,
                    gpu_millis=1_000,  # the trivial workload: one GPU-second, simulated
                    energy_mj=300_000,
                    ai_tokens=1_000,
                    result_hash=job_id.to_bytes(32, "big"),
                    start_time=now - 1,
                    end_time=now,
                    meter_kind=MeterKind.SIMULATED,
                    gpu_id_hash=b"\x01" * 32,
                )
                for job_id in claimed[start : start + batch]
            ]
            digest = batch_digest(provider.domain, records)
            signature = bytes(Account.unsafe_sign_hash(digest, oracle.key).signature)
            receipt = provider.settle_batch(records, signature)
            settled += len(
                provider.market.events.JobSettled().process_receipt(receipt, errors=DISCARD)
            )
        elapsed = time.perf_counter() - started
        return {
            "jobs": jobs,
            "batch_size": batch,
            "seconds": round(elapsed, 3),
            "settled_jobs_per_s": round(settled / elapsed, 1),
        }


def main() -> int:
    write_results("e2e", measure())
    return 0


if __name__ == "__main__":
    sys.exit(main())
