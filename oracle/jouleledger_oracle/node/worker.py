"""The worker: recovers the store after a restart, then takes jobs one at a time (the energy
counter is per GPU), runs them on the metered GPU, stores the measurement and signs the
record built from the *stored* measurement, once (`OracleStore.sign_once`)."""

from __future__ import annotations

import logging

from jouleledger.records import record_digest
from jouleledger.types import JobState

from ..attestation import Measurement
from ..chain import ChainUnavailable
from ..errors import MeterError, WorkloadError
from ..metering import Meter
from ..specs import SpecRegistry
from ..workloads import run_job
from .context import NodeContext
from .intake import Intake

logger = logging.getLogger("jouleledger_oracle.node")


class Worker:
    """Brings jobs from claimed to signed.

    Args:
        ctx: the node's shared state.
        intake: the queue it takes jobs from.
        meter: measures jobs (NVML or simulated).
        specs: job specs by hash, and the default spec.
    """

    def __init__(self, ctx: NodeContext, intake: Intake, meter: Meter, specs: SpecRegistry):
        self._ctx = ctx
        self._intake = intake
        self.meter = meter
        self.specs = specs
        self.running_job: int | None = None

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

    def _recover_once(self) -> bool:
        self.recover()
        return True

    def _step(self) -> None:
        ctx = self._ctx
        ctx.wake_worker.clear()
        job_id = self._intake.next_job()
        if job_id is None:
            ctx.sleep(ctx.config.poll_interval_s, ctx.wake_worker)
            return
        try:
            self._process_or_requeue(job_id)
        finally:
            ctx.notify()

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

    def _process_or_requeue(self, job_id: int) -> None:
        """`_process`, putting the job back in the queue when it fails for a reason that
        retrying may cure (the chain was unavailable, an unexpected error)."""
        try:
            self._process(job_id)
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

    def _process(self, job_id: int) -> None:
        """Bring one job from claimed to signed."""
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
            measurement = self._run(job_id)
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

    def _run(self, job_id: int) -> Measurement | None:
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
            self.running_job = job_id
            try:
                result = run_job(spec, self.meter, job_id=job_id, gpu_index=ctx.config.gpu_index)
            finally:
                self.running_job = None
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
            "node: job %d measured: %d tokens, %d mJ, %d ms on %s (%s meter)",
            job_id,
            kept.ai_tokens,
            kept.energy_mj,
            kept.gpu_millis,
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
        """Sign the record of the stored measurement, once (the store keeps the signature).

        Args:
            job_id: the job.
            measurement: its stored measurement.

        Raises:
            AttestationConflict: the job is already signed over another digest.
        """
        ctx = self._ctx
        digest = record_digest(ctx.domain, measurement.usage_record())

        def sign(data: bytes) -> bytes:
            signature = ctx.signer.sign_digest(data)
            ctx.metrics.add(attestations_signed=1)
            return signature

        ctx.store.sign_once(job_id, digest, sign)
