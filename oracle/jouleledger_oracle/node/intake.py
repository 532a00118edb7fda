"""How jobs reach the worker: the queue of jobs to run (recovered, retried or requested
through the API), and claims of the highest-priority jobs off the market's queue, as many
in one call as the node has free GPUs."""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Literal

from jouleledger.types import JobState
from jouleledger.units import format_amount

from ..chain import ChainRejected, ChainUnavailable, NoEligibleJob
from ..errors import OracleError
from .context import NodeContext

logger = logging.getLogger("jouleledger_oracle.node")


class UnknownChainJob(OracleError, LookupError):
    """No job with that id exists on the market."""


class RunRefused(OracleError):
    """The node will not run that job (not designated to it, already taken, finished...)."""


class Intake:
    """The worker's queue, and the claims that feed it.

    Args:
        ctx: the node's shared state.
    """

    def __init__(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self._queue: deque[int] = deque()
        self._queued: set[int] = set()

    def queued(self, job_id: int) -> bool:
        """Whether `job_id` waits in the queue.

        Args:
            job_id: the job.
        """
        with self._lock:
            return job_id in self._queued

    def enqueue(self, job_id: int, *, front: bool = False, fresh: bool = False) -> None:
        """Queue a job for the worker.

        Args:
            job_id: the job.
            front: run it before the others (a request).
            fresh: forget its earlier run failures (a new request).
        """
        if fresh:
            self._ctx.issues.clear(job_id, stage="run")
        with self._lock:
            if job_id in self._queued:
                return
            self._queued.add(job_id)
            (self._queue.appendleft if front else self._queue.append)(job_id)
        self._ctx.wake_worker.set()

    def request_run(self, job_id: int) -> Literal["queued", "known"]:
        """Run and attest a job on request: one designated to this provider (claimed here
        first), or one the provider already claimed. Blocking: chain calls.

        Args:
            job_id: the job.

        Returns:
            ``"queued"`` when the worker will run it, ``"known"`` when the node already
            measured it (its attestation is or will be available).

        Raises:
            UnknownChainJob: no such job on the market.
            RunRefused: the job is not for this provider, or no longer runnable.
            ChainUnavailable: the chain could not be asked.
        """
        ctx = self._ctx
        row = ctx.store.get_job(job_id)
        if row is not None and row.state != "claimed":
            return "known"
        if row is None:
            self._claim_requested(job_id)
            ctx.store.mark_claimed(job_id)
        self.enqueue(job_id, front=True, fresh=True)
        return "queued"

    def _claim_requested(self, job_id: int) -> None:
        """Make sure the provider holds `job_id`'s claim, claiming it if it is open to it."""
        ctx = self._ctx
        job = ctx.chain.job(job_id)
        ctx.chain_ok()
        if job is None:
            raise UnknownChainJob(f"job {job_id} does not exist on market {ctx.domain.market}")
        if job.state is JobState.CLAIMED:
            if job.provider != ctx.provider:
                raise RunRefused(f"job {job_id} was claimed by provider {job.provider}")
            return
        if job.state is not JobState.OPEN:
            raise RunRefused(f"job {job_id} is {job.state.name.lower()}; there is nothing to run")
        if job.provider is None:
            raise RunRefused(
                f"job {job_id} is open to any provider: the node takes such jobs off the "
                "queue in bid order (claimNext), not on request"
            )
        if job.provider != ctx.provider:
            raise RunRefused(
                f"job {job_id} is designated to provider {job.provider}, not {ctx.provider}"
            )
        try:
            ctx.chain.claim(job_id)
            ctx.metrics.add(claims=1)
        except ChainRejected as exc:
            again = ctx.chain.job(job_id)
            if not (again and again.state is JobState.CLAIMED and again.provider == ctx.provider):
                raise RunRefused(f"cannot claim job {job_id}: {exc}") from exc

    def next_jobs(self, n: int) -> list[int]:
        """Up to `n` jobs to run, one per free GPU: queued ones that are due first, then
        (when the node claims jobs) the best jobs on the market, claimed in one call.

        Args:
            n: how many GPUs are free.

        Raises:
            ChainUnavailable: the chain could not be asked.
        """
        ctx = self._ctx
        now = ctx.clock()
        jobs: list[int] = []
        with self._lock:
            for _ in range(len(self._queue)):
                if len(jobs) >= n:
                    break
                job_id = self._queue.popleft()
                issue = ctx.issues.get(job_id)
                if issue is not None and issue.retry_at > now and not issue.permanent:
                    self._queue.append(job_id)  # not due yet
                    continue
                self._queued.discard(job_id)
                jobs.append(job_id)
        if len(jobs) < n and ctx.config.claim_jobs:
            jobs.extend(self._claim(n - len(jobs)))
        return jobs

    def _claim(self, n: int) -> list[int]:
        ctx = self._ctx
        try:
            claimed = ctx.chain.claim_many(n)
        except NoEligibleJob:
            claimed = []
        except ChainRejected as exc:
            ctx.chain_ok()
            ctx.error(f"claiming: {exc}", kind=type(exc).__name__)
            logger.warning("node: the market refused a claim: %s", exc)
            ctx.sleep(ctx.config.poll_interval_s)
            return []
        ctx.chain_ok()
        if claimed:
            ctx.metrics.add(claims=len(claimed))
        for job_id in claimed:
            ctx.store.mark_claimed(job_id)
            self._log_claim(job_id)
        return claimed

    def _log_claim(self, job_id: int) -> None:
        """Say what put the job first: its bid and the boost from its client's holdings."""
        try:
            job = self._ctx.chain.job(job_id)
        except ChainUnavailable:
            job = None
        if job is None:
            logger.info("node: claimed job %d", job_id)
            return
        logger.info(
            "node: claimed job %d (bid %s CPT, holdings boost %s CPT)",
            job_id,
            format_amount(job.bid),
            format_amount(job.boost),
        )
