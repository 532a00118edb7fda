"""Signing and sending transactions with local accounts (keys never leave this process)."""

from __future__ import annotations

from typing import Any, Protocol

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3._utils.transactions import fill_transaction_defaults
from web3.contract import Contract
from web3.types import TxParams, TxReceipt

from .artifacts import Artifact
from .errors import TransactionFailed

DEFAULT_RECEIPT_TIMEOUT = 120.0


class Buildable(Protocol):
    """A bound contract function or constructor: anything with `build_transaction`."""

    def build_transaction(self, transaction: TxParams | None = None) -> TxParams: ...


def send(
    w3: Web3,
    account: LocalAccount,
    call: Buildable | TxParams,
    *,
    timeout: float = DEFAULT_RECEIPT_TIMEOUT,
) -> TxReceipt:
    """Sign `call` with `account`, send it and wait for its receipt.

    Args:
        call: a bound contract function (``token.functions.transfer(to, 1)``), a constructor,
            or a plain transaction dict (``{"to": ..., "value": ...}``).
        timeout: seconds to wait for the receipt.

    Raises:
        TransactionFailed: the transaction was mined and reverted.
    """
    base: TxParams = {
        "from": account.address,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "chainId": w3.eth.chain_id,
    }
    if isinstance(call, dict):
        tx = fill_transaction_defaults(w3, {**base, **call})
    else:
        tx = call.build_transaction(base)
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
    if receipt["status"] != 1:
        raise TransactionFailed(f"transaction {tx_hash.to_0x_hex()} reverted", tx_hash.to_0x_hex())
    return receipt


def deploy(w3: Web3, account: LocalAccount, artifact: Artifact, *args: Any) -> Contract:
    """Deploy `artifact` with constructor `args`; returns the bound contract."""
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send(w3, account, factory.constructor(*args))
    address = receipt["contractAddress"]
    assert address is not None
    return w3.eth.contract(address=address, abi=artifact.abi)
