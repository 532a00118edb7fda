"""Fixtures for the `jl` tests: one anvil with the protocol deployed per module, a fresh
``$JL_HOME`` per test that records that deployment, and a runner that invokes the CLI
in-process (Typer's CliRunner) pointed at the chain."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_typing import ChecksumAddress
from typer.testing import CliRunner, Result
from web3 import Web3

from jouleledger import Devnet, start_devnet
from jouleledger.cli import app
from jouleledger.client import JouleLedger
from jouleledger.deployment import Deployment, deploy_protocol, save_deployment
from jouleledger.records import MeterKind, UsageRecord, record_digest
from tests.conftest import ROOT

#: Variables that would leak the developer's own settings into a test.
CLEAN_ENV: dict[str, str | None] = {
    "JL_RPC": None,
    "JL_ACCOUNT": None,
    "JL_PASSWORD": None,
    "COLUMNS": "200",
}


#: Dev accounts that start with `FUNDING` CPT; dev:8 has ether but no CPT.
FUNDED = (1, 2, 3, 4, 5, 6, 7, 9)
FUNDING = 10_000 * 10**18
UNFUNDED = "dev:8"


@dataclass
class Chain:
    """The module's anvil and the protocol deployed on it."""

    net: Devnet
    deployment: Deployment

    @property
    def url(self) -> str:
        assert self.net.rpc_url is not None
        return self.net.rpc_url

    @property
    def w3(self) -> Web3:
        return self.net.w3

    def client(self, index: int) -> JouleLedger:
        """An SDK client signing as dev account `index` (for setup the CLI does not do)."""
        return JouleLedger(self.w3, self.deployment, self.net.accounts[index])

    def advance(self, seconds: int) -> None:
        """Move the chain's clock forward and mine a block."""
        self.net.control.advance_time(seconds)


@dataclass
class Jl:
    """Runs `jl` in-process against `chain` with `home` as ``$JL_HOME``."""

    chain: Chain
    home: Path
    runner: CliRunner

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str | None] | None = None,
        rpc: str | None = "chain",
    ) -> Result:
        prefix: list[str] = []
        if rpc == "chain":
            prefix = ["--rpc", self.chain.url]
        elif rpc is not None:
            prefix = ["--rpc", rpc]
        environment = {**CLEAN_ENV, "JL_HOME": str(self.home), **(env or {})}
        return self.runner.invoke(app, [*prefix, *args], input=input, env=environment)

    def json(self, *args: str, **kwargs: Any) -> Any:
        """Run with ``--json``, check it succeeded, and parse stdout (which must be JSON)."""
        result = self("--json", *args, **kwargs)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def ok(self, *args: str, **kwargs: Any) -> str:
        """Run, check it succeeded, and return stdout."""
        result = self(*args, **kwargs)
        assert result.exit_code == 0, result.output
        return result.stdout


def error_line(result: Result) -> str:
    """The one error line of a failed run, after checking there is exactly one and no
    traceback."""
    assert result.exit_code != 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert errors[0] == lines[-1], result.stderr
    assert "Traceback" not in result.output
    return errors[0]


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    """An anvil for this module, with the protocol deployed by dev:0."""
    with start_devnet("anvil", search_from=ROOT) as net:
        chain = Chain(net, deploy_protocol(net.w3, net.accounts[0]))
        deployer = chain.client(0)
        for index in FUNDED:
            deployer.transfer(net.accounts[index].address, FUNDING)
        yield chain


@pytest.fixture
def home(tmp_path: Path, chain: Chain) -> Path:
    """A fresh $JL_HOME whose deployments file records the module's deployment."""
    path = tmp_path / "jl-home"
    save_deployment(path / "deployments.json", chain.deployment)
    return path


@pytest.fixture
def jl(chain: Chain, home: Path) -> Jl:
    return Jl(chain, home, CliRunner())


@pytest.fixture
def gpu_class() -> str:
    """A GPU class of its own per test, so that each test has its own queue."""
    return f"test-gpu-{secrets.token_hex(4)}"


def fresh_key() -> tuple[str, ChecksumAddress]:
    """A new private key (hex) and its address, with nothing on chain."""
    account = Account.create()
    return account.key.hex(), account.address


def settle(chain: Chain, job_id: int, provider: int, oracle_key: str, energy_mj: int) -> None:
    """Claim `job_id` as dev account `provider` and settle it with an oracle signature: the
    provider side, which the oracle node (not the CLI) does."""
    client = chain.client(provider)
    client.claim_job(job_id)
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    record = UsageRecord(
        job_id=job_id,
        provider=client.address,
        gpu_millis=2_000,
        energy_mj=energy_mj,
        ai_tokens=5_000,
        result_hash=b"\1" * 32,
        start_time=now - 2,
        end_time=now,
        meter_kind=MeterKind.SIMULATED,
        gpu_id_hash=b"\2" * 32,
    )
    digest = record_digest(client.domain, record)
    signature = Account.unsafe_sign_hash(digest, oracle_key).signature
    client.settle(record, bytes(signature))
