"""Awaiting receipts: one poll loop (tenacity) for one transaction or thousands.

The loop polls with a pause that doubles up to `Pacing.poll` and restarts whenever a receipt
arrives. When no receipt has arrived for `Pacing.stall` seconds it nudges the node instead of
pausing: ``evm_mine`` on a devnet (anvil's automine can leave transactions pending) and, for
transactions whose signed bytes it holds, a rebroadcast of those the node no longer knows
(anvil has been seen to drop a few hundred of a burst of thousands).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_delay
from web3.types import TxReceipt

from .. import transport
from ..errors import RpcError
from .failures import Failures
from .link import SEND_BATCH, NodeLink
from .results import Results, TxResult
from .signing import SignedTx

# The longest pause between polls, and how long receipts may stop arriving before a nudge.
# A devnet mines at once; a public network every few seconds and rate-limits chatty clients.
# anvil's automine leaves the last of a burst of big transactions (batch calls near the
# block gas limit) pending until something else arrives: a nudge after 0.15 s saves it most
# of the wait (measured: a burst of 8 postJobs calls took 0.27 s, or 0.63 s with 0.3 s).
DEVNET_POLL, DEVNET_STALL = 0.1, 0.15
NETWORK_POLL, NETWORK_STALL = 1.0, 30.0
#: The first pause after an empty poll: one transaction, many.
FIRST_PAUSE_ONE, FIRST_PAUSE_MANY = 0.002, 0.005


@dataclass(frozen=True)
class Pacing:
    """How often to poll for receipts.

    Attributes:
        poll: the longest pause between polls.
        stall: seconds without a new receipt before a nudge.
    """

    poll: float
    stall: float


class _Clock:
    """The loop's tenacity hooks: backoff that restarts on progress, a nudge on a stall."""

    def __init__(
        self, pacing: Pacing, limit: float, first: float, nudge: Callable[[], None] | None
    ) -> None:
        self.pacing = pacing
        self.limit = limit
        self.first = first
        self.nudge = nudge
        self.pause = 0.0
        self.last_progress: float | None = None
        self.last_nudge: float | None = None
        self.stalled = False

    def after(self, state: RetryCallState) -> None:
        """After an unfinished poll: note whether it brought receipts."""
        assert state.outcome is not None
        if state.outcome.result():
            self.last_progress, self.pause = time.monotonic(), 0.0

    def wait(self, state: RetryCallState) -> float:
        """The pause before the next poll: none when a nudge is due."""
        now = time.monotonic()
        quiet_since = max(self.last_progress or state.start_time, self.last_nudge or 0.0)
        self.stalled = self.nudge is not None and now - quiet_since >= self.pacing.stall
        if self.stalled:
            return 0.0
        return min(self.pause, max(0.0, state.start_time + self.limit - now))

    def before_sleep(self, state: RetryCallState) -> None:
        """Nudge the node when due, else lengthen the next pause."""
        if self.stalled and self.nudge is not None:
            self.nudge()
            self.last_nudge = time.monotonic()
        else:
            self.pause = min(max(self.pause * 2, self.first), self.pacing.poll)


