"""Sending many transactions fast: consecutive nonces, JSON-RPC batches, gap filling.

Gas is estimated once per call shape (target, function selector, with or without value)
against the current state, then raised by the margin and the bulk headroom; calls that
depend on earlier calls of the same batch, or whose cost varies more, need an explicit gas.

Nodes that mine each transaction before answering its send (ganache, eth-tester) get the
calls one by one by default: a batch gains about a third there, but a call the node refuses
in the middle of one leaves the rest of it waiting for the HTTP timeout. Providers that
cannot batch at all (eth-tester) always go one by one.

A refused transaction in the middle of a burst leaves a nonce gap: the node keeps every
later nonce queued until the gap is filled. So a refusal that is not about the nonce is
answered with a zero-value self-transfer at that nonce (the filler); when even that fails,
the later transactions are reported as waiting behind the gap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from hexbytes import HexBytes

from .. import transport
from ..errors import ReceiptTimeout, RpcError, TransactionRejected
from .encode import Call
from .fees import FEE_FIELDS, FeeQuoter, has_fees
from .gas import GasEstimator
from .link import NodeLink
from .nodemsg import Refusal, classify, fee_retry_point
from .nonces import Reservation
from .receipts import ReceiptWatcher
from .results import Results, TxResult
from .signing import SignedTx
from .submit import FEE_RETRIES, Submitter

FILLER_GAS = 21_000
Txs = list[dict[str, Any] | None]


class BulkSender:
    """The `Sender.send_many` path, over the parts of one `Sender`."""

    def __init__(self, submitter: Submitter, gas: GasEstimator, watcher: ReceiptWatcher) -> None:
        """No request is made here.

        Args:
            submitter: signs and sends one transaction (its fee quoter and nonces are used).
            gas: estimates gas.
            watcher: awaits receipts.
        """
        self.submitter = submitter
        self.link: NodeLink = submitter.link
        self.fees: FeeQuoter = submitter.fees
        self.gas = gas
        self.watcher = watcher

    def send(
        self,
        calls: Iterable[Call],
        fields: Callable[[Call], dict[str, Any]],
        gas: int | None,
        limit: float,
        batch_size: int,
        batched: bool | None,
    ) -> list[TxResult]:
        """Encode, price, sign, send and await `calls`; one `TxResult` per call, in order.

        Args:
            calls: the calls, without nonces.
            fields: a call's transaction fields (from, to, data, value, chainId).
            gas: one gas limit for all; None: estimated per call shape.
            limit: seconds to wait for all receipts.
            batch_size: transactions per JSON-RPC batch.
            batched: post JSON-RPC batches; None: unless the node mines synchronously.

        Raises:
            ValueError: `batch_size` is below 1, or a call names a nonce or another sender.
            RpcError: the node failed before anything was sent.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        txs: Txs = []
        for call in calls:
            tx = fields(call)
            if "nonce" in tx:
                raise ValueError("send_many hands out nonces itself; remove 'nonce' from calls")
            txs.append(tx)
        results: Results = [None] * len(txs)
        self.gas.fill_bulk(txs, results, gas)
        unpriced = [tx for tx in txs if tx is not None and not has_fees(tx)]
        if unpriced:
            fees = self.fees.quote(fresh=True).params()
            for tx in unpriced:
                tx.update(fees)
        order = [i for i, tx in enumerate(txs) if tx is not None]
        sent: dict[int, SignedTx] = {}
        if batched is None:
            batched = not transport.mines_synchronously(self.link.w3)
        if order and batched and self.link.batches:
            with self.submitter.nonces.reserve(len(order)) as reservation:
                self._send_batched(reservation, order, txs, results, sent, batch_size)
        else:
            for i in order:
                try:
                    sent[i] = self.submitter.submit(_tx(txs, i))
                except (TransactionRejected, RpcError) as exc:
                    results[i] = TxResult(i, error=exc)
        self.watcher.collect(sent, txs, results, limit)
        return [r if r is not None else TxResult(i) for i, r in enumerate(results)]

    def _send_batched(
        self,
        reservation: Reservation,
        order: list[int],
        txs: Txs,
        results: Results,
        sent: dict[int, SignedTx],
        batch_size: int,
    ) -> None:
        """Sign with consecutive nonces and post in batches; fill `sent` and refusals."""
        sign = self.submitter.sign
        signed = [sign(_tx(txs, i), reservation.start + k) for k, i in enumerate(order)]
        position = fee_retries = 0
        gap: int | None = None
        try:
            while position < len(order) and gap is None:
                answers = self.link.post_raw(signed[position : position + batch_size])
                retry_from = fee_retry_point(answers)
                if retry_from is not None and fee_retries < FEE_RETRIES:
                    fee_retries += 1
                    answers = answers[:retry_from]
                    fees = self.fees.quote(fresh=True).params()
                    for k in range(position + retry_from, len(order)):
                        tx = _tx(txs, order[k])
                        tx.update(fees)
                        signed[k] = sign(tx, signed[k].nonce)
                for offset, answer in enumerate(answers):
                    k = position + offset
                    i, item = order[k], signed[k]
                    if answer is None or self.link.accepted_anyway(answer, item):
                        sent[i] = item
                        continue
                    results[i] = TxResult(
                        i, error=self.submitter.failures.refused(_tx(txs, i), answer)
                    )
                    leaves_gap = classify(answer) is not Refusal.NONCE
                    if leaves_gap and gap is None and not self._fill_gap(item.nonce, _tx(txs, i)):
                        gap = item.nonce
                position += len(answers)
        except BaseException as exc:
            reservation.mark_uncertain()  # some were sent: re-read the node next time
            if not isinstance(exc, RpcError):
                raise
            # The node went away mid-way: report it per call instead of raising.
            for k in range(position, len(order)):
                i = order[k]
                results[i] = TxResult(i, error=exc)
                sent.pop(i, None)
            return
        if gap is not None:
            # Later nonces wait in the node's queue until someone sends `gap`.
            reservation.mark_uncertain()
            _report_gap(gap, order, signed, results, sent)

    def _fill_gap(self, nonce: int, like: Mapping[str, Any]) -> bool:
        """Send a zero-value self-transfer with `nonce`, so later nonces are not stuck."""
        address = self.submitter.failures.address
        filler = {
            "from": address,
            "to": address,
            "value": 0,
            "gas": FILLER_GAS,
            "chainId": like["chainId"],
            **{k: like[k] for k in FEE_FIELDS if k in like},
        }
        signed = self.submitter.sign(filler, nonce)
        try:
            self.link.send_raw(signed.raw)
        except Exception as exc:
            message = transport.rpc_error_message(exc)
            return message is not None and self.link.accepted_anyway(message, signed)
        return True


def _report_gap(
    gap: int,
    order: Sequence[int],
    signed: Sequence[SignedTx],
    results: Results,
    sent: dict[int, SignedTx],
) -> None:
    """Report the transactions after an unfilled nonce `gap` as waiting or not sent."""
    for i, item in zip(order, signed, strict=True):
        if item.nonce <= gap:
            continue
        if i in sent:
            del sent[i]
            tx_hash = HexBytes(item.hash).to_0x_hex()
            results[i] = TxResult(
                i,
                tx_hash=HexBytes(item.hash),
                nonce=item.nonce,
                error=ReceiptTimeout(
                    f"transaction {tx_hash} waits in the node's queue behind nonce {gap}, "
                    "which was refused and could not be filled; it is mined once this "
                    f"account sends a transaction with nonce {gap}",
                    tx_hash=tx_hash,
                ),
            )
        elif results[i] is None:
            results[i] = TxResult(
                i,
                error=TransactionRejected(
                    f"not sent: nonce {gap} of this batch was refused and could not be filled"
                ),
            )


def _tx(txs: Sequence[dict[str, Any] | None], i: int) -> dict[str, Any]:
    tx = txs[i]
    assert tx is not None
    return tx
