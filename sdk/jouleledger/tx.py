"""Signing and sending transactions with local accounts (keys never leave this process).

`Sender` is bound to one connection and one account. It estimates gas (with a margin),
quotes fees (EIP-1559 where the node has a base fee, legacy ``gasPrice`` otherwise), signs
locally, sends, awaits the receipt and turns every failure into a typed exception:

- a revert while estimating gas raises the decoded `ContractRevert` subclass before anything
  is sent (so no nonce is used);
- a node that refuses the transaction raises `InsufficientFunds` / `TransactionRejected`;
- a transaction mined but reverted raises `TransactionFailed`, with the reason recovered by
  replaying the call at its block;
- transport failures are retried with a bounded backoff, and a send that may have reached the
  node is only repeated (with the same signed bytes) after checking that the node does not
  know its hash; what retrying does not cure raises `NodeUnreachable` / `RpcTimeout` /
  `RpcUnavailable`.

`Sender.send_many` is the bulk path: it signs N transactions with consecutive nonces, posts
them as JSON-RPC batches, and collects the receipts with batched
``eth_getTransactionReceipt``, nudging a devnet with ``evm_mine`` when receipts stop
arriving. It reports each call's outcome in a `TxResult` instead of raising.

`send` and `deploy` are the one-call helpers for scripts.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar, cast

from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import EncodingError
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.abi import collapse_if_tuple
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.method_formatters import receipt_formatter
from web3.contract import Contract
from web3.datastructures import AttributeDict
from web3.exceptions import TransactionNotFound
from web3.types import TxParams, TxReceipt

from . import rpc
from .artifacts import Artifact
from .errors import (
    ContractRevert,
    InsufficientFunds,
    JouleLedgerError,
    ReceiptTimeout,
    RpcError,
    TransactionFailed,
    TransactionRejected,
    revert_from_exception,
)
from .nonce import NonceManager, Reservation
from .rpc import DEFAULT_RETRY, Failure, RetryPolicy
from .signing import SignedTx, TxSigner

DEFAULT_RECEIPT_TIMEOUT = 120.0
DEFAULT_GAS_MARGIN = 1.25
#: Extra gas for bulk calls that share one estimate: a call of the same shape may write
#: storage the estimated one did not (a cold SSTORE from zero costs 22,100).
DEFAULT_BULK_HEADROOM = 25_000
DEFAULT_BATCH_SIZE = 250
DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei, when the node cannot suggest one
# Receipt polling: the longest pause between polls, and how long receipts may stop arriving
# before a nudge (evm_mine on a devnet, rebroadcast of lost transactions). A devnet mines
# at once; a public network every few seconds and rate-limits chatty clients.
DEVNET_POLL, DEVNET_STALL = 0.1, 0.3
NETWORK_POLL, NETWORK_STALL = 1.0, 30.0
FILLER_GAS = 21_000

FeeMode = Literal["auto", "eip1559", "legacy"]
T = TypeVar("T")


class Buildable(Protocol):
    """A bound contract function or constructor: anything with `build_transaction`."""

    def build_transaction(self, transaction: TxParams | None = None) -> TxParams:
        """The transaction that calls it, with `transaction`'s fields filled in."""
        ...


Call = Buildable | TxParams | Mapping[str, Any]


@dataclass(frozen=True)
class FeeQuote:
    """Fee fields for a transaction: EIP-1559 caps, or a legacy gas price.

    Attributes:
        max_fee_per_gas: EIP-1559 cap on base fee + tip, or None for legacy.
        max_priority_fee_per_gas: EIP-1559 tip, or None for legacy.
        gas_price: legacy price, or None for EIP-1559.
    """

    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    gas_price: int | None = None

    @property
    def dynamic(self) -> bool:
        """True for EIP-1559 fees."""
        return self.max_fee_per_gas is not None

    @property
    def max_price(self) -> int:
        """The most one unit of gas can cost."""
        if self.max_fee_per_gas is not None:
            return self.max_fee_per_gas
        return self.gas_price or 0

    def params(self) -> dict[str, int]:
        """The transaction fields."""
        if self.dynamic:
            assert self.max_priority_fee_per_gas is not None
            return {
                "maxFeePerGas": int(self.max_fee_per_gas or 0),
                "maxPriorityFeePerGas": self.max_priority_fee_per_gas,
            }
        return {"gasPrice": int(self.gas_price or 0)}


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


class _Refusal(enum.Enum):
    NONCE = "nonce"  # too low, already known, replacement underpriced
    FEE = "fee"  # below the base fee, underpriced
    FUNDS = "funds"
    OTHER = "other"


def _refusal(message: str) -> _Refusal:
    text = message.lower()
    if any(m in text for m in ("insufficient funds", "cannot afford", "not have enough balance")):
        return _Refusal.FUNDS
    if any(
        marker in text
        for marker in ("nonce", "already known", "already imported", "known transaction")
    ) or ("replacement" in text):
        return _Refusal.NONCE
    if any(
        marker in text
        for marker in (
            "base fee",
            "basefee",
            "underpriced",
            "fee cap",
            "feecap",
            "gas price too low",
            "fee too low",
        )
    ):
        return _Refusal.FEE
    return _Refusal.OTHER


