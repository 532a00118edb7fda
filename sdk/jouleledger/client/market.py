"""The market part of the client: post, raise, cancel, claim, settle, expire, withdraw."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from web3.types import TxReceipt

from ..artifacts import load_artifact
from ..eip712.records import UsageRecord
from ..tx import TxResult, encode_function
from ..types import JobId, Wei
from .reads import MarketReads
from .request import JobRequest, check_nano
from .token import TokenPart

_BULK_WAVE = 500


class MarketPart(TokenPart, MarketReads):
    """A job's lifecycle on `JobMarket`, from the client's and the provider's side."""

    def post_job(self, request: JobRequest, *, use_permit: bool = True) -> JobId:
        """Post a job, escrowing `max_payment + bid`; returns its id.

        With `use_permit` the escrow is approved by an EIP-2612 signature in the same
        transaction (no standing allowance); otherwise the market is approved first. Posting
        needs no queue hint, so concurrent posts never invalidate each other; posts of one
        account from several threads are sent one at a time (use `post_jobs` for bulk).

        Args:
            request: the job.
            use_permit: approve the escrow by permit rather than by an `approve` first.

        Raises:
            MisalignedAmount: an amount that is not a whole nano-CPT.
            NoAccount: the client is read-only.
            ContractRevert: the market refused it (e.g. MarketInvalidDeadline); decoded.
        """
        args = request.as_args(None if request.deadline is not None else self._now())
        market = self.deployment.market
        if use_permit:
            receipt = self._send_with_permit(
                market,
                request.escrow,
                lambda deadline, v, r, s: self.market.functions.postJobWithPermit(
                    args, deadline, v, r, s
                ),
            )
        else:
            call = self.market.functions.postJob(args)
            receipt = self._send_spending(market, request.escrow, call)
        return JobId(self._event(receipt, self.market, "JobPosted")["args"]["jobId"])

    def post_jobs(self, requests: Sequence[JobRequest]) -> list[TxResult]:
        """Post many jobs fast: one approval, then pre-signed transactions sent in JSON-RPC
        batches (`Sender.send_many`). A job that fails is reported in its `TxResult`.

        Args:
            requests: the jobs, posted in this order.

        Raises:
            MisalignedAmount: an amount that is not a whole nano-CPT (nothing is sent).
            NoAccount: the client is read-only.
        """
        if not requests:
            return []
        now = self._now()
        calls = [
            {"to": self.deployment.market, "data": self.calldata("postJob", r.as_args(now))}
            for r in requests
        ]
        results: list[TxResult] = []
        with self._spend_lock():
            self._ensure_allowance(self.deployment.market, sum(r.escrow for r in requests))
            # Waves: a node's mempool (anvil's automine above all) slows down with thousands
            # of pending transactions, so each wave is mined before the next is sent.
            for start in range(0, len(calls), _BULK_WAVE):
                wave = self.sender.send_many(calls[start : start + _BULK_WAVE])
                results += [replace(r, index=r.index + start) for r in wave]
        return results

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

    def raise_bid(self, job_id: int, new_bid: int) -> TxReceipt:
        """Raise an open job's bid (escrowing the difference); it moves up a priority level
        when the new bid + its boost reaches one.

        Args:
            job_id: an open job of this account.
            new_bid: the new total bid in wei.

        Raises:
            UnknownJob: no such job.
            MisalignedAmount: the bid is not a whole nano-CPT.
            ContractRevert: e.g. the job is not open, or the bid is not higher; decoded.
        """
        job = self.job(job_id)
        check_nano("the bid", new_bid)
        call = self.market.functions.raiseBid(job_id, new_bid)
        return self._send_spending(self.deployment.market, max(new_bid - job.bid, 0), call)

    def cancel_job(self, job_id: int) -> TxReceipt:
        """Cancel an open job of this account (its escrow becomes withdrawable).

        Args:
            job_id: the job.

        Raises:
            ContractRevert: e.g. not this account's job, or no longer open; decoded.
        """
        return self._send(self.market.functions.cancelJob(job_id))

    def claim_next(self) -> JobId:
        """Claim the highest-priority job this provider can take.

        Raises:
            ContractRevert: e.g. no job this provider can take; decoded.
        """
        receipt = self._send(self.market.functions.claimNext())
        return JobId(self._event(receipt, self.market, "JobClaimed")["args"]["jobId"])

    def claim_job(self, job_id: int) -> TxReceipt:
        """Claim job `job_id` (the market refuses it if a better job comes first).

        Args:
            job_id: the job.

        Raises:
            ContractRevert: e.g. a higher-priority job is eligible; decoded.
        """
        return self._send(self.market.functions.claimJob(job_id))

    def settle(
        self, record: UsageRecord, signature: bytes, attestor_signatures: Sequence[bytes] = ()
    ) -> TxReceipt:
        """Settle one job from its usage record and the oracle's signature.

        Args:
            record: the usage record.
            signature: the oracle signer's signature of its digest.
            attestor_signatures: extra signatures the job's terms require.

        Raises:
            ContractRevert: e.g. a bad signature, or the job is not claimed; decoded.
        """
        call = self.market.functions.settle(record.as_tuple(), signature, list(attestor_signatures))
        return self._send(call)

    def settle_batch(
        self,
        records: Sequence[UsageRecord],
        signature: bytes,
        attestor_signatures: Sequence[bytes] = (),
    ) -> TxReceipt:
        """Settle jobs of one provider with one signature over the list.

        Args:
            records: the usage records, all naming one provider.
            signature: the oracle signer's signature of the batch digest.
            attestor_signatures: extra signatures the jobs' terms require.

        Raises:
            ValueError: no records, or records of several providers.
            ContractRevert: one record is refused (the error names its index); decoded.
        """
        if not records:
            raise ValueError("a batch needs at least one record")
        provider = records[0].provider
        if any(r.provider != provider for r in records):
            raise ValueError("every record of a batch must name the same provider")
        call = self.market.functions.settleBatch(
            provider, [r.as_batch_tuple() for r in records], signature, list(attestor_signatures)
        )
        return self._send(call)

    def expire_job(self, job_id: int) -> TxReceipt:
        """Close a claimed job whose deadline passed: the client is refunded.

        Args:
            job_id: the job.

        Raises:
            ContractRevert: e.g. the deadline has not passed; decoded.
        """
        return self._send(self.market.functions.expireJob(job_id))

    def withdraw(self, job_ids: Iterable[int] = ()) -> Wei:
        """Pull what this account is owed: refunds and payments of `job_ids`, plus credit.

        Args:
            job_ids: jobs whose refund or payment to collect.

        Raises:
            ContractRevert: e.g. a payment still in its dispute window; decoded.
        """
        receipt = self._send(self.market.functions.withdraw(list(job_ids)))
        return Wei(self._event(receipt, self.market, "Withdrawn")["args"]["amount"])


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
