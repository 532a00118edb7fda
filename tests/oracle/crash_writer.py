"""Child process for the kill -9 test: records and signs jobs in a loop until it is killed.

Usage: python crash_writer.py DB RUN JOBS. After each commit it prints ``M <job>`` (measurement
saved) or ``S <job>`` (signature saved) and flushes, so the parent knows what was committed.
Records depend on RUN, as two measurements of one job would differ after a restart; the
writer signs the record the store returns, which is what makes a restart sign the same one.
"""

from __future__ import annotations

import hashlib
import sys
from typing import Any

from jouleledger_oracle.store import OracleStore, canonical_json


def record_for(job: int, run: int) -> dict[str, Any]:
    return {
        "job_id": job,
        "energy_mj": 1_000_000 + 7919 * job + 104_729 * run,
        "gpu_millis": 5000 + run,
        "meter_kind": "simulated",
        "notes": [f"run {run}", "x" * (job % 50)],
    }


def digest_for(record: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical_json(record).encode()).digest()


def sign(digest: bytes) -> bytes:
    return hashlib.sha512(b"oracle-key" + digest).digest() + b"\x1b"


def main() -> None:
    path, run, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with OracleStore(path) as store:
        for job in range(jobs):
            store.mark_claimed(job)
            stored = store.save_measurement(job, record_for(job, run))
            print(f"M {job}", flush=True)
            store.sign_once(job, digest_for(stored.record), sign)
            print(f"S {job}", flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
