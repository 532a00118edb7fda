"""The per-call outcome of a bulk send."""

from __future__ import annotations

from dataclasses import dataclass

from hexbytes import HexBytes
from web3.types import TxReceipt

from ..errors import JouleLedgerError


@dataclass(frozen=True)
class TxResult:
    """The outcome of one call of `Sender.send_many`.

    Attributes:
        index: position of the call in the input.
        tx_hash: hash of the sent transaction, or None when it was never sent.
        nonce: its nonce, or None when it was never sent.
        receipt: its receipt, or None when it was not mined (in time).
        error: None on success; else `ContractRevert` (estimate reverted, not sent),
            `TransactionRejected` / `InsufficientFunds` (the node refused it),
            `TransactionFailed` (mined but reverted), `ReceiptTimeout` (not mined in time)
            or an `RpcError`.
    """

    index: int
    tx_hash: HexBytes | None = None
    nonce: int | None = None
    receipt: TxReceipt | None = None
    error: JouleLedgerError | None = None

    @property
    def ok(self) -> bool:
        """Mined with status 1."""
        return self.error is None


#: One slot per call of a bulk send, filled as outcomes become known.
Results = list[TxResult | None]
