"""``/attestations``: the oracle's stored signature over a job's usage record."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from .deps import JobIdPath, NodeDep
from .models import AttestationOut, Problem
from .views import attestation_out

router = APIRouter(prefix="/attestations", tags=["attestations"])


@router.get(
    "/{job_id}",
    summary="A job's attestation",
    response_model=AttestationOut,
    responses={404: {"model": Problem, "description": "the job is not signed (yet)"}},
)
def get_attestation(job_id: JobIdPath, node: NodeDep) -> AttestationOut:
    """The signed usage record of a job. The node signs a job once and stores the
    signature first, so this returns the same bytes every time, also after restarts."""
    found = attestation_out(node, job_id)
    if found is None:
        row = node.store.get_job(job_id)
        state = f"is {row.state}" if row is not None else "is unknown to this node"
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} {state}: no attestation")
    return found
