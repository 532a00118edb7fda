"""SDK posting throughput on anvil: `make bench-sdk` -> bench/results/sdk.json.

`post_jobs_per_s`: `JouleLedger.post_jobs` (one approval, then `postJobs` calls of up to
256 jobs each, estimated, sent together and awaited together). `naive_post_jobs_per_s`: what most
scripts do, web3's `transact()` and a receipt per job, measured in the same run on the
same chain (anvil's unlocked dev account signs, so the naive path does not even sign).
"""

from __future__ import annotations

import sys
import time

from protocol import deployed_protocol
from report import write_results

from jouleledger.client import JobRequest
from jouleledger.units import parse_amount

BULK_JOBS = 4096
NAIVE_JOBS = 200
CLASS = "nvidia-h100"


def measure(bulk_jobs: int = BULK_JOBS, naive_jobs: int = NAIVE_JOBS) -> dict[str, float]:
    with deployed_protocol(accounts=3, users=2, cpt_each="10000000") as protocol:
        net, deployment = protocol.net, protocol.deployment
        client, naive_client = protocol.users
        request = JobRequest(CLASS, parse_amount("0.001"), parse_amount("1"))
        deadline = int(net.w3.eth.get_block("latest")["timestamp"]) + 86_400

        # Naive: transact() + wait_for_transaction_receipt, one job at a time, from its own
        # account (so the bulk account's nonces stay its own).
        naive_client.approve(deployment.market, 2**256 - 1)
        market = client.market
        args = (b"\0" * 32, request.class_id, request.price_per_gpu_second,
                request.max_payment, 0, deadline, "0x" + "00" * 20)  # fmt: skip
        started = time.perf_counter()
        for _ in range(naive_jobs):
            tx_hash = market.functions.postJob(args).transact({"from": naive_client.address})
            net.w3.eth.wait_for_transaction_receipt(tx_hash)
        naive = naive_jobs / (time.perf_counter() - started)

        started = time.perf_counter()
        posted = client.post_jobs([request] * bulk_jobs)
        bulk_elapsed = time.perf_counter() - started
        if len(posted) != bulk_jobs:
            raise RuntimeError(f"only {len(posted)} of {bulk_jobs} bulk posts went in")
        bulk = bulk_jobs / bulk_elapsed
        return {
            "post_jobs_per_s": round(bulk, 1),
            "naive_post_jobs_per_s": round(naive, 1),
            "ratio": round(bulk / naive, 1),
            "bulk_jobs": bulk_jobs,
            "naive_jobs": naive_jobs,
        }


def main() -> int:
    write_results("sdk", measure())
    return 0


if __name__ == "__main__":
    sys.exit(main())
