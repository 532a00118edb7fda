"""Made-up usage records for the tests and benchmarks that settle jobs on a real chain.

Kept in one place so that the indexer's tests, the SDK's batch tests and the gas and
end-to-end benchmarks settle the same kind of record (the benchmarks import it as
``tests.sample_records``, as `bench/oracle.py` imports the test fakes).
"""

from __future__ import annotations

from web3 import Web3

from jouleledger.records import MeterKind, UsageRecord

GPU_ID_HASH = Web3.keccak(text="GPU-0")


def sample_record(job_id: int, provider: str, now: int) -> UsageRecord:
    """A simulated-meter record of `provider`'s job `job_id`, run in the five seconds up to
    `now` (a block timestamp). Its time, energy, tokens and result hash follow the job id, so
    no two jobs' records encode alike: gas is measured on calldata as varied as real
    records', and an index that swaps two jobs' figures is caught.
    """
    return UsageRecord(
        job_id=job_id,
        provider=Web3.to_checksum_address(provider),
        gpu_millis=4_000 + job_id,
        energy_mj=1_200_000 + job_id,
        ai_tokens=900 + job_id,
        result_hash=Web3.keccak(job_id.to_bytes(32, "big")),
        start_time=now - 5,
        end_time=now,
        meter_kind=MeterKind.SIMULATED,
        gpu_id_hash=GPU_ID_HASH,
    )