class Sender:
    """Sends transactions from one local account over one connection; thread-safe.

    Nonces come from the shared `NonceManager` of the account on that chain, so several
    `Sender` objects (and threads) for one account never collide.
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        chain_id: int | None = None,
        gas_margin: float = DEFAULT_GAS_MARGIN,
        bulk_gas_headroom: int = DEFAULT_BULK_HEADROOM,
        fee_mode: FeeMode = "auto",
        fee_ttl: float = 2.0,
        receipt_timeout: float = DEFAULT_RECEIPT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        nonces: NonceManager | None = None,
        mine_when_stalled: bool | None = None,
        decode_failures: bool = True,
        poll_interval: float | None = None,
        stall_after: float | None = None,
    ) -> None:
        """No request is made until the first transaction.

        Args:
            w3: the connection.
            account: the local key that signs.
            chain_id: the chain the node must serve (`WrongChain` otherwise); None: any.
            gas_margin: estimated gas is multiplied by this.
            bulk_gas_headroom: gas added on top for `send_many` calls sharing an estimate.
            fee_mode: ``"auto"`` (EIP-1559 when the latest block has a base fee),
                ``"eip1559"`` or ``"legacy"``.
            fee_ttl: seconds a fee quote is reused.
            receipt_timeout: default seconds to wait for a receipt.
            retry: backoff for transient transport failures.
            nonces: the nonce manager; default: the shared one of this account and chain.
            mine_when_stalled: call ``evm_mine`` when receipts stop arriving; None: only on
                devnets (anvil, ganache, eth-tester, hardhat).
            decode_failures: replay reverted transactions to recover their reason.
            poll_interval: the longest pause between receipt polls; None: 0.1 s on devnets,
                1 s elsewhere.
            stall_after: seconds without a new receipt before nudging (``evm_mine`` on a
                devnet, rebroadcasting transactions the node lost); None: 0.3 s on
                devnets, 30 s elsewhere.
        """
        if gas_margin < 1:
            raise ValueError(f"gas_margin must be at least 1, got {gas_margin}")
        self.w3 = w3
        self.account = account
        self.address: ChecksumAddress = account.address
        self.gas_margin = gas_margin
        self.bulk_gas_headroom = bulk_gas_headroom
        self.fee_mode: FeeMode = fee_mode
        self.fee_ttl = fee_ttl
        self.receipt_timeout = receipt_timeout
        self.retry = retry
        self.decode_failures = decode_failures
        self._expected_chain = chain_id
        self._chain_id: int | None = None
        self._nonces = nonces
        self._mine = mine_when_stalled
        self._poll = poll_interval
        self._stall = stall_after
        self._signer = TxSigner(account)
        self._lock = threading.Lock()
        self._fees: tuple[float, FeeQuote] | None = None

    # --- facts about the chain ------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        """The node's chain id (checked against the expected one on first use).

        Raises:
            WrongChain: the node serves another chain than the one given to the constructor.
            RpcError: the node cannot be asked.
        """
        if self._chain_id is None:
            if self._expected_chain is not None:
                self._chain_id = rpc.check_chain(self.w3, self._expected_chain, policy=self.retry)
            else:
                self._chain_id = int(self._call(lambda: self.w3.eth.chain_id, "eth_chainId"))
        return self._chain_id

    @property
    def nonces(self) -> NonceManager:
        """The nonce manager this sender uses."""
        if self._nonces is None:
            self._nonces = NonceManager.for_account(self.w3, self.address)
        return self._nonces

    @property
    def url(self) -> str:
        """The node's endpoint, for messages."""
        return rpc.endpoint(self.w3)

    def _mine_when_stalled(self) -> bool:
        if self._mine is None:
            self._mine = rpc.is_devnet(self.w3)
        return self._mine

    def _timing(self) -> tuple[float, float]:
        """(longest pause between receipt polls, seconds without progress before a nudge)."""
        devnet = rpc.is_devnet(self.w3)
        poll = self._poll if self._poll is not None else DEVNET_POLL if devnet else NETWORK_POLL
        stall = (
            self._stall if self._stall is not None else (DEVNET_STALL if devnet else NETWORK_STALL)
        )
        return poll, stall

    # --- building -------------------------------------------------------------------------

    def prepare(self, call: Call, *, value: int | None = None, gas: int | None = None) -> TxParams:
        """The complete transaction for `call`, except the nonce: gas and fees filled in.

        Args:
            call: a bound contract function (``token.functions.transfer(to, 1)``), a
                constructor, or a transaction dict (``{"to": ..., "value": ...}``).
            value: wei to send along.
            gas: the gas limit; default: the estimate times `gas_margin`.

        Raises:
            ContractRevert: the call reverts (subclass per error; nothing was sent).
            InsufficientFunds: the account cannot pay for it.
            TransactionRejected: the node cannot estimate it for another reason.
            WrongChain: the node serves another chain.
            RpcError: transport failure.
        """
        tx = self._encode(call, value)
        if gas is not None:
            tx["gas"] = gas
        elif "gas" not in tx:
            tx["gas"] = int(self._estimate(tx) * self.gas_margin)
        if not any(key in tx for key in ("gasPrice", "maxFeePerGas")):
            tx.update(self.quote_fees().params())
        return cast(TxParams, tx)

    def estimate_gas(self, call: Call, *, value: int | None = None) -> int:
        """The node's gas estimate for `call` (without margin).

        Args:
            call: as for `prepare`.
            value: wei to send along.

        Raises:
            ContractRevert: the call reverts.
            InsufficientFunds: the account cannot pay for it.
            TransactionRejected: the node cannot estimate it for another reason.
            RpcError: transport failure.
        """
        return self._estimate(self._encode(call, value))

    def quote_fees(self, *, fresh: bool = False) -> FeeQuote:
        """Fees for a transaction now (cached for `fee_ttl` seconds).

        EIP-1559: ``maxFeePerGas = 2 x base fee + tip``, which stays valid through several
        full blocks; the tip is the node's ``eth_maxPriorityFeePerGas`` (1 gwei if it has
        none). Legacy: the node's ``eth_gasPrice``.

        Args:
            fresh: ignore the cache.

        Raises:
            TransactionRejected: ``fee_mode="eip1559"`` on a node without a base fee.
            RpcError: transport failure.
        """
        now = time.monotonic()
        with self._lock:
            if not fresh and self._fees is not None and now - self._fees[0] < self.fee_ttl:
                return self._fees[1]
        quote = self._quote_fees()
        with self._lock:
            self._fees = (now, quote)
        return quote

    def _quote_fees(self) -> FeeQuote:
        base_fee: int | None = None
        if self.fee_mode != "legacy":
            block = self._call(lambda: self.w3.eth.get_block("latest"), "eth_getBlockByNumber")
            raw = block.get("baseFeePerGas")
            base_fee = int(raw) if raw is not None else None
            if base_fee is None and self.fee_mode == "eip1559":
                raise TransactionRejected(
                    f"the node at {self.url} has no base fee (a pre-London chain): "
                    "use fee_mode='legacy'"
                )
        if base_fee is None:
            price = int(self._call(lambda: self.w3.eth.gas_price, "eth_gasPrice"))
            return FeeQuote(gas_price=price)
        try:
            tip = int(self._call(lambda: self.w3.eth.max_priority_fee, "eth_maxPriorityFeePerGas"))
        except RpcError:
            raise
        except Exception:
            tip = DEFAULT_PRIORITY_FEE
        return FeeQuote(max_fee_per_gas=2 * base_fee + tip, max_priority_fee_per_gas=tip)

    # --- sending one ----------------------------------------------------------------------

    def send(
        self,
        call: Call,
        *,
        value: int | None = None,
        gas: int | None = None,
        timeout: float | None = None,
        raise_on_revert: bool = True,
    ) -> TxReceipt:
        """Sign `call`, send it and wait for its receipt.

        Args:
            call: a bound contract function, a constructor, or a transaction dict.
            value: wei to send along.
            gas: the gas limit; default: the estimate times `gas_margin`.
            timeout: seconds to wait for the receipt (default `receipt_timeout`).
            raise_on_revert: raise `TransactionFailed` for a mined revert; else return the
                receipt with status 0.

        Raises:
            ContractRevert: the estimate reverted (subclass per error); nothing was sent.
            InsufficientFunds: the account cannot pay for gas (+ value).
            TransactionRejected: the node refused the transaction.
            TransactionFailed: it was mined and reverted.
            ReceiptTimeout: it was not mined in time.
            WrongChain: the node serves another chain than expected.
            RpcError: transport failure that retrying did not cure.
        """
        tx = dict(self.prepare(call, value=value, gas=gas))
        signed = self._submit(tx)
        results: list[TxResult | None] = [None]
        limit = self.receipt_timeout if timeout is None else timeout
        self._collect({0: signed}, [tx], results, limit, decode=raise_on_revert)
        result = results[0]
        assert result is not None
        if result.receipt is None or (result.error is not None and raise_on_revert):
            assert result.error is not None
            raise result.error
        return result.receipt

    def submit(self, call: Call, *, value: int | None = None, gas: int | None = None) -> HexBytes:
        """Sign and send `call` without waiting; returns the transaction hash.

        Args:
            call: as for `send`.
            value: wei to send along.
            gas: the gas limit.

        Raises:
            Same as `send`, except `TransactionFailed` and `ReceiptTimeout`.
        """
        return HexBytes(self._submit(dict(self.prepare(call, value=value, gas=gas))).hash)

    def wait(self, tx_hash: HexBytes | bytes | str, *, timeout: float | None = None) -> TxReceipt:
        """Wait for the receipt of `tx_hash` (whatever its status).

        Polls with a short backoff; on a devnet whose receipts stall it calls ``evm_mine``.

        Args:
            tx_hash: the transaction.
            timeout: seconds (default `receipt_timeout`).

        Raises:
            ReceiptTimeout: not mined in time (the message says whether it is still pending).
            RpcError: transport failure.
        """
        tx_hash = HexBytes(tx_hash)
        limit = self.receipt_timeout if timeout is None else timeout
        poll, stall = self._timing()
        start = time.monotonic()
        last_mine = start
        delay = 0.0
        while True:
            receipt = self._receipt_or_none(tx_hash)
            if receipt is not None:
                return receipt
            now = time.monotonic()
            if now - start >= limit:
                raise self._timeout(tx_hash, limit)
            if now - last_mine >= stall and self._mine_when_stalled():
                rpc.mine(self.w3)
                last_mine = now
                continue
            time.sleep(min(delay, max(0.0, start + limit - now)))
            delay = min(max(delay * 2, 0.002), poll)

    def deploy(self, artifact: Artifact, *args: Any, gas: int | None = None) -> Contract:
        """Deploy `artifact` with constructor `args`; returns the bound contract.

        Args:
            artifact: e.g. ``load_artifact("ComputePowerToken")``.
            args: constructor arguments.
            gas: the gas limit; default: estimated.

        Raises:
            Same as `send`.
        """
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self.send(factory.constructor(*args), gas=gas)
        address = receipt["contractAddress"]
        assert address is not None
        return self.w3.eth.contract(address=address, abi=artifact.abi)

    # --- sending many ---------------------------------------------------------------------

    def send_many(
        self,
        calls: Iterable[Call],
        *,
        gas: int | None = None,
        timeout: float | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batched: bool | None = None,
    ) -> list[TxResult]:
        """Send many calls fast: consecutive nonces, JSON-RPC batches, batched receipts.

        Gas is estimated once per call shape (target, function selector, with or without
        value) against the current state, then raised by `gas_margin` and
        `bulk_gas_headroom`; pass `gas` (or ``"gas"`` in a call's dict) for calls that depend
        on earlier calls of the same batch, or whose cost varies more.

        Nodes that mine each transaction before answering its send (ganache, eth-tester)
        get the calls one by one by default: a batch gains about a third there, but a call
        the node refuses in the middle of one leaves the rest of it waiting for the HTTP
        timeout. Providers that cannot batch at all (eth-tester) always go one by one.

        Args:
            calls: bound contract functions, constructors or transaction dicts (no nonce).
            gas: one gas limit for every call.
            timeout: seconds to wait for all receipts (default `receipt_timeout`).
            batch_size: transactions per JSON-RPC batch.
            batched: post JSON-RPC batches; None: unless the node mines synchronously.

        Returns:
            One `TxResult` per call, in order; reverts and refusals are reported there.

        Raises:
            WrongChain: the node serves another chain than expected.
            RpcError: the node failed before anything was sent.
            ValueError: a call names a nonce or another sender.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        calls = list(calls)
        results: list[TxResult | None] = [None] * len(calls)
        txs: list[dict[str, Any] | None] = []
        for call in calls:
            encoded = self._encode(call, None)
            if "nonce" in encoded:
                raise ValueError("send_many hands out nonces itself; remove 'nonce' from calls")
            txs.append(encoded)
        self._fill_bulk_gas(txs, results, gas)
        unpriced = [tx for tx in txs if tx is not None and not _has_fees(tx)]
        if unpriced:
            fees = self.quote_fees(fresh=True).params()
            for tx in unpriced:
                tx.update(fees)
        order = [i for i, tx in enumerate(txs) if tx is not None]
        sent: dict[int, SignedTx] = {}
        if batched is None:
            batched = not rpc.mines_synchronously(self.w3)
        if order and batched and rpc.supports_batch(self.w3):
            self._send_batched(order, txs, results, sent, batch_size)
        else:
            for i in order:
                try:
                    sent[i] = self._submit(_tx(txs, i))
                except (TransactionRejected, RpcError) as exc:
                    results[i] = TxResult(i, error=exc)
        limit = self.receipt_timeout if timeout is None else timeout
        self._collect(sent, txs, results, limit)
        return [r if r is not None else TxResult(i) for i, r in enumerate(results)]

    def _fill_bulk_gas(
        self,
        txs: list[dict[str, Any] | None],
        results: list[TxResult | None],
        gas: int | None,
    ) -> None:
        by_shape: dict[tuple[Any, ...], int] = {}
        for i, tx in enumerate(txs):
            if tx is None:
                continue
            if gas is not None:
                tx["gas"] = gas
                continue
            if "gas" in tx:
                continue
            shape = (tx.get("to"), str(tx.get("data", ""))[:10], bool(tx.get("value")))
            if shape in by_shape:
                tx["gas"] = by_shape[shape]
                continue
            try:
                estimate = self._estimate(tx)
            except (ContractRevert, TransactionRejected) as exc:
                results[i] = TxResult(i, error=exc)
                txs[i] = None
                continue
            tx["gas"] = by_shape[shape] = int(estimate * self.gas_margin) + self.bulk_gas_headroom

    def _send_batched(
        self,
        order: list[int],
        txs: Sequence[dict[str, Any] | None],
        results: list[TxResult | None],
        sent: dict[int, SignedTx],
        batch_size: int,
    ) -> None:
        """Sign with consecutive nonces and post in batches; fill `sent` and refusals."""
        with self.nonces.reserve(len(order)) as reservation:
            signed = [self._sign(_tx(txs, i), reservation.start + k) for k, i in enumerate(order)]
            position = 0
            fee_retries = 0
            gap: int | None = None
            try:
                while position < len(order) and gap is None:
                    chunk = signed[position : position + batch_size]
                    answers = self._post_raw(chunk)
                    retry_from = _fee_retry_point(answers)
                    if retry_from is not None and fee_retries < 2:
                        fee_retries += 1
                        answers = answers[:retry_from]
                        fees = self.quote_fees(fresh=True).params()
                        for k in range(position + retry_from, len(order)):
                            tx = _tx(txs, order[k])
                            tx.update(fees)
                            signed[k] = self._sign(tx, signed[k].nonce)
                    for offset, answer in enumerate(answers):
                        k = position + offset
                        i, item = order[k], signed[k]
                        if answer is None or self._accepted_anyway(answer, item):
                            sent[i] = item
                            continue
                        results[i] = TxResult(i, error=self._refused(_tx(txs, i), answer))
                        leaves_gap = _refusal(answer) is not _Refusal.NONCE
                        if (
                            leaves_gap
                            and gap is None
                            and not self._fill_gap(item.nonce, _tx(txs, i))
                        ):
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
                for k in range(len(order)):
                    i, item = order[k], signed[k]
                    if item.nonce <= gap:
                        continue
                    if i in sent:
                        del sent[i]
                        results[i] = TxResult(
                            i,
                            tx_hash=HexBytes(item.hash),
                            nonce=item.nonce,
                            error=ReceiptTimeout(
                                f"transaction {HexBytes(item.hash).to_0x_hex()} waits in the "
                                f"node's queue behind nonce {gap}, which was refused and "
                                "could not be filled; it is mined once this account sends a "
                                f"transaction with nonce {gap}",
                                tx_hash=HexBytes(item.hash).to_0x_hex(),
                            ),
                        )
                    elif results[i] is None:
                        results[i] = TxResult(
                            i,
                            error=TransactionRejected(
                                f"not sent: nonce {gap} of this batch was refused and could "
                                "not be filled"
                            ),
                        )

    def _post_raw(self, chunk: Sequence[SignedTx]) -> list[str | None]:
        """Send `chunk` as one batch: None per accepted transaction, else the node's message.

        A batch whose fate is unknown (connection dropped, timeout) is checked hash by hash;
        only the transactions the node does not know are posted again (same bytes).
        """
        answers: list[str | None] = [None] * len(chunk)
        todo = list(range(len(chunk)))
        tries = 0
        while True:
            requests_ = [("eth_sendRawTransaction", ["0x" + chunk[t].raw.hex()]) for t in todo]
            try:
                with rpc.mining_lock(self.w3):
                    responses = rpc.batch(self.w3, requests_, retry=False)
            except RpcError:
                tries += 1
                known = self._known_many([chunk[t].hash for t in todo])
                todo = [t for t, seen in zip(todo, known, strict=True) if not seen]
                if not todo:
                    return answers
                if tries >= self.retry.attempts:
                    raise
                time.sleep(self.retry.delay(tries))
                continue
            for t, response in zip(todo, responses, strict=True):
                error = response.get("error")
                if error is not None:
                    answers[t] = _message(error)
            return answers

    def _fill_gap(self, nonce: int, like: Mapping[str, Any]) -> bool:
        """Send a zero-value self-transfer with `nonce`, so later nonces are not stuck."""
        filler = {
            "from": self.address,
            "to": self.address,
            "value": 0,
            "gas": FILLER_GAS,
            "chainId": self.chain_id,
            **{
                k: like[k]
                for k in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas")
                if k in like
            },
        }
        signed = self._sign(filler, nonce)
        try:
            self._send_raw(signed.raw)
        except Exception as exc:
            message = rpc.rpc_error_message(exc)
            return message is not None and self._accepted_anyway(message, signed)
        return True

    def _collect(
        self,
        sent: Mapping[int, SignedTx],
        txs: Sequence[dict[str, Any] | None],
        results: list[TxResult | None],
        limit: float,
        *,
        decode: bool = True,
    ) -> None:
        """Await the receipts of `sent`, filling `results`.

        When no receipt has arrived for `stall_after` seconds, it alternates between an
        ``evm_mine`` nudge (devnets: anvil's automine can leave transactions pending) and a
        rebroadcast: the transactions the node no longer knows (anvil has been seen to drop
        a few hundred of a burst of thousands) are posted again, the same signed bytes.
        """
        waiting = dict(sent)
        poll, stall = self._timing()
        start = time.monotonic()
        last_progress = last_nudge = start
        nudges = 0
        delay = 0.0
        while waiting:
            try:
                found = self._receipts(waiting)
            except RpcError as exc:
                for i, item in waiting.items():
                    results[i] = TxResult(i, HexBytes(item.hash), item.nonce, error=exc)
                return
            for i, receipt in found.items():
                item = waiting.pop(i)
                error = None
                if receipt["status"] != 1 and decode:
                    error = self._failure(_tx(txs, i), item, receipt)
                results[i] = TxResult(i, HexBytes(item.hash), item.nonce, receipt, error)
            if not waiting:
                return
            now = time.monotonic()
            if found:
                last_progress, delay = now, 0.0
            if now - start >= limit:
                for i, item in waiting.items():
                    results[i] = TxResult(
                        i, HexBytes(item.hash), item.nonce, error=self._timeout(item.hash, limit)
                    )
                return
            if now - max(last_progress, last_nudge) >= stall:
                nudges += 1
                try:
                    if nudges % 2 == 1 and self._mine_when_stalled():
                        rpc.mine(self.w3)
                    else:
                        self._rebroadcast(waiting)
                except RpcError:
                    pass  # the receipt poll reports a node that is gone
                last_nudge = time.monotonic()
                continue
            time.sleep(min(delay, max(0.0, start + limit - now)))
            delay = min(max(delay * 2, 0.005), poll)

    def _rebroadcast(self, waiting: Mapping[int, SignedTx]) -> None:
        """Post again the waiting transactions the node no longer knows (same bytes)."""
        items = list(waiting.values())
        lost = [
            item
            for item, known in zip(items, self._known_many([i.hash for i in items]), strict=True)
            if not known
        ]
        if not lost:
            return
        if rpc.supports_batch(self.w3):
            for first in range(0, len(lost), DEFAULT_BATCH_SIZE):
                self._post_raw(lost[first : first + DEFAULT_BATCH_SIZE])
            return
        for item in lost:
            try:
                self._send_raw(item.raw)
            except RpcError:
                raise
            except Exception:
                pass  # refused now (its nonce was taken): it times out with that message

    def _receipts(self, waiting: Mapping[int, SignedTx]) -> dict[int, TxReceipt]:
        found: dict[int, TxReceipt] = {}
        if not rpc.supports_batch(self.w3):
            for i, item in waiting.items():
                receipt = self._receipt_or_none(HexBytes(item.hash))
                if receipt is not None:
                    found[i] = receipt
            return found
        items = list(waiting.items())
        for first in range(0, len(items), 500):
            part = items[first : first + 500]
            responses = rpc.batch(
                self.w3,
                [("eth_getTransactionReceipt", ["0x" + item.hash.hex()]) for _, item in part],
            )
            for (i, _), response in zip(part, responses, strict=True):
                result = response.get("result")
                if result:
                    found[i] = cast(TxReceipt, AttributeDict.recursive(receipt_formatter(result)))
        return found

    # --- internals ------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T], method: str) -> T:
        return rpc.call(self.w3, fn, method=method, policy=self.retry)

    def _encode(self, call: Call, value: int | None) -> dict[str, Any]:
        """from/to/data/value (and whatever a dict call fixes), without asking the node."""
        if isinstance(call, Mapping):
            tx = dict(call)
            sender = tx.setdefault("from", self.address)
            if str(sender).lower() != self.address.lower():
                raise ValueError(
                    f"the call is from {sender}, but this Sender signs for {self.address}"
                )
        elif (encoded := _calldata(call)) is not None:
            tx = {"from": self.address, "to": encoded[0], "data": encoded[1]}
        else:
            # Every field that build_transaction would ask the node for is given, so this
            # only encodes; gas, fees and nonce are replaced below.
            params: dict[str, Any] = {
                "from": self.address,
                "gas": 1,
                "gasPrice": 0,
                "nonce": 0,
                "chainId": self.chain_id,
            }
            built = call.build_transaction(cast(TxParams, params))
            tx = {"from": self.address, "to": built.get("to"), "data": built.get("data", "0x")}
            if tx["to"] in (None, "", b""):
                del tx["to"]
            if built.get("value"):
                tx["value"] = built["value"]
        if value is not None:
            tx["value"] = value
        data = tx.get("data")
        if isinstance(data, bytes | bytearray):
            tx["data"] = "0x" + bytes(data).hex()
        tx["chainId"] = self.chain_id
        return tx

    def _estimate(self, tx: Mapping[str, Any]) -> int:
        params = cast(TxParams, {k: tx[k] for k in ("from", "to", "data", "value") if k in tx})
        if rpc.supports_batch(self.w3):  # raw: skips web3's per-request eth_chainId
            raw = {key: _json_quantity(value) for key, value in params.items()}

            def request() -> int:
                return int(str(rpc.raw_request(self.w3, "eth_estimateGas", [raw])), 16)
        else:

            def request() -> int:
                return int(self.w3.eth.estimate_gas(params))

        try:
            with rpc.mining_lock(self.w3):
                return self._call(request, "eth_estimateGas")
        except RpcError:
            raise
        except Exception as exc:
            revert = revert_from_exception(exc)
            if revert is not None:
                raise revert from exc
            message = rpc.rpc_error_message(exc) or str(exc)
            if _refusal(message) is _Refusal.FUNDS:
                raise self._insufficient_funds(tx, message) from exc
            raise TransactionRejected(
                f"the node at {self.url} cannot estimate gas for this transaction: {message}"
            ) from exc

    def _sign(self, tx: dict[str, Any], nonce: int) -> SignedTx:
        tx["nonce"] = nonce
        return self._signer.sign(tx)

    def _send_raw(self, raw: bytes) -> None:
        # Not through rpc.call: a send is only repeated after checking its hash (_push).
        with rpc.mining_lock(self.w3), rpc.inproc_lock(self.w3):
            if rpc.supports_batch(self.w3):
                rpc.raw_request(self.w3, "eth_sendRawTransaction", ["0x" + raw.hex()])
            else:
                self.w3.eth.send_raw_transaction(raw)

    def _submit(self, tx: dict[str, Any]) -> SignedTx:
        if "nonce" in tx:  # the caller fixed the nonce: no manager involved
            return self._push(tx, None)
        with self.nonces.reserve() as reservation:
            return self._push(tx, reservation)

    def _push(self, tx: dict[str, Any], reservation: Reservation | None) -> SignedTx:
        """Sign and send until the node has it; resync the nonce / re-quote fees as told."""
        transport_tries = nonce_tries = fee_tries = 0
        while True:
            signed = self._sign(tx, reservation.start if reservation else int(tx["nonce"]))
            try:
                self._send_raw(signed.raw)
                return signed
            except Exception as exc:
                found = rpc.classify(exc)
                if found is not None:
                    failure, status = found
                    if failure not in (Failure.UNREACHABLE, Failure.HTTP):
                        # It may have reached the node: whatever happens next, re-read the
                        # node's nonce before handing out another.
                        if reservation is not None:
                            reservation.mark_uncertain()
                        if self._is_known(signed.hash):
                            return signed
                        transport_tries += 1
                        if transport_tries < self.retry.attempts:
                            time.sleep(self.retry.delay(transport_tries))
                            continue
                    raise rpc.translate(
                        exc,
                        failure,
                        status,
                        url=self.url,
                        method="eth_sendRawTransaction",
                        tries=transport_tries or 1,
                    ) from exc
                message = rpc.rpc_error_message(exc) or str(exc)
                refusal = _refusal(message)
                if refusal in (_Refusal.NONCE, _Refusal.FEE) and self._is_known(signed.hash):
                    return signed
                if refusal is _Refusal.NONCE and reservation is not None and nonce_tries < 3:
                    nonce_tries += 1
                    reservation.resync()
                    continue
                if refusal is _Refusal.FEE and fee_tries < 2:
                    fee_tries += 1
                    for key in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas"):
                        tx.pop(key, None)
                    tx.update(self.quote_fees(fresh=True).params())
                    continue
                raise self._refused(tx, message) from exc

    def _accepted_anyway(self, message: str, signed: SignedTx) -> bool:
        """A "nonce too low" / "already known" answer to our own, already-sent transaction."""
        return _refusal(message) in (_Refusal.NONCE, _Refusal.FEE) and self._is_known(signed.hash)

    def _is_known(self, tx_hash: bytes) -> bool:
        try:
            self._call(
                lambda: self.w3.eth.get_transaction(HexBytes(tx_hash)), "eth_getTransactionByHash"
            )
        except TransactionNotFound:
            return False
        return True

    def _known_many(self, hashes: Sequence[bytes]) -> list[bool]:
        if not rpc.supports_batch(self.w3):
            return [self._is_known(h) for h in hashes]
        responses = rpc.batch(
            self.w3, [("eth_getTransactionByHash", ["0x" + h.hex()]) for h in hashes]
        )
        return [bool(r.get("result")) for r in responses]

    def _receipt_or_none(self, tx_hash: HexBytes) -> TxReceipt | None:
        try:
            return self._call(
                lambda: self.w3.eth.get_transaction_receipt(tx_hash), "eth_getTransactionReceipt"
            )
        except TransactionNotFound:
            return None

    def _refused(self, tx: Mapping[str, Any], message: str) -> TransactionRejected:
        if _refusal(message) is _Refusal.FUNDS:
            return self._insufficient_funds(tx, message)
        return TransactionRejected(
            f"the node at {self.url} refused the transaction from {self.address} "
            f"(nonce {tx.get('nonce', '?')}): {message}"
        )

    def _insufficient_funds(self, tx: Mapping[str, Any], message: str) -> InsufficientFunds:
        price = int(tx.get("maxFeePerGas") or tx.get("gasPrice") or 0)
        value = int(tx.get("value") or 0)
        gas = int(tx.get("gas") or 0)
        needed = gas * price + value if gas and price else None
        try:
            balance: int | None = int(
                self._call(lambda: self.w3.eth.get_balance(self.address), "eth_getBalance")
            )
        except Exception:
            balance = None
        have = f"has {_ether(balance)} ETH" if balance is not None else "lacks the ether"
        cost = (
            f" but this transaction may cost up to {_ether(needed)} ETH "
            f"(gas {gas:,} x {Decimal(price) / 10**9:f} gwei + value {_ether(value)} ETH)"
            if needed is not None
            else ""
        )
        return InsufficientFunds(
            f"{self.address} {have}{cost}: send it ether first (the node said: {message})",
            address=self.address,
            balance=balance,
            needed=needed,
        )

    def _failure(
        self, tx: Mapping[str, Any], signed: SignedTx, receipt: TxReceipt
    ) -> TransactionFailed:
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
        revert = self._replay(tx, receipt) if self.decode_failures else None
        reason = (
            f": {revert}"
            if revert is not None
            else (
                "; replaying it did not reproduce the revert (the state it saw is gone)"
                if self.decode_failures
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
        try:
            self._call(lambda: self.w3.eth.call(params, at), "eth_call")
        except RpcError:
            return None
        except Exception as exc:
            return revert_from_exception(exc)
        return None

    def _timeout(self, tx_hash: bytes, limit: float) -> ReceiptTimeout:
        text = HexBytes(tx_hash).to_0x_hex()
        try:
            known = self._is_known(tx_hash)
        except RpcError:
            known = True
        if not known:
            self.nonces.invalidate()
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


_SELECTORS: dict[int, tuple[Mapping[str, Any], bytes, list[str]]] = {}


def _calldata(call: object) -> tuple[str, str] | None:
    """(address, calldata) of a bound contract function, encoded straight from its ABI.

    web3.py's ``build_transaction`` costs about 0.7 ms a call (it re-resolves and
    re-validates the function); the bulk path encodes thousands. A bound function's
    arguments were validated against its ABI when it was created, so eth-abi encodes them
    to the same bytes (a test checks that) in about 0.03 ms. None when eth-abi declines
    them (hex strings for ``bytesN``, dicts for structs, keyword arguments) or `call` is
    not a bound function: web3 then encodes it.
    """
    abi = getattr(call, "abi", None)
    args = getattr(call, "args", None)
    address = getattr(call, "address", None)
    if not (isinstance(abi, Mapping) and abi.get("type") == "function"):
        return None
    if getattr(call, "kwargs", None) or not isinstance(args, tuple | list) or not address:
        return None
    cached = _SELECTORS.get(id(abi))
    if cached is None or cached[0] is not abi:
        types = [collapse_if_tuple(dict(i)) for i in abi.get("inputs", ())]
        selector = keccak(text=f"{abi['name']}({','.join(types)})")[:4]
        cached = _SELECTORS[id(abi)] = (abi, selector, types)
    _, selector, types = cached
    try:
        return str(address), "0x" + (selector + abi_encode(types, list(args))).hex()
    except (EncodingError, TypeError, ValueError, OverflowError):
        return None


def _tx(txs: Sequence[dict[str, Any] | None], i: int) -> dict[str, Any]:
    tx = txs[i]
    assert tx is not None
    return tx


def _json_quantity(value: Any) -> Any:
    """JSON-RPC form of a transaction field: ints as 0x-quantities, bytes as 0x-hex."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


