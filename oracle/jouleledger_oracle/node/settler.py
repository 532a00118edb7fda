"""The settler: settles signed jobs, alone or in batches of up to ``batch_size`` with one
signature over the batch, as soon as a batch is full or its oldest job has waited
``batch_delay_s``; then runs the withdrawals when they are due."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from jouleledger.records import UsageRecord, record_digest

from ..attestation import Measurement
from ..chain import ChainRejected
from ..store import JobRow
from .context import NodeContext
from .issues import rejection_verdict
from .withdrawals import Withdrawals

logger = logging.getLogger("jouleledger_oracle.node")

Entry = tuple[int, UsageRecord, str]  # job id, its record, its stored signature (0x hex)
CLOCK_RETRY_S: Final = 1.0  # wait for the chain's clock to pass a record's end time


class Settler:
    """Turns signed jobs into settlement transactions.

    Args:
        ctx: the node's shared state.
        withdrawals: run between settlements when due.
    """

    def __init__(self, ctx: NodeContext, withdrawals: Withdrawals) -> None:
        self._ctx = ctx
        self._withdrawals = withdrawals

    def main(self) -> None:
        """The settler thread: after the worker's recovery (it may sign jobs), settle and
        withdraw until the node stops; failures are retried with backoff."""
        ctx = self._ctx
        while not ctx.recovered.wait(ctx.config.poll_interval_s):
            if ctx.stop.is_set():
                return
        while not ctx.stop.is_set():
            wait = ctx.keep_trying(
                self._step,
                "settler",
                wake=ctx.wake_settler,
                on_unavailable=lambda: ctx.metrics.add(settle_failures=1),
            )
            ctx.notify()
            if wait is None:
                continue  # more may be ready at once
            ctx.sleep(min(wait, self._withdrawals.seconds_to_next()), ctx.wake_settler)

    def _step(self) -> float | None:
        self._ctx.wake_settler.clear()
        wait = self.settle_ready()
        self._withdrawals.run_if_due()
        return wait

    def _settleable(self, now: float) -> list[JobRow]:
        issues = self._ctx.issues
        return [
            row
            for row in self._ctx.store.pending_settlement()
            if issues.due(row.job_id, now, "settle")
        ]

    def settle_ready(self) -> float | None:
        """Settle one batch if one is due.

        Returns:
            How long to wait before the next look; None: look again at once.

        Raises:
            ChainUnavailable: the chain could not be used.
        """
        ctx = self._ctx
        now = ctx.clock()
        rows = self._settleable(now)
        if not rows:
            return ctx.config.poll_interval_s
        size = ctx.config.batch_size
        oldest = min(row.updated_at for row in rows)
        if len(rows) < size and now - oldest < ctx.config.batch_delay_s:
            return oldest + ctx.config.batch_delay_s - now
        records = [entry for row in rows[:size] if (entry := self._stored_record(row.job_id))]
        if not records:
            return None
        ready = self._within_chain_clock(records)
        if not ready:
            earliest = min(record.end_time for _, record, _ in records)
            return max(CLOCK_RETRY_S, earliest - ctx.clock() + 0.01)
        self._settle(ready)
        return None

    def _stored_record(self, job_id: int) -> Entry | None:
        """The stored record and signature of a signed job, checked against each other."""
        ctx = self._ctx
        stored = ctx.store.get_measurement(job_id)
        attestation = ctx.store.get_attestation(job_id)
        if stored is None or attestation is None:
            problem = "signed but its rows are missing"
        else:
            measurement = Measurement.from_fields(stored.record)
            record = measurement.usage_record()
            digest = "0x" + record_digest(ctx.domain, record).hex()
            if digest != attestation.digest:
                problem = (
                    f"its stored signature is over {attestation.digest}, not the "
                    f"stored record's digest {digest} (another market or chain?)"
                )
            elif not measurement.settleable:
                problem = "the market refuses its record: zero energy measured"
            else:
                return job_id, record, attestation.signature
        ctx.issues.set(job_id, "settle", problem, permanent=True)
        return None

    def _within_chain_clock(self, records: list[Entry]) -> list[Entry]:
        """The records whose end time the chain's clock has reached (the market checks
        ``endTime <= block.timestamp``); on a development chain that only mines on demand,
        mine a block once the wall clock is past them."""
        ctx = self._ctx
        latest_end = max(record.end_time for _, record, _ in records)
        chain_now = ctx.chain.chain_time()
        ctx.chain_ok()
        if latest_end > chain_now and latest_end <= ctx.clock() and ctx.chain.nudge():
            chain_now = ctx.chain.chain_time()
        return [entry for entry in records if entry[1].end_time <= chain_now]

    def _settle(self, entries: list[Entry]) -> None:
        ctx = self._ctx
        records = [record for _, record, _ in entries]
        try:
            if len(entries) == 1:
                _, record, signature = entries[0]
                settlement = ctx.chain.settle(record, bytes.fromhex(signature[2:]))
            else:
                signed = ctx.signer.sign_batch(ctx.domain, records)
                ctx.metrics.add(batch_signatures=1)
                settlement = ctx.chain.settle_batch(records, signed.signature)
        except ChainRejected as exc:
            ctx.chain_ok()
            ctx.metrics.add(settle_failures=1)
            self._rejected(exc, [job_id for job_id, _, _ in entries])
            return
        ctx.chain_ok()
        for job_id, _, _ in entries:
            ctx.store.mark_settled(job_id, settlement.tx_hash)
            ctx.issues.clear(job_id)
        ctx.stats.record_payments(settlement.payments)
        ctx.metrics.add(settle_transactions=1, jobs_settled=len(entries))
        logger.info(
            "node: settled job(s) %s in %s",
            ", ".join(str(job_id) for job_id, _, _ in entries),
            settlement.tx_hash,
        )

    def _adopt_settlements(self, job_ids: Sequence[int]) -> set[int]:
        """Mark settled those of `job_ids` that a ``JobSettled`` event shows settled."""
        ctx = self._ctx
        adopted = set()
        for job_id in job_ids:
            found = ctx.chain.settlement(job_id)
            if found is None:
                continue
            logger.info("node: job %d was already settled on chain (%s)", job_id, found.tx_hash)
            ctx.store.mark_settled(job_id, found.tx_hash)
            ctx.issues.clear(job_id)
            ctx.stats.record_payments(found.payments)
            adopted.add(job_id)
        return adopted

    def _rejected(self, exc: ChainRejected, ids: list[int]) -> None:
        """Apply the node's policy (`rejection_verdict`) to a refused settlement."""
        ctx = self._ctx
        verdict = rejection_verdict(exc, ids)
        culprit, message = verdict.culprit, verdict.message
        if verdict.action == "adopt" and culprit is not None:
            if culprit not in self._adopt_settlements(ids):
                ctx.issues.set(
                    culprit, "settle", message, permanent=False, retry_in=ctx.config.backoff_max_s
                )
        elif verdict.action == "set_aside" and culprit is not None:
            ctx.issues.set(culprit, "settle", message, permanent=True)
        elif verdict.action == "retry_soon" and culprit is not None:
            ctx.issues.set(culprit, "settle", message, permanent=False, retry_in=CLOCK_RETRY_S)
        else:
            for job_id in ids:
                ctx.issues.set(
                    job_id, "settle", message, permanent=False, retry_in=ctx.config.backoff_max_s
                )
            logger.error("node: the market refused settling %s: %s", ids, exc)
