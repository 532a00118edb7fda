"""Why jobs are not moving, and what a refused settlement means for them.

`IssueBook` remembers, per job, the last error and when to try again (or that the node will
not retry before a restart). `rejection_verdict` is the node's policy for a settlement the
market refused: it decides by the SDK's typed exception classes (the market's custom
errors, ``jouleledger.abi.contract_errors``), never by comparing error names as strings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from jouleledger.abi import contract_errors
from jouleledger.types import JobState

from ..chain import SETTLED_STATES, ChainRejected

Stage = Literal["run", "settle"]
Clock = Callable[[], float]


class ErrorSink(Protocol):
    """Where the book reports each new issue (the node's error counter)."""

    def __call__(self, message: str, *, kind: str, chain: bool = False) -> None: ...


@dataclass(frozen=True)
class JobIssue:
    """Why a job is not moving: the last error, and whether the node retries it."""

    stage: Stage
    message: str
    attempts: int
    permanent: bool
    retry_at: float
    at: float


class IssueBook:
    """The jobs that are stuck, each with its `JobIssue`; thread-safe.

    Args:
        clock: unix time in seconds.
        report: called with every issue set, to count it as an error.
    """

    def __init__(self, clock: Clock, report: ErrorSink) -> None:
        self._clock = clock
        self._report = report
        self._issues: dict[int, JobIssue] = {}
        self._lock = threading.Lock()

    def get(self, job_id: int) -> JobIssue | None:
        """The issue of `job_id`, if it has one.

        Args:
            job_id: the job.
        """
        with self._lock:
            return self._issues.get(job_id)

    def set(
        self,
        job_id: int,
        stage: Stage,
        message: str,
        *,
        permanent: bool,
        retry_in: float = 0.0,
        give_up_after: int | None = None,
    ) -> JobIssue:
        """Record why a job is stuck; after `give_up_after` attempts the issue is permanent.

        Args:
            job_id: the job.
            stage: where it is stuck.
            message: why.
            permanent: the node will not retry it before a restart.
            retry_in: seconds until the next try.
            give_up_after: attempts (at this stage) after which it becomes permanent.

        Returns:
            The issue now recorded.
        """
        now = self._clock()
        with self._lock:
            previous = self._issues.get(job_id)
            attempts = (previous.attempts if previous and previous.stage == stage else 0) + 1
            if give_up_after is not None and attempts >= give_up_after:
                permanent = True
                message = f"gave up after {attempts} attempts: {message}"
            issue = JobIssue(stage, message, attempts, permanent, now + retry_in, now)
            self._issues[job_id] = issue
        self._report(f"job {job_id}: {message}", kind=f"{stage}_issue")
        return issue

    def clear(self, job_id: int, *, stage: Stage | None = None) -> None:
        """Forget the issue of `job_id` (only one at `stage`, when given).

        Args:
            job_id: the job.
            stage: forget only an issue at this stage.
        """
        with self._lock:
            issue = self._issues.get(job_id)
            if issue is not None and (stage is None or issue.stage == stage):
                del self._issues[job_id]

    def due(self, job_id: int, now: float, stage: Stage) -> bool:
        """Whether `job_id` may be tried at `stage` now: no issue there, or a temporary one
        whose retry time has come.

        Args:
            job_id: the job.
            now: unix time.
            stage: the stage about to be tried.
        """
        with self._lock:
            issue = self._issues.get(job_id)
        if issue is None or issue.stage != stage:
            return True
        return not issue.permanent and issue.retry_at <= now


@dataclass(frozen=True)
class Verdict:
    """What to do with the jobs of a refused settlement.

    Attributes:
        action: ``adopt``: the culprit was settled by an earlier transaction, look for its
            ``JobSettled`` events; ``set_aside``: the culprit can never be settled;
            ``retry_soon``: the culprit may settle once the chain's clock moved;
            ``retry_batch``: the whole batch waits (signer, attestors, pause, unknown).
        culprit: the job the error names, when it is in the batch.
        message: why, for the job's issue.
    """

    action: Literal["adopt", "set_aside", "retry_soon", "retry_batch"]
    culprit: int | None
    message: str


def rejection_verdict(exc: ChainRejected, job_ids: Sequence[int]) -> Verdict:
    """Decide what a settlement the market refused means for its jobs.

    Args:
        exc: the refusal, carrying the SDK's typed revert.
        job_ids: the jobs the refused transaction settled.

    Returns:
        The `Verdict`; without a culprit in `job_ids` it is always ``retry_batch``.
    """
    revert = exc.revert
    culprit = exc.job_id if exc.job_id in job_ids else None
    if culprit is None or revert is None:
        return Verdict("retry_batch", None, str(exc))
    if isinstance(revert, contract_errors.MarketInvalidJobState):
        state = JobState(int(revert.args_by_name.get("state", 0)))
        if state in SETTLED_STATES:
            # Settled by an earlier transaction (a crash or a receipt timeout came between it
            # and mark_settled): record that for every job of the batch it settled.
            return Verdict(
                "adopt",
                culprit,
                f"the chain says it is {state.name.lower()} but no JobSettled event was found yet",
            )
        return Verdict(
            "set_aside", culprit, f"cannot be settled: it is {state.name.lower()} on chain"
        )
    if isinstance(
        revert, (contract_errors.MarketDeadlinePassed, contract_errors.MarketWrongProvider)
    ):
        return Verdict("set_aside", culprit, f"cannot be settled: {exc}")
    if isinstance(revert, contract_errors.MarketInvalidUsage):
        # Records that reach the chain are settleable; its clock lagged their end time.
        return Verdict("retry_soon", culprit, str(exc))
    return Verdict("retry_batch", None, str(exc))
