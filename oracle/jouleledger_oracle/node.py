"""The oracle node: claims jobs, runs and meters them, signs usage records and settles them.

Two worker threads share the store (the source of truth), the chain client and the signer;
the HTTP API only reads the store and queues requests, so nothing blocks the event loop.

- **worker**: claims the highest-priority job the provider may take (``claimNext``), or takes
  a job queued through the API; finds its spec (registry or default); runs it on the metered
  GPU; saves the measurement; signs the record built from the *stored* measurement with
  `OracleStore.sign_once`. One job at a time: the energy counter is per GPU.
- **settler**: settles signed jobs, alone or in batches of up to `NodeConfig.batch_size` with
  one signature over the batch, as soon as a batch is full or its oldest job has waited
  `NodeConfig.batch_delay_s`; and, every `NodeConfig.withdraw_interval_s`, withdraws the
  payments whose dispute window has passed.

Job states (the store's): ``claimed -> measured -> signed -> settled``. A restarted node
resumes from them:

- jobs the provider claimed on chain that the store never saw (a crash between the claim's
  receipt and ``mark_claimed``) are added as claimed;
- claimed jobs are run again (nothing of the first run was kept or signed);
- measured jobs are signed, from the stored measurement;
- signed jobs are settled; one the chain already settled (``MarketInvalidJobState``, state
  Settled, after a crash between the transaction and ``mark_settled``) is marked settled with
  the transaction found in its ``JobSettled`` event.

RPC failures are logged and retried with exponential backoff; both threads keep going. A job
the chain will never accept (deadline passed, expired, refused record) is set aside with its
reason (shown by the API) until the node restarts; the store keeps its state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

from eth_typing import ChecksumAddress
from pydantic import BaseModel, ConfigDict, Field

from jouleledger.records import UsageRecord, record_digest
from jouleledger.types import JobState
from jouleledger.units import format_amount

from .attestation import Measurement
from .chain import SETTLED_STATES, Chain, ChainRejected, ChainUnavailable, NoEligibleJob
from .errors import MeterError, OracleError, WorkloadError
from .meter import Meter
from .metrics import NodeMetrics
from .runner import run_job
from .signer import OracleSigner
from .specs import SpecRegistry
from .store import JobRow, OracleStore

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
_WITHDRAW_CHUNK: Final = 100
_CLOCK_RETRY_S: Final = 1.0


class NodeConfig(BaseModel):
    """How the node works. Times in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_size: int = Field(default=16, ge=1, le=1000, description="jobs per settle transaction")
    batch_delay_s: float = Field(
        default=30.0,
        ge=0,
        le=86_400,
        description="longest a signed job waits for its batch to fill",
    )
    poll_interval_s: float = Field(
        default=2.0, gt=0, le=3600, description="how often an idle node looks for jobs"
    )
    withdraw_interval_s: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="how often payments past the window are withdrawn",
    )
    claim_jobs: bool = Field(
        default=True, description="claim jobs off the queue (else only on request)"
    )
    gpu_index: int = Field(default=0, ge=0, description="the GPU jobs run and are metered on")
    max_attempts: int = Field(default=3, ge=1, description="runs of a failing job before giving up")
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)


class UnknownChainJob(OracleError, LookupError):
    """No job with that id exists on the market."""


class RunRefused(OracleError):
    """The node will not run that job (not designated to it, already taken, finished...)."""


@dataclass(frozen=True)
class JobIssue:
    """Why a job is not moving: the last error, and whether the node retries it."""

    stage: Literal["run", "settle"]
    message: str
    attempts: int
    permanent: bool
    retry_at: float
    at: float


@dataclass(frozen=True)
class GpuTotals:
    """What one GPU did: measured work, and what its settled jobs earned."""

    gpu_uuid: str
    gpu_index: int
    gpu_id_hash: str
    meter_kind: str
    jobs_measured: int = 0
    energy_mj: int = 0
    ai_tokens: int = 0
    jobs_settled: int = 0
    earned_wei: int = 0

    @property
    def tokens_per_joule(self) -> float:
        return self.ai_tokens * 1000 / self.energy_mj if self.energy_mj else 0.0


class _Backoff:
    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial


