"""The worker: recovers the store after a restart, then takes as many jobs as the node has
free GPUs and runs each on its own GPU's lane (`lanes`: one job per GPU at a time, since the
energy counter is per device, not per process), metered on that GPU over its own window;
stores the measurement and signs the record built from the *stored* measurement, once
(`OracleStore.sign_once`)."""

from __future__ import annotations

import logging

from jouleledger.types import JobState

from ..attestation import Measurement
from ..chain import ChainUnavailable
from ..errors import MeterError, WorkloadError
from ..metering import GpuInfo, Meter
from ..specs import SpecRegistry
from ..workloads import run_job
from .context import NodeContext
from .intake import Intake
from .lanes import GpuLanes, choose_devices
from .signing import sign_measurement

logger = logging.getLogger("jouleledger_oracle.node")


class Worker:
    """Brings jobs from claimed to signed.

    Args:
        ctx: the node's shared state.
        intake: the queue it takes jobs from.
        meter: measures jobs (any backend).
        specs: job specs by hash, and the default spec.

    Raises:
        ConfigError: ``config.gpus`` names a GPU the meter lacks.
    """

    def __init__(self, ctx: NodeContext, intake: Intake, meter: Meter, specs: SpecRegistry):
        self._ctx = ctx
        self._intake = intake
        self.meter = meter
        self.specs = specs
        self.lanes = GpuLanes(choose_devices(meter, ctx.config.gpus), self._run_on, self._ended)

    @property
    def running_job(self) -> int | None:
        """A job being run now (the lowest id), if any; `running_jobs` has them all."""
        running = self.lanes.running()
        return min(running.values()) if running else None

    def running_jobs(self) -> dict[str, int]:
        """The job each busy GPU runs now, by GPU UUID."""
        return self.lanes.running()

    def main(self) -> None:
        """The worker thread: recover (retried until it succeeds), then run jobs until the
        node stops; failures are retried with backoff."""
        ctx = self._ctx

        while not ctx.stop.is_set() and not ctx.recovered.is_set():
            if ctx.keep_trying(self._recover_once, "recovery"):
                ctx.recovered.set()
                ctx.wake_settler.set()
                ctx.notify()
        while not ctx.stop.is_set():
            ctx.keep_trying(self._step, "worker")
        self.lanes.shutdown()

    def _recover_once(self) -> bool:
        self.recover()
        return True

    def _step(self) -> None:
        """Hand a job to every free GPU; re-raise a lane's failure (so it is counted and
        backed off from, as the worker's own)."""
        ctx = self._ctx
        failure = self.lanes.failure()
        if failure is not None:
            raise failure
        ctx.wake_worker.clear()
        free = self.lanes.free()
        jobs = self._intake.next_jobs(len(free)) if free else []
        running = set(self.lanes.running().values())
        jobs = [job_id for job_id in jobs if job_id not in running]  # asked for twice
        if not jobs:
            ctx.sleep(ctx.config.poll_interval_s, ctx.wake_worker)
            return
        for gpu, job_id in zip(free, jobs, strict=False):
            self.lanes.dispatch(gpu, job_id)

    def _run_on(self, job_id: int, gpu: GpuInfo) -> None:
        """A lane's work: bring `job_id` to signed on `gpu`."""
        self._process_or_requeue(job_id, gpu)

    def _ended(self) -> None:
        """A lane finished: look for the next job, and wake `OracleNode.wait_until`."""
        self._ctx.wake_worker.set()
        self._ctx.notify()

    def recover(self) -> None:
        """Rebuild memory from the store, adopt claims the store missed (a crash between a
        claim's receipt and ``mark_claimed``), sign measured jobs, queue claimed ones.

        Raises:
            ChainUnavailable: the chain could not be read.
        """
        ctx = self._ctx
        store = ctx.store
        self._load_history()
        known_claimed = {row.job_id for row in store.jobs_in_state("claimed")}
        for job_id in ctx.chain.claimed_job_ids():
            if store.get_job(job_id) is not None:
                continue
            job = ctx.chain.job(job_id)
            if job is not None and job.state is JobState.CLAIMED and job.provider == ctx.provider:
                logger.info(
                    "node: job %d was claimed on chain but not recorded; adopting it", job_id
                )
                store.mark_claimed(job_id)
                known_claimed.add(job_id)
        ctx.chain_ok()
        for row in store.jobs_in_state("measured"):
            measurement = store.get_measurement(row.job_id)
            if measurement is not None:
                logger.info("node: job %d was measured but not signed; signing it", row.job_id)
                self.sign(row.job_id, Measurement.from_fields(measurement.record))
        for job_id in sorted(known_claimed):
            logger.info("node: job %d was claimed but not measured; running it again", job_id)
            self._intake.enqueue(job_id)
        settled = [row.job_id for row in store.jobs_in_state("settled")]
        if settled:
            ctx.stats.record_payments(ctx.chain.payments(settled))
        logger.info(
            "node: recovered: %d job(s) to run, %d to settle, %d settled before",
            len(known_claimed),
            len(store.pending_settlement()),
            len(settled),
        )

    def _load_history(self) -> None:
        store = self._ctx.store
        for state in ("measured", "signed", "settled"):
            for row in store.jobs_in_state(state):
                stored = store.get_measurement(row.job_id)
                if stored is not None:
                    self._ctx.stats.record_measurement(Measurement.from_fields(stored.record))

    def _process_or_requeue(self, job_id: int, gpu: GpuInfo) -> None:
        """`_process`, putting the job back in the queue when it fails for a reason that
        retrying may cure (the chain was unavailable, an unexpected error)."""
        try:
            self._process(job_id, gpu)
        except ChainUnavailable:
            self._intake.enqueue(job_id)
            raise
        except Exception as exc:
            issue = self._ctx.issues.set(
                job_id,
                "run",
                f"{type(exc).__name__}: {exc}",
                permanent=False,
                retry_in=self._ctx.config.backoff_max_s,
                give_up_after=self._ctx.config.max_attempts,
            )
            if not issue.permanent:
                self._intake.enqueue(job_id)
            raise

    def _process(self, job_id: int, gpu: GpuInfo) -> None:
        """Bring one job from claimed to signed, running it on `gpu` if it needs running."""
        store = self._ctx.store
        row = store.get_job(job_id)
        if row is not None and row.state not in ("claimed", "measured"):
            return  # signed or settled: the settler's
        stored = store.get_measurement(job_id)
        if stored is not None:
            measurement: Measurement | None = Measurement.from_fields(stored.record)
        elif row is not None and row.state == "measured":
            raise AssertionError(f"job {job_id} is measured but has no measurement")
        else:
            measurement = self._run(job_id, gpu)
        if measurement is None:
            return
        self.sign(job_id, measurement)
        self._ctx.issues.clear(job_id)
        self._ctx.wake_settler.set()

    def _runnable(self, job_id: int) -> bool:
        """Whether the chain lets the provider run `job_id` now (else a permanent issue)."""
        ctx = self._ctx
        job = ctx.chain.job(job_id)
        ctx.chain_ok()
        if job is None or job.state is not JobState.CLAIMED or job.provider != ctx.provider:
            state = "missing" if job is None else job.state.name.lower()
            message = f"not run: the job is {state} on chain, not claimed by {ctx.provider}"
        elif job.deadline <= ctx.clock():
            message = f"not run: its deadline {job.deadline} has passed"
        else:
            return True
        ctx.issues.set(job_id, "run", message, permanent=True)
        return False

    def _run(self, job_id: int, gpu: GpuInfo) -> Measurement | None:
        ctx = self._ctx
        if not self._runnable(job_id):
            return None
        spec_hash = ctx.chain.spec_hash(job_id) or b"\0" * 32
        try:
            spec, source = self.specs.spec_for(spec_hash)
            if source == "default":
                logger.info(
                    "node: job %d: spec 0x%s is not registered; running the default spec (%s)",
                    job_id,
                    spec_hash.hex(),
                    spec.workload,
                )
            result = run_job(spec, self.meter, job_id=job_id, gpu_uuid=gpu.uuid)
        except (WorkloadError, MeterError) as exc:
            self._failed(job_id, exc)
            return None
        measurement = Measurement.from_result(
            result, provider=ctx.provider, job_spec_hash=spec_hash, spec_source=source
        )
        kept = Measurement.from_fields(
            ctx.store.save_measurement(job_id, measurement.to_fields()).record
        )
        ctx.metrics.add(jobs_run=1)
        ctx.stats.record_measurement(kept)
        logger.info(
            "node: job %d measured: %d tokens, %d mJ, %d ms on GPU %d %s (%s meter)",
            job_id,
            kept.ai_tokens,
            kept.energy_mj,
            kept.gpu_millis,
            kept.gpu_index,
            kept.gpu_uuid,
            kept.meter_kind,
        )
        return kept

    def _failed(self, job_id: int, exc: WorkloadError | MeterError) -> None:
        """A run failed: retry it later, or give up after ``max_attempts``."""
        ctx = self._ctx
        ctx.metrics.add(job_failures=1)
        issue = ctx.issues.set(
            job_id,
            "run",
            f"run failed: {exc}",
            permanent=False,
            retry_in=ctx.config.backoff_initial_s,
            give_up_after=ctx.config.max_attempts,
        )
        if issue.permanent:
            logger.error(
                "node: job %d: %s; it stays claimed until its deadline", job_id, issue.message
            )
        else:
            logger.warning("node: job %d failed (%s); will retry", job_id, exc)
            self._intake.enqueue(job_id)

    def sign(self, job_id: int, measurement: Measurement) -> None:
        """`sign_measurement` in this node (its arguments and errors)."""
        sign_measurement(self._ctx, job_id, measurement)
