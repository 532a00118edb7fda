"""Response and request bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..store import RunState


class Problem(BaseModel):
    """An error: what went wrong and, where it helps, what to do."""

    detail: str


class IssueOut(BaseModel):
    """Why a job is not moving."""

    stage: Literal["run", "settle"]
    message: str
    attempts: int
    permanent: bool = Field(description="the node will not retry it before a restart")
    retry_at: float | None = Field(description="unix time of the next try; null when permanent")
    at: float


class AttestationOut(BaseModel):
    """The oracle's signature over a job's usage record: the same bytes on every request."""

    job_id: int
    signer: str = Field(description="the address the signature recovers to")
    digest: str = Field(description="EIP-712 digest of the record (recordDigest on chain)")
    signature: str = Field(description="65 bytes, r || s || v")
    chain_id: int
    market: str
    record: dict[str, Any] = Field(description="the signed UsageRecord (EIP-712 message)")
    signed_at: float


class JobSummary(BaseModel):
    """A job in the node's store."""

    job_id: int
    state: RunState
    settle_tx: str | None
    created_at: float
    updated_at: float
    issue: str | None = Field(default=None, description="why it is stuck, if it is")


class JobList(BaseModel):
    """One page of jobs, most recently changed first."""

    jobs: list[JobSummary]
    total: int
    limit: int
    offset: int


class JobOut(BaseModel):
    """Everything the node knows about one job."""

    job_id: int
    state: RunState
    queued: bool = Field(description="waiting to be run by the worker")
    running: bool = Field(description="being run now")
    settle_tx: str | None
    created_at: float
    updated_at: float
    measurement: dict[str, Any] | None = Field(
        description="what was measured (the signed record's fields plus context)"
    )
    attestation: AttestationOut | None
    issue: IssueOut | None


class RunOut(BaseModel):
    """The answer to a run request."""

    job_id: int
    status: Literal["queued", "known"] = Field(
        description="queued: the worker will run it; known: already measured"
    )
    job: JobOut | None


class GpuStatsOut(BaseModel):
    """What one GPU measured and earned."""

    gpu_index: int
    gpu_uuid: str
    gpu_id_hash: str
    meter_kind: str
    jobs_measured: int
    jobs_settled: int
    energy_mj: int
    ai_tokens: int
    tokens_per_joule: float
    earned_wei: int = Field(description="payments of settled jobs (usage + bid), before fees")
    name: str | None = Field(default=None, description="the model, for a GPU the node runs on")
    running_job: int | None = Field(default=None, description="the job it runs now, if any")


class StatsOut(BaseModel):
    """The node's efficiency and earnings."""

    provider: str
    signer: str
    meter_kind: str
    jobs: dict[str, int]
    energy_mj: int
    ai_tokens: int
    tokens_per_joule: float
    earned_wei: int
    withdrawn_wei: int = Field(description="withdrawn by this process since it started")
    gpus: list[GpuStatsOut]


class HealthOut(BaseModel):
    """Whether the node works."""

    status: Literal["ok", "starting", "degraded", "stopped"]
    node_running: bool
    recovered: bool
    provider: str
    signer: str
    meter_kind: str
    chain_id: int
    market: str
    running_job: int | None
    running_jobs: dict[str, int] = Field(
        default_factory=dict, description="the job each busy GPU runs, by GPU UUID"
    )
    last_chain_ok: float | None
    last_error: str | None
    last_error_at: float | None
    version: str


class SpecOut(BaseModel):
    """A registered job spec."""

    spec_hash: str
    spec: dict[str, Any]


class SpecList(BaseModel):
    """Registered specs, and the default one run for unknown spec hashes."""

    specs: list[SpecOut]
    default: SpecOut | None
