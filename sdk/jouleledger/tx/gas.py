"""Gas limits: the node's estimate with a margin, shared by bulk calls of one shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from web3.types import TxParams

from .. import transport
from ..abi import revert_from_exception
from ..errors import ContractRevert, RpcError, TransactionRejected
from .encode import json_quantity
from .failures import Failures
from .link import NodeLink
from .nodemsg import Refusal, classify
from .results import Results, TxResult

DEFAULT_GAS_MARGIN = 1.25
#: Extra gas for bulk calls that share one estimate: a call of the same shape may write
#: storage the estimated one did not (a cold SSTORE from zero costs 22,100).
DEFAULT_BULK_HEADROOM = 25_000


class GasEstimator:
    """Estimates gas through one node and turns a failed estimate into a typed error."""

    def __init__(self, link: NodeLink, failures: Failures, margin: float, headroom: int) -> None:
        """No request is made here.

        Args:
            link: the node.
            failures: builds the exceptions.
            margin: estimates are multiplied by this.
            headroom: gas added on top for bulk calls that share an estimate.

        Raises:
            ValueError: `margin` is below 1.
        """
        if margin < 1:
            raise ValueError(f"gas_margin must be at least 1, got {margin}")
        self.link = link
        self.failures = failures
        self.margin = margin
        self.headroom = headroom

    def estimate(self, tx: Mapping[str, Any]) -> int:
        """The node's gas estimate for `tx` (without margin).

        Args:
            tx: the transaction's fields (from, to, data, value are used).

        Raises:
            ContractRevert: the call reverts (subclass per error).
            InsufficientFunds: the account cannot pay for it.
            TransactionRejected: the node cannot estimate it for another reason.
            RpcError: transport failure.
        """
        return int(self._ask("eth_estimateGas", tx), 16)

    def check(self, tx: Mapping[str, Any]) -> None:
        """Run `tx` as an ``eth_call`` on the latest state: one execution, where an estimate
        takes several (a node searches for the gas), to learn whether it would revert.

        Args:
            tx: the transaction's fields (from, to, data, value are used).

        Raises:
            Same as `estimate`.
        """
        self._ask("eth_call", tx)

    def _ask(self, method: str, tx: Mapping[str, Any]) -> str:
        """`method` (``eth_estimateGas`` or ``eth_call``) of `tx`: its hex result."""
        params = cast(TxParams, {k: tx[k] for k in ("from", "to", "data", "value") if k in tx})
        w3 = self.link.w3
        if self.link.batches:  # raw: skips web3's per-request eth_chainId
            raw = {key: json_quantity(value) for key, value in params.items()}
            extra = ["latest"] if method == "eth_call" else []

            def request() -> str:
                return str(transport.raw_request(w3, method, [raw, *extra]))
        elif method == "eth_call":

            def request() -> str:
                return "0x" + bytes(w3.eth.call(params)).hex()
        else:

            def request() -> str:
                return hex(w3.eth.estimate_gas(params))

        try:
            with transport.mining_lock(w3):
                return self.link.read(request, method)
        except RpcError:
            raise
        except Exception as exc:
            revert = revert_from_exception(exc)
            if revert is not None:
                raise revert from exc
            message = transport.rpc_error_message(exc) or str(exc)
            if classify(message) is Refusal.FUNDS:
                raise self.failures.insufficient_funds(tx, message) from exc
            raise TransactionRejected(
                f"the node at {self.link.url} cannot run this transaction ({method}): {message}"
            ) from exc

    def fill(self, tx: dict[str, Any], gas: int | None) -> dict[str, Any]:
        """Set `tx`'s gas limit: `gas`, else the one it names, else the estimate times the margin.

        Args:
            tx: the transaction's fields (changed in place and returned).
            gas: the gas limit to use, if fixed.

        Raises:
            Same as `estimate`.
        """
        if gas is not None:
            tx["gas"] = gas
        elif "gas" not in tx:
            tx["gas"] = int(self.estimate(tx) * self.margin)
        return tx

    def fill_bulk(
        self, txs: list[dict[str, Any] | None], results: Results, gas: int | None
    ) -> None:
        """Give every transaction of a bulk send its gas limit, one estimate per call shape.

        A call whose estimate fails gets its error in `results` and is dropped from `txs`.

        Args:
            txs: the transactions' fields (None: dropped already).
            results: the per-call slots.
            gas: one gas limit for all; None: estimated per shape (target, selector, value).

        Raises:
            RpcError: transport failure.
        """
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
                estimate = self.estimate(tx)
            except (ContractRevert, TransactionRejected) as exc:
                results[i] = TxResult(i, error=exc)
                txs[i] = None
                continue
            tx["gas"] = by_shape[shape] = int(estimate * self.margin) + self.headroom
