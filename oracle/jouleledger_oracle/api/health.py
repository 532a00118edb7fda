"""``/health``: whether the node's loops run and when the chain last answered."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .. import __version__
from .deps import NodeDep
from .models import HealthOut

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Node health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "the node's threads are not running"}},
)
def get_health(node: NodeDep) -> HealthOut | JSONResponse:
    """``ok`` once the node recovered its store and its threads run; ``starting`` while it
    recovers; ``degraded`` while its last chain call or job failed more recently than the
    last success; ``stopped`` (HTTP 503) when its threads are not running.

    \f
    Args:
        node: the node (dependency).
    """
    _, last_error, last_error_at = node.metrics.snapshot()
    running = node.running
    state: Literal["ok", "starting", "degraded", "stopped"]
    if not running:
        state = "stopped"
    elif not node.recovered:
        state = "starting"
    elif last_error and last_error_at > node.last_chain_ok:
        state = "degraded"
    else:
        state = "ok"
    body = HealthOut(
        status=state,
        node_running=running,
        recovered=node.recovered,
        provider=node.provider,
        signer=node.signer.address,
        meter_kind=node.meter.kind,
        chain_id=node.domain.chain_id,
        market=node.domain.market,
        running_job=node.running_job,
        running_jobs=node.running_jobs(),
        last_chain_ok=node.last_chain_ok or None,
        last_error=last_error or None,
        last_error_at=last_error_at or None,
        version=__version__,
    )
    if not running:
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    return body
