"""Typed exceptions for what went wrong with a transaction, with messages that say what to do."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, cast

from hexbytes import HexBytes
from web3.types import TxParams, TxReceipt

from ..abi import revert_from_exception
from ..errors import (
    ContractRevert,
    InsufficientFunds,
    ReceiptTimeout,
    RpcError,
    TransactionFailed,
    TransactionRejected,
)
from .link import NodeLink
from .nodemsg import Refusal, classify
from .signing import SignedTx


class Failures:
    """Builds the exceptions of one sender (its address, node and decoding choice)."""

    def __init__(
        self,
        link: NodeLink,
        address: str,
        decode: bool,
        forget_nonce: Callable[[], None],
    ) -> None:
        """No request is made here.

        Args:
            link: the node.
            address: the sending account.
            decode: replay reverted transactions to recover their reason.
            forget_nonce: called when a transaction turns out dropped (re-read the nonce).
        """
        self.link = link
        self.address = address
        self.decode = decode
        self._forget_nonce = forget_nonce

    def refused(self, tx: Mapping[str, Any], message: str) -> TransactionRejected:
        """The exception for a node's refusal `message` of `tx`.

        Args:
            tx: the transaction's fields.
            message: what the node said.
        """
        if classify(message) is Refusal.FUNDS:
            return self.insufficient_funds(tx, message)
        return TransactionRejected(
            f"the node at {self.link.url} refused the transaction from {self.address} "
            f"(nonce {tx.get('nonce', '?')}): {message}"
        )

    def insufficient_funds(self, tx: Mapping[str, Any], message: str) -> InsufficientFunds:
        """The exception for an account that cannot pay for `tx`, with its balance and cost.

        Args:
            tx: the transaction's fields.
            message: what the node said.
        """
        price = int(tx.get("maxFeePerGas") or tx.get("gasPrice") or 0)
        value = int(tx.get("value") or 0)
        gas = int(tx.get("gas") or 0)
        needed = gas * price + value if gas and price else None
        balance = self.link.balance(self.address)
        have = f"has {ether(balance)} ETH" if balance is not None else "lacks the ether"
        cost = (
            f" but this transaction may cost up to {ether(needed)} ETH "
            f"(gas {gas:,} x {Decimal(price) / 10**9:f} gwei + value {ether(value)} ETH)"
            if needed is not None
            else ""
        )
        return InsufficientFunds(
            f"{self.address} {have}{cost}: send it ether first (the node said: {message})",
            address=self.address,
            balance=balance,
            needed=needed,
        )

    def reverted(
        self, tx: Mapping[str, Any], signed: SignedTx, receipt: TxReceipt
    ) -> TransactionFailed:
        """The exception for a mined transaction with status 0: out of gas, or the revert.

        Args:
            tx: the transaction's fields.
            signed: the transaction as sent.
            receipt: its receipt.
        """
        tx_hash = HexBytes(signed.hash).to_0x_hex()
        block = receipt["blockNumber"]
        gas = int(tx.get("gas") or 0)
        if gas and receipt["gasUsed"] >= gas:
            return TransactionFailed(
                f"transaction {tx_hash} ran out of gas in block {block} (used all {gas:,}): "
                "pass a larger gas limit",
                tx_hash,
                receipt=receipt,
            )
        revert = self._replay(tx, receipt) if self.decode else None
        reason = (
            f": {revert}"
            if revert is not None
            else (
                "; replaying it did not reproduce the revert (the state it saw is gone)"
                if self.decode
                else ""
            )
        )
        return TransactionFailed(
            f"transaction {tx_hash} reverted in block {block}{reason}",
            tx_hash,
            receipt=receipt,
            revert=revert,
        )

    def _replay(self, tx: Mapping[str, Any], receipt: TxReceipt) -> ContractRevert | None:
        """Run the call again at the state it saw (exactly for the first transaction of a
        block; for later ones, at the end of the block: a best effort)."""
        block = int(receipt["blockNumber"])
        at = block - 1 if receipt["transactionIndex"] == 0 and block > 0 else block
        params = cast(
            TxParams, {k: tx[k] for k in ("from", "to", "data", "value", "gas") if k in tx}
        )
        w3 = self.link.w3
        try:
            self.link.read(lambda: w3.eth.call(params, at), "eth_call")
        except RpcError:
            return None
        except Exception as exc:
            return revert_from_exception(exc)
        return None

    def timeout(self, tx_hash: bytes, limit: float) -> ReceiptTimeout:
        """The exception for a transaction not mined within `limit` seconds.

        Says whether the node still has it; when it does not, the nonce count is re-read.

        Args:
            tx_hash: the transaction.
            limit: the seconds waited.
        """
        text = HexBytes(tx_hash).to_0x_hex()
        try:
            known = self.link.is_known(tx_hash)
        except RpcError:
            known = True
        if not known:
            self._forget_nonce()
            return ReceiptTimeout(
                f"transaction {text} was not mined within {limit:g} s and the node no longer "
                "knows it (dropped, or the chain was reset): send it again",
                tx_hash=text,
                timeout=limit,
            )
        return ReceiptTimeout(
            f"transaction {text} was not mined within {limit:g} s; it is still pending "
            "(a fee below the base fee, or a nonce gap before it): wait longer with "
            "Sender.wait() or replace it",
            tx_hash=text,
            timeout=limit,
        )


def ether(wei: int | None) -> str:
    """`wei` in ether, without trailing zeros (``?`` for None).

    Args:
        wei: an amount.
    """
    if wei is None:
        return "?"
    text = format(Decimal(wei).scaleb(-18), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
