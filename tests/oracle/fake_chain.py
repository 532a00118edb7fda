"""The market in memory: `FakeChain` implements the node's `Chain` interface with the
market's rules the node depends on (bid order, designated providers, signature checks over
the SDK's digests, settle once, end time against the chain clock, dispute window), plus
fault injection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from jouleledger.records import MarketDomain, UsageRecord, batch_digest, keccak, record_digest
from jouleledger.types import JobState
from jouleledger.units import parse_amount
from jouleledger_oracle.chain import (
    ChainJob,
    ChainRejected,
    ChainUnavailable,
    NoEligibleJob,
    Registration,
    Settlement,
)
from jouleledger_oracle.signer import recover_signer

GPU_CLASS = "nvidia-h100"
MAX_WITHDRAW_IDS = 256


@dataclass
class FakeJob:
    job_id: int
    bid: int
    spec_hash: bytes
    deadline: int
    designated: ChecksumAddress | None = None
    state: JobState = JobState.OPEN
    provider: ChecksumAddress | None = None
    settled_at: int = 0
    payment: int = 0


@dataclass
class FakeChain:
    """The market in memory, seen by `provider`, whose registered oracle signer is `signer`."""

    provider: ChecksumAddress
    signer: ChecksumAddress
    domain: MarketDomain = field(
        default_factory=lambda: MarketDomain(31337, to_checksum_address("0x" + "cd" * 20))
    )
    window: int = 60
    clock: Callable[[], float] = time.time
    clock_offset: int = 0
    jobs: dict[int, FakeJob] = field(default_factory=dict)
    claims: list[int] = field(default_factory=list)
    claim_calls: list[int] = field(default_factory=list)  # n of each claim_many call
    withdraw_calls: list[list[int]] = field(default_factory=list)
    settle_calls: list[list[int]] = field(default_factory=list)
    settled_tx: dict[int, str] = field(default_factory=dict)
    finalized: set[int] = field(default_factory=set)
    withdrawn: int = 0
    faults: list[BaseException] = field(default_factory=list)
    fail_methods: set[str] = field(default_factory=set)
    lose_receipts: int = 0  # settlements that are mined but whose receipt never arrives
    unreadable_jobs: set[int] = field(default_factory=set)  # job() of these fails
    calls: list[str] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _tx: int = 0

    # --- test controls ---
    def post(
        self,
        bid: int = 0,
        *,
        spec_hash: bytes = b"\0" * 32,
        designated: ChecksumAddress | None = None,
        deadline_in: int = 86_400,
    ) -> int:
        with self._lock:
            job_id = len(self.jobs) + 1
            self.jobs[job_id] = FakeJob(
                job_id, bid, spec_hash, self.chain_time() + deadline_in, designated
            )
            return job_id

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        if method in self.fail_methods:
            raise ChainUnavailable(f"{method}: the fake node is down")
        if self.faults:
            raise self.faults.pop(0)

    def _hash(self) -> str:
        self._tx += 1
        return "0x" + keccak(b"tx" + self._tx.to_bytes(8, "big")).hex()

    def _eligible(self, job: FakeJob) -> bool:
        return (
            job.state is JobState.OPEN
            and job.designated in (None, self.provider)
            and job.deadline > self.chain_time()
        )

    def _queue(self) -> list[FakeJob]:
        open_jobs = [j for j in self.jobs.values() if j.state is JobState.OPEN]
        return sorted(open_jobs, key=lambda j: (-j.bid, j.job_id))

    # --- Chain ---
    def registration(self) -> Registration:
        self._enter("registration")
        return Registration(self.provider, True, self.signer, GPU_CLASS, parse_amount("1000"))

    def claim_next(self) -> int:
        with self._lock:
            self._enter("claim_next")
            for job in self._queue():
                if self._eligible(job):
                    job.state, job.provider = JobState.CLAIMED, self.provider
                    self.claims.append(job.job_id)
                    return job.job_id
            raise NoEligibleJob("no eligible job")

    def claim_many(self, n: int) -> list[int]:
        """Up to `n` eligible jobs in bid order, claimed in one call (as ``claimNext(n)``)."""
        with self._lock:
            self._enter("claim_many")
            self.claim_calls.append(n)
            claimed: list[int] = []
            for job in self._queue():
                if len(claimed) == n:
                    break
                if self._eligible(job):
                    job.state, job.provider = JobState.CLAIMED, self.provider
                    self.claims.append(job.job_id)
                    claimed.append(job.job_id)
            return claimed

    def claim(self, job_id: int) -> None:
        with self._lock:
            self._enter("claim")
            job = self.jobs.get(job_id)
            if job is None or not self._eligible(job):
                state = job.state if job else JobState.NONE
                raise ChainRejected(
                    f"MarketInvalidJobState({job_id}, {state})",
                    name="MarketInvalidJobState",
                    args={"jobId": job_id, "state": int(state)},
                )
            for ahead in self._queue():
                if ahead.job_id == job_id:
                    break
                if self._eligible(ahead):
                    raise ChainRejected(
                        "MarketHigherPriorityEligible",
                        name="MarketHigherPriorityEligible",
                        args={"jobId": job_id, "higherJobId": ahead.job_id},
                    )
            job.state, job.provider = JobState.CLAIMED, self.provider
            self.claims.append(job_id)

    def job(self, job_id: int) -> ChainJob | None:
        with self._lock:
            self._enter("job")
            if job_id in self.unreadable_jobs:
                raise ChainUnavailable(f"reading job {job_id}: the fake node is down")
            job = self.jobs.get(job_id)
            if job is None:
                return None
            return ChainJob(
                job_id,
                job.state,
                job.provider or job.designated,
                job.deadline,
                job.settled_at,
                job.payment,
            )

    def spec_hash(self, job_id: int) -> bytes | None:
        with self._lock:
            self._enter("spec_hash")
            job = self.jobs.get(job_id)
            return job.spec_hash if job else None

    def claimed_job_ids(self) -> list[int]:
        with self._lock:
            self._enter("claimed_job_ids")
            return list(self.claims)

    def _check_and_settle(
        self, records: Sequence[UsageRecord], digest: bytes, sig: bytes
    ) -> Settlement:
        recovered = recover_signer(digest, sig)
        if recovered != self.signer:
            raise ChainRejected(
                "MarketInvalidSigner",
                name="MarketInvalidSigner",
                args={"recovered": recovered, "expected": self.signer},
            )
        now = self.chain_time()
        for record in records:
            job = self.jobs.get(record.job_id)
            state = job.state if job else JobState.NONE
            if job is None or job.state is not JobState.CLAIMED:
                raise ChainRejected(
                    f"MarketInvalidJobState({record.job_id}, {state.name})",
                    name="MarketInvalidJobState",
                    args={"jobId": record.job_id, "state": int(state)},
                )
            if job.provider != record.provider:
                raise ChainRejected(
                    "MarketWrongProvider",
                    name="MarketWrongProvider",
                    args={"jobId": record.job_id},
                )
            if now > job.deadline:
                raise ChainRejected(
                    "MarketDeadlinePassed",
                    name="MarketDeadlinePassed",
                    args={"jobId": record.job_id, "deadline": job.deadline},
                )
            if (
                record.energy_mj == 0
                or record.start_time > record.end_time
                or record.end_time > now
            ):
                raise ChainRejected(
                    f"MarketInvalidUsage({record.job_id})",
                    name="MarketInvalidUsage",
                    args={"jobId": record.job_id},
                )
        tx = self._hash()
        payments = {}
        for record in records:
            job = self.jobs[record.job_id]
            job.state, job.settled_at = JobState.SETTLED, now
            job.payment = record.gpu_millis * 10**6 + job.bid
            payments[record.job_id] = job.payment
            self.settled_tx[record.job_id] = tx
        self.settle_calls.append([r.job_id for r in records])
        if self.lose_receipts:
            self.lose_receipts -= 1
            raise ChainUnavailable(f"transaction {tx} was not mined within 120 s")
        return Settlement(tx, payments)

    def settle(self, record: UsageRecord, signature: bytes) -> Settlement:
        with self._lock:
            self._enter("settle")
            return self._check_and_settle([record], record_digest(self.domain, record), signature)

    def settle_batch(self, records: Sequence[UsageRecord], signature: bytes) -> Settlement:
        with self._lock:
            self._enter("settle_batch")
            return self._check_and_settle(records, batch_digest(self.domain, records), signature)

    def settlement(self, job_id: int) -> Settlement | None:
        with self._lock:
            self._enter("settlement")
            tx = self.settled_tx.get(job_id)
            return Settlement(tx, {job_id: self.jobs[job_id].payment}) if tx else None

    def payments(self, job_ids: Iterable[int]) -> dict[int, int]:
        with self._lock:
            self._enter("payments")
            return {j: self.jobs[j].payment for j in job_ids if j in self.settled_tx}

    def finalized_job_ids(self) -> set[int]:
        with self._lock:
            self._enter("finalized_job_ids")
            return set(self.finalized)

    def chain_time(self) -> int:
        return int(self.clock()) + self.clock_offset

    def nudge(self) -> bool:
        return False

    def dispute_window(self) -> int:
        return self.window

    def withdraw(self, job_ids: Sequence[int]) -> int:
        with self._lock:
            self._enter("withdraw")
            if len(job_ids) > MAX_WITHDRAW_IDS:  # the market's withdraw(uint256[]) is bounded
                raise ChainRejected(
                    "MarketBatchTooLarge",
                    name="MarketBatchTooLarge",
                    args={"size": len(job_ids), "max": MAX_WITHDRAW_IDS},
                )
            self.withdraw_calls.append(list(job_ids))
            amount = 0
            for job_id in job_ids:
                job = self.jobs[job_id]
                if (
                    job.state is not JobState.SETTLED
                    or job.settled_at + self.window > self.chain_time()
                ):
                    raise ChainRejected(
                        "MarketDisputeWindowOpen",
                        name="MarketDisputeWindowOpen",
                        args={"jobId": job_id},
                    )
                job.state = JobState.FINALIZED
                self.finalized.add(job_id)
                amount += job.payment
            self.withdrawn += amount
            return amount