def poll_until_done(
    poll: Callable[[], int | None],
    limit: float,
    pacing: Pacing,
    *,
    first_pause: float,
    nudge: Callable[[], None] | None,
) -> bool:
    """Call `poll` until it reports nothing left to wait for, or `limit` seconds pass.

    Args:
        poll: one poll; returns None when done, else how many receipts arrived this time.
        limit: seconds to keep polling.
        pacing: pauses and stall time.
        first_pause: the first non-zero pause (the pause doubles from there to `pacing.poll`).
        nudge: called instead of pausing once nothing arrived for `pacing.stall` seconds.

    Returns:
        True when it timed out with something still waiting.

    Raises:
        Exception: whatever `poll` or `nudge` raises.
    """
    clock = _Clock(pacing, limit, first_pause, nudge)
    retrying = Retrying(
        retry=retry_if_result(lambda left: left is not None),
        stop=stop_after_delay(limit),
        wait=clock.wait,
        after=clock.after,
        before_sleep=clock.before_sleep,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    return retrying(poll) is not None


def pacing_for(w3: Any, poll: float | None, stall: float | None) -> Pacing:
    """The pacing for the node behind `w3`, unless given.

    Args:
        w3: the connection.
        poll: the longest pause; None: 0.1 s on devnets, 1 s elsewhere.
        stall: seconds before a nudge; None: 0.3 s on devnets, 30 s elsewhere.
    """
    devnet = transport.is_devnet(w3)
    return Pacing(
        poll if poll is not None else DEVNET_POLL if devnet else NETWORK_POLL,
        stall if stall is not None else DEVNET_STALL if devnet else NETWORK_STALL,
    )


class ReceiptWatcher:
    """Awaits the receipts of one sender's transactions."""

    def __init__(
        self,
        link: NodeLink,
        failures: Failures,
        pacing: Callable[[], Pacing],
        mine_when_stalled: bool | None,
    ) -> None:
        """No request is made here.

        Args:
            link: the node.
            failures: builds the exceptions for reverts and timeouts.
            pacing: the pacing (asked when a wait starts).
            mine_when_stalled: call ``evm_mine`` on a stall; None: only on devnets.
        """
        self.link = link
        self.failures = failures
        self._pacing = pacing
        self._mine = mine_when_stalled

    def _mining(self) -> bool:
        if self._mine is None:
            self._mine = transport.is_devnet(self.link.w3)
        return self._mine

    def await_one(
        self, signed: SignedTx, tx: Mapping[str, Any], limit: float, raise_on_revert: bool
    ) -> TxReceipt:
        """The receipt of the transaction `signed`, sent by this sender.

        Args:
            signed: the transaction as sent.
            tx: its fields.
            limit: seconds to wait.
            raise_on_revert: raise `TransactionFailed` for status 0; else return the receipt.

        Raises:
            TransactionFailed: it was mined and reverted (with `raise_on_revert`).
            ReceiptTimeout: it was not mined in time.
            RpcError: transport failure.
        """
        results: Results = [None]
        self.collect({0: signed}, [tx], results, limit, decode=raise_on_revert)
        result = results[0]
        assert result is not None
        if result.receipt is None or (result.error is not None and raise_on_revert):
            assert result.error is not None
            raise result.error
        return result.receipt

    def wait(self, tx_hash: bytes, limit: float) -> TxReceipt:
        """The receipt of `tx_hash`, whatever its status.

        Args:
            tx_hash: the transaction.
            limit: seconds to wait.

        Raises:
            ReceiptTimeout: not mined in time (the message says whether it is still pending).
            RpcError: transport failure.
        """
        found: list[TxReceipt] = []

        def poll() -> int | None:
            receipt = self.link.receipt(tx_hash)
            if receipt is None:
                return 0
            found.append(receipt)
            return None

        def mine() -> None:
            transport.mine(self.link.w3)

        nudge = mine if self._mining() else None
        pacing = self._pacing()
        if poll_until_done(poll, limit, pacing, first_pause=FIRST_PAUSE_ONE, nudge=nudge):
            raise self.failures.timeout(tx_hash, limit)
        return found[0]

    def collect(
        self,
        sent: Mapping[int, SignedTx],
        txs: Sequence[Mapping[str, Any] | None],
        results: Results,
        limit: float,
        *,
        decode: bool = True,
    ) -> None:
        """Await the receipts of `sent` (by call index), filling `results`.

        A nudge alternates between ``evm_mine`` (devnets) and a rebroadcast of the
        transactions the node no longer knows. A node that goes away is reported per call.

        Args:
            sent: the signed transactions, by call index.
            txs: the transactions' fields, by call index.
            results: the slots to fill.
            limit: seconds to wait for all of them.
            decode: turn status-0 receipts into `TransactionFailed` errors.
        """
        waiting = dict(sent)
        if not waiting:
            return
        nudges = itertools.count(1)

        def poll() -> int | None:
            found = self.link.receipts(waiting)
            for i, receipt in found.items():
                item = waiting.pop(i)
                error = None
                if receipt["status"] != 1 and decode:
                    tx = txs[i]
                    assert tx is not None
                    error = self.failures.reverted(tx, item, receipt)
                results[i] = TxResult(i, HexBytes(item.hash), item.nonce, receipt, error)
            return len(found) if waiting else None

        def nudge() -> None:
            try:
                if next(nudges) % 2 == 1 and self._mining():
                    transport.mine(self.link.w3)
                else:
                    self.rebroadcast(waiting)
            except RpcError:
                pass  # the receipt poll reports a node that is gone

        try:
            timed_out = poll_until_done(
                poll, limit, self._pacing(), first_pause=FIRST_PAUSE_MANY, nudge=nudge
            )
        except RpcError as exc:
            for i, item in waiting.items():
                results[i] = TxResult(i, HexBytes(item.hash), item.nonce, error=exc)
            return
        if timed_out:
            for i, item in waiting.items():
                error = self.failures.timeout(item.hash, limit)
                results[i] = TxResult(i, HexBytes(item.hash), item.nonce, error=error)

    def rebroadcast(self, waiting: Mapping[int, SignedTx]) -> None:
        """Post again the waiting transactions the node no longer knows (same bytes).

        Args:
            waiting: the transactions still without a receipt.

        Raises:
            RpcError: transport failure.
        """
        items = list(waiting.values())
        known = self.link.known_many([i.hash for i in items])
        lost = [item for item, seen in zip(items, known, strict=True) if not seen]
        if not lost:
            return
        if self.link.batches:
            for first in range(0, len(lost), SEND_BATCH):
                self.link.post_raw(lost[first : first + SEND_BATCH])
            return
        for item in lost:
            try:
                self.link.send_raw(item.raw)
            except RpcError:
                raise
            except Exception:
                pass  # refused now (its nonce was taken): it times out with that message
