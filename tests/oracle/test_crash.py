"""Crash safety of the real node: ``jl-oracle serve`` in a subprocess against anvil, killed
with SIGKILL after some jobs are measured and signed but before their batch settles, then
restarted. Nothing measured is lost, nothing is signed twice with different data, and what
settles on chain is exactly what the store holds."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account

from jouleledger import Devnet
from jouleledger.records import batch_digest, record_digest
from jouleledger_oracle.attestation import Measurement
from jouleledger_oracle.store import AttestationRow, JobRow, OracleStore
from jouleledger_oracle.workloads import JobSpec

from .conftest import PASSWORD, AnvilMarket, wait_until, write_keystore

JOBS = 6
# About 0.2 s of CPU per job, so a kill often lands while a job runs.
SPEC = JobSpec(
    workload="token-generation",
    inputs={"max_new_tokens": 400, "n_layers": 4, "d_model": 64, "device": "cpu"},
)


@dataclass
class Snapshot:
    rows: dict[int, JobRow]
    measurements: dict[int, dict[str, object]]
    attestations: dict[int, AttestationRow]


def snapshot(db: Path) -> Snapshot:
    with OracleStore(db) as store:
        rows = {
            row.job_id: row
            for state in ("claimed", "measured", "signed", "settled")
            for row in store.jobs_in_state(state)
        }
        measurements = {}
        attestations = {}
        for job_id in rows:
            if (m := store.get_measurement(job_id)) is not None:
                measurements[job_id] = m.record
            if (a := store.get_attestation(job_id)) is not None:
                attestations[job_id] = a
    return Snapshot(rows, measurements, attestations)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class NodeProcess:
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [*self.args, *extra], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self.process

    def tail(self) -> str:
        return "the node; its log ends:\n" + self.log.read_text()[-3000:]

    def alive(self) -> bool:
        """True while the node runs; fails the test with its log if it exited."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the node exited with {self.process.returncode}: {self.tail()}")
        return True


@pytest.fixture
def node_process(anvil: Devnet, tmp_path: Path) -> tuple[AnvilMarket, NodeProcess, Path]:
    market = AnvilMarket.deploy(anvil)
    provider_key = anvil.accounts[1].key
    assert Account.from_key(provider_key).address == market.provider.address
    specs = tmp_path / "specs.json"
    specs.write_text(json.dumps({"specs": [SPEC.model_dump(mode="json")]}))
    db = tmp_path / "node.sqlite"
    args = [
        sys.executable,
        "-m",
        "jouleledger_oracle.cli",
        "serve",
        "--rpc",
        str(anvil.rpc_url),
        "--keystore",
        str(write_keystore(tmp_path / "oracle.json", market.oracle.key)),
        "--provider-keystore",
        str(write_keystore(tmp_path / "provider.json", bytes(provider_key))),
        "--meter",
        "simulated",
        "--port",
        str(free_port()),
        "--deployments",
        str(market.save(tmp_path / "deployments.json")),
        "--db",
        str(db),
        "--specs",
        str(specs),
        "--batch-size",
        str(JOBS + 1),  # never full: only the batch delay settles it
        "--poll-interval",
        "0.05",
        "--withdraw-interval",
        "3600",
    ]
    env = os.environ | {
        "JL_ORACLE_PASSWORD": PASSWORD,
        "JL_PROVIDER_PASSWORD": PASSWORD,
        "JL_ORACLE_API_TOKEN": "token",
    }
    return market, NodeProcess(args, env, tmp_path / "node.log"), db


def test_node_killed_mid_batch_restarts_without_losing_or_resigning_anything(
    node_process: tuple[AnvilMarket, NodeProcess, Path],
) -> None:
    market, node, db = node_process
    bids = {market.post(str(bid), SPEC): bid for bid in (4, 9, 1, 7, 3, 8)}
    assert len(bids) == JOBS

    first = node.start("--batch-delay", "600")  # so the first run cannot settle anything
    try:
        wait_until(lambda: node.alive() and db.exists(), 60, node.tail)

        def mid_batch() -> bool:
            states = [row.state for row in snapshot(db).rows.values()]
            signed = states.count("signed")
            return node.alive() and ((signed >= 2 and "claimed" in states) or signed >= 3)

        wait_until(mid_batch, 60, node.tail)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    before = snapshot(db)
    assert market.client.events("JobSettled") == [], "the batch settled before the kill"
    assert len(before.attestations) >= 2

    second = node.start("--batch-delay", "0.2")
    try:

        def all_settled() -> bool:
            rows = snapshot(db).rows
            done = len(rows) == JOBS and all(row.state == "settled" for row in rows.values())
            return node.alive() and done

        wait_until(all_settled, 60, node.tail)
    finally:
        second.send_signal(signal.SIGTERM)  # a graceful stop this time
        # uvicorn shuts down, then exits by the signal it got (its convention).
        assert second.wait(30) in (0, -signal.SIGTERM), node.tail()
    assert "node: stopped" in node.log.read_text()
    after = snapshot(db)

    # Nothing measured before the kill was lost or changed; nothing signed was re-signed.
    for job_id, record in before.measurements.items():
        assert after.measurements[job_id] == record, f"job {job_id}'s measurement changed"
    for job_id, attestation in before.attestations.items():
        assert after.attestations[job_id] == attestation, f"job {job_id} was signed again"
    assert sorted(after.attestations) == sorted(bids)

    # What settled on chain is what the store holds, each job exactly once.
    domain = market.client.domain
    settled = market.client.events("JobSettled")
    assert sorted(e["args"]["jobId"] for e in settled) == sorted(bids)
    measured = {j: Measurement.from_fields(r) for j, r in after.measurements.items()}
    for event in settled:
        m = measured[event["args"]["jobId"]]
        assert (event["args"]["energyMj"], event["args"]["aiTokens"]) == (m.energy_mj, m.ai_tokens)
        assert event["args"]["tokensPerJouleE6"] > 0
        digest = "0x" + record_digest(domain, m.usage_record()).hex()
        assert after.attestations[m.job_id].digest == digest
        assert after.rows[m.job_id].settle_tx == "0x" + bytes(event["transactionHash"]).hex()
    for attested in market.client.events("UsageAttested"):
        tx = attested["transactionHash"]
        in_tx = [e["args"]["jobId"] for e in settled if e["transactionHash"] == tx]
        records = [measured[j].usage_record() for j in in_tx]
        expected = (
            record_digest(domain, records[0])
            if len(records) == 1
            else batch_digest(domain, records)
        )
        assert bytes(attested["args"]["digest"]) == expected
    claimed = [e["args"]["jobId"] for e in market.client.events("JobClaimed")]
    assert claimed == sorted(bids, key=lambda j: -bids[j])
    with OracleStore(db) as store:
        store.check_integrity()
