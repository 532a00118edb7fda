"""``/metrics``: Prometheus text exposition of the node's state and counters."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client.core import Metric

from .. import __version__
from ..metrics import CONTENT_TYPE, counter_metrics, family, render, single
from ..node import GpuTotals, OracleNode
from .deps import NodeDep

router = APIRouter(tags=["metrics"])


def _labels(gpu: GpuTotals) -> dict[str, str]:
    return {"gpu": str(gpu.gpu_index), "uuid": gpu.gpu_uuid, "meter_kind": gpu.meter_kind}


def _gpu_metrics(node: OracleNode) -> list[Metric]:
    """Energy, tokens and earnings, in total and per GPU, and which GPUs are busy (labels:
    index, UUID, meter; one set per GPU, so they stay bounded)."""
    gpus = node.gpu_totals()
    totals = node.totals()
    running = node.running_jobs()

    def per_gpu(name: str, help: str, value: str, kind: str = "counter") -> Metric:
        return family(name, kind, help, ((getattr(g, value), _labels(g)) for g in gpus))

    return [
        single(
            "energy_millijoules_total",
            "counter",
            "Energy of every job measured (store), millijoules",
            totals.energy_mj,
        ),
        single("ai_tokens_total", "counter", "AI tokens of every job measured", totals.ai_tokens),
        single(
            "tokens_per_joule",
            "gauge",
            "AI tokens per joule over every job measured",
            totals.tokens_per_joule,
        ),
        per_gpu("gpu_energy_millijoules_total", "Energy measured per GPU", "energy_mj"),
        per_gpu("gpu_ai_tokens_total", "AI tokens per GPU", "ai_tokens"),
        per_gpu(
            "gpu_earned_wei_total",
            "Payments of settled jobs per GPU, token base units",
            "earned_wei",
        ),
        per_gpu("gpu_jobs_measured_total", "Jobs measured per GPU", "jobs_measured"),
        per_gpu("gpu_tokens_per_joule", "AI tokens per joule per GPU", "tokens_per_joule", "gauge"),
        family(
            "gpu_busy",
            "gauge",
            "1 while the GPU runs a job (one job per GPU at a time)",
            ((int(g.gpu_uuid in running), _labels(g)) for g in gpus),
        ),
    ]


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "text format 0.0.4"}},
)
def get_metrics(node: NodeDep) -> PlainTextResponse:
    """Jobs by state, energy and tokens measured, attestations signed, settle transactions,
    withdrawals, chain errors and errors by class, in Prometheus' text format.

    \f
    Args:
        node: the node (dependency).
    """
    counters, _, last_error_at = node.metrics.snapshot()
    info = {
        "version": __version__,
        "provider": node.provider,
        "signer": node.signer.address,
        "meter_kind": node.meter.kind,
        "chain_id": str(node.domain.chain_id),
        "market": node.domain.market,
    }
    errors = node.metrics.errors_by_kind()
    metrics = [
        single("up", "gauge", "1 while the node's threads run", int(node.running)),
        single("info", "gauge", "What this node is", 1, **info),
        family(
            "jobs",
            "gauge",
            "Jobs in the node's store by state",
            ((n, {"state": s}) for s, n in node.job_counts().items()),
        ),
        *_gpu_metrics(node),
        *counter_metrics(counters),
        family(
            "errors_total",
            "counter",
            "Errors by kind: the exception's class, or run_issue / settle_issue for a stuck job",
            ((n, {"error": kind}) for kind, n in sorted(errors.items())),
        ),
        single(
            "last_chain_success_timestamp_seconds",
            "gauge",
            "Unix time of the last successful chain call",
            node.last_chain_ok,
        ),
        single(
            "last_error_timestamp_seconds",
            "gauge",
            "Unix time of the last error (0: none)",
            last_error_at,
        ),
    ]
    return PlainTextResponse(render(metrics), media_type=CONTENT_TYPE)
