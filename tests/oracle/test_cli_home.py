"""`jl-oracle` finds what `jl` recorded, with no flag: the deployment in
``$JL_HOME/deployments.json`` by the node's chain id, keystores by `jl account` name, the
devnet `jl devnet up` runs, and `jl`'s ``JL_PASSWORD``; and says what to run when the
deployment is missing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner, Result

from jouleledger import Devnet
from jouleledger.deployment import Deployment, save_deployment
from jouleledger.home import DevnetRecord, Paths, save_devnet
from jouleledger_oracle.cli import app
from jouleledger_oracle.node import OracleNode

from .conftest import PASSWORD, AnvilMarket, write_keystore

runner = CliRunner()
#: Only `jl`'s password variable: the node's own are unset, so the fallback is what opens.
ENV: dict[str, str | None] = {
    "JL_PASSWORD": PASSWORD,
    "JL_ORACLE_PASSWORD": None,
    "JL_PROVIDER_PASSWORD": None,
    "JL_RPC": None,
    "JL_ORACLE_RPC": None,
    "JL_ORACLE_DEPLOYMENTS": None,
}


@pytest.fixture(scope="module")
def market(anvil: Devnet) -> AnvilMarket:
    return AnvilMarket.deploy(anvil)


@pytest.fixture
def home(tmp_path: Path, market: AnvilMarket) -> Paths:
    """A $JL_HOME as `jl` leaves it: the provider's and the oracle's keystores by name, and
    a deployments file with this chain's entry next to another chain's."""
    paths = Paths(tmp_path / "jl-home")
    paths.keystores.mkdir(parents=True)
    write_keystore(paths.keystore("my-oracle"), market.oracle.key)
    write_keystore(paths.keystore("my-provider"), market.devnet.accounts[1].key)
    elsewhere = Deployment(1, market.admin.address, market.admin.address, market.admin.address)
    save_deployment(paths.deployments, elsewhere)
    save_deployment(paths.deployments, market.deployment)
    return paths


def serve(
    paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[Result, OracleNode | None]:
    """`jl-oracle serve ARGS` with $JL_HOME at `paths`, up to where it would start serving
    (uvicorn is stubbed): its result and its node."""
    served: list[OracleNode] = []

    def run(api: Any, **_: Any) -> None:
        served.append(api.state.node)

    monkeypatch.setattr(uvicorn, "run", run)
    command = ["serve", "--meter", "simulated", "--no-claim", "--db", str(tmp_path / "n.sqlite")]
    result = runner.invoke(app, [*command, *args], env={**ENV, "JL_HOME": str(paths.home)})
    return result, (served[0] if served else None)


def names() -> list[str]:
    return ["--keystore", "my-oracle", "--provider-keystore", "my-provider"]


def test_serve_finds_the_deployment_jl_recorded_for_the_nodes_chain(
    market: AnvilMarket, home: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rpc = str(market.devnet.rpc_url)
    result, node = serve(home, tmp_path, monkeypatch, "--rpc", rpc, *names())
    assert result.exit_code == 0, result.output
    assert node is not None
    client = node.chain.client
    assert client.deployment == market.deployment
    assert client.address == market.provider.address  # the provider's keystore, by name


def test_serve_defaults_to_the_devnet_jl_devnet_up_recorded(
    market: AnvilMarket, home: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = market.devnet
    assert net.process is not None and net.rpc_url is not None
    port = int(net.rpc_url.rsplit(":", 1)[1])
    record = DevnetRecord(
        pid=net.process.pid, port=port, chain="anvil", chain_id=31337, rpc_url=net.rpc_url,
        log_path=str(net.log_path), started_at=time.time(),
    )  # fmt: skip
    save_devnet(home.devnet, record)
    result, node = serve(home, tmp_path, monkeypatch, *names())  # no --rpc, no --deployments
    assert result.exit_code == 0, result.output
    assert node is not None


def test_serve_without_a_deployment_for_the_chain_names_jl_home_and_what_to_run(
    market: AnvilMarket, home: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = Paths(tmp_path / "other-home")
    empty.keystores.mkdir(parents=True)
    for name in ("my-oracle", "my-provider"):
        empty.keystore(name).write_text(home.keystore(name).read_text())
    rpc = str(market.devnet.rpc_url)
    result, node = serve(empty, tmp_path, monkeypatch, "--rpc", rpc, *names())
    assert result.exit_code == 2 and node is None
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: no deployment on chain 31337 (at {rpc}) in {empty.deployments}, the "
        "deployments file under $JL_HOME: run `jl deploy` or `jl devnet up`, or pass "
        "--deployments FILE"
    )


def test_a_keystore_name_jl_does_not_know_says_how_to_create_it(
    market: AnvilMarket, home: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--rpc", str(market.devnet.rpc_url), "--keystore", "nobody"]
    result, _ = serve(home, tmp_path, monkeypatch, *args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: no keystore named nobody in {home.keystores} (and no file nobody here): "
        "create it with `jl account new nobody`, or pass a keystore file's path"
    )


def test_signer_proof_takes_the_same_defaults(market: AnvilMarket, home: Paths) -> None:
    args = ["signer-proof", "--rpc", str(market.devnet.rpc_url), "--keystore", "my-oracle"]
    env = {**ENV, "JL_HOME": str(home.home)}
    result = runner.invoke(app, [*args, "--provider", market.client.address], env=env)
    assert result.exit_code == 0, result.output
    assert len(bytes.fromhex(result.stdout.strip().removeprefix("0x"))) == 65
