"""The node's loops against an in-memory market: order, batching, restarts, failures."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from jouleledger.records import record_digest
from jouleledger.types import JobState
from jouleledger_oracle.attestation import Measurement
from jouleledger_oracle.chain import ChainUnavailable
from jouleledger_oracle.metering import SimulatedMeter
from jouleledger_oracle.node import NodeConfig, OracleNode
from jouleledger_oracle.signer import OracleSigner, recover_signer
from jouleledger_oracle.specs import SpecRegistry
from jouleledger_oracle.store import OracleStore
from jouleledger_oracle.workloads import JobSpec, run_job
from jouleledger_oracle.workloads.transformer import _torch_if_cuda

from .conftest import SMALL_SPEC
from .fake_chain import FakeChain

FAST = {
    "poll_interval_s": 0.02,
    "withdraw_interval_s": 0.05,
    "backoff_initial_s": 0.01,
    "backoff_max_s": 0.05,
}


class Rig:
    """A node's parts: the fake market, the store, the signer; builds nodes over them."""

    def __init__(self, tmp_path: Path) -> None:
        self.oracle = OracleSigner(Account.create().key)
        self.provider = Account.create().address
        self.chain = FakeChain(self.provider, self.oracle.address, clock_offset=2)
        self.store = OracleStore(tmp_path / "node.sqlite")
        self.specs = SpecRegistry(tmp_path / "specs.json", default=SMALL_SPEC)
        self.meter = SimulatedMeter()

    def node(self, **config: Any) -> OracleNode:
        return OracleNode(
            chain=self.chain,
            store=self.store,
            meter=self.meter,
            signer=self.oracle,
            specs=self.specs,
            config=NodeConfig(**(FAST | config)),
        )

    @contextmanager
    def running(self, **config: Any) -> Iterator[OracleNode]:
        node = self.node(**config)
        node.start()
        try:
            yield node
        finally:
            node.stop(timeout=10)

    def stored(self, job_id: int) -> Measurement:
        found = self.store.get_measurement(job_id)
        assert found is not None, f"job {job_id} has no measurement"
        return Measurement.from_fields(found.record)

    def state(self, job_id: int) -> str | None:
        row = self.store.get_job(job_id)
        return row.state if row else None

    def all_settled(self, *job_ids: int) -> Callable[[], bool]:
        return lambda: all(self.state(j) == "settled" for j in job_ids)

    def measure(self, job_id: int) -> Measurement:
        """Claim (in the fake), run and store a measurement, as a node would have."""
        job = self.chain.jobs[job_id]
        job.state, job.provider = JobState.CLAIMED, self.provider
        self.chain.claims.append(job_id)
        self.store.mark_claimed(job_id)
        result = run_job(SMALL_SPEC, self.meter, job_id=job_id)
        m = Measurement.from_result(
            result, provider=self.provider, job_spec_hash=job.spec_hash, spec_source="default"
        )
        return Measurement.from_fields(self.store.save_measurement(job_id, m.to_fields()).record)

    def sign(self, m: Measurement) -> str:
        digest = record_digest(self.chain.domain, m.usage_record())
        return self.store.sign_once(m.job_id, digest, self.oracle.sign_digest).signature


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path)
    yield rig
    rig.store.close()


def test_node_claims_jobs_in_bid_order_and_settles_them_in_one_batch(rig: Rig) -> None:
    bids = {rig.chain.post(bid): bid for bid in (5, 50, 0, 20, 7)}
    with rig.running(batch_size=5, batch_delay_s=60) as node:
        assert node.wait_until(rig.all_settled(*bids), 20), "five settled jobs"
    assert rig.chain.claims == sorted(bids, key=lambda j: -bids[j])
    assert rig.chain.settle_calls == [rig.chain.claims]  # one batch, signed in claim order
    for job_id in bids:
        attestation = rig.store.get_attestation(job_id)
        assert attestation is not None
        digest, signature = bytes.fromhex(attestation.digest[2:]), attestation.signature
        assert recover_signer(digest, bytes.fromhex(signature[2:])) == rig.oracle.address


def test_a_partial_batch_is_settled_once_its_oldest_job_waited_the_batch_delay(rig: Rig) -> None:
    jobs = [rig.chain.post(1), rig.chain.post(2)]
    with rig.running(batch_size=10, batch_delay_s=0.3) as node:
        assert node.wait_until(rig.all_settled(*jobs), 20), "the partial batch"
        counters, _, _ = node.metrics.snapshot()
    assert rig.chain.settle_calls == [[2, 1]]
    assert counters.batch_signatures == 1
    assert counters.settle_transactions == 1 and counters.jobs_settled == 2
    assert counters.attestations_signed == 2


