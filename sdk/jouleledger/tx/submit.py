"""Signing and sending one transaction until the node has it (tenacity).

What another try may cure, and how often it is tried:
- a transport failure after which the node may have the transaction: retried with the
  `RetryPolicy`'s backoff, the same signed bytes, once the node says it does not know them;
- "nonce too low" / "already known": the nonce is re-read from the node (3 times);
- "underpriced" / below the base fee: fees are quoted afresh (2 times).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from .. import transport
from ..transport import Failure
from .failures import Failures
from .fees import FEE_FIELDS, FeeQuoter
from .link import NodeLink
from .nodemsg import Refusal, classify
from .nonces import NonceManager, Reservation
from .retrying import Again, give_up, prepare_next
from .signing import SignedTx, TxSigner

NONCE_RETRIES = 3
FEE_RETRIES = 2


@dataclass
class _Tries:
    """Failed tries of one send, by what failed."""

    transport: int = 0
    nonce: int = 0
    fee: int = 0


class _Kind(Again):
    """`Again`, saying which budget the failed try draws on."""

    def __init__(self, kind: str, error: Exception, prepare: Any = None) -> None:
        super().__init__(error, prepare)
        self.kind = kind


class Submitter:
    """Signs with one key and sends through one node; see the module docstring."""

    def __init__(
        self,
        link: NodeLink,
        signer: TxSigner,
        failures: Failures,
        fees: FeeQuoter,
        nonces: Callable[[], NonceManager],
    ) -> None:
        """No request is made here.

        Args:
            link: the node.
            signer: the local key.
            failures: builds the exceptions.
            fees: re-quotes fees when the node finds them too low.
            nonces: the account's nonce manager (asked when a nonce is needed).
        """
        self.link = link
        self.signer = signer
        self.failures = failures
        self.fees = fees
        self._nonces = nonces

    @property
    def nonces(self) -> NonceManager:
        """The account's nonce manager."""
        return self._nonces()

    def submit(self, tx: dict[str, Any]) -> SignedTx:
        """Sign `tx` with the next nonce (or the one it names) and send it; see `push`.

        Args:
            tx: the complete transaction, with or without a nonce.

        Raises:
            InsufficientFunds: the account cannot pay for it.
            TransactionRejected: the node refused it.
            RpcError: transport failure that retrying did not cure.
        """
        if "nonce" in tx:  # the caller fixed the nonce: no manager involved
            return self.push(tx, None)
        with self.nonces.reserve() as reservation:
            return self.push(tx, reservation)

    def sign(self, tx: dict[str, Any], nonce: int) -> SignedTx:
        """Sign `tx` with `nonce` (which is written into `tx`).

        Args:
            tx: the complete transaction but its nonce.
            nonce: the nonce.

        Raises:
            ValueError: `tx` is from another account.
        """
        tx["nonce"] = nonce
        return self.signer.sign(tx)

    def push(self, tx: dict[str, Any], reservation: Reservation | None) -> SignedTx:
        """Sign and send `tx` until the node has it; re-read the nonce / re-quote fees as told.

        Args:
            tx: the complete transaction; its nonce comes from `reservation`, else from
                ``tx["nonce"]``.
            reservation: the held nonce, or None when the caller fixed it.

        Raises:
            InsufficientFunds: the account cannot pay for it.
            TransactionRejected: the node refused it.
            RpcError: transport failure that retrying did not cure.
        """
        tries = _Tries()
        policy = self.link.retry

        def stop(state: RetryCallState) -> bool:
            assert state.outcome is not None
            kind = getattr(state.outcome.exception(), "kind", "")
            if kind == "transport":
                return tries.transport >= policy.attempts
            return tries.nonce > NONCE_RETRIES if kind == "nonce" else tries.fee > FEE_RETRIES

        def wait(state: RetryCallState) -> float:
            assert state.outcome is not None
            kind = getattr(state.outcome.exception(), "kind", "")
            return policy.delay(tries.transport) if kind == "transport" else 0.0

        retrying = Retrying(
            retry=retry_if_exception_type(_Kind),
            stop=stop,
            wait=wait,
            before_sleep=prepare_next,
            retry_error_callback=give_up,
        )
        return retrying(self._try, tx, reservation, tries)

    def _try(self, tx: dict[str, Any], reservation: Reservation | None, tries: _Tries) -> SignedTx:
        signed = self.sign(tx, reservation.start if reservation else int(tx["nonce"]))
        try:
            self.link.send_raw(signed.raw)
            return signed
        except Exception as exc:
            found = transport.classify(exc)
            if found is not None:
                failure, status = found
                retryable = failure not in (Failure.UNREACHABLE, Failure.HTTP)
                if retryable:
                    # It may have reached the node: whatever happens next, re-read the
                    # node's nonce before handing out another.
                    if reservation is not None:
                        reservation.mark_uncertain()
                    if self.link.is_known(signed.hash):
                        return signed
                    tries.transport += 1
                error = transport.translate(
                    exc,
                    failure,
                    status,
                    url=self.link.url,
                    method="eth_sendRawTransaction",
                    tries=tries.transport or 1,
                )
                if retryable:
                    raise _Kind("transport", error) from exc
                raise error from exc
            message = transport.rpc_error_message(exc) or str(exc)
            refusal = classify(message)
            if refusal in (Refusal.NONCE, Refusal.FEE) and self.link.is_known(signed.hash):
                return signed
            refused = self.failures.refused(tx, message)
            if refusal is Refusal.NONCE and reservation is not None:
                tries.nonce += 1
                raise _Kind("nonce", refused, reservation.resync) from exc
            if refusal is Refusal.FEE:
                tries.fee += 1
                raise _Kind("fee", refused, lambda: self._requote(tx)) from exc
            raise refused from exc

    def _requote(self, tx: dict[str, Any]) -> None:
        for key in FEE_FIELDS:
            tx.pop(key, None)
        tx.update(self.fees.quote(fresh=True).params())
