"""Every failure is one line on stderr with a documented exit code, and no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from web3.types import RPCEndpoint

from jouleledger import start_devnet
from jouleledger.abi import decode_revert
from jouleledger.cli import ExitCode
from jouleledger.cli.errors import describe
from jouleledger.deployment import Deployment, save_deployment
from jouleledger.transport import free_port
from tests.conftest import ROOT

from .conftest import UNFUNDED, Chain, Jl, error_line

OTHER_CHAIN_ID = 999


@pytest.fixture(scope="module")
def other_chain() -> Iterator[str]:
    """The URL of an anvil that serves chain id 999: not a devnet chain id."""
    with start_devnet("anvil", search_from=ROOT) as net:
        net.w3.provider.make_request(RPCEndpoint("anvil_setChainId"), [OTHER_CHAIN_ID])
        assert net.rpc_url is not None
        yield net.rpc_url


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-1", "error: amount must not be negative, got -1"),
        ("abc", "error: amount: 'abc' is not a number; write e.g. 1.5"),
        (
            "1.0000000000000000001",
            "error: amount: 1.0000000000000000001 has more than 18 decimals; it would be rounded",
        ),
        ("0", "error: amount must be more than 0, got 0"),
    ],
)
def test_stake_rejects_bad_amounts_before_touching_the_chain(
    jl: Jl, amount: str, message: str
) -> None:
    result = jl("--account", "dev:1", "stake", amount, rpc="http://127.0.0.1:1")
    assert result.exit_code == ExitCode.USAGE
    assert error_line(result) == message


def test_job_amounts_allow_at_most_nine_decimals(jl: Jl) -> None:
    result = jl("--account", "dev:2", "job", "post", "--gpu-class", "nvidia-h100",
                "--price", "0.0000000001", "--max-payment", "1")  # fmt: skip
    assert result.exit_code == ExitCode.USAGE
    assert error_line(result) == (
        "error: --price: 0.0000000001 has more than 9 decimals; the market works in whole nano-CPT"
    )


def test_unreachable_node_exits_4_and_says_how_to_start_one(jl: Jl) -> None:
    port = free_port()
    result = jl("balance", "dev:0", rpc=f"http://127.0.0.1:{port}")
    assert result.exit_code == ExitCode.UNREACHABLE
    line = error_line(result)
    assert f"cannot reach the Ethereum node at http://127.0.0.1:{port}" in line
    assert "jl devnet up" in line


def test_rpc_must_be_an_http_url(jl: Jl) -> None:
    result = jl("balance", "dev:0", rpc="localhost:8545")
    assert result.exit_code == ExitCode.USAGE
    assert "is not an http(s) URL" in error_line(result)


def test_deployments_file_for_another_chain_exits_5(jl: Jl, chain: Chain) -> None:
    path = jl.home / "deployments.json"
    path.unlink()
    other = Deployment(
        1337, chain.deployment.token, chain.deployment.staking, chain.deployment.market
    )
    save_deployment(path, other)
    result = jl("balance", "dev:0")
    assert result.exit_code == ExitCode.NOT_FOUND
    line = error_line(result)
    assert line.startswith(f"error: no deployment on chain 31337 (at {chain.url})")
    assert line.endswith("run `jl deploy` or `jl devnet up`")


def test_node_on_an_unrecorded_chain_id_exits_5(jl: Jl, other_chain: str) -> None:
    result = jl("job", "list", rpc=other_chain)
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "no deployment on chain 999" in error_line(result)


def test_faucet_refuses_chains_that_are_not_a_devnet(jl: Jl, other_chain: str) -> None:
    result = jl("faucet", "dev:1", "10", rpc=other_chain)
    assert result.exit_code == ExitCode.REFUSED
    assert error_line(result) == (
        "error: the faucet works on a local devnet only (chain id 1337 or 31337), but "
        f"{other_chain} serves chain id 999"
    )


def test_dev_accounts_are_refused_off_devnet(jl: Jl, other_chain: str) -> None:
    result = jl("--account", "dev:1", "stake", "1", rpc=other_chain)
    assert result.exit_code == ExitCode.REFUSED
    assert "--account dev:1 works on a local devnet only" in error_line(result)


def test_insufficient_balance_is_refused_before_sending(jl: Jl, chain: Chain) -> None:
    address = chain.net.accounts[8].address
    nonce = chain.w3.eth.get_transaction_count(address)
    result = jl("--account", UNFUNDED, "stake", "1000")
    assert result.exit_code == ExitCode.REFUSED
    assert error_line(result) == (
        f"error: insufficient CPT balance: staking 1,000 CPT needs 1,000 CPT but {address} "
        f"holds 0 CPT; get tokens first (on a devnet: `jl faucet {address} 1000`)"
    )
    posted = jl("--account", UNFUNDED, "job", "post", "--gpu-class", "nvidia-h100",
                "--price", "1", "--max-payment", "2", "--bid", "0.5")  # fmt: skip
    assert posted.exit_code == ExitCode.REFUSED
    assert "posting this job (escrow 2.5 CPT) needs 2.5 CPT" in error_line(posted)
    assert chain.w3.eth.get_transaction_count(address) == nonce  # nothing was sent


def _revert(signature: str, types: list[str], values: list[object]) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


def test_decoded_erc20_shortfalls_read_in_cpt() -> None:
    spender = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
    allowance = decode_revert(
        _revert(
            "ERC20InsufficientAllowance(address,uint256,uint256)",
            ["address", "uint256", "uint256"],
            [spender, 10**18, 25 * 10**17],
        )
    )
    message, code = describe(allowance)
    assert code == ExitCode.REFUSED
    assert message.startswith(
        f"insufficient CPT allowance: {spender} may spend 1 CPT but needs 2.5 CPT"
    )
    balance = decode_revert(
        _revert(
            "ERC20InsufficientBalance(address,uint256,uint256)",
            ["address", "uint256", "uint256"],
            [spender, 0, 1234 * 10**18],
        )
    )
    message, code = describe(balance)
    assert code == ExitCode.REFUSED
    assert message.startswith(
        f"insufficient CPT balance: {spender} holds 0 CPT but needs 1,234 CPT"
    )


@pytest.mark.parametrize("command", [["job", "show"], ["job", "cancel"], ["job", "expire"]])
def test_unknown_job_exits_5(jl: Jl, command: list[str]) -> None:
    result = jl("--account", "dev:2", *command, "4242")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert error_line(result).startswith("error: job 4242 does not exist on market ")


def test_contract_refusal_is_decoded_into_one_line(jl: Jl, gpu_class: str) -> None:
    posted = jl.json("--account", "dev:2", "job", "post", "--gpu-class", gpu_class,
                     "--price", "1", "--max-payment", "1")  # fmt: skip
    result = jl("--account", "dev:3", "job", "cancel", str(posted["job_id"]))
    assert result.exit_code == ExitCode.REFUSED
    assert error_line(result) == (
        f"error: only the client that posted job {posted['job_id']} can do that, not "
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    )
    lower = jl("--account", "dev:2", "job", "bid", str(posted["job_id"]), "0")
    assert lower.exit_code == ExitCode.USAGE
    assert error_line(lower) == "error: the bid must be more than 0, got 0"


def test_writes_need_an_account(jl: Jl) -> None:
    result = jl("stake", "1")
    assert result.exit_code == ExitCode.USAGE
    assert "pass --account NAME" in error_line(result)


def test_malformed_address_exits_2(jl: Jl) -> None:
    result = jl("balance", "0x1234")
    assert result.exit_code == ExitCode.USAGE
    assert error_line(result) == (
        "error: address: '0x1234' is not an address (0x followed by 40 hex digits)"
    )


def test_usage_errors_are_one_line_too(jl: Jl) -> None:
    missing = jl("stake")
    assert missing.exit_code == ExitCode.USAGE
    assert error_line(missing) == "error: Missing argument 'AMOUNT'. (see `jl stake --help`)"
    unknown = jl("stakee", "1")
    assert unknown.exit_code == ExitCode.USAGE
    assert error_line(unknown).startswith("error: No such command 'stakee'.")


def test_debug_shows_the_traceback(jl: Jl) -> None:
    result = jl("--debug", "job", "show", "4242")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: job 4242 does not exist")


def test_help_documents_the_exit_codes(jl: Jl) -> None:
    result = jl("--help", rpc=None)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Exit codes: 0 ok;" in text and "4 node unreachable" in text


def test_deploy_records_a_new_deployment(jl: Jl, tmp_path) -> None:
    jl.home = tmp_path / "empty-home"
    deployed = jl.json("--account", "dev:0", "deploy", "--min-stake", "5")
    recorded = json.loads((jl.home / "deployments.json").read_text())
    assert recorded["31337"]["market"] == deployed["market"]
    assert jl.json("balance", "dev:0")["cpt"] == "100000000"  # the new token's supply


def test_importing_the_sdk_does_not_import_the_cli_stack() -> None:
    code = (
        "import sys, jouleledger, jouleledger.client, jouleledger.deployment; "
        "print(sorted(m for m in ('typer', 'rich', 'click') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