def _has_fees(tx: Mapping[str, Any]) -> bool:
    return "gasPrice" in tx or "maxFeePerGas" in tx


def _message(error: Any) -> str:
    if isinstance(error, Mapping):
        return str(error.get("message", error))
    return str(error)


def _fee_retry_point(answers: Sequence[str | None]) -> int | None:
    """Where a batch started failing for fees only (every answer from there on), if it did."""
    for position, answer in enumerate(answers):
        if answer is not None and _refusal(answer) is _Refusal.FEE:
            rest = answers[position:]
            if all(a is not None and _refusal(a) is _Refusal.FEE for a in rest):
                return position
            return None
    return None


def _ether(wei: int | None) -> str:
    if wei is None:
        return "?"
    text = format(Decimal(wei).scaleb(-18), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def send(
    w3: Web3,
    account: LocalAccount,
    call: Call,
    *,
    timeout: float = DEFAULT_RECEIPT_TIMEOUT,
) -> TxReceipt:
    """Sign `call` with `account`, send it and wait for its receipt.

    A shortcut for ``Sender(w3, account).send(call, timeout=timeout)``; keep a `Sender` to
    reuse its fee quote and nonce count across many transactions.

    Args:
        w3: the connection.
        account: the local key that signs.
        call: a bound contract function (``token.functions.transfer(to, 1)``), a constructor,
            or a plain transaction dict (``{"to": ..., "value": ...}``).
        timeout: seconds to wait for the receipt.

    Raises:
        ContractRevert: the estimate reverted (subclass per error); nothing was sent.
        TransactionFailed: the transaction was mined and reverted.
        JouleLedgerError: see `Sender.send` for the rest.
    """
    return Sender(w3, account).send(call, timeout=timeout)


def deploy(w3: Web3, account: LocalAccount, artifact: Artifact, *args: Any) -> Contract:
    """Deploy `artifact` with constructor `args`; returns the bound contract.

    Args:
        w3: the connection.
        account: the deployer.
        artifact: e.g. ``load_artifact("ComputePowerToken")``.
        args: constructor arguments.

    Raises:
        JouleLedgerError: see `Sender.send`.
    """
    return Sender(w3, account).deploy(artifact, *args)
