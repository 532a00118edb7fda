"""``/metrics``: Prometheus text exposition of the node's state and counters."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from .. import __version__
from ..metrics import CONTENT_TYPE, Family, Sample, counter_families, render
from .deps import NodeDep

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "text format 0.0.4"}},
)
def get_metrics(node: NodeDep) -> PlainTextResponse:
    """Jobs by state, energy and tokens measured, attestations signed, settle transactions,
    withdrawals, chain errors and the last error, in Prometheus' text format."""
    counters, last_error, last_error_at = node.metrics.snapshot()
    gpus = node.gpu_totals()
    energy = sum(g.energy_mj for g in gpus)
    tokens = sum(g.ai_tokens for g in gpus)
    info = {
        "version": __version__,
        "provider": node.provider,
        "signer": node.signer.address,
        "meter_kind": node.meter.kind,
        "chain_id": str(node.domain.chain_id),
        "market": node.domain.market,
    }

    def per_gpu(value: str) -> tuple[Sample, ...]:
        return tuple(
            Sample(
                getattr(g, value),
                {"gpu": str(g.gpu_index), "uuid": g.gpu_uuid, "meter_kind": g.meter_kind},
            )
            for g in gpus
        )

    families = [
        Family("up", "gauge", "1 while the node's threads run", (Sample(int(node.running)),)),
        Family("info", "gauge", "What this node is", (Sample(1, info),)),
        Family(
            "jobs",
            "gauge",
            "Jobs in the node's store by state",
            tuple(Sample(n, {"state": s}) for s, n in node.job_counts().items()),
        ),
        Family(
            "energy_millijoules_total",
            "counter",
            "Energy of every job measured (store), millijoules",
            (Sample(energy),),
        ),
        Family("ai_tokens_total", "counter", "AI tokens of every job measured", (Sample(tokens),)),
        Family(
            "tokens_per_joule",
            "gauge",
            "AI tokens per joule over every job measured",
            (Sample(tokens * 1000 / energy if energy else 0.0),),
        ),
        Family(
            "gpu_energy_millijoules_total",
            "counter",
            "Energy measured per GPU",
            per_gpu("energy_mj"),
        ),
        Family("gpu_ai_tokens_total", "counter", "AI tokens per GPU", per_gpu("ai_tokens")),
        Family(
            "gpu_earned_wei_total",
            "counter",
            "Payments of settled jobs per GPU, token base units",
            per_gpu("earned_wei"),
        ),
        *counter_families(counters),
        Family(
            "last_chain_success_timestamp_seconds",
            "gauge",
            "Unix time of the last successful chain call",
            (Sample(node.last_chain_ok),),
        ),
        Family(
            "last_error_timestamp_seconds",
            "gauge",
            "Unix time of the last error (0: none)",
            (Sample(last_error_at),),
        ),
    ]
    if last_error:
        families.append(
            Family(
                "last_error_info",
                "gauge",
                "The last error's message",
                (Sample(1, {"message": last_error[:500]}),),
            )
        )
    return PlainTextResponse(render(families), media_type=CONTENT_TYPE)
