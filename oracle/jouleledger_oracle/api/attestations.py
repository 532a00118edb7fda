"""``/attestations``: the oracle's stored signature over a job's usage record."""

from __future__ import annotations

from fastapi import APIRouter

from .deps import JobIdPath, NodeDep, lookup_route, not_found
from .models import AttestationOut
from .views import attestation_out

router = APIRouter(prefix="/attestations", tags=["attestations"])


@router.get(
    "/{job_id}",
    **lookup_route("A job's attestation", AttestationOut, "the job is not signed (yet)"),
)
def get_attestation(job_id: JobIdPath, node: NodeDep) -> AttestationOut:
    """The signed usage record of a job. The node signs a job once and stores the
    signature first, so this returns the same bytes every time, also after restarts.

    \f
    Args:
        job_id: the job.
        node: the node (dependency).

    Raises:
        HTTPException: 404 when the job is not signed.
    """
    found = attestation_out(node, job_id)
    if found is None:
        row = node.store.get_job(job_id)
        state = f"is {row.state}" if row is not None else "is unknown to this node"
        raise not_found(f"job {job_id} {state}: no attestation")
    return found
