"""Turning the node's and the store's objects into API bodies."""

from __future__ import annotations

from dataclasses import asdict

from ..attestation import Measurement, record_message
from ..node import JobIssue, OracleNode
from ..signer import recover_signer
from ..store import JobRow
from .models import AttestationOut, IssueOut, JobOut, JobSummary


def issue_out(issue: JobIssue | None) -> IssueOut | None:
    """The API body of a job's issue.

    Args:
        issue: the node's record of why the job is stuck, or None.
    """
    if issue is None:
        return None
    return IssueOut(
        stage=issue.stage,
        message=issue.message,
        attempts=issue.attempts,
        permanent=issue.permanent,
        retry_at=None if issue.permanent else issue.retry_at,
        at=issue.at,
    )


def attestation_out(node: OracleNode, job_id: int) -> AttestationOut | None:
    """The stored signature of `job_id` with the record it signs, or None.

    Args:
        node: the node whose store holds it.
        job_id: the job.

    Raises:
        StoreError: the stored measurement is malformed.
    """
    attestation = node.store.get_attestation(job_id)
    stored = node.store.get_measurement(job_id)
    if attestation is None or stored is None:
        return None
    record = Measurement.from_fields(stored.record).usage_record()
    digest = bytes.fromhex(attestation.digest[2:])
    signature = bytes.fromhex(attestation.signature[2:])
    return AttestationOut(
        job_id=job_id,
        signer=recover_signer(digest, signature),
        digest=attestation.digest,
        signature=attestation.signature,
        chain_id=node.domain.chain_id,
        market=node.domain.market,
        record=record_message(record),
        signed_at=attestation.created_at,
    )


def job_summary(node: OracleNode, row: JobRow) -> JobSummary:
    """One line of ``GET /jobs``.

    Args:
        node: the node (for the job's issue).
        row: the job's store row.
    """
    issue = node.issue(row.job_id)
    return JobSummary(**asdict(row), issue=issue.message if issue else None)


def job_out(node: OracleNode, row: JobRow) -> JobOut:
    """Everything the node knows about one job.

    Args:
        node: the node (store, queue, issues).
        row: the job's store row.

    Raises:
        StoreError: the stored measurement is malformed.
    """
    stored = node.store.get_measurement(row.job_id)
    return JobOut(
        **asdict(row),  # job_id, state, settle_tx, created_at, updated_at
        queued=node.queued(row.job_id),
        running=node.running_job == row.job_id,
        measurement=stored.record if stored is not None else None,
        attestation=attestation_out(node, row.job_id),
        issue=issue_out(node.issue(row.job_id)),
    )
