"""The market's batch calls from the client: many jobs per transaction, split to fit.

`post_jobs` posts any number of jobs in `postJobs` calls of up to the market's MAX_BATCH
each; `settle_batches` sends several settlement batches together. Each is estimated (the
first) or run once (the others, by ``eth_call``) before anything is sent, so a refused element
sends nothing, and its error names its index in the caller's list (`batches.shifted`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, Final

from web3.types import TxReceipt

from ..artifacts import load_artifact
from ..eip712.records import UsageRecord
from ..errors import ContractRevert
from ..tx import encode_function
from ..types import JobId
from .batches import fit_chunks, gas_cap, posted_ids, shifted
from .reads import MarketReads
from .request import JobRequest
from .token import TokenPart

#: Gas added to a batch call's estimate beyond the margin: a later call of the same burst
#: may find the class busy (a vault call) where the estimate, made before, did not.
_GAS_SLACK: Final = 100_000
#: A batch call's gas limit over its estimate: the chunks after the first are priced from
#: the first's gas per item, and jobs of one batch may differ (a busy class calls the vault).
_BATCH_GAS_MARGIN: Final = 1.3
#: Hex characters of calldata per JSON-RPC batch of batch calls.
_BATCH_BYTES: Final = 1_000_000


class BatchCalls(TokenPart, MarketReads):
    """Posting and settling many jobs per transaction."""

    _max_batch: int | None = None

    def post_jobs(self, requests: Sequence[JobRequest], *, use_permit: bool = False) -> list[JobId]:
        """Post many jobs in as few transactions as the market allows (`postJobs`: at most
        ``MAX_BATCH`` jobs each, fewer when a call would take more than half a block), with
        one approval (or one permit per call) for their escrows; returns their ids in order.

        Every call is estimated before the first is sent, so an invalid request posts
        nothing: its error names its index in `requests`. The calls then go out together
        (consecutive nonces) and are awaited together.

        Args:
            requests: the jobs, posted in this order.
            use_permit: approve each call's escrow with an EIP-2612 permit inside it.

        Raises:
            MisalignedAmount: an amount that is not a whole nano-CPT (nothing is sent).
            NoAccount: the client is read-only.
            ContractRevert: the market refuses a request: ``MarketBatchItemInvalid``, whose
                `inner` is the request's own error; nothing was sent.
            TransactionFailed: a call reverted once mined (the jobs of the calls before it,
                if any, are posted: see `jobs_of`).
        """
        if not requests:
            return []
        now = self._now()
        args = [r.as_args(now) for r in requests]
        escrows = [r.escrow for r in requests]
        market = self.deployment.market
        with self._spend_lock():
            if not use_permit:
                self._ensure_allowance(market, sum(escrows))

            def call(offset: int, part: Sequence[Any], order: int) -> dict[str, Any]:
                if not use_permit:
                    return {"to": market, "data": self.calldata("postJobs", list(part))}
                value = sum(escrows[offset : offset + len(part)])
                deadline, v, r, s = self._permit(market, value, nonce_offset=order)
                data = self.calldata("postJobsWithPermit", list(part), deadline, v, r, s)
                return {"to": market, "data": data}

            receipts = self._send_chunks(args, call)
        return [JobId(job) for receipt in receipts for job in posted_ids(receipt, market)]

    def _send_chunks(
        self,
        items: Sequence[Any],
        call: Callable[[int, Sequence[Any], int], dict[str, Any]],
        *,
        limit: int | None = None,
        weight: Callable[[Sequence[Any]], int] = len,
    ) -> list[TxReceipt]:
        """Send batch calls over `items`, split to fit (see `batches.fit_chunks`), together;
        their receipts in order. `call(offset, part, order)` builds the call of the slice at
        `offset`, the `order`-th of those sent (0 for every estimate, made on today's state).
        `limit`: items per call (default: the market's MAX_BATCH); `weight`: what a slice's
        gas grows with (default: its length)."""
        cap = gas_cap(int(self.w3.eth.get_block("latest")["gasLimit"]))
        per_item: list[float] = []

        def estimate(offset: int, part: Sequence[Any]) -> int:
            # A node's estimate runs the call several times; the first chunk's, per item,
            # prices the others, which are only run once each (eth_call) to catch reverts.
            tx = call(offset, part, 0)
            if not per_item:
                gas = self.sender.estimate_gas(tx)
                per_item.append(gas / weight(part))
                return gas
            self.sender.check(tx)
            return int(per_item[0] * weight(part))

        plan = fit_chunks(items, limit or self.batch_limit(), estimate, cap)
        calls = [call(offset, part, order) for order, (offset, part, _) in enumerate(plan)]
        gas = min(cap, int(max(g for _, _, g in plan) * _BATCH_GAS_MARGIN) + _GAS_SLACK)
        # A JSON-RPC batch of big calls can exceed a node's request size limit (anvil's is a
        # few MB): about 1 MB of calldata per batch.
        largest = max(len(c["data"]) for c in calls)
        results = self.sender.send_many(calls, gas=gas, batch_size=max(1, _BATCH_BYTES // largest))
        for (offset, _, _), result in zip(plan, results, strict=True):
            if result.error is not None:
                if isinstance(result.error, ContractRevert):
                    raise shifted(result.error, offset) from result.error
                raise result.error
        return [r.receipt for r in results if r.receipt is not None]

    def batch_limit(self) -> int:
        """The most jobs one batch call of this market takes (its ``MAX_BATCH``).

        Raises:
            RpcError: the node cannot be read.
        """
        if self._max_batch is None:
            self._max_batch = int(self.market.functions.MAX_BATCH().call())
        return self._max_batch

    def calldata(self, function: str, *args: Any) -> str:
        """ABI-encoded call of market `function`: fast, for the bulk paths (web3's contract
        functions re-resolve the ABI on every call, about 8 ms each).

        Args:
            function: the market function's name.
            args: its arguments.

        Raises:
            ValueError: no function, or several, of that name.
            EncodingError: arguments that do not fit the function's types.
        """
        return encode_function(_market_function(function), args)

    def settle_batches(
        self, batches: Sequence[tuple[Sequence[UsageRecord], bytes]]
    ) -> list[TxReceipt]:
        """Send several settlement batches of this provider together (one `settleBatch`
        each), checked before the first is sent; their receipts in order.

        Args:
            batches: (records, signature) pairs, each as for `settle_batch` (no attestors).

        Raises:
            ValueError: an empty batch, or records of another provider than this account.
            ContractRevert: a batch is refused; nothing was sent.
            TransactionFailed: a batch reverted once mined (those before it settled).
        """
        if any(not records for records, _ in batches):
            raise ValueError("a batch needs at least one record")
        if any(r.provider != self.address for records, _ in batches for r in records):
            raise ValueError(f"every record must name this account, {self.address}")
        market = self.deployment.market

        def call(offset: int, part: Sequence[Any], order: int) -> dict[str, Any]:
            records, signature = part[0]
            tuples = [r.as_batch_tuple() for r in records]
            data = self.calldata("settleBatch", self.address, tuples, signature, [])
            return {"to": market, "data": data}

        return self._send_chunks(list(batches), call, limit=1, weight=lambda part: len(part[0][0]))


@cache
def _market_function(name: str) -> Mapping[str, Any]:
    """The market's ABI entry of function `name` (one object per name: the encoder caches
    its selector and types by entry)."""
    entries = [
        e
        for e in load_artifact("JobMarket").abi
        if e.get("type") == "function" and e["name"] == name
    ]
    if len(entries) != 1:
        raise ValueError(f"the market has {len(entries)} functions named {name!r}")
    return entries[0]
