"""The market part of the client: post, raise, cancel, claim, settle, expire, withdraw."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, overload

from web3.types import TxReceipt

from ..abi.decode import error_class
from ..eip712.records import UsageRecord
from ..errors import ContractRevert, TransactionFailed
from ..types import JobId, Wei
from .batch_calls import BatchCalls
from .batches import chunks, claimed_ids, shifted, withdrawn_amount
from .request import JobRequest, check_nano

#: The gas of a follow-up claimNextJobs call over the gasUsed of the one before: a call
#: that claims as many jobs may pass more junk.
_CLAIM_GAS_MARGIN: Final = 2.0
_CLAIM_GAS_SLACK: Final = 200_000


class MarketPart(BatchCalls):
    """A job's lifecycle on `JobMarket`, from the client's and the provider's side (the
    calls of many jobs at once are in `BatchCalls`)."""

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

    @overload
    def claim_next(self) -> JobId: ...

    @overload
    def claim_next(self, count: int) -> list[JobId]: ...

    def claim_next(self, count: int | None = None) -> JobId | list[JobId]:
        """Claim the highest-priority job this provider can take; with `count`, up to
        `count` jobs in priority order, in as few transactions as the market allows
        (`claimNextJobs`), e.g. one per free GPU.

        Args:
            count: how many jobs at most; None claims exactly one (and returns its id).

        Returns:
            The job's id; with `count`, the ids claimed (empty when no job is eligible;
            fewer than `count` when the queue or the free stake runs out).

        Raises:
            ValueError: `count` below 1.
            ContractRevert: e.g. no job this provider can take (without `count`), or too
                little free stake; decoded.
        """
        if count is None:
            receipt = self._send(self.market.functions.claimNext())
            return JobId(self._event(receipt, self.market, "JobClaimed")["args"]["jobId"])
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        claimed: list[JobId] = []
        limit = self.batch_limit()
        gas: int | None = None  # the first call is estimated; the next ones reuse its gas
        while len(claimed) < count:
            wanted = min(limit, count - len(claimed))
            call = self.market.functions.claimNextJobs(wanted)
            try:
                try:
                    receipt = self.sender.send(call, gas=gas)
                except TransactionFailed:
                    if gas is None:
                        raise
                    receipt = self.sender.send(call)  # out of the reused gas: estimate it
            except error_class("MarketNoEligibleJob"):
                break
            gas = int(receipt["gasUsed"] * _CLAIM_GAS_MARGIN) + _CLAIM_GAS_SLACK
            got = claimed_ids(receipt, self.deployment.market)
            claimed += [JobId(job) for job in got]
            if len(got) < wanted:
                break
        return claimed

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
        """Pull what this account is owed: refunds and payments of `job_ids`, plus credit,
        in as few transactions as the market allows (``MAX_BATCH`` jobs each).

        Args:
            job_ids: jobs whose refund or payment to collect.

        Raises:
            ContractRevert: e.g. a payment still in its dispute window (in a list of
                several, ``MarketBatchItemInvalid`` naming its index in `job_ids`); decoded.
                The calls before the refused one have paid out.
        """
        ids = list(job_ids)
        total = 0
        for offset, part in chunks(ids, self.batch_limit()) if ids else [(0, [])]:
            try:
                receipt = self._send(self.market.functions.withdraw(list(part)))
            except ContractRevert as exc:
                raise shifted(exc, offset) from exc
            total += withdrawn_amount(receipt, self.deployment.market)
        return Wei(total)
