"""How ``jl job`` shows jobs: their JSON form, the ``show`` and ``list`` tables, and the
names of their queues. The commands themselves (`jouleledger.cli.jobs`) read the chain and
send transactions; this module only turns what they read into output."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table

from ..efficiency import MILLIJOULES_PER_JOULE, from_e6
from ..gpu import gpu_class_name
from ..types import Job, JobState
from .output import cpt, key_value_table, plain, relative, short, when


def job_json(job: Job) -> dict[str, Any]:
    """A job as JSON: amounts as CPT strings, state and class by name.

    Args:
        job: the job as the market reports it.
    """
    return {
        "id": job.id,
        "state": job.state.name.lower(),
        "gpu_class": gpu_class_name(job.gpu_class),
        "client": job.client,
        "provider": job.provider,
        "price_per_gpu_second": plain(job.price_per_gpu_second),
        "max_payment": plain(job.max_payment),
        "bid": plain(job.bid),
        "payment": plain(job.payment),
        "refund": plain(job.refund),
        "refund_withdrawn": job.refund_withdrawn,
        "deadline": job.deadline,
        "settled_at": job.settled_at,
        "fee_bps": job.fee_bps,
        "boost": plain(job.boost),
        "priority": plain(job.priority),
        "level": job.level,
        "terms_version": job.terms_version,
    }


def settlement_json(settled: Mapping[str, Any], dispute_window_ends: int) -> dict[str, Any]:
    """What a job's `JobSettled` event adds to its JSON.

    Args:
        settled: the event's ``args``.
        dispute_window_ends: when the job's dispute window closes (unix seconds).
    """
    return {
        "energy_joules": int(settled["energyMj"]) / MILLIJOULES_PER_JOULE,
        "ai_tokens": int(settled["aiTokens"]),
        "tokens_per_joule": from_e6(int(settled["tokensPerJouleE6"])),
        "dispute_window_ends": dispute_window_ends,
    }


def job_table(
    job: Job,
    settled: Mapping[str, Any] | None,
    *,
    spec_hash: str | None,
    dispute_bond: int,
    window: int,
    now: int,
) -> Table:
    """``jl job show``'s table: state and terms, what is live while the job is open or
    claimed, its settlement once settled, and the terms it was posted under.

    Args:
        job: the job.
        settled: its `JobSettled` event's ``args``, or None before settlement.
        spec_hash: the spec hash it was posted with, as 0x-hex (None: unknown).
        dispute_bond: the bond of the job's terms.
        window: the dispute window, in seconds.
        now: the chain's time.
    """
    rows = [
        ("state", job.state.name.lower()),
        ("gpu class", gpu_class_name(job.gpu_class)),
        ("client", job.client),
        ("provider", str(job.provider or "any eligible provider")),
        ("price", f"up to {cpt(job.price_per_gpu_second)}/GPU-s"),
    ]
    if job.state in (JobState.OPEN, JobState.CLAIMED):
        rows += [
            ("max payment", cpt(job.max_payment)),
            ("bid", cpt(job.bid)),
            ("boost", f"{cpt(job.boost)} (from locked holdings, fixed at posting)"),
            ("priority", f"{cpt(job.priority)} (level {job.level})"),
            ("deadline", when(job.deadline, now)),
        ]
    if settled:
        figures = settlement_json(settled, job.settled_at + window)
        rows += [
            ("payment", cpt(job.payment)),
            ("refund", f"{cpt(job.refund)}{' (withdrawn)' if job.refund_withdrawn else ''}"),
            ("settled", when(job.settled_at, now)),
            ("dispute until", when(figures["dispute_window_ends"], now)),
            ("energy", f"{figures['energy_joules']:,.3f} J"),
            ("ai tokens", f"{figures['ai_tokens']:,}"),
            ("tokens/joule", f"{figures['tokens_per_joule']:,.3f}"),
        ]
    rows += [
        ("fee", f"{job.fee_bps / 100:g}% (terms v{job.terms_version})"),
        ("dispute bond", f"{cpt(dispute_bond)} (terms v{job.terms_version})"),
        ("spec hash", spec_hash or "-"),
    ]
    return key_value_table(rows, title=f"job {job.id}")


def jobs_table(found: Sequence[tuple[int | None, Job]], *, open_only: bool, now: int) -> Table:
    """``jl job list``'s table: the open queue by priority, or the most recent jobs.

    Args:
        found: (rank in its queue or None, job), in the order to show.
        open_only: the open queue (a rank column, no state column).
        now: the chain's time, for the deadlines.
    """
    table = Table(title="open jobs by priority" if open_only else "recent jobs")
    if open_only:
        table.add_column("#", justify="right")
    table.add_column("job", justify="right")
    table.add_column("class")
    if not open_only:
        table.add_column("state")
    for column in ("bid", "boost", "priority", "max payment", "price/GPU-s"):
        table.add_column(column, justify="right")
    table.add_column("deadline")
    table.add_column("client", no_wrap=True)
    for position, job in found:
        live = job.state in (JobState.OPEN, JobState.CLAIMED)
        table.add_row(
            *([str(position)] if open_only else []),
            str(job.id),
            gpu_class_name(job.gpu_class),
            *([] if open_only else [job.state.name.lower()]),
            cpt(job.bid) if live else "-",
            cpt(job.boost) if job.boost else "-",
            f"{cpt(job.priority)} (L{job.level})" if live else "-",
            cpt(job.max_payment) if live else "-",
            cpt(job.price_per_gpu_second),
            relative(job.deadline, now) if live else "-",
            short(job.client),
        )
    return table


def queue_name(job: Job) -> str:
    """The queue `job` waits in: its class's, or its designated provider's.

    Args:
        job: the job.
    """
    name = gpu_class_name(job.gpu_class)
    return f"queue of {name} jobs for {job.provider}" if job.provider else f"{name} queue"