class OracleNode:
    """The node's two loops over one store, chain, meter and signer.

    Args:
        chain: the market, as the provider (see `jouleledger_oracle.chain`).
        store: the node's database.
        meter: measures jobs (NVML or simulated).
        signer: the oracle key registered for the provider.
        specs: job specs by hash, and the default spec.
        config: batch size and delays, polling, retries.
        clock: unix time in seconds; injectable for tests.
    """

    def __init__(
        self,
        *,
        chain: Chain,
        store: OracleStore,
        meter: Meter,
        signer: OracleSigner,
        specs: SpecRegistry,
        config: NodeConfig | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.chain = chain
        self.store = store
        self.meter = meter
        self.signer = signer
        self.specs = specs
        self.config = config or NodeConfig()
        self.metrics = NodeMetrics()
        self.provider: ChecksumAddress = chain.provider
        self.domain = chain.domain
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake_worker = threading.Event()
        self._wake_settler = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queue: deque[int] = deque()
        self._queued: set[int] = set()
        self._issues: dict[int, JobIssue] = {}
        self._running_job: int | None = None
        self._recovered = threading.Event()
        self._progress = threading.Condition()
        self._last_chain_ok = 0.0
        self.started_at = 0.0
        # Stats: per GPU, from measurements and from settlement payments.
        self._gpus: dict[str, GpuTotals] = {}
        self._job_gpu: dict[int, str] = {}
        self._paid: dict[int, int] = {}
        # Withdrawals: jobs already withdrawn, and settle times of the others.
        self._finalized: set[int] | None = None
        self._settled_at: dict[int, int] = {}

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker and settler threads (returns at once)."""
        if self._threads:
            return
        self._stop.clear()
        self.started_at = self._clock()
        self._threads = [
            threading.Thread(target=self._worker_main, name="oracle-worker", daemon=True),
            threading.Thread(target=self._settler_main, name="oracle-settler", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        logger.info(
            "node: started for provider %s, oracle signer %s, %s meter, batches of %d "
            "(at most %.3g s wait)",
            self.provider,
            self.signer.address,
            self.meter.kind,
            self.config.batch_size,
            self.config.batch_delay_s,
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop both threads; a job being run is finished (or abandoned after `timeout`)."""
        self._stop.set()
        self._wake_worker.set()
        self._wake_settler.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                logger.warning("node: %s did not stop within %.0f s", thread.name, timeout)
        self._threads = []
        logger.info("node: stopped")

    @property
    def running(self) -> bool:
        """Both threads are alive."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    @property
    def recovered(self) -> bool:
        """The start-up recovery (store and chain reconciliation) has finished."""
        return self._recovered.is_set()

    def wait_recovered(self, timeout: float | None = None) -> bool:
        """Block until recovery finished; False on timeout."""
        return self._recovered.wait(timeout)

    @property
    def last_chain_ok(self) -> float:
        """Unix time of the last successful chain call (0: none yet)."""
        return self._last_chain_ok

    @property
    def running_job(self) -> int | None:
        """The job being run now, if any."""
        return self._running_job

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate` holds, re-checking whenever the node's threads have done
        something (a job moved, a batch settled, a try failed); False on timeout.

        Args:
            predicate: reads the node's state (store, metrics); it must not block long.
            timeout: seconds.
        """
        with self._progress:
            return self._progress.wait_for(predicate, timeout)

    def _notify(self) -> None:
        with self._progress:
            self._progress.notify_all()

    def _chain_ok(self) -> None:
        self._last_chain_ok = self._clock()

    def _error(self, message: str, *, chain: bool = False) -> None:
        self.metrics.error(message, self._clock())
        if chain:
            self.metrics.add(chain_errors=1)
        self._notify()

    def _sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        (wake or self._stop).wait(seconds)

    # --- requests from the API ----------------------------------------------------------

    def issue(self, job_id: int) -> JobIssue | None:
        """Why `job_id` is stuck, if it is."""
        with self._lock:
            return self._issues.get(job_id)

    def queued(self, job_id: int) -> bool:
        """Whether `job_id` waits in the worker's queue."""
        with self._lock:
            return job_id in self._queued

    def _enqueue(self, job_id: int, *, front: bool = False, fresh: bool = False) -> None:
        """Queue a job for the worker; `fresh` forgets its earlier failures (a new request)."""
        with self._lock:
            if fresh:
                issue = self._issues.get(job_id)
                if issue is not None and issue.stage == "run":
                    del self._issues[job_id]
            if job_id in self._queued:
                return
            self._queued.add(job_id)
            (self._queue.appendleft if front else self._queue.append)(job_id)
        self._wake_worker.set()

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
        row = self.store.get_job(job_id)
        if row is not None and row.state != "claimed":
            return "known"
        if row is not None:
            self._enqueue(job_id, front=True, fresh=True)
            return "queued"
        job = self.chain.job(job_id)
        self._chain_ok()
        if job is None:
            raise UnknownChainJob(f"job {job_id} does not exist on market {self.domain.market}")
        if job.state is JobState.OPEN:
            if job.provider != self.provider:
                raise RunRefused(
                    f"job {job_id} is open to any provider: the node takes such jobs off the "
                    "queue in bid order (claimNext), not on request"
                    if job.provider is None
                    else f"job {job_id} is designated to provider {job.provider}, not "
                    f"{self.provider}"
                )
            try:
                self.chain.claim(job_id)
                self.metrics.add(claims=1)
            except ChainRejected as exc:
                again = self.chain.job(job_id)
                if not (
                    again and again.state is JobState.CLAIMED and again.provider == self.provider
                ):
                    raise RunRefused(f"cannot claim job {job_id}: {exc}") from exc
        elif job.state is JobState.CLAIMED:
            if job.provider != self.provider:
                raise RunRefused(f"job {job_id} was claimed by provider {job.provider}")
        else:
            raise RunRefused(f"job {job_id} is {job.state.name.lower()}; there is nothing to run")
        self.store.mark_claimed(job_id)
        self._enqueue(job_id, front=True, fresh=True)
        return "queued"

    # --- worker -------------------------------------------------------------------------

    def _worker_main(self) -> None:
        backoff = _Backoff(self.config.backoff_initial_s, self.config.backoff_max_s)
        while not self._stop.is_set() and not self._recovered.is_set():
            try:
                self._recover()
                self._recovered.set()
                self._wake_settler.set()
                self._notify()
            except ChainUnavailable as exc:
                self._error(f"recovery: {exc}", chain=True)
                logger.warning("node: recovery waits for the chain: %s", exc)
                self._sleep(backoff.next())
            except Exception as exc:
                self._error(f"recovery: {exc}")
                logger.exception("node: recovery failed; retrying")
                self._sleep(backoff.next())
        backoff.reset()
        while not self._stop.is_set():
            self._wake_worker.clear()
            try:
                job_id = self._next_job()
                if job_id is None:
                    self._sleep(self.config.poll_interval_s, self._wake_worker)
                    continue
                try:
                    self._process_or_requeue(job_id)
                finally:
                    self._notify()
                backoff.reset()
            except ChainUnavailable as exc:
                self._error(str(exc), chain=True)
                delay = backoff.next()
                logger.warning("node: chain unavailable (%s); retrying in %.1f s", exc, delay)
                self._sleep(delay)
            except Exception as exc:
                self._error(f"worker: {exc}")
                delay = backoff.next()
                logger.exception("node: worker error; retrying in %.1f s", delay)
                self._sleep(delay)

    def _recover(self) -> None:
        """Rebuild memory from the store, adopt claims the store missed, queue unfinished work."""
        self._load_history()
        known_claimed = {row.job_id for row in self.store.jobs_in_state("claimed")}
        for job_id in self.chain.claimed_job_ids():
            if self.store.get_job(job_id) is not None:
                continue
            job = self.chain.job(job_id)
            if job is not None and job.state is JobState.CLAIMED and job.provider == self.provider:
                logger.info(
                    "node: job %d was claimed on chain but not recorded; adopting it", job_id
                )
                self.store.mark_claimed(job_id)
                known_claimed.add(job_id)
        self._chain_ok()
        for row in self.store.jobs_in_state("measured"):
            measurement = self.store.get_measurement(row.job_id)
            if measurement is not None:
                logger.info("node: job %d was measured but not signed; signing it", row.job_id)
                self._sign(row.job_id, Measurement.from_fields(measurement.record))
        for job_id in sorted(known_claimed):
            logger.info("node: job %d was claimed but not measured; running it again", job_id)
            self._enqueue(job_id)
        settled = [row.job_id for row in self.store.jobs_in_state("settled")]
        if settled:
            for job_id, payment in self.chain.payments(settled).items():
                self._record_payment(job_id, payment)
        pending = len(self.store.pending_settlement())
        logger.info(
            "node: recovered: %d job(s) to run, %d to settle, %d settled before",
            len(known_claimed),
            pending,
            len(settled),
        )

    def _load_history(self) -> None:
        for state in ("measured", "signed", "settled"):
            for row in self.store.jobs_in_state(state):
                stored = self.store.get_measurement(row.job_id)
                if stored is not None:
                    self._record_measurement(Measurement.from_fields(stored.record))

    def _next_job(self) -> int | None:
        now = self._clock()
        with self._lock:
            for _ in range(len(self._queue)):
                job_id = self._queue.popleft()
                issue = self._issues.get(job_id)
                if issue is not None and issue.retry_at > now and not issue.permanent:
                    self._queue.append(job_id)  # not due yet
                    continue
                self._queued.discard(job_id)
                return job_id
        if not self.config.claim_jobs:
            return None
        try:
            job_id = self.chain.claim_next()
        except NoEligibleJob:
            self._chain_ok()
            return None
        except ChainRejected as exc:
            self._chain_ok()
            self._error(f"claiming: {exc}")
            logger.warning("node: the market refused a claim: %s", exc)
            self._sleep(self.config.poll_interval_s)
            return None
        self._chain_ok()
        self.metrics.add(claims=1)
        self.store.mark_claimed(job_id)
        self._log_claim(job_id)
        return job_id

    def _log_claim(self, job_id: int) -> None:
        """Say what put the job first: its bid and the boost from its client's holdings."""
        try:
            job = self.chain.job(job_id)
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

    def _set_issue(
        self,
        job_id: int,
        stage: Literal["run", "settle"],
        message: str,
        *,
        permanent: bool,
        retry_in: float = 0.0,
        give_up_after: int | None = None,
    ) -> JobIssue:
        """Record why a job is stuck; after `give_up_after` attempts the issue is permanent."""
        now = self._clock()
        with self._lock:
            previous = self._issues.get(job_id)
            attempts = (previous.attempts if previous and previous.stage == stage else 0) + 1
            if give_up_after is not None and attempts >= give_up_after:
                permanent = True
                message = f"gave up after {attempts} attempts: {message}"
            issue = JobIssue(stage, message, attempts, permanent, now + retry_in, now)
            self._issues[job_id] = issue
        self._error(f"job {job_id}: {message}")
        return issue

    def _clear_issue(self, job_id: int) -> None:
        with self._lock:
            self._issues.pop(job_id, None)

    def _process_or_requeue(self, job_id: int) -> None:
        """`_process`, putting the job back in the queue when it fails for a reason that
        retrying may cure (the chain was unavailable, an unexpected error)."""
        try:
            self._process(job_id)
        except ChainUnavailable:
            self._enqueue(job_id)
            raise
        except Exception as exc:
            issue = self._set_issue(
                job_id,
                "run",
                f"{type(exc).__name__}: {exc}",
                permanent=False,
                retry_in=self.config.backoff_max_s,
                give_up_after=self.config.max_attempts,
            )
            if not issue.permanent:
                self._enqueue(job_id)
            raise

    def _process(self, job_id: int) -> None:
        """Bring one job from claimed to signed."""
        row = self.store.get_job(job_id)
        if row is None or row.state == "claimed":
            stored = self.store.get_measurement(job_id)
            if stored is None:
                measurement = self._run(job_id)
                if measurement is None:
                    return
            else:
                measurement = Measurement.from_fields(stored.record)
        elif row.state == "measured":
            stored = self.store.get_measurement(job_id)
            assert stored is not None
            measurement = Measurement.from_fields(stored.record)
        else:
            return  # signed or settled: the settler's
        self._sign(job_id, measurement)
        self._clear_issue(job_id)
        self._wake_settler.set()

    def _run(self, job_id: int) -> Measurement | None:
        job = self.chain.job(job_id)
        self._chain_ok()
        if job is None or job.state is not JobState.CLAIMED or job.provider != self.provider:
            state = "missing" if job is None else job.state.name.lower()
            self._set_issue(
                job_id,
                "run",
                f"not run: the job is {state} on chain, not claimed by {self.provider}",
                permanent=True,
            )
            return None
        if job.deadline <= self._clock():
            self._set_issue(
                job_id, "run", f"not run: its deadline {job.deadline} has passed", permanent=True
            )
            return None
        spec_hash = self.chain.spec_hash(job_id) or b"\0" * 32
        try:
            spec, source = self.specs.spec_for(spec_hash)
            if source == "default":
                logger.info(
                    "node: job %d: spec 0x%s is not registered; running the default spec (%s)",
                    job_id,
                    spec_hash.hex(),
                    spec.workload,
                )
            self._running_job = job_id
            try:
                result = run_job(spec, self.meter, job_id=job_id, gpu_index=self.config.gpu_index)
            finally:
                self._running_job = None
        except (WorkloadError, MeterError) as exc:
            self.metrics.add(job_failures=1)
            issue = self._set_issue(
                job_id,
                "run",
                f"run failed: {exc}",
                permanent=False,
                retry_in=self.config.backoff_initial_s,
                give_up_after=self.config.max_attempts,
            )
            if issue.permanent:
                logger.error(
                    "node: job %d: %s; it stays claimed until its deadline", job_id, issue.message
                )
            else:
                logger.warning("node: job %d failed (%s); will retry", job_id, exc)
                self._enqueue(job_id)
            return None
        measurement = Measurement.from_result(
            result, provider=self.provider, job_spec_hash=spec_hash, spec_source=source
        )
        stored = self.store.save_measurement(job_id, measurement.to_fields())
        kept = Measurement.from_fields(stored.record)
        self.metrics.add(jobs_run=1)
        self._record_measurement(kept)
        logger.info(
            "node: job %d measured: %d tokens, %d mJ, %d ms on %s (%s meter)",
            job_id,
            kept.ai_tokens,
            kept.energy_mj,
            kept.gpu_millis,
            kept.gpu_uuid,
            kept.meter_kind,
        )
        return kept

    def _sign(self, job_id: int, measurement: Measurement) -> None:
        """Sign the record of the stored measurement, once (the store keeps the signature)."""
        digest = record_digest(self.domain, measurement.usage_record())

        def sign(data: bytes) -> bytes:
            signature = self.signer.sign_digest(data)
            self.metrics.add(attestations_signed=1)
            return signature

        self.store.sign_once(job_id, digest, sign)

    # --- stats --------------------------------------------------------------------------

    def _record_measurement(self, m: Measurement) -> None:
        with self._lock:
            if m.job_id in self._job_gpu:
                return
            self._job_gpu[m.job_id] = m.gpu_uuid
            gpu = self._gpus.get(m.gpu_uuid) or GpuTotals(
                gpu_uuid=m.gpu_uuid,
                gpu_index=m.gpu_index,
                gpu_id_hash=m.gpu_id_hash,
                meter_kind=m.meter_kind,
            )
            self._gpus[m.gpu_uuid] = replace(
                gpu,
                jobs_measured=gpu.jobs_measured + 1,
                energy_mj=gpu.energy_mj + m.energy_mj,
                ai_tokens=gpu.ai_tokens + m.ai_tokens,
            )

    def _record_payment(self, job_id: int, payment: int) -> None:
        with self._lock:
            if job_id in self._paid:
                return
            self._paid[job_id] = payment
            uuid = self._job_gpu.get(job_id)
            gpu = self._gpus.get(uuid) if uuid else None
            if gpu is not None:
                self._gpus[gpu.gpu_uuid] = replace(
                    gpu, jobs_settled=gpu.jobs_settled + 1, earned_wei=gpu.earned_wei + payment
                )

    def gpu_totals(self) -> list[GpuTotals]:
        """What each GPU measured and earned, by GPU index."""
        with self._lock:
            return sorted(self._gpus.values(), key=lambda g: (g.gpu_index, g.gpu_uuid))

    # --- settler ------------------------------------------------------------------------

    def _settler_main(self) -> None:
        backoff = _Backoff(self.config.backoff_initial_s, self.config.backoff_max_s)
        self._recovered.wait()  # recovery may sign jobs; settle after it
        next_withdraw = 0.0
        while not self._stop.is_set():
            self._wake_settler.clear()
            try:
                wait = self._settle_ready()
                if self._clock() >= next_withdraw:
                    self._withdraw_due()
                    next_withdraw = self._clock() + self.config.withdraw_interval_s
                backoff.reset()
            except ChainUnavailable as exc:
                self._error(str(exc), chain=True)
                self.metrics.add(settle_failures=1)
                wait = backoff.next()
                logger.warning("node: chain unavailable (%s); settling again in %.1f s", exc, wait)
            except Exception as exc:
                self._error(f"settler: {exc}")
                wait = backoff.next()
                logger.exception("node: settler error; retrying in %.1f s", wait)
            self._notify()
            if wait is None:
                continue  # more may be ready at once
            wait = min(wait, max(0.0, next_withdraw - self._clock()))
            self._sleep(wait, self._wake_settler)

    def _settleable(self, now: float) -> list[JobRow]:
        pending = self.store.pending_settlement()
        rows = []
        with self._lock:
            for row in pending:
                issue = self._issues.get(row.job_id)
                blocked = issue is not None and issue.stage == "settle"
                if not blocked or (issue and not issue.permanent and issue.retry_at <= now):
                    rows.append(row)
        return rows

    def _settle_ready(self) -> float | None:
        """Settle one batch if one is due. Returns how long to wait (None: try again now)."""
        now = self._clock()
        rows = self._settleable(now)
        if not rows:
            return self.config.poll_interval_s
        size = self.config.batch_size
        oldest = min(row.updated_at for row in rows)
        if len(rows) < size and now - oldest < self.config.batch_delay_s:
            return oldest + self.config.batch_delay_s - now
        batch = rows[:size]
        records: list[tuple[int, UsageRecord, str]] = []
        for row in batch:
            entry = self._stored_record(row.job_id)
            if entry is not None:
                records.append(entry)
        if not records:
            return None
        ready = self._within_chain_clock(records)
        if not ready:
            earliest = min(record.end_time for _, record, _ in records)
            return max(_CLOCK_RETRY_S, earliest - self._clock() + 0.01)
        self._settle(ready)
        return None

    def _stored_record(self, job_id: int) -> tuple[int, UsageRecord, str] | None:
        """The stored record and signature of a signed job, checked against each other."""
        stored = self.store.get_measurement(job_id)
        attestation = self.store.get_attestation(job_id)
        if stored is None or attestation is None:
            self._set_issue(job_id, "settle", "signed but its rows are missing", permanent=True)
            return None
        measurement = Measurement.from_fields(stored.record)
        record = measurement.usage_record()
        digest = "0x" + record_digest(self.domain, record).hex()
        if digest != attestation.digest:
            self._set_issue(
                job_id,
                "settle",
                f"its stored signature is over {attestation.digest}, not the "
                f"stored record's digest {digest} (another market or chain?)",
                permanent=True,
            )
            return None
        if not measurement.settleable:
            self._set_issue(
                job_id,
                "settle",
                "the market refuses its record: zero energy measured",
                permanent=True,
            )
            return None
        return job_id, record, attestation.signature

    def _within_chain_clock(
        self, records: list[tuple[int, UsageRecord, str]]
    ) -> list[tuple[int, UsageRecord, str]]:
        """The records whose end time the chain's clock has reached (the market checks
        ``endTime <= block.timestamp``); on a development chain that only mines on demand,
        mine a block once the wall clock is past them."""
        latest_end = max(record.end_time for _, record, _ in records)
        chain_now = self.chain.chain_time()
        self._chain_ok()
        if latest_end > chain_now and latest_end <= self._clock() and self.chain.nudge():
            chain_now = self.chain.chain_time()
        return [entry for entry in records if entry[1].end_time <= chain_now]

    def _settle(self, entries: list[tuple[int, UsageRecord, str]]) -> None:
        records = [record for _, record, _ in entries]
        try:
            if len(entries) == 1:
                _, record, signature = entries[0]
                settlement = self.chain.settle(record, bytes.fromhex(signature[2:]))
            else:
                signed = self.signer.sign_batch(self.domain, records)
                self.metrics.add(batch_signatures=1)
                settlement = self.chain.settle_batch(records, signed.signature)
        except ChainRejected as exc:
            self._chain_ok()
            self.metrics.add(settle_failures=1)
            self._rejected(exc, entries)
            return
        self._chain_ok()
        for job_id, _, _ in entries:
            self.store.mark_settled(job_id, settlement.tx_hash)
            self._clear_issue(job_id)
        for job_id, payment in settlement.payments.items():
            self._record_payment(job_id, payment)
        self.metrics.add(settle_transactions=1, jobs_settled=len(entries))
        logger.info(
            "node: settled job(s) %s in %s",
            ", ".join(str(job_id) for job_id, _, _ in entries),
            settlement.tx_hash,
        )

    def _adopt_settlements(self, job_ids: Sequence[int]) -> set[int]:
        """Mark settled those of `job_ids` that a ``JobSettled`` event shows settled."""
        adopted = set()
        for job_id in job_ids:
            found = self.chain.settlement(job_id)
            if found is None:
                continue
            logger.info("node: job %d was already settled on chain (%s)", job_id, found.tx_hash)
            self.store.mark_settled(job_id, found.tx_hash)
            self._clear_issue(job_id)
            for paid_id, payment in found.payments.items():
                self._record_payment(paid_id, payment)
            adopted.add(job_id)
        return adopted

    def _rejected(
        self, exc: ChainRejected, entries: Sequence[tuple[int, UsageRecord, str]]
    ) -> None:
        """Decide what a refused settlement means for its jobs."""
        ids = [job_id for job_id, _, _ in entries]
        culprit = exc.job_id if exc.job_id in ids else None
        if exc.name == "MarketInvalidJobState" and culprit is not None:
            state = JobState(int(exc.args_by_name.get("state", 0)))
            if state in SETTLED_STATES:
                # Settled by an earlier transaction (a crash or a receipt timeout came between
                # it and mark_settled): record that for every job of the batch it settled.
                adopted = self._adopt_settlements(ids)
                if culprit not in adopted:
                    self._set_issue(
                        culprit,
                        "settle",
                        f"the chain says it is {state.name.lower()} but no JobSettled event "
                        "was found yet",
                        permanent=False,
                        retry_in=self.config.backoff_max_s,
                    )
                return
            self._set_issue(
                culprit,
                "settle",
                f"cannot be settled: it is {state.name.lower()} on chain",
                permanent=True,
            )
            return
        if exc.name in ("MarketDeadlinePassed", "MarketWrongProvider") and culprit is not None:
            self._set_issue(culprit, "settle", f"cannot be settled: {exc}", permanent=True)
            return
        if exc.name == "MarketInvalidUsage" and culprit is not None:
            # Records that reach here are settleable; the chain's clock lagged their end time.
            self._set_issue(culprit, "settle", str(exc), permanent=False, retry_in=1.0)
            return
        # The whole batch (signer not registered, attestors missing, paused, unknown...).
        delay = self.config.backoff_max_s
        for job_id in ids:
            self._set_issue(job_id, "settle", str(exc), permanent=False, retry_in=delay)
        logger.error("node: the market refused settling %s: %s", ids, exc)

    # --- withdrawals --------------------------------------------------------------------

    def _withdraw_due(self) -> None:
        """Withdraw the payments of settled jobs whose dispute window has passed."""
        settled = [row.job_id for row in self.store.jobs_in_state("settled")]
        if not settled:
            return
        if self._finalized is None:
            self._finalized = self.chain.finalized_job_ids()
        open_ids = [job_id for job_id in settled if job_id not in self._finalized]
        if not open_ids:
            return
        chain_now = self.chain.chain_time()
        window = self.chain.dispute_window()
        due: list[int] = []
        for job_id in open_ids:
            settled_at = self._settled_at.get(job_id)
            if settled_at is not None and settled_at + window > chain_now:
                continue
            job = self.chain.job(job_id)
            if job is None:
                continue
            if job.state is JobState.FINALIZED:
                self._finalized.add(job_id)
            elif job.state is JobState.SETTLED:
                self._settled_at[job_id] = job.settled_at
                if job.settled_at + window <= chain_now:
                    due.append(job_id)
        self._chain_ok()
        for start in range(0, len(due), _WITHDRAW_CHUNK):
            chunk = due[start : start + _WITHDRAW_CHUNK]
            try:
                amount = self.chain.withdraw(chunk)
            except ChainRejected as exc:
                if exc.name == "MarketNothingToWithdraw":
                    self._finalized.update(chunk)
                    continue
                self._error(f"withdrawing: {exc}")
                logger.warning("node: the market refused a withdrawal: %s", exc)
                continue
            self._finalized.update(chunk)
            self.metrics.add(withdrawals=1, withdrawn_wei=amount)
            logger.info("node: withdrew %d wei for job(s) %s", amount, chunk)

    # --- reads for the API --------------------------------------------------------------

    def job_counts(self) -> dict[str, int]:
        """Jobs in the store by state."""
        return {state: len(self.store.jobs_in_state(state)) for state in _STATES}


_STATES: Final = ("claimed", "measured", "signed", "settled")
