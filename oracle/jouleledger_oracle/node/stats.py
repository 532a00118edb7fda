"""What each GPU did: measured work from the store, and what its settled jobs earned."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from jouleledger.efficiency import tokens_per_joule

from ..attestation import Measurement


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
        """AI tokens per joule over this GPU's measured jobs."""
        return tokens_per_joule(self.ai_tokens, self.energy_mj)


@dataclass(frozen=True)
class NodeTotals:
    """What every GPU of the node did together."""

    energy_mj: int
    ai_tokens: int
    earned_wei: int

    @property
    def tokens_per_joule(self) -> float:
        """AI tokens per joule over every measured job."""
        return tokens_per_joule(self.ai_tokens, self.energy_mj)


class GpuStats:
    """Per-GPU totals, from measurements and settlement payments, each counted once."""

    def __init__(self) -> None:
        self._gpus: dict[str, GpuTotals] = {}
        self._job_gpu: dict[int, str] = {}
        self._paid: dict[int, int] = {}
        self._lock = threading.Lock()

    def record_measurement(self, m: Measurement) -> None:
        """Count a job's measurement on its GPU (once per job).

        Args:
            m: the stored measurement.
        """
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

    def record_payment(self, job_id: int, payment: int) -> None:
        """Count a settled job's payment on the GPU that ran it (once per job).

        Args:
            job_id: the job.
            payment: what it was paid, in wei, before fees.
        """
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

    def record_payments(self, payments: dict[int, int]) -> None:
        """`record_payment` for each job of `payments`.

        Args:
            payments: wei by job id.
        """
        for job_id, payment in payments.items():
            self.record_payment(job_id, payment)

    def gpus(self) -> list[GpuTotals]:
        """What each GPU measured and earned, by GPU index."""
        with self._lock:
            return sorted(self._gpus.values(), key=lambda g: (g.gpu_index, g.gpu_uuid))

    def totals(self) -> NodeTotals:
        """The sums over every GPU."""
        gpus = self.gpus()
        return NodeTotals(
            energy_mj=sum(g.energy_mj for g in gpus),
            ai_tokens=sum(g.ai_tokens for g in gpus),
            earned_wei=sum(g.earned_wei for g in gpus),
        )
