"""``/jobs``: the jobs this node claimed, measured, signed and settled; run requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status

from ..store import JOB_STATES, JobRow, JobState
from .deps import Authorized, JobIdPath, NodeDep, SettingsDep
from .models import JobList, JobOut, Problem, RunOut
from .views import job_out, job_summary

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", summary="List jobs", response_model=JobList)
def list_jobs(
    node: NodeDep,
    settings: SettingsDep,
    state: Annotated[JobState | None, Query(description="only jobs in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="jobs per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1, description="jobs to skip")] = 0,
) -> JobList:
    """The node's jobs, most recently changed first."""
    states = (state,) if state is not None else JOB_STATES
    rows: list[JobRow] = []
    for one in states:
        rows.extend(node.store.jobs_in_state(one))
    rows.sort(key=lambda row: (row.updated_at, row.job_id), reverse=True)
    limit = min(limit, settings.max_page)
    page = rows[offset : offset + limit]
    return JobList(
        jobs=[job_summary(node, row) for row in page], total=len(rows), limit=limit, offset=offset
    )


@router.get(
    "/{job_id}",
    summary="One job",
    response_model=JobOut,
    responses={404: {"model": Problem, "description": "the node never saw this job"}},
)
def get_job(job_id: JobIdPath, node: NodeDep) -> JobOut:
    """The job's state, measurement, attestation and any problem holding it up."""
    row = node.store.get_job(job_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"this node has no job {job_id}")
    return job_out(node, row)


@router.post(
    "/{job_id}/run",
    summary="Run and attest a job on request",
    response_model=RunOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Authorized],
    responses={
        200: {"model": RunOut, "description": "the node already measured this job"},
        401: {"model": Problem, "description": "missing or wrong API token"},
        403: {"model": Problem, "description": "write endpoints are disabled"},
        404: {"model": Problem, "description": "no such job on the market"},
        409: {"model": Problem, "description": "the job is not for this provider, or finished"},
        503: {"model": Problem, "description": "the chain cannot be reached; try again"},
    },
)
def run_job(job_id: JobIdPath, node: NodeDep, response: Response) -> RunOut:
    """Run a job off the queue: one designated to this provider (the node claims it first)
    or one the provider already claimed. The worker runs it next; poll ``GET /jobs/{id}``
    or ``GET /attestations/{id}``. Jobs open to every provider are taken in bid order by
    the node itself, not on request (409)."""
    outcome = node.request_run(job_id)
    if outcome == "known":
        response.status_code = status.HTTP_200_OK
    row = node.store.get_job(job_id)
    return RunOut(job_id=job_id, status=outcome, job=job_out(node, row) if row else None)
