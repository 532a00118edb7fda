"""A node with many GPUs: one job per GPU at once, each metered on its own GPU over its own
window, jobs claimed in one call per free GPUs, withdrawals in bounded chunks."""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from jouleledger.records import MarketDomain
from jouleledger.types import JobState
from jouleledger_oracle.attestation import Measurement
from jouleledger_oracle.chain import LedgerChain
from jouleledger_oracle.errors import ConfigError
from jouleledger_oracle.metering import SimulatedMeter
from jouleledger_oracle.node import NodeConfig, OracleNode
from jouleledger_oracle.node.context import NodeContext
from jouleledger_oracle.node.lanes import choose_devices
from jouleledger_oracle.node.withdrawals import Withdrawals
from jouleledger_oracle.signer import OracleSigner
from jouleledger_oracle.specs import SpecRegistry
from jouleledger_oracle.store import OracleStore
from jouleledger_oracle.workloads import JobSpec

from .conftest import wait_until
from .fake_chain import MAX_WITHDRAW_IDS, FakeChain

FAST: dict[str, Any] = {"poll_interval_s": 0.02, "backoff_initial_s": 0.01, "backoff_max_s": 0.05}
GPUS = 4


def gated_spec(gate: Path) -> JobSpec:
    """A job that runs until `gate` exists, so a test can see every GPU busy at once."""
    script = (
        "import os, sys, time\n"
        f"while not os.path.exists({str(gate)!r}): time.sleep(0.005)\n"
        "print(os.environ['JL_GPU_UUID'])"
    )
    return JobSpec(
        workload="shell", inputs={"command": [sys.executable, "-c", script], "timeout_s": 60}
    )


def stored(store: OracleStore, job_id: int) -> Measurement:
    found = store.get_measurement(job_id)
    assert found is not None, f"job {job_id} has no measurement"
    return Measurement.from_fields(found.record)


@pytest.fixture
def node_parts(tmp_path: Path) -> Iterator[dict[str, Any]]:
    oracle = OracleSigner(Account.create().key)
    provider = Account.create().address
    store = OracleStore(tmp_path / "node.sqlite")
    yield {
        "chain": FakeChain(provider, oracle.address, clock_offset=2),
        "store": store,
        "meter": SimulatedMeter(gpu_count=GPUS),
        "signer": oracle,
        "specs": SpecRegistry(tmp_path / "specs.json", default=gated_spec(tmp_path / "gate")),
    }
    store.close()


def test_one_job_runs_on_each_gpu_at_once_and_each_is_metered_on_its_own_gpu(
    node_parts: dict[str, Any], tmp_path: Path
) -> None:
    chain: FakeChain = node_parts["chain"]
    jobs = [chain.post(bid) for bid in range(GPUS + 1)]
    meter: SimulatedMeter = node_parts["meter"]
    store: OracleStore = node_parts["store"]
    node = OracleNode(**node_parts, config=NodeConfig(**FAST, batch_size=GPUS + 1))
    node.start()
    try:
        # Each lane opens its meter window once it has the job's spec: poll for all four.
        wait_until(lambda: len(meter.busy()) == GPUS, 20, "four GPUs measuring at once")
        running = node.running_jobs()
        assert set(running) == {gpu.uuid for gpu in node.devices()}  # one job on each GPU
        assert meter.busy() == set(running)
        assert chain.claim_calls[0] == GPUS  # one claim call for the four free GPUs
        assert len(set(running.values())) == GPUS
        (tmp_path / "gate").touch()
        assert node.wait_until(
            lambda: all(store.get_measurement(j) is not None for j in jobs), 30
        ), "every job measured"
    finally:
        (tmp_path / "gate").touch()  # never leave a job waiting
        node.stop(timeout=10)
    measured = [stored(store, j) for j in jobs]
    assert {m.meter_kind for m in measured} == {"simulated"}
    on_gpus = {m.gpu_uuid for m in measured}
    assert on_gpus == {gpu.uuid for gpu in node.devices()}
    assert {g.gpu_uuid for g in node.gpu_totals()} == on_gpus  # per-GPU figures


def test_the_node_runs_only_on_the_gpus_it_is_given(node_parts: dict[str, Any]) -> None:
    meter: SimulatedMeter = node_parts["meter"]
    uuids = [gpu.uuid for gpu in meter.describe()]

    assert [g.uuid for g in choose_devices(meter, ["2", uuids[0]])] == [uuids[2], uuids[0]]
    with pytest.raises(ConfigError, match="no such GPU"):
        choose_devices(meter, ["7"])
    with pytest.raises(ConfigError, match="given twice"):
        choose_devices(meter, ["1", uuids[1]])
    node = OracleNode(**node_parts, config=NodeConfig(**FAST, gpus=("1",)))
    assert [g.uuid for g in node.devices()] == [uuids[1]]


def test_withdrawals_go_in_chunks_the_market_accepts(node_parts: dict[str, Any]) -> None:
    chain: FakeChain = node_parts["chain"]
    count = MAX_WITHDRAW_IDS + 44
    settled = []
    for _ in range(count):
        job = chain.jobs[chain.post(1)]
        job.state, job.provider, job.payment = JobState.SETTLED, chain.provider, 5
        settled.append(types.SimpleNamespace(job_id=job.job_id))
    # Only the store's list of settled jobs is read: a stand-in holds it.
    store = types.SimpleNamespace(jobs_in_state=lambda state: settled if state == "settled" else [])
    ctx = NodeContext(
        chain=chain,
        store=store,  # type: ignore[arg-type]
        signer=node_parts["signer"],
        config=NodeConfig(**FAST),
        clock=time.time,
    )
    Withdrawals(ctx).withdraw_due()

    assert [len(call) for call in chain.withdraw_calls] == [MAX_WITHDRAW_IDS, 44]
    assert chain.withdrawn == 5 * count


class _SdkClient:
    """The `JouleLedger` members `LedgerChain.claim_many` uses: ``claim_next(n)``."""

    def __init__(self, eligible: int) -> None:
        self.address = Account.create().address
        self.domain = MarketDomain(31337, Account.create().address)
        self.eligible = list(range(1, eligible + 1))
        self.calls: list[int] = []

    def claim_next(self, n: int) -> list[int]:
        self.calls.append(n)
        claimed, self.eligible = self.eligible[:n], self.eligible[n:]
        return claimed


def test_ledger_chain_claims_up_to_n_jobs_in_one_call_each() -> None:
    client = _SdkClient(3)
    chain = LedgerChain(client)  # type: ignore[arg-type]

    assert chain.claim_many(5) == [1, 2, 3]
    assert chain.claim_many(2) == []
    assert client.calls == [5, 2]  # one transaction per call
