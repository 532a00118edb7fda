"""``jl-oracle``: what the meter command shows, and one-line errors with reliable exit codes."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from eth_account import Account
from typer.testing import CliRunner, Result

from jouleledger import Devnet, start_devnet
from jouleledger.deployment import save_deployment
from jouleledger.units import parse_amount
from jouleledger_oracle.cli import app
from jouleledger_oracle.cli import serve as serve_command
from jouleledger_oracle.metering import SIMULATED_UUID_PREFIX
from jouleledger_oracle.node import OracleNode
from jouleledger_oracle.signer import decrypt_keystore
from tests.conftest import ROOT

from .conftest import PASSWORD, AnvilMarket, write_keystore

runner = CliRunner()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_meter_says_clearly_when_it_is_simulated() -> None:
    result = runner.invoke(app, ["meter", "--meter", "simulated", "--seconds", "0.2"])
    assert result.exit_code == 0, result.output
    assert "SIMULATED METER" in result.output
    assert "meter_kind=simulated" in result.output
    assert "driver" in result.output and "UUID" in result.output


def test_meter_json_lists_gpus_and_an_energy_sample() -> None:
    result = runner.invoke(
        app, ["meter", "--meter", "simulated", "--seconds", "0.2", "--json", "--gpu-class",
              "nvidia-a100"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["simulated"] is True and body["meter_kind"] == "simulated"
    gpu = body["gpus"][0]
    assert gpu["uuid"].startswith(SIMULATED_UUID_PREFIX) and "A100" in gpu["name"]
    sample = body["samples"][0]
    assert sample["energy_mj"] > 0 and sample["energy_source"] == "model"
    assert sample["window_ms"] >= 200 and sample["power_integral_mj"] == sample["energy_mj"]


@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    return write_keystore(tmp_path / "oracle.json", Account.create().key)


def serve(keystore: Path, tmp_path: Path) -> list[str]:
    return [
        "serve",
        "--rpc", f"http://127.0.0.1:{closed_port()}",
        "--keystore", str(keystore),
        "--meter", "simulated",
        "--db", str(tmp_path / "node.sqlite"),
        "--deployments", str(tmp_path / "deployments.json"),
    ]  # fmt: skip


def test_serve_with_the_wrong_password_exits_2_with_one_line(
    keystore: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, serve(keystore, tmp_path), env={"JL_ORACLE_PASSWORD": "not it"})
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: wrong password for keystore {keystore}"]
    assert "Traceback" not in result.output


def test_serve_without_a_password_or_terminal_says_how_to_give_one(
    keystore: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, serve(keystore, tmp_path), env={"JL_ORACLE_PASSWORD": None})
    assert result.exit_code == 2
    assert "set JL_ORACLE_PASSWORD" in result.stderr


def test_serve_against_no_chain_exits_1_with_one_line(keystore: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, serve(keystore, tmp_path), env={"JL_ORACLE_PASSWORD": PASSWORD})
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Ethereum node")


def test_debug_shows_the_traceback(keystore: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["--debug", *serve(keystore, tmp_path)], env={"JL_ORACLE_PASSWORD": "no"}
    )
    assert result.exit_code != 0
    assert result.exception is not None and "wrong password" in str(result.exception)


def test_signer_proof_lets_a_provider_bind_a_key_it_never_sees(
    keystore: Path, tmp_path: Path
) -> None:
    with start_devnet("anvil", accounts=4, search_from=ROOT) as net:
        market = AnvilMarket.deploy(net)
        deployments = tmp_path / "deployments.json"
        save_deployment(deployments, market.deployment)
        newcomer = market.admin.as_account(net.accounts[3])
        market.admin.transfer(newcomer.address, parse_amount("2000"))
        newcomer.stake(parse_amount("2000"))
        common = ["--rpc", str(net.rpc_url), "--keystore", str(keystore)]
        common += ["--deployments", str(deployments)]
        env = {"JL_ORACLE_PASSWORD": PASSWORD}
        result = runner.invoke(
            app, ["signer-proof", *common, "--provider", newcomer.address], env=env
        )
        assert result.exit_code == 0, result.output
        proof = bytes.fromhex(result.stdout.strip().removeprefix("0x"))
        oracle = Account.from_key(decrypt_keystore(keystore, PASSWORD))
        newcomer.register_provider(oracle.address, "nvidia-h100", 10**15, "x", signer_proof=proof)
        assert newcomer.provider().signer == oracle.address

        bad = runner.invoke(app, ["signer-proof", *common, "--provider", "nobody"], env=env)
        assert bad.exit_code == 2
        assert bad.stderr.strip().splitlines() == ["error: --provider: 'nobody' is not an address"]


@pytest.fixture(scope="module")
def market(anvil: Devnet) -> AnvilMarket:
    return AnvilMarket.deploy(anvil)


def serve_once(
    market: AnvilMarket,
    gpu_class: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
) -> tuple[Result, OracleNode | None]:
    """`jl-oracle serve --meter simulated` for a provider registered for `gpu_class`, up to
    the point where it would start serving (uvicorn is stubbed): its result and its node."""
    market.provider.update_provider(
        market.oracle.address, gpu_class, parse_amount("0.0001"), "http://node"
    )
    served: list[OracleNode] = []

    def run(api: Any, **_: Any) -> None:
        served.append(api.state.node)

    monkeypatch.setattr(uvicorn, "run", run)
    provider_key = market.devnet.accounts[1].key
    args = [
        "serve",
        "--rpc", str(market.devnet.rpc_url),
        "--keystore", str(write_keystore(tmp_path / "oracle.json", market.oracle.key)),
        "--provider-keystore", str(write_keystore(tmp_path / "provider.json", provider_key)),
        "--meter", "simulated",
        "--deployments", str(market.save(tmp_path / "deployments.json")),
        "--db", str(tmp_path / f"{gpu_class}.sqlite"),
        "--no-claim",
        *extra,
    ]  # fmt: skip
    env = {"JL_ORACLE_PASSWORD": PASSWORD, "JL_PROVIDER_PASSWORD": PASSWORD}
    result = runner.invoke(app, args, env=env)
    return result, (served[0] if served else None)


def test_an_h200_providers_node_simulates_an_h200(
    market: AnvilMarket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, node = serve_once(market, "nvidia-h200", tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert node is not None
    (gpu,) = node.meter.describe()
    assert gpu.name == "NVIDIA H200 (simulated)"


def test_a_class_the_catalogue_lacks_is_refused_unless_a_simulated_class_is_chosen(
    market: AnvilMarket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused, node = serve_once(market, "acme-x1", tmp_path, monkeypatch)
    assert refused.exit_code == 2 and node is None
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("error: ") and "no simulated power profile" in line
    assert "--simulate-as" in line and "nvidia-h200" in line  # what to do, and the choices

    with caplog.at_level(logging.WARNING, logger="jouleledger_oracle.cli"):
        chosen, node = serve_once(
            market, "acme-x1", tmp_path, monkeypatch, "--simulate-as", "nvidia-a100"
        )
    assert chosen.exit_code == 0, chosen.output
    assert node is not None
    assert node.meter.describe()[0].name == "NVIDIA A100-SXM4-80GB (simulated)"
    assert "simulating nvidia-a100 as asked (--simulate-as)" in caplog.text


@pytest.mark.parametrize(
    ("named", "default", "expected"),
    [
        (None, "default-token", "default-token"),  # no --api-token-env: JL_ORACLE_API_TOKEN
        ("my-token", "default-token", "my-token"),  # the variable the operator named
        (None, None, None),
        ("", "default-token", None),  # named but empty: writes stay off, no fallback
    ],
)
def test_api_token_env_names_the_only_variable_the_token_comes_from(
    keystore: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    named: str | None,
    default: str | None,
    expected: str | None,
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(serve_command, "run_node", seen.append)
    args = serve(keystore, tmp_path)
    env = {"JL_ORACLE_PASSWORD": PASSWORD, "JL_ORACLE_API_TOKEN": default, "MY_TOKEN": None}
    if named is not None:
        args += ["--api-token-env", "MY_TOKEN"]
        env["MY_TOKEN"] = named
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    token = seen[0].api_token
    assert (token.get_secret_value() if token is not None else None) == expected
