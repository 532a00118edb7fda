"""``/stats``: tokens per joule, energy and earnings, per GPU and in total."""

from __future__ import annotations

from fastapi import APIRouter

from .deps import NodeDep
from .models import GpuStatsOut, StatsOut

router = APIRouter(tags=["stats"])


@router.get("/stats", summary="Efficiency and earnings", response_model=StatsOut)
def get_stats(node: NodeDep) -> StatsOut:
    """AI tokens per joule, energy and earnings of every job this node measured (the store
    survives restarts), in total and per GPU (every GPU the node runs on, with the job it
    runs now); earnings are the payments of settled jobs read from the chain.

    \f
    Args:
        node: the node (dependency).
    """
    totals = node.totals()
    counters, _, _ = node.metrics.snapshot()
    names = {gpu.uuid: gpu.name for gpu in node.devices()}
    running = node.running_jobs()
    return StatsOut(
        provider=node.provider,
        signer=node.signer.address,
        meter_kind=node.meter.kind,
        jobs=node.job_counts(),
        energy_mj=totals.energy_mj,
        ai_tokens=totals.ai_tokens,
        tokens_per_joule=totals.tokens_per_joule,
        earned_wei=totals.earned_wei,
        withdrawn_wei=counters.withdrawn_wei,
        gpus=[
            GpuStatsOut(
                gpu_index=g.gpu_index,
                gpu_uuid=g.gpu_uuid,
                gpu_id_hash=g.gpu_id_hash,
                meter_kind=g.meter_kind,
                jobs_measured=g.jobs_measured,
                jobs_settled=g.jobs_settled,
                energy_mj=g.energy_mj,
                ai_tokens=g.ai_tokens,
                tokens_per_joule=g.tokens_per_joule,
                earned_wei=g.earned_wei,
                name=names.get(g.gpu_uuid),
                running_job=running.get(g.gpu_uuid),
            )
            for g in node.gpu_totals()
        ],
    )
