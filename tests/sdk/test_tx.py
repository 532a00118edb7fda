"""Sending: nonces under concurrency, the bulk path, fee modes, local signing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from jouleledger import Devnet, load_artifact, rpc
from jouleledger.abi import error_class
from jouleledger.errors import InsufficientFunds, ReceiptTimeout, TransactionFailed
from jouleledger.tx import Sender, TxResult, encode_call
from jouleledger.tx.signing import TxSigner
from tests.sdk.conftest import ONE, fresh_address

BULK_SIZE = {"anvil": 500, "ganache": 100, "embedded": 20}
# The acceptance run is 4 x 50 from one account; in-process py-evm (about 15 tx/s, and
# serialised by its lock anyway) gets a smaller one.
PER_THREAD = {"anvil": 50, "ganache": 50, "embedded": 10}


def node_nonce(devnet: Devnet, address: str) -> int:
    return devnet.w3.eth.get_transaction_count(address, "pending")


def test_200_transfers_from_four_threads_share_one_account_without_nonce_collisions(
    devnet: Devnet, token: Contract
) -> None:
    per_thread = PER_THREAD[devnet.kind]
    owner = devnet.accounts[0]
    sender = Sender(devnet.w3, owner)
    recipients = [fresh_address() for _ in range(4)]
    start = node_nonce(devnet, owner.address)
    receipts: list[TxReceipt] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker(thread: int) -> None:
        try:
            for i in range(per_thread):
                amount = thread * 1000 + i + 1
                receipt = sender.send(token.functions.transfer(recipients[thread], amount))
                with lock:
                    receipts.append(receipt)
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    total = 4 * per_thread
    assert len(receipts) == total and all(r["status"] == 1 for r in receipts)
    nonces = [devnet.w3.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts]
    assert sorted(nonces) == list(range(start, start + total))
    assert node_nonce(devnet, owner.address) == start + total
    for t, recipient in enumerate(recipients):
        expected = sum(t * 1000 + i + 1 for i in range(per_thread))
        assert token.functions.balanceOf(recipient).call() == expected


def test_call_whose_estimate_reverts_uses_no_nonce(devnet: Devnet, token: Contract) -> None:
    alice = devnet.accounts[1]
    sender = Sender(devnet.w3, alice)
    before = node_nonce(devnet, alice.address)
    too_much = token.functions.balanceOf(alice.address).call() + 1

    with pytest.raises(error_class("ERC20InsufficientBalance")):
        sender.send(token.functions.transfer(fresh_address(), too_much))
    receipt = sender.send(token.functions.approve(fresh_address(), 1))

    assert devnet.w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == before
    assert node_nonce(devnet, alice.address) == before + 1


def test_send_the_node_refuses_gives_its_nonce_back(devnet: Devnet) -> None:
    funder = devnet.accounts[0]
    poor = Account.create()
    Sender(devnet.w3, funder).send({"to": poor.address, "value": ONE // 100})
    sender = Sender(devnet.w3, poor)

    # An explicit gas limit skips the estimate: the node itself refuses the send.
    with pytest.raises(InsufficientFunds) as caught:
        sender.send({"to": fresh_address(), "value": ONE}, gas=21_000)
    receipt = sender.send({"to": fresh_address(), "value": 1}, gas=21_000)

    assert caught.value.address == poor.address
    assert caught.value.balance == ONE // 100
    assert "send it ether first" in str(caught.value)
    assert devnet.w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == 0


@pytest.mark.parametrize("batched", [None, True], ids=["default", "json-rpc-batches"])
def test_send_many_transfers_all_mine_with_consecutive_nonces(
    devnet: Devnet, token: Contract, batched: bool | None
) -> None:
    owner = devnet.accounts[0]
    count = BULK_SIZE[devnet.kind]
    recipients = [fresh_address() for _ in range(10)]
    start = node_nonce(devnet, owner.address)

    results = Sender(devnet.w3, owner).send_many(
        (token.functions.transfer(recipients[i % 10], i + 1) for i in range(count)),
        batched=batched,
    )

    assert [r.index for r in results] == list(range(count))
    assert all(r.ok for r in results), [r.error for r in results if r.error][:3]
    assert [r.nonce for r in results] == list(range(start, start + count))
    assert node_nonce(devnet, owner.address) == start + count
    for k, recipient in enumerate(recipients):
        expected = sum(i + 1 for i in range(count) if i % 10 == k)
        assert token.functions.balanceOf(recipient).call() == expected


def test_send_many_reports_reverts_per_call_instead_of_raising(
    devnet: Devnet, token: Contract
) -> None:
    owner, alice = devnet.accounts[0], devnet.accounts[1]
    Sender(devnet.w3, owner).send(token.functions.transfer(alice.address, 10))
    balance = token.functions.balanceOf(alice.address).call()
    transfer = token.functions.transfer
    calls: list[Any] = [
        transfer(fresh_address(), 1),
        transfer(fresh_address(), balance + 1),  # estimated per shape: shares one gas limit
        {"to": token.address, "data": _data(transfer(fresh_address(), balance + 2)), "gas": 80_000},
        transfer(fresh_address(), 2),
    ]

    results = Sender(devnet.w3, alice).send_many(calls)

    assert [r.ok for r in results] == [True, False, False, True]
    for failed in results[1:3]:
        assert isinstance(failed.error, TransactionFailed)
        assert type(failed.error.revert) is error_class("ERC20InsufficientBalance")
        assert failed.receipt is not None and failed.receipt["status"] == 0


def test_send_many_reports_a_call_whose_estimate_reverts_and_sends_the_rest(
    devnet: Devnet, token: Contract
) -> None:
    alice = devnet.accounts[1]
    start = node_nonce(devnet, alice.address)
    calls = [
        token.functions.mint(alice.address, 1),  # alice lacks the minter role
        token.functions.approve(fresh_address(), 5),
    ]

    first, second = Sender(devnet.w3, alice).send_many(calls)

    assert type(first.error) is error_class("AccessControlUnauthorizedAccount")
    assert first.tx_hash is None and first.nonce is None
    assert second.ok and second.nonce == start


def test_send_many_leaves_no_nonce_gap_when_the_node_refuses_a_call(
    devnet: Devnet, token: Contract
) -> None:
    owner = devnet.accounts[0]
    sender = Sender(devnet.w3, owner)
    start = node_nonce(devnet, owner.address)
    recipient = fresh_address()
    huge = devnet.w3.eth.get_balance(owner.address) * 2
    calls: list[Any] = [token.functions.transfer(recipient, 1) for _ in range(6)]
    calls[2] = {"to": fresh_address(), "value": huge, "gas": 21_000}  # the node refuses it

    results = sender.send_many(calls)

    assert isinstance(results[2].error, InsufficientFunds)
    assert [r.ok for r in results] == [True, True, False, True, True, True]
    assert token.functions.balanceOf(recipient).call() == 5
    # In JSON-RPC batches the later calls were already sent, so a zero-value self-transfer
    # filled the refused nonce; one by one, the refused nonce was simply handed out again.
    filled = not rpc.mines_synchronously(devnet.w3)
    assert node_nonce(devnet, owner.address) == start + (6 if filled else 5)
    assert sender.send(token.functions.transfer(recipient, 1))["status"] == 1


def test_bulk_receipts_equal_the_ones_web3_returns(devnet: Devnet, token: Contract) -> None:
    results = Sender(devnet.w3, devnet.accounts[0]).send_many(
        [token.functions.transfer(fresh_address(), 1) for _ in range(3)]
    )

    for result in results:
        assert result.receipt == devnet.w3.eth.get_transaction_receipt(result.tx_hash)
        assert len(token.events.Transfer().process_receipt(result.receipt)) == 1


@pytest.mark.parametrize(("mode", "tx_type"), [("auto", 2), ("eip1559", 2), ("legacy", 0)])
def test_fee_modes_send_the_matching_transaction_type(
    devnet: Devnet, token: Contract, mode: Any, tx_type: int
) -> None:
    sender = Sender(devnet.w3, devnet.accounts[0], fee_mode=mode)

    receipt = sender.send(token.functions.transfer(fresh_address(), 1))
    tx = devnet.w3.eth.get_transaction(receipt["transactionHash"])

    assert receipt["status"] == 1 and tx["type"] == tx_type
    if tx_type == 2:
        block = devnet.w3.eth.get_block(receipt["blockNumber"])
        assert tx["maxFeePerGas"] >= block["baseFeePerGas"]


def test_node_without_base_fee_gets_legacy_transactions(
    devnet: Devnet, token: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    get_block = devnet.w3.eth.get_block

    def pre_london(*args: Any, **kwargs: Any) -> Any:
        block = dict(get_block(*args, **kwargs))
        block.pop("baseFeePerGas", None)
        return block

    monkeypatch.setattr(devnet.w3.eth, "get_block", pre_london)
    receipt = Sender(devnet.w3, devnet.accounts[0]).send(
        token.functions.transfer(fresh_address(), 1)
    )

    assert devnet.w3.eth.get_transaction(receipt["transactionHash"])["type"] == 0


def test_transaction_stuck_behind_a_nonce_gap_times_out_as_still_pending(
    devnet: Devnet,
) -> None:
    if devnet.kind != "anvil":
        pytest.skip("eth-tester refuses future nonces; ganache holds the send's answer")
    account = Account.create()
    Sender(devnet.w3, devnet.accounts[0]).send({"to": account.address, "value": ONE})
    sender = Sender(devnet.w3, account)

    tx_hash = sender.submit({"to": fresh_address(), "value": 1, "nonce": 1}, gas=21_000)
    with pytest.raises(ReceiptTimeout, match="still pending") as caught:
        sender.wait(tx_hash, timeout=0.5)

    assert caught.value.tx_hash == tx_hash.to_0x_hex()
    assert isinstance(caught.value, TimeoutError)
    sender.send({"to": fresh_address(), "value": 1})  # nonce 0 closes the gap
    assert sender.wait(tx_hash, timeout=10)["status"] == 1


def _data(call: Any) -> str:
    return str(call._encode_transaction_data())


# --- local signing (no chain) --------------------------------------------------------------

KEY = Account.from_key("0x" + "42" * 32)
ADDRESSES = st.one_of(st.none(), st.binary(min_size=20, max_size=20).map(Web3.to_checksum_address))
UINT = st.integers(min_value=0, max_value=2**256 - 1)


@settings(max_examples=60, deadline=None)
@given(
    chain_id=st.integers(min_value=1, max_value=2**32),
    nonce=st.integers(min_value=0, max_value=2**64 - 2),
    gas=st.integers(min_value=21_000, max_value=30_000_000),
    to=ADDRESSES,
    value=UINT,
    data=st.binary(max_size=300),
    fees=st.one_of(
        st.tuples(UINT, UINT).map(
            lambda p: {"maxFeePerGas": max(p), "maxPriorityFeePerGas": min(p)}
        ),
        UINT.map(lambda price: {"gasPrice": price}),
    ),
)
def test_fast_signer_produces_the_bytes_eth_account_does(
    chain_id: int,
    nonce: int,
    gas: int,
    to: str | None,
    value: int,
    data: bytes,
    fees: dict[str, int],
) -> None:
    tx: dict[str, Any] = {"chainId": chain_id, "nonce": nonce, "gas": gas, "value": value, **fees}
    tx["data"] = "0x" + data.hex()
    if to is not None:
        tx["to"] = to

    fast = TxSigner(KEY).sign(tx)
    reference = KEY.sign_transaction(tx)

    assert fast.raw == bytes(reference.raw_transaction)
    assert fast.hash == bytes(reference.hash)


def test_contract_calls_encode_to_the_bytes_web3_encodes() -> None:
    token = Web3().eth.contract(address=KEY.address, abi=load_artifact("ComputePowerToken").abi)
    other = Web3.to_checksum_address("0x" + "ab" * 20)
    encoded_directly = [
        token.functions.transfer(other, 5),
        token.functions.permit(KEY.address, other, 1, 2, 27, b"\x01" * 32, b"\x02" * 32),
        token.functions.grantRole(b"\x00" * 32, other),
    ]
    left_to_web3 = [
        token.functions.permit(KEY.address, other, 1, 2, 27, "0x" + "01" * 32, "0x" + "02" * 32),
        token.functions.approve(spender=other, value=3),
    ]

    for call in encoded_directly:
        assert encode_call(call) == (token.address, call._encode_transaction_data())
    for call in left_to_web3:
        assert encode_call(call) is None


def test_signer_refuses_a_transaction_from_another_account() -> None:
    with pytest.raises(ValueError, match="cannot sign for"):
        TxSigner(KEY).sign(
            {"from": "0x" + "11" * 20, "nonce": 0, "chainId": 1, "gas": 1, "gasPrice": 1}
        )


def test_tx_result_is_ok_only_without_error() -> None:
    assert TxResult(0).ok
    assert not TxResult(0, error=ReceiptTimeout("late")).ok
