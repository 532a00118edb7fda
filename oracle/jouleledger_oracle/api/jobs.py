"""``/jobs``: the jobs this node claimed, measured, signed and settled; run requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from ..store import RUN_STATES, JobRow, RunState
from .deps import JobIdPath, NodeDep, SettingsDep, lookup_route, not_found, write_route
from .models import JobList, JobOut, RunOut
from .views import job_out, job_summary

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", summary="List jobs", response_model=JobList)
def list_jobs(
    node: NodeDep,
    settings: SettingsDep,
    state: Annotated[RunState | None, Query(description="only jobs in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="jobs per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1, description="jobs to skip")] = 0,
) -> JobList:
    """The node's jobs, most recently changed first.

    \f
    Args:
        node: the node (dependency).
        settings: the API settings (dependency; the page size cap).
        state: only jobs in this state.
        limit: jobs per page.
        offset: jobs to skip.
    """
    states = (state,) if state is not None else RUN_STATES
    rows: list[JobRow] = []
    for one in states:
        rows.extend(node.store.jobs_in_state(one))
    rows.sort(key=lambda row: (row.updated_at, row.job_id), reverse=True)
    limit = min(limit, settings.max_page)
    page = rows[offset : offset + limit]
    return JobList(
        jobs=[job_summary(node, row) for row in page], total=len(rows), limit=limit, offset=offset
    )


@router.get("/{job_id}", **lookup_route("One job", JobOut, "the node never saw this job"))
def get_job(job_id: JobIdPath, node: NodeDep) -> JobOut:
    """The job's state, measurement, attestation and any problem holding it up.

    \f
    Args:
        job_id: the job.
        node: the node (dependency).

    Raises:
        HTTPException: 404 when the node never saw the job.
    """
    row = node.store.get_job(job_id)
    if row is None:
        raise not_found(f"this node has no job {job_id}")
    return job_out(node, row)


@router.post(
    "/{job_id}/run",
    **write_route(
        "Run and attest a job on request",
        RunOut,
        status.HTTP_202_ACCEPTED,
        s200="the node already measured this job",
        s404="no such job on the market",
        s409="the job is not for this provider, or finished",
        s503="the chain cannot be reached; try again",
    ),
)
def run_job(job_id: JobIdPath, node: NodeDep, response: Response) -> RunOut:
    """Run a job off the queue: one designated to this provider (the node claims it first)
    or one the provider already claimed. The worker runs it next; poll ``GET /jobs/{id}``
    or ``GET /attestations/{id}``. Jobs open to every provider are taken in bid order by
    the node itself, not on request (409).

    \f
    Args:
        job_id: the job.
        node: the node (dependency).
        response: to answer 200 for a known job.

    Raises:
        UnknownChainJob: 404; RunRefused: 409; ChainUnavailable: 503 (see `create_app`).
    """
    outcome = node.request_run(job_id)
    if outcome == "known":
        response.status_code = status.HTTP_200_OK
    row = node.store.get_job(job_id)
    return RunOut(job_id=job_id, status=outcome, job=job_out(node, row) if row else None)
