"""`OracleNode`: wires the worker, the settler and the withdrawals over one shared state,
starts and stops their threads, and answers the API's questions."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

from ..chain import Chain
from ..metering import GpuInfo, Meter
from ..metrics import NodeMetrics
from ..settings import NodeConfig
from ..signer import OracleSigner
from ..specs import SpecRegistry
from ..store import RUN_STATES, OracleStore
from .context import Clock, NodeContext
from .intake import Intake
from .issues import JobIssue
from .settler import Settler
from .stats import GpuTotals, NodeTotals
from .withdrawals import Withdrawals
from .worker import Worker

logger = logging.getLogger("jouleledger_oracle.node")


class OracleNode:
    """The node's two threads, the worker and the settler, over one store, chain, meter
    and signer.

    Args:
        chain: the market, as the provider (see `jouleledger_oracle.chain`).
        store: the node's database.
        meter: measures jobs (NVML, AMD SMI, RAPL or simulated); the node runs one job on
            each of its devices at a time.
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
        self.config = config or NodeConfig()
        self._ctx = NodeContext(
            chain=chain, store=store, signer=signer, config=self.config, clock=clock
        )
        self.chain = chain
        self.store = store
        self.meter = meter
        self.signer = signer
        self.specs = specs
        self.provider = self._ctx.provider
        self.domain = self._ctx.domain
        self.metrics: NodeMetrics = self._ctx.metrics
        self.intake = Intake(self._ctx)
        self.worker = Worker(self._ctx, self.intake, meter, specs)
        self.settler = Settler(self._ctx, Withdrawals(self._ctx))
        self.started_at = 0.0
        self._threads: list[threading.Thread] = []

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker and settler threads (returns at once)."""
        if self._threads:
            return
        self._ctx.stop.clear()
        self.started_at = self._ctx.clock()
        self._threads = [
            threading.Thread(target=self.worker.main, name="oracle-worker", daemon=True),
            threading.Thread(target=self.settler.main, name="oracle-settler", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        logger.info(
            "node: started for provider %s, oracle signer %s, %s meter on %d GPU(s) (one job "
            "per GPU), batches of %d (at most %.3g s wait)",
            self.provider,
            self.signer.address,
            self.meter.kind,
            len(self.worker.lanes.devices),
            self.config.batch_size,
            self.config.batch_delay_s,
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop both threads; a job being run is finished (or abandoned after `timeout`).

        Args:
            timeout: seconds to wait for both threads together.
        """
        ctx = self._ctx
        ctx.stop.set()
        ctx.wake_worker.set()
        ctx.wake_settler.set()
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
        return self._ctx.recovered.is_set()

    def wait_recovered(self, timeout: float | None = None) -> bool:
        """Block until recovery finished; False on timeout.

        Args:
            timeout: seconds; None waits for ever.
        """
        return self._ctx.recovered.wait(timeout)

    @property
    def last_chain_ok(self) -> float:
        """Unix time of the last successful chain call (0: none yet)."""
        return self._ctx.last_chain_ok

    @property
    def running_job(self) -> int | None:
        """A job being run now (the lowest id), if any."""
        return self.worker.running_job

    def running_jobs(self) -> dict[str, int]:
        """The job each busy GPU runs now, by GPU UUID."""
        return self.worker.running_jobs()

    def devices(self) -> list[GpuInfo]:
        """The GPUs the node runs jobs on, one job each at a time."""
        return list(self.worker.lanes.devices)

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until `predicate` holds, re-checking whenever the node's threads have done
        something (a job moved, a batch settled, a try failed); False on timeout.

        Args:
            predicate: reads the node's state (store, metrics); it must not block long.
            timeout: seconds.
        """
        with self._ctx.progress:
            return self._ctx.progress.wait_for(predicate, timeout)

    # --- requests and reads for the API -------------------------------------------------

    def request_run(self, job_id: int) -> Literal["queued", "known"]:
        """Run and attest a job on request (see `Intake.request_run`).

        Args:
            job_id: the job.

        Raises:
            UnknownChainJob: no such job on the market.
            RunRefused: the job is not for this provider, or no longer runnable.
            ChainUnavailable: the chain could not be asked.
        """
        return self.intake.request_run(job_id)

    def issue(self, job_id: int) -> JobIssue | None:
        """Why `job_id` is stuck, if it is.

        Args:
            job_id: the job.
        """
        return self._ctx.issues.get(job_id)

    def queued(self, job_id: int) -> bool:
        """Whether `job_id` waits in the worker's queue.

        Args:
            job_id: the job.
        """
        return self.intake.queued(job_id)

    def gpu_totals(self) -> list[GpuTotals]:
        """What each GPU measured and earned, by GPU index: every GPU the node runs on (zeros
        for one that has not run a job yet), and GPUs that measured jobs in earlier runs."""
        measured = {g.gpu_uuid: g for g in self._ctx.stats.gpus()}
        totals = [
            measured.pop(d.uuid)
            if d.uuid in measured
            else GpuTotals(
                gpu_uuid=d.uuid,
                gpu_index=d.index,
                gpu_id_hash=d.gpu_id_hash,
                meter_kind=self.meter.kind,
            )
            for d in self.devices()
        ]
        return sorted([*totals, *measured.values()], key=lambda g: (g.gpu_index, g.gpu_uuid))

    def totals(self) -> NodeTotals:
        """What every GPU measured and earned, together."""
        return self._ctx.stats.totals()

    def job_counts(self) -> dict[str, int]:
        """Jobs in the store by state."""
        return {state: len(self.store.jobs_in_state(state)) for state in RUN_STATES}
