"""Withdrawals: every ``withdraw_interval_s``, pull the payments of settled jobs whose
dispute window has passed, in chunks."""

from __future__ import annotations

import logging
from typing import Final

from jouleledger.abi import contract_errors
from jouleledger.types import JobState

from ..chain import ChainRejected
from .context import NodeContext

logger = logging.getLogger("jouleledger_oracle.node")

WITHDRAW_CHUNK: Final = 256
"""Job ids per withdraw transaction: the market's ``withdraw(uint256[])`` takes at most 256."""


class Withdrawals:
    """Knows which settled jobs were withdrawn, and when the others become due.

    Args:
        ctx: the node's shared state.
    """

    def __init__(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        self._finalized: set[int] | None = None  # read from the chain on first use
        self._settled_at: dict[int, int] = {}
        self._next_at = 0.0

    def seconds_to_next(self) -> float:
        """Seconds until the next check is due (0 when it is)."""
        return max(0.0, self._next_at - self._ctx.clock())

    def run_if_due(self) -> None:
        """`withdraw_due` when ``withdraw_interval_s`` passed since the last check.

        Raises:
            ChainUnavailable: the chain could not be used (the check stays due).
        """
        ctx = self._ctx
        if ctx.clock() >= self._next_at:
            self.withdraw_due()
            self._next_at = ctx.clock() + ctx.config.withdraw_interval_s

    def _due(self, finalized: set[int], open_ids: list[int]) -> list[int]:
        """Those of `open_ids` whose dispute window has passed on the chain's clock."""
        chain = self._ctx.chain
        chain_now = chain.chain_time()
        window = chain.dispute_window()
        due: list[int] = []
        for job_id in open_ids:
            settled_at = self._settled_at.get(job_id)
            if settled_at is not None and settled_at + window > chain_now:
                continue
            job = chain.job(job_id)
            if job is None:
                continue
            if job.state is JobState.FINALIZED:
                finalized.add(job_id)
            elif job.state is JobState.SETTLED:
                self._settled_at[job_id] = job.settled_at
                if job.settled_at + window <= chain_now:
                    due.append(job_id)
        self._ctx.chain_ok()
        return due

    def withdraw_due(self) -> None:
        """Withdraw the payments of settled jobs whose dispute window has passed.

        Raises:
            ChainUnavailable: the chain could not be used.
        """
        ctx = self._ctx
        settled = [row.job_id for row in ctx.store.jobs_in_state("settled")]
        if not settled:
            return
        if self._finalized is None:
            self._finalized = ctx.chain.finalized_job_ids()
        finalized = self._finalized
        open_ids = [job_id for job_id in settled if job_id not in finalized]
        if not open_ids:
            return
        due = self._due(finalized, open_ids)
        for start in range(0, len(due), WITHDRAW_CHUNK):
            chunk = due[start : start + WITHDRAW_CHUNK]
            try:
                amount = ctx.chain.withdraw(chunk)
            except ChainRejected as exc:
                if isinstance(exc.revert, contract_errors.MarketNothingToWithdraw):
                    finalized.update(chunk)
                    continue
                ctx.error(f"withdrawing: {exc}", kind=type(exc).__name__)
                logger.warning("node: the market refused a withdrawal: %s", exc)
                continue
            finalized.update(chunk)
            ctx.metrics.add(withdrawals=1, withdrawn_wei=amount)
            logger.info("node: withdrew %d wei for job(s) %s", amount, chunk)
