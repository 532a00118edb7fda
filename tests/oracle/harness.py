"""Helpers for the oracle node's tests: keystores, an in-memory market, an anvil market.

`FakeChain` implements the node's `Chain` interface in memory with the market's rules that
the node depends on (bid order, designated providers, signature checks over the SDK's
digests, settle once, end time against the chain clock, dispute window), plus fault
injection. `AnvilMarket` deploys the real protocol on anvil and plays admin and client.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from jouleledger import Devnet
from jouleledger.client import JobRequest, JouleLedger
from jouleledger.deployment import Deployment, ProtocolConfig, deploy_protocol, save_deployment
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
from jouleledger_oracle.runner import JobSpec
from jouleledger_oracle.signer import recover_signer

PASSWORD = "correct horse battery staple"
GPU_CLASS = "nvidia-h100"
PRICE = parse_amount("0.001")  # per GPU-second
MAX_PAYMENT = parse_amount("5")
SMALL_SPEC = JobSpec(
    workload="token-generation",
    inputs={"prompt_tokens": 4, "max_new_tokens": 8, "d_model": 16, "n_heads": 2, "device": "cpu"},
)


def write_keystore(path: Path, key: bytes, password: str = PASSWORD) -> Path:
    """An eth-account keystore with a cheap KDF (tests decrypt it often)."""
    path.write_text(json.dumps(Account.encrypt(key, password, kdf="pbkdf2", iterations=16)))
    return path


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str | Callable[[], str]
) -> None:
    """Poll `predicate` until it holds: only for waits on another process (nothing to await).

    Args:
        predicate: the condition; it may raise to give up early (the process died).
        timeout: seconds.
        what: for the message, or a function giving it (evaluated on failure).
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while not predicate():
        if time.monotonic() > deadline:
            text = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:g} s waiting for {text}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


# --- in memory --------------------------------------------------------------------------


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


# --- on anvil ---------------------------------------------------------------------------


@dataclass
class AnvilMarket:
    """The protocol deployed on a devnet, with a funded client and a registered provider."""

    devnet: Devnet
    deployment: Deployment
    admin: JouleLedger
    client: JouleLedger
    provider: JouleLedger
    oracle: LocalAccount

    @classmethod
    def deploy(cls, devnet: Devnet, *, dispute_window: int = 60) -> AnvilMarket:
        admin_account, provider_account, client_account = devnet.accounts[:3]
        config = ProtocolConfig(
            dispute_window=dispute_window,
            arbiter_timeout=dispute_window,
            unbonding_delay=3 * dispute_window,
        )
        deployment = deploy_protocol(devnet.w3, admin_account, config)
        admin = JouleLedger(devnet.w3, deployment, admin_account)
        for who in (provider_account, client_account):
            admin.transfer(who.address, parse_amount("100000"))
        oracle = Account.create()
        provider = admin.as_account(provider_account)
        provider.stake(parse_amount("10000"))
        provider.register_provider(oracle, GPU_CLASS, parse_amount("0.0001"), "http://node")
        return cls(devnet, deployment, admin, admin.as_account(client_account), provider, oracle)

    def save(self, path: Path) -> Path:
        save_deployment(path, self.deployment)
        return path

    def post(self, bid: str, spec: JobSpec | None = None, **extra: Any) -> int:
        spec_hash = bytes.fromhex(spec.spec_hash()[2:]) if spec is not None else b"\0" * 32
        request = JobRequest(
            GPU_CLASS,
            PRICE,
            MAX_PAYMENT,
            bid=parse_amount(bid),
            spec_hash=spec_hash,
            **extra,
        )
        return int(self.client.post_job(request, use_permit=False))
