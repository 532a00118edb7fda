"""One behaviour suite for every local chain, subclassed per backend (as web3.py's
``web3/_utils/module_testing/`` runs one module test class per provider): the funded
accounts, the same bytecode, and the devnet-control interface (mine, time travel,
snapshots, balances)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.providers import BaseProvider
from web3.types import RPCEndpoint, RPCResponse

from jouleledger import (
    Devnet,
    DevnetError,
    deploy,
    dev_accounts,
    load_artifact,
    send,
    start_devnet,
)
from jouleledger.transport import (
    DevnetControl,
    advance_time,
    control,
    is_devnet,
    is_devnet_chain_id,
    mine,
    node_kind,
)
from tests.conftest import ROOT
from tests.sdk.conftest import fresh_address, permit_call

ONE = 10**18


def transfer_raw(w3: Web3, sender: LocalAccount, to: str, value: int) -> None:
    """Send ether signed locally, past the SDK's nonce cache (a snapshot rewinds nonces)."""
    tx = {
        "to": to,
        "value": value,
        "gas": 21_000,
        "gasPrice": w3.eth.gas_price * 2,
        "nonce": w3.eth.get_transaction_count(sender.address),
        "chainId": w3.eth.chain_id,
    }
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction), 30
    )


class DevnetSuite:
    """What every backend must do. Subclasses name the chain kind and what it can't do."""

    kind: ClassVar[str]
    node: ClassVar[str]  # what `node_kind` reports for it
    sets_balances: ClassVar[bool] = True

    @pytest.fixture(scope="class")
    @classmethod
    def devnet(cls) -> Iterator[Devnet]:
        with start_devnet(cls.kind, search_from=ROOT) as net:
            yield net

    def test_funded_accounts_are_the_development_mnemonic_keys(self, devnet: Devnet) -> None:
        assert [a.address for a in devnet.accounts] == [a.address for a in dev_accounts()]
        assert devnet.accounts[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        for account in devnet.accounts:
            assert devnet.w3.eth.get_balance(account.address) >= 10_000 * ONE

    def test_token_deploys_and_transfers(self, devnet: Devnet) -> None:
        w3, (owner, alice, bob) = devnet.w3, devnet.accounts[:3]
        token = deploy(w3, owner, load_artifact("ComputePowerToken"), 1_000 * ONE)
        send(w3, owner, token.functions.transfer(alice.address, 10 * ONE))
        assert token.functions.balanceOf(alice.address).call() == 10 * ONE

        deadline = w3.eth.get_block("latest")["timestamp"] + 600
        send(w3, bob, permit_call(token, alice, alice, bob, deadline, value=4 * ONE))
        send(w3, bob, token.functions.transferFrom(alice.address, bob.address, 4 * ONE))
        assert token.functions.balanceOf(alice.address).call() == 6 * ONE
        assert token.functions.balanceOf(bob.address).call() == 4 * ONE
        assert token.functions.nonces(alice.address).call() == 1

    def test_node_is_recognised_as_a_devnet(self, devnet: Devnet) -> None:
        assert node_kind(devnet.w3) == self.node
        assert is_devnet(devnet.w3)
        assert isinstance(devnet.control, DevnetControl)
        assert devnet.control.kind == self.node

    def test_advance_time_moves_the_clock_and_mines_one_block(self, devnet: Devnet) -> None:
        before = devnet.w3.eth.get_block("latest")
        advance_time(devnet.w3, 3_600)
        after = devnet.w3.eth.get_block("latest")
        assert after["number"] == before["number"] + 1
        assert after["timestamp"] - before["timestamp"] >= 3_600
        with pytest.raises(ValueError, match="time only moves forward"):
            devnet.control.advance_time(-1)

    def test_mine_adds_exactly_the_blocks_asked_for(self, devnet: Devnet) -> None:
        before = devnet.w3.eth.block_number
        mine(devnet.w3)
        devnet.control.mine(2)
        assert devnet.w3.eth.block_number == before + 3

    def test_revert_to_a_snapshot_forgets_what_came_after(self, devnet: Devnet) -> None:
        w3, sender, to = devnet.w3, devnet.accounts[9], fresh_address()
        height = w3.eth.block_number
        snapshot = devnet.control.snapshot()
        transfer_raw(w3, sender, to, ONE)
        assert w3.eth.get_balance(to) == ONE

        devnet.control.revert(snapshot)

        assert w3.eth.get_balance(to) == 0
        assert w3.eth.block_number == height

    def test_set_balance_gives_an_account_exactly_that_much(self, devnet: Devnet) -> None:
        who = fresh_address()
        if not self.sets_balances:
            with pytest.raises(DevnetError, match="cannot set balances"):
                devnet.control.set_balance(who, 5 * ONE)
            return
        devnet.control.set_balance(who, 5 * ONE)
        assert devnet.w3.eth.get_balance(who) == 5 * ONE


class TestAnvil(DevnetSuite):
    kind = node = "anvil"


class TestGanache(DevnetSuite):
    kind = node = "ganache"


class TestEmbedded(DevnetSuite):
    kind, node = "embedded", "eth-tester"
    sets_balances = False


class FakeGeth(BaseProvider):
    """A provider that says it is geth and answers nothing else."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method == "web3_clientVersion":
            return {"jsonrpc": "2.0", "id": 1, "result": "Geth/v1.14.0-stable/linux-amd64"}
        return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "no such method"}}


def test_control_of_a_public_node_is_refused_before_anything_is_sent() -> None:
    w3 = Web3(FakeGeth())

    assert node_kind(w3) == "geth"
    assert not is_devnet(w3)
    with pytest.raises(DevnetError, match=r"this node \(geth\) is not a development chain"):
        control(w3)
    with pytest.raises(DevnetError, match="not a development chain"):
        advance_time(w3, 60)


def test_devnet_chain_ids_are_anvils_and_ganaches() -> None:
    assert is_devnet_chain_id(31337) and is_devnet_chain_id(1337)
    assert not is_devnet_chain_id(1) and not is_devnet_chain_id(999)
