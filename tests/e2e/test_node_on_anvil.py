"""End to end on anvil: a client posts three jobs, the node runs them in bid order, settles
them with one batch signature, and withdraws once the dispute window passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from jouleledger import Devnet
from jouleledger.client import JouleLedger
from jouleledger.records import batch_digest
from jouleledger_oracle.attestation import Measurement
from jouleledger_oracle.chain import LedgerChain, check_registration
from jouleledger_oracle.metering import SimulatedMeter
from jouleledger_oracle.node import NodeConfig, OracleNode
from jouleledger_oracle.signer import OracleSigner
from jouleledger_oracle.specs import SpecRegistry
from jouleledger_oracle.store import OracleStore
from tests.oracle.conftest import SMALL_SPEC, AnvilMarket

DISPUTE_WINDOW = 60


def stored(store: OracleStore, job_id: int) -> Measurement:
    found = store.get_measurement(job_id)
    assert found is not None, f"job {job_id} has no measurement"
    return Measurement.from_fields(found.record)


@pytest.fixture(scope="module")
def market(anvil: Devnet) -> AnvilMarket:
    return AnvilMarket.deploy(anvil, dispute_window=DISPUTE_WINDOW)


def test_node_runs_jobs_in_bid_order_settles_them_and_withdraws(
    market: AnvilMarket, tmp_path: Path
) -> None:
    bids = {market.post("1", SMALL_SPEC): 1, market.post("3"): 3, market.post("2", SMALL_SPEC): 2}
    without_spec = [job_id for job_id, bid in bids.items() if bid == 3]
    signer = OracleSigner(market.oracle.key)
    provider_account = market.provider.account
    assert provider_account is not None
    chain = LedgerChain(JouleLedger(market.devnet.w3, market.deployment, provider_account))
    assert check_registration(chain, signer.address).gpu_class == "nvidia-h100"
    specs = SpecRegistry(tmp_path / "specs.json", default=SMALL_SPEC)
    specs.add(SMALL_SPEC)
    config = NodeConfig(
        batch_size=3, batch_delay_s=30, poll_interval_s=0.05, withdraw_interval_s=0.1
    )
    with OracleStore(tmp_path / "node.sqlite") as store:
        node = OracleNode(
            chain=chain,
            store=store,
            meter=SimulatedMeter(),
            signer=signer,
            specs=specs,
            config=config,
        )
        node.start()
        try:
            settled = node.wait_until(
                lambda: all((r := store.get_job(j)) and r.state == "settled" for j in bids), 60
            )
            assert settled, f"not settled: {[store.get_job(j) for j in bids]}"
            measurements = {j: stored(store, j) for j in bids}
            # The dispute window passes on chain; the node withdraws the payments.
            market.devnet.control.advance_time(DISPUTE_WINDOW + 1)
            withdrawn = node.wait_until(lambda: node.metrics.snapshot()[0].withdrawals >= 1, 30)
            assert withdrawn, node.metrics.snapshot()
        finally:
            node.stop(timeout=10)

    client = market.client
    claimed = [e["args"]["jobId"] for e in client.events("JobClaimed")]
    assert claimed == sorted(bids, key=lambda j: -bids[j])  # 3, 2, 1: highest bid first

    settled_events = client.events("JobSettled")
    assert sorted(e["args"]["jobId"] for e in settled_events) == sorted(bids)
    for event in settled_events:
        args = event["args"]
        m = measurements[args["jobId"]]
        assert args["tokensPerJouleE6"] > 0
        assert (args["energyMj"], args["aiTokens"]) == (m.energy_mj, m.ai_tokens)
        assert m.meter_kind == "simulated"
        expected_source = "default" if args["jobId"] in without_spec else "registry"
        assert m.spec_source == expected_source

    attested = client.events("UsageAttested")
    assert len(attested) == 1 and attested[0]["args"]["jobs"] == 3  # one batch, one signature
    records = [measurements[j].usage_record() for j in claimed]
    assert bytes(attested[0]["args"]["digest"]) == batch_digest(client.domain, records)
    assert attested[0]["args"]["signer"] == signer.address

    finalized = client.events("JobFinalized", provider=chain.provider)
    assert sorted(e["args"]["jobId"] for e in finalized) == sorted(bids)
    gpu = node.gpu_totals()[0]
    assert gpu.jobs_settled == 3 and gpu.tokens_per_joule > 0
    assert gpu.earned_wei == sum(e["args"]["payment"] for e in settled_events)
