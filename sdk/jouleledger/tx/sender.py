"""`Sender`: one account's transactions over one connection, composed from the tx parts."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, Generic, TypeVar, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams, TxReceipt

from ..abi import Artifact
from ..transport import DEFAULT_RETRY, RetryPolicy
from .bulk import BulkSender
from .encode import Call, call_fields
from .failures import Failures
from .fees import FeeMode, FeeQuote, FeeQuoter, has_fees
from .gas import DEFAULT_BULK_HEADROOM, DEFAULT_GAS_MARGIN, GasEstimator
from .link import SEND_BATCH, NodeLink
from .nonces import NonceManager
from .receipts import ReceiptWatcher, pacing_for
from .results import TxResult
from .signing import TxSigner
from .submit import Submitter

DEFAULT_RECEIPT_TIMEOUT = 120.0
DEFAULT_BATCH_SIZE = SEND_BATCH
V = TypeVar("V")


class _Setting(Generic[V]):
    """A `Sender` attribute kept by one of its parts (so setting it reaches that part)."""

    def __init__(self, part: str, name: str) -> None:
        self.part, self.name = part, name

    def __get__(self, sender: object, owner: type | None = None) -> V:
        return cast(V, getattr(getattr(sender, self.part), self.name))

    def __set__(self, sender: object, value: V) -> None:
        setattr(getattr(sender, self.part), self.name, value)


class Sender:
    """Sends transactions from one local account over one connection; thread-safe.

    Nonces come from the shared `NonceManager` of the account on that chain, so several
    `Sender` objects (and threads) for one account never collide.
    """

    gas_margin = _Setting[float]("_gas", "margin")
    bulk_gas_headroom = _Setting[int]("_gas", "headroom")
    fee_mode = _Setting[FeeMode]("_fees", "mode")
    fee_ttl = _Setting[float]("_fees", "ttl")
    retry = _Setting[RetryPolicy]("_link", "retry")
    decode_failures = _Setting[bool]("_failures", "decode")

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
            fee_mode: ``"auto"``, ``"eip1559"`` or ``"legacy"`` (see `FeeQuoter`).
            fee_ttl: seconds a fee quote is reused.
            receipt_timeout: default seconds to wait for a receipt.
            retry: backoff for transient transport failures.
            nonces: the nonce manager; default: the shared one of this account and chain.
            mine_when_stalled: call ``evm_mine`` when receipts stall; None: on devnets.
            decode_failures: replay reverted transactions to recover their reason.
            poll_interval: the longest pause between receipt polls (see `pacing_for`).
            stall_after: seconds without a new receipt before a nudge (see `pacing_for`).

        Raises:
            ValueError: `gas_margin` is below 1.
        """
        self.w3 = w3
        self.account = account
        self.address: ChecksumAddress = account.address
        self.receipt_timeout = receipt_timeout
        self._expected_chain = chain_id
        self._nonces = nonces
        self._link = link = NodeLink(w3, retry)
        forget_nonce = lambda: self.nonces.invalidate()  # noqa: E731 (the manager is lazy)
        self._failures = Failures(link, self.address, decode_failures, forget_nonce)
        self._gas = GasEstimator(link, self._failures, gas_margin, bulk_gas_headroom)
        self._fees = FeeQuoter(w3, link.read, link.url, fee_mode, fee_ttl)
        self._submitter = Submitter(
            link, TxSigner(account), self._failures, self._fees, lambda: self.nonces
        )
        pacing = functools.partial(pacing_for, w3, poll_interval, stall_after)
        self._watcher = ReceiptWatcher(link, self._failures, pacing, mine_when_stalled)
        self._bulk = BulkSender(self._submitter, self._gas, self._watcher)

    @property
    def chain_id(self) -> int:
        """The node's chain id (checked against the expected one on first use).

        Raises:
            WrongChain: the node serves another chain than the one given to the constructor.
            RpcError: the node cannot be asked.
        """
        return self._link.chain_id(self._expected_chain)

    @property
    def nonces(self) -> NonceManager:
        """The nonce manager this sender uses."""
        if self._nonces is None:
            self._nonces = NonceManager.for_account(self.w3, self.address)
        return self._nonces

    @property
    def url(self) -> str:
        """The node's endpoint, for messages."""
        return self._link.url

    def _fields(self, call: Call, value: int | None = None) -> dict[str, Any]:
        return call_fields(call, self.address, self.chain_id, value)

    def prepare(self, call: Call, *, value: int | None = None, gas: int | None = None) -> TxParams:
        """The complete transaction for `call`, except the nonce: gas and fees filled in.

        Args:
            call: a bound contract function, a constructor, or a transaction dict.
            value: wei to send along.
            gas: the gas limit; default: the estimate times `gas_margin`.

        Raises:
            ContractRevert: the call reverts (subclass per error; nothing was sent).
            InsufficientFunds: the account cannot pay for it.
            TransactionRejected: the node cannot estimate it for another reason.
            WrongChain: the node serves another chain.
            RpcError: transport failure.
        """
        tx = self._gas.fill(self._fields(call, value), gas)
        if not has_fees(tx):
            tx.update(self.quote_fees().params())
        return cast(TxParams, tx)

    def estimate_gas(self, call: Call, *, value: int | None = None) -> int:
        """The node's gas estimate for `call` (without margin).

        Args:
            call: as for `prepare`.
            value: wei to send along.

        Raises:
            Same as `prepare`.
        """
        return self._gas.estimate(self._fields(call, value))

    def check(self, call: Call, *, value: int | None = None) -> None:
        """Run `call` as an ``eth_call`` on the latest state (one execution; an estimate
        takes several): raises what sending it now would revert with.

        Args:
            call: as for `prepare`.
            value: wei to send along.

        Raises:
            Same as `prepare`.
        """
        self._gas.check(self._fields(call, value))

    def quote_fees(self, *, fresh: bool = False) -> FeeQuote:
        """Fees for a transaction now (cached for `fee_ttl` seconds); see `FeeQuoter.quote`.

        Args:
            fresh: ignore the cache.

        Raises:
            TransactionRejected: ``fee_mode="eip1559"`` on a node without a base fee.
            RpcError: transport failure.
        """
        return self._fees.quote(fresh=fresh)

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
        signed = self._submitter.submit(tx)
        limit = self.receipt_timeout if timeout is None else timeout
        return self._watcher.await_one(signed, tx, limit, raise_on_revert)

    def submit(self, call: Call, *, value: int | None = None, gas: int | None = None) -> HexBytes:
        """Sign and send `call` without waiting; returns the transaction hash.

        Args:
            call: as for `send`.
            value: wei to send along.
            gas: the gas limit.

        Raises:
            Same as `send`, except `TransactionFailed` and `ReceiptTimeout`.
        """
        tx = dict(self.prepare(call, value=value, gas=gas))
        return HexBytes(self._submitter.submit(tx).hash)

    def wait(self, tx_hash: HexBytes | bytes | str, *, timeout: float | None = None) -> TxReceipt:
        """Wait for the receipt of `tx_hash` (whatever its status).

        Args:
            tx_hash: the transaction.
            timeout: seconds (default `receipt_timeout`).

        Raises:
            ReceiptTimeout: not mined in time (the message says whether it is still pending).
            RpcError: transport failure.
        """
        limit = self.receipt_timeout if timeout is None else timeout
        return self._watcher.wait(HexBytes(tx_hash), limit)

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

        Gas is estimated once per call shape, plus `gas_margin` and `bulk_gas_headroom`;
        pass `gas` for calls whose cost depends on earlier ones. Nodes that mine
        synchronously get the calls one by one. `jouleledger.tx.bulk` says why.

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
        limit = self.receipt_timeout if timeout is None else timeout
        return self._bulk.send(calls, self._fields, gas, limit, batch_size, batched)


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
