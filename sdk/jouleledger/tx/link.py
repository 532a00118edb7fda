"""The requests a sender makes of its node: reads with retries, raw sends, batched lookups.

Reads go through `transport.call` (retried per the `RetryPolicy`). A send is never retried blindly:
a send whose fate is unknown is repeated, with the same signed bytes, only after the node
says it does not know the hash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from hexbytes import HexBytes
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from .. import transport
from ..errors import RpcError
from ..transport import RetryPolicy
from .lean import lean_receipt
from .nodemsg import error_text, may_be_ours
from .retrying import Again, give_up, policy_wait
from .signing import SignedTx

T = TypeVar("T")
K = TypeVar("K")
#: Requests per JSON-RPC batch when polling receipts.
RECEIPT_BATCH = 500
#: Signed transactions per JSON-RPC batch (bulk sends, rebroadcasts).
SEND_BATCH = 250


class NodeLink:
    """One account's view of one node, for sending; thread-safe."""

    def __init__(self, w3: Web3, retry: RetryPolicy) -> None:
        """No request is made here.

        Args:
            w3: the connection.
            retry: backoff for transient transport failures.
        """
        self.w3 = w3
        self.retry = retry
        self._chain_id: int | None = None

    def chain_id(self, expected: int | None) -> int:
        """The node's chain id, asked once.

        Args:
            expected: the chain the node must serve; None: any.

        Raises:
            WrongChain: the node serves another chain than `expected`.
            RpcError: the node cannot be asked.
        """
        if self._chain_id is None:
            if expected is not None:
                self._chain_id = transport.check_chain(self.w3, expected, policy=self.retry)
            else:
                self._chain_id = int(self.read(lambda: self.w3.eth.chain_id, "eth_chainId"))
        return self._chain_id

    @property
    def url(self) -> str:
        """The node's endpoint, for messages."""
        return transport.endpoint(self.w3)

    @property
    def batches(self) -> bool:
        """Whether the provider takes JSON-RPC batches."""
        return transport.supports_batch(self.w3)

    def read(self, fn: Callable[[], T], method: str) -> T:
        """Run the read request `fn` with retries.

        Args:
            fn: the request.
            method: its JSON-RPC method, for messages.

        Raises:
            RpcError: transport failure that retrying did not cure.
        """
        return transport.call(self.w3, fn, method=method, policy=self.retry)

    def send_raw(self, raw: bytes) -> None:
        """Post one signed transaction, once (the caller decides about repeating it).

        Args:
            raw: the signed transaction.

        Raises:
            Exception: whatever web3 raises for the node's refusal or a transport failure.
        """
        with transport.mining_lock(self.w3), transport.inproc_lock(self.w3):
            if self.batches:
                transport.raw_request(self.w3, "eth_sendRawTransaction", ["0x" + raw.hex()])
            else:
                self.w3.eth.send_raw_transaction(raw)

    def post_raw(self, chunk: Sequence[SignedTx]) -> list[str | None]:
        """Send `chunk` as one batch: None per accepted transaction, else the node's message.

        A batch whose fate is unknown (connection dropped, timeout) is checked hash by hash;
        only the transactions the node does not know are posted again (same bytes), with
        the policy's backoff.

        Args:
            chunk: signed transactions.

        Raises:
            RpcError: the node stayed unreachable for every try.
        """
        answers: list[str | None] = [None] * len(chunk)
        todo = list(range(len(chunk)))

        def attempt() -> list[str | None]:
            nonlocal todo
            requests = [("eth_sendRawTransaction", ["0x" + chunk[t].raw.hex()]) for t in todo]
            try:
                with transport.mining_lock(self.w3):
                    responses = transport.batch(self.w3, requests, retry=False)
            except RpcError as exc:
                known = self.known_many([chunk[t].hash for t in todo])
                todo = [t for t, seen in zip(todo, known, strict=True) if not seen]
                if not todo:
                    return answers
                raise Again(exc) from exc
            for t, response in zip(todo, responses, strict=True):
                error = response.get("error")
                if error is not None:
                    answers[t] = error_text(error)
            return answers

        retrying = Retrying(
            retry=retry_if_exception_type(Again),
            stop=stop_after_attempt(self.retry.attempts),
            wait=policy_wait(self.retry),
            retry_error_callback=give_up,
        )
        return retrying(attempt)

    def accepted_anyway(self, message: str, signed: SignedTx) -> bool:
        """A "nonce too low" / "already known" answer to our own, already-sent transaction.

        Args:
            message: the node's refusal.
            signed: the transaction it refused.

        Raises:
            RpcError: the node cannot be asked about the hash.
        """
        return may_be_ours(message) and self.is_known(signed.hash)

    def is_known(self, tx_hash: bytes) -> bool:
        """Whether the node has the transaction (pending or mined).

        Args:
            tx_hash: its hash.

        Raises:
            RpcError: transport failure.
        """
        try:
            self.read(
                lambda: self.w3.eth.get_transaction(HexBytes(tx_hash)), "eth_getTransactionByHash"
            )
        except TransactionNotFound:
            return False
        return True

    def known_many(self, hashes: Sequence[bytes]) -> list[bool]:
        """`is_known` for each of `hashes`, in one batch where the provider allows.

        Args:
            hashes: transaction hashes.

        Raises:
            RpcError: transport failure.
        """
        if not self.batches:
            return [self.is_known(h) for h in hashes]
        responses = transport.batch(
            self.w3, [("eth_getTransactionByHash", ["0x" + h.hex()]) for h in hashes]
        )
        return [bool(r.get("result")) for r in responses]

    def receipt(self, tx_hash: bytes) -> TxReceipt | None:
        """The receipt of `tx_hash`, or None while it is not mined.

        Args:
            tx_hash: the transaction.

        Raises:
            RpcError: transport failure.
        """
        if self.batches:  # raw, formatted by `lean_receipt`: big receipts cost far less
            raw = self.read(
                lambda: transport.raw_request(
                    self.w3, "eth_getTransactionReceipt", ["0x" + bytes(tx_hash).hex()]
                ),
                "eth_getTransactionReceipt",
            )
            return lean_receipt(raw) if raw else None
        try:
            return self.read(
                lambda: self.w3.eth.get_transaction_receipt(HexBytes(tx_hash)),
                "eth_getTransactionReceipt",
            )
        except TransactionNotFound:
            return None

    def receipts(self, waiting: Mapping[K, SignedTx]) -> dict[K, TxReceipt]:
        """The receipts that exist of `waiting`'s transactions, by key (batched).

        Args:
            waiting: transactions by the caller's key.

        Raises:
            RpcError: transport failure.
        """
        found: dict[K, TxReceipt] = {}
        if not self.batches:
            for key, item in waiting.items():
                receipt = self.receipt(item.hash)
                if receipt is not None:
                    found[key] = receipt
            return found
        items = list(waiting.items())
        for first in range(0, len(items), RECEIPT_BATCH):
            part = items[first : first + RECEIPT_BATCH]
            responses = transport.batch(
                self.w3,
                [("eth_getTransactionReceipt", ["0x" + item.hash.hex()]) for _, item in part],
            )
            for (key, _), response in zip(part, responses, strict=True):
                result = response.get("result")
                if result:
                    found[key] = lean_receipt(result)
        return found

    def balance(self, address: str) -> int | None:
        """The ether balance of `address`, or None when the node cannot tell.

        Args:
            address: the account.
        """
        try:
            return int(
                self.read(lambda: self.w3.eth.get_balance(cast(Any, address)), "eth_getBalance")
            )
        except Exception:
            return None
