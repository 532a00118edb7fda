"""Oracle signing throughput on one core: `make bench-oracle` -> bench/results/oracle.json.

- ``attestations_per_s``: single usage records signed per second, each one built
  (`UsageRecord`), hashed (EIP-712 `record_digest`) and signed (coincurve, r || s || v).
- ``batch_records_per_s``: records per second when batch-signed: batches of
  ``batch_size`` built records are hashed (`batch_digest`: every record's struct hash, the
  list hash, the EIP-712 digest) and signed once.
- ``batch_records_per_s_with_build``: the same, building each record first.
- ``stored_attestations_per_s``: what the node does per job before a signature may leave the
  process: `OracleStore.sign_once` (digest in, signature committed with SQLite WAL and
  ``synchronous=FULL``, so one fsync per job). Bounded by the disk, not the CPU.

Each figure is the best of three runs (other processes on the machine only slow runs down).
The process is pinned to one CPU where the OS allows it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from report import write_results
from web3 import Web3

from jouleledger import records
from jouleledger.records import MarketDomain, MeterKind, UsageRecord, batch_digest, record_digest
from jouleledger_oracle.signer import OracleSigner
from jouleledger_oracle.store import OracleStore

SINGLE = 20_000
BATCH_SIZE = 1_000
BATCHES = 50
STORED = 300
RUNS = 3

DOMAIN = MarketDomain(31337, Web3.to_checksum_address("0x" + "cd" * 20))
PROVIDER = Web3.to_checksum_address("0x" + "ab" * 20)
RESULT_HASH = Web3.keccak(text="result")
GPU_ID_HASH = Web3.keccak(text="GPU-6b1d54c4-7f3a-4a2e-9d1b-2c8e0f3a9b71")


def record(job_id: int) -> UsageRecord:
    return UsageRecord(
        job_id=job_id,
        provider=PROVIDER,
        gpu_millis=4_000 + job_id % 997,
        energy_mj=1_200_000 + job_id,
        ai_tokens=900 + job_id % 101,
        result_hash=RESULT_HASH,
        start_time=1_700_000_000 + job_id,
        end_time=1_700_000_005 + job_id,
        meter_kind=MeterKind.NVML,
        gpu_id_hash=GPU_ID_HASH,
    )


def best_rate(count: int, run: Callable[[], None]) -> float:
    """Items per second of the fastest of `RUNS` runs of `run` (which handles `count`)."""
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def measure() -> dict[str, object]:
    pinned = _pin_to_one_cpu()
    signer = OracleSigner(Account.create().key)

    def single() -> None:
        for job_id in range(1, SINGLE + 1):
            signer.sign_digest(record_digest(DOMAIN, record(job_id)))

    batches = [[record(b * BATCH_SIZE + i + 1) for i in range(BATCH_SIZE)] for b in range(BATCHES)]

    def batched() -> None:
        for batch in batches:
            signer.sign_digest(batch_digest(DOMAIN, batch))

    def batched_with_build() -> None:
        for b in range(BATCHES):
            batch = [record(b * BATCH_SIZE + i + 1) for i in range(BATCH_SIZE)]
            signer.sign_digest(batch_digest(DOMAIN, batch))

    digests = [record_digest(DOMAIN, record(job_id)) for job_id in range(1, STORED + 1)]

    def stored() -> None:
        with tempfile.TemporaryDirectory() as folder, OracleStore(Path(folder) / "b.db") as db:
            for job_id, digest in enumerate(digests, start=1):
                db.save_measurement(job_id, {"job_id": job_id})
                db.sign_once(job_id, digest, signer.sign_digest)

    return {
        "attestations_per_s": round(best_rate(SINGLE, single)),
        "batch_records_per_s": round(best_rate(BATCH_SIZE * BATCHES, batched)),
        "batch_records_per_s_with_build": round(
            best_rate(BATCH_SIZE * BATCHES, batched_with_build)
        ),
        "stored_attestations_per_s": round(best_rate(STORED, stored)),
        "batch_size": BATCH_SIZE,
        "keccak": records.keccak.__name__,
        "cores": 1 if pinned else os.cpu_count(),
    }


def _pin_to_one_cpu() -> bool:
    """Pin this process to one CPU (Linux); True if it worked."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    except OSError:
        return False
    return True


def main() -> int:
    write_results("oracle", measure())
    return 0


if __name__ == "__main__":
    sys.exit(main())