def test_batch_size_one_settles_each_job_with_its_stored_signature(rig: Rig) -> None:
    jobs = [rig.chain.post(bid) for bid in (1, 2, 3)]
    with rig.running(batch_size=1, batch_delay_s=60) as node:
        assert node.wait_until(rig.all_settled(*jobs), 20), "three single settlements"
        counters, _, _ = node.metrics.snapshot()
    assert "settle_batch" not in rig.chain.calls
    assert sorted(map(len, rig.chain.settle_calls)) == [1, 1, 1]
    assert counters.batch_signatures == 0


def test_unknown_spec_runs_the_default_spec_and_the_measurement_says_so(rig: Rig) -> None:
    registered = JobSpec(workload="token-generation", inputs={"max_new_tokens": 3, "device": "cpu"})
    spec_hash = rig.specs.add(registered)
    known = rig.chain.post(2, spec_hash=bytes.fromhex(spec_hash[2:]))
    unknown = rig.chain.post(1, spec_hash=b"\x42" * 32)
    with rig.running(batch_size=2, batch_delay_s=60) as node:
        assert node.wait_until(rig.all_settled(known, unknown), 20), "both jobs"
    ran_known, ran_unknown = rig.stored(known), rig.stored(unknown)
    assert (ran_known.spec_source, ran_known.spec_hash) == ("registry", spec_hash)
    assert ran_known.ai_tokens == 3 and ran_known.job_spec_hash == spec_hash
    assert ran_unknown.spec_source == "default"
    assert ran_unknown.spec_hash == SMALL_SPEC.spec_hash()
    assert ran_unknown.job_spec_hash == "0x" + "42" * 32
    assert ran_unknown.meter_kind == "simulated"


def test_restart_resumes_every_state_without_signing_anything_twice(rig: Rig) -> None:
    adopted, claimed, measured, signed, settled_on_chain = (rig.chain.post(b) for b in range(5))
    # Claimed on chain, crash before the store heard of it.
    job = rig.chain.jobs[adopted]
    job.state, job.provider = JobState.CLAIMED, rig.provider
    rig.chain.claims.append(adopted)
    # Claimed and recorded, crash while running.
    rig.chain.jobs[claimed].state = JobState.CLAIMED
    rig.chain.jobs[claimed].provider = rig.provider
    rig.chain.claims.append(claimed)
    rig.store.mark_claimed(claimed)
    # Measured, crash before signing.
    rig.measure(measured)
    # Signed, crash before settling.
    signature = rig.sign(rig.measure(signed))
    # Signed and settled on chain, crash before the store recorded the settlement.
    record = rig.measure(settled_on_chain)
    chain_signature = rig.sign(record)
    settlement = rig.chain.settle(record.usage_record(), bytes.fromhex(chain_signature[2:]))
    before = {j: rig.store.get_attestation(j) for j in (signed, settled_on_chain)}

    with rig.running(batch_size=10, batch_delay_s=0.05, claim_jobs=False) as node:
        assert node.wait_until(
            rig.all_settled(adopted, claimed, measured, signed, settled_on_chain), 20
        ), "recovery"
    row = rig.store.get_job(settled_on_chain)
    assert row is not None and row.settle_tx == settlement.tx_hash
    assert before[signed] is not None and before[signed].signature == signature
    for job_id, attestation in before.items():
        assert rig.store.get_attestation(job_id) == attestation
    settled_ids = sorted(j for batch in rig.chain.settle_calls for j in batch)
    assert settled_ids == sorted([adopted, claimed, measured, signed, settled_on_chain])
    rig.store.check_integrity()


def test_chain_outages_are_retried_with_backoff_and_the_node_keeps_going(rig: Rig) -> None:
    rig.chain.fail_methods = {"claimed_job_ids", "claim_next"}
    jobs = [rig.chain.post(1), rig.chain.post(2)]
    with rig.running(batch_size=2, batch_delay_s=60) as node:
        assert node.wait_until(lambda: node.metrics.snapshot()[0].chain_errors >= 3, 10), (
            "failed attempts"
        )
        assert not node.recovered
        rig.chain.fail_methods = set()
        rig.chain.faults = [ChainUnavailable("connection reset"), ChainUnavailable("timeout")]
        assert node.wait_until(rig.all_settled(*jobs), 20), "jobs after the outage"
        _, last_error, _ = node.metrics.snapshot()
    assert "down" in last_error or "timeout" in last_error or "reset" in last_error


