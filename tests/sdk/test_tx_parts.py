"""The transaction layer's parts without a chain: retry budgets, the receipt poll loop."""

from __future__ import annotations

from typing import Any, cast

import pytest
import requests
from eth_account import Account
from web3.exceptions import Web3RPCError

from jouleledger.errors import RpcTimeout, TransactionRejected
from jouleledger.transport import RetryPolicy
from jouleledger.tx.failures import Failures
from jouleledger.tx.fees import FeeQuote, FeeQuoter
from jouleledger.tx.link import NodeLink
from jouleledger.tx.nodemsg import Refusal, classify, fee_retry_point
from jouleledger.tx.nonces import NonceManager, Reservation
from jouleledger.tx.receipts import Pacing, poll_until_done
from jouleledger.tx.signing import SignedTx, TxSigner
from jouleledger.tx.submit import FEE_RETRIES, NONCE_RETRIES, Submitter

FAST = RetryPolicy(attempts=3, initial_delay=0.0, max_delay=0.0)


class FakeLink:
    """A node that answers every send with `error` and knows no hash but `known`."""

    def __init__(self, error: BaseException | None, known: set[bytes] | None = None) -> None:
        self.error = error
        self.known = known or set()
        self.sent: list[bytes] = []
        self.retry = FAST
        self.url = "http://fake"

    def send_raw(self, raw: bytes) -> None:
        self.sent.append(raw)
        if self.error is not None:
            raise self.error

    def is_known(self, tx_hash: bytes) -> bool:
        return tx_hash in self.known


class FakeFees:
    def __init__(self) -> None:
        self.quotes = 0

    def quote(self, *, fresh: bool = False) -> FeeQuote:
        self.quotes += 1
        return FeeQuote(gas_price=10**9 + self.quotes)


class FakeReservation:
    def __init__(self) -> None:
        self.start = 7
        self.resyncs = 0
        self.uncertain = False

    def resync(self) -> int:
        self.resyncs += 1
        return self.start

    def mark_uncertain(self) -> None:
        self.uncertain = True


def node_error(message: str) -> Web3RPCError:
    return Web3RPCError(message, rpc_response={"error": {"code": -32000, "message": message}})


def submitter(link: FakeLink, fees: FakeFees | None = None) -> tuple[Submitter, dict[str, Any]]:
    account = Account.create()
    node = cast(NodeLink, link)
    failures = Failures(node, account.address, True, lambda: None)
    quoter = cast(FeeQuoter, fees or FakeFees())
    sub = Submitter(node, TxSigner(account), failures, quoter, lambda: cast(NonceManager, None))
    tx = {"from": account.address, "to": account.address, "value": 0, "gas": 21_000,
          "gasPrice": 10**9, "chainId": 1}  # fmt: skip
    return sub, tx


def test_send_refused_as_underpriced_is_requoted_twice_then_rejected() -> None:
    link, fees = FakeLink(node_error("transaction underpriced")), FakeFees()
    sub, tx = submitter(link, fees)
    with pytest.raises(TransactionRejected, match="underpriced"):
        sub.push(tx, cast(Reservation, FakeReservation()))
    assert fees.quotes == FEE_RETRIES and len(link.sent) == FEE_RETRIES + 1


def test_send_refused_for_its_nonce_resyncs_three_times_then_is_rejected() -> None:
    link = FakeLink(node_error("nonce too low"))
    sub, tx = submitter(link)
    reservation = FakeReservation()
    with pytest.raises(TransactionRejected, match="nonce too low"):
        sub.push(tx, cast(Reservation, reservation))
    assert reservation.resyncs == NONCE_RETRIES and len(link.sent) == NONCE_RETRIES + 1


def test_send_that_timed_out_is_repeated_up_to_the_policy_then_raises_rpc_timeout() -> None:
    link = FakeLink(requests.ReadTimeout("read timed out"))
    sub, tx = submitter(link)
    reservation = FakeReservation()
    with pytest.raises(RpcTimeout):
        sub.push(tx, cast(Reservation, reservation))
    assert len(link.sent) == FAST.attempts and reservation.uncertain
    assert len(set(link.sent)) == 1  # the same signed bytes every time


def test_send_that_timed_out_but_reached_the_node_is_not_repeated() -> None:
    link = FakeLink(requests.ReadTimeout("read timed out"))
    sub, tx = submitter(link)
    signed: SignedTx = sub.sign(dict(tx), 7)
    link.known.add(signed.hash)
    assert sub.push(tx, cast(Reservation, FakeReservation())).hash == signed.hash
    assert len(link.sent) == 1


def test_node_messages_are_classified_by_what_the_sender_can_do() -> None:
    assert classify("insufficient funds for gas * price + value") is Refusal.FUNDS
    assert classify("nonce too low") is Refusal.NONCE
    assert classify("replacement transaction underpriced") is Refusal.NONCE
    assert classify("max fee per gas less than block base fee") is Refusal.FEE
    assert classify("execution reverted") is Refusal.OTHER
    assert fee_retry_point([None, "underpriced", "fee too low"]) == 1
    assert fee_retry_point([None, "underpriced", "nonce too low"]) is None


def test_receipt_poll_nudges_instead_of_pausing_once_nothing_arrives() -> None:
    polls: list[int] = []
    nudges: list[int] = []

    def poll() -> int | None:
        polls.append(1)
        return None if nudges else 0

    timed_out = poll_until_done(
        poll, 5.0, Pacing(poll=0.01, stall=0.02), first_pause=0.001, nudge=lambda: nudges.append(1)
    )
    assert not timed_out and nudges == [1] and len(polls) >= 2


def test_receipt_poll_reports_a_timeout_and_stops_polling() -> None:
    polls: list[int] = []

    def poll() -> int | None:
        polls.append(1)
        return 0

    assert poll_until_done(poll, 0.05, Pacing(0.01, 10.0), first_pause=0.001, nudge=None)
    count = len(polls)
    assert 2 <= count < 200
