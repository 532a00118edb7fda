"""``jl-oracle``: what the meter command shows, and one-line errors with reliable exit codes."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

from jouleledger import start_devnet
from jouleledger.deployment import save_deployment
from jouleledger.units import parse_amount
from jouleledger_oracle.cli import app
from jouleledger_oracle.meter import SIMULATED_UUID_PREFIX
from jouleledger_oracle.signer import decrypt_keystore
from tests.conftest import ROOT

from .harness import PASSWORD, AnvilMarket, write_keystore

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