def test_a_batch_mined_after_its_receipt_timed_out_is_recorded_not_sent_again(rig: Rig) -> None:
    jobs = [rig.chain.post(bid) for bid in (1, 2, 3)]
    rig.chain.lose_receipts = 1
    with rig.running(batch_size=3, batch_delay_s=60) as node:
        assert node.wait_until(rig.all_settled(*jobs), 20), "the batch to be recorded"
    assert len(rig.chain.settle_calls) == 1  # mined once, never sent again
    tx = rig.chain.settled_tx[jobs[0]]
    rows = [rig.store.get_job(j) for j in jobs]
    assert all(row is not None and row.settle_tx == tx for row in rows)


def test_a_job_the_market_refuses_is_set_aside_and_the_others_settle(rig: Rig) -> None:
    first, second = rig.chain.post(2), rig.chain.post(1)
    rig.chain.fail_methods = {"settle", "settle_batch"}
    with rig.running(batch_size=2, batch_delay_s=0) as node:
        assert node.wait_until(lambda: rig.state(second) == "signed", 20), "both jobs signed"
        rig.chain.jobs[first].state = JobState.EXPIRED  # someone expired it meanwhile
        rig.chain.fail_methods = set()
        assert node.wait_until(rig.all_settled(second), 20), "the other job"
        issue = node.issue(first)
    assert rig.state(first) == "signed"
    assert issue is not None and issue.permanent and issue.stage == "settle"
    assert "expired" in issue.message


def test_payments_are_withdrawn_once_the_dispute_window_passed(rig: Rig) -> None:
    rig.chain.window = 30
    jobs = [rig.chain.post(3), rig.chain.post(4)]
    with rig.running(batch_size=2, batch_delay_s=60) as node:
        assert node.wait_until(rig.all_settled(*jobs), 20), "settlement"
        assert rig.chain.finalized == set()
        rig.chain.clock_offset += 31  # the window passes
        assert node.wait_until(lambda: rig.chain.finalized == set(jobs), 10), "withdrawal"
        counters, _, _ = node.metrics.snapshot()
        totals = node.gpu_totals()
    assert counters.withdrawals == 1
    assert counters.withdrawn_wei == rig.chain.withdrawn > 0
    assert len(totals) == 1 and totals[0].jobs_settled == 2
    assert totals[0].earned_wei == sum(rig.chain.jobs[j].payment for j in jobs)


@pytest.mark.skipif(_torch_if_cuda() is not None, reason="CUDA works here: the job would run")
def test_a_failing_job_is_retried_then_given_up_with_its_reason(rig: Rig) -> None:
    failing = JobSpec(workload="token-generation", inputs={"device": "cuda"})
    spec_hash = rig.specs.add(failing)
    job = rig.chain.post(1, spec_hash=bytes.fromhex(spec_hash[2:]))
    with rig.running(max_attempts=2) as node:
        assert node.wait_until(lambda: (i := node.issue(job)) is not None and i.permanent, 10), (
            "giving up"
        )
        issue = node.issue(job)
        counters, _, _ = node.metrics.snapshot()
    assert issue is not None and "gave up after 2 attempts" in issue.message
    assert "device=cuda" in issue.message
    assert counters.job_failures == 2
    assert rig.state(job) == "claimed"


def test_the_settler_backs_off_while_the_chain_is_down_instead_of_spinning(rig: Rig) -> None:
    job = rig.chain.post(1)
    rig.sign(rig.measure(job))
    rig.chain.fail_methods = {"settle"}
    with rig.running(batch_size=1, claim_jobs=False, backoff_max_s=0.1) as node:
        assert node.wait_until(lambda: node.metrics.snapshot()[0].settle_failures >= 3, 10)
        time.sleep(0.5)  # a window to count tries in; there is no event for "not trying"
        tries = rig.chain.calls.count("settle")
        rig.chain.fail_methods = set()
        assert node.wait_until(rig.all_settled(job), 20), "the job after the outage"
    assert tries < 30, f"{tries} tries in about 0.5 s: no backoff"
