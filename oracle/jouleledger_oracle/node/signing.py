"""Signing a stored measurement: once per job, and never one whose meter kind contradicts
its device (a simulated measurement claiming a real meter)."""

from __future__ import annotations

from jouleledger.records import record_digest

from ..attestation import Measurement
from ..errors import MeterError
from ..metering import check_meter_claim
from .context import NodeContext


def sign_measurement(ctx: NodeContext, job_id: int, measurement: Measurement) -> None:
    """Sign the record of the stored measurement, once (the store keeps the signature).

    Args:
        ctx: the node's shared state (store, signer, domain, counters).
        job_id: the job.
        measurement: its stored measurement.

    Raises:
        AttestationConflict: the job is already signed over another digest.
        MeterError: the measurement's meter kind contradicts its GPU or energy source (a
            simulated measurement claiming a real meter): never signed.
    """
    try:
        check_meter_claim(measurement.meter_kind, measurement.gpu_uuid, measurement.energy_source)
    except ValueError as exc:
        raise MeterError(f"job {job_id} is not signed: {exc}") from exc
    digest = record_digest(ctx.domain, measurement.usage_record())

    def sign(data: bytes) -> bytes:
        signature = ctx.signer.sign_digest(data)
        ctx.metrics.add(attestations_signed=1)
        return signature

    ctx.store.sign_once(job_id, digest, sign)
