"""The market page: classes (open queue, bids, boosts, prices), recent settlements and the
efficiency leaderboard."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from jouleledger.types import ClassStatus, JobState
from jouleledger_indexer.models import Job, Provider, ProviderClassStats

from ..models import ClassRow, Leaderboard, LeaderRow, MarketView, SettlementRow
from .common import checksum, class_name, cpt, joules, meter_name, tpj

RECENT_SETTLEMENTS = 20

StatusOf = Callable[[bytes], ClassStatus]


def market_view(conn: Connection, status_of: StatusOf | None) -> MarketView:
    """Everything the `/` page shows.

    Args:
        conn: a read connection to the index.
        status_of: the live queue status of a class (None: from the index alone, and no
            class is shown as busy).
    """
    with Session(conn) as session:
        return MarketView(
            classes=class_rows(session, status_of),
            settlements=recent_settlements(session),
            leaderboards=leaderboards(session),
        )


def class_rows(session: Session, status_of: StatusOf | None) -> list[ClassRow]:
    """One row per GPU class that has a provider or an open job.

    Args:
        session: a read session on the index.
        status_of: the live queue status of a class, or None.
    """
    open_jobs = (
        select(
            Job.gpu_class,
            func.count(),
            func.max(Job.bid),
            func.max(Job.boost),
            func.min(Job.price_per_gpu_second),
            func.max(Job.price_per_gpu_second),
        )
        .where(Job.state == int(JobState.OPEN))
        .group_by(Job.gpu_class)
    )
    boosted = (
        select(Job.gpu_class, func.count())
        .where(Job.state == int(JobState.OPEN), Job.boost > 0)
        .group_by(Job.gpu_class)
    )
    stats = {row[0]: row for row in session.execute(open_jobs)}
    boosted_counts = {c: int(n) for c, n in session.execute(boosted)}
    classes = set(stats) | set(session.scalars(select(Provider.gpu_class).distinct()))
    rows = []
    for stored in sorted(c for c in classes if c):
        _, count, max_bid, max_boost, min_price, max_price = stats.get(
            stored, (stored, 0, 0, 0, None, None)
        )
        live = status_of(bytes.fromhex(stored[2:])) if status_of is not None else None
        rows.append(
            ClassRow(
                gpu_class=class_name(stored),
                open_jobs=live.open_jobs if live is not None else int(count),
                busy=bool(live and live.busy),
                busy_threshold=live.busy_threshold if live is not None else 0,
                max_bid_cpt=cpt(max_bid),
                max_boost_cpt=cpt(max_boost),
                boosted_open=boosted_counts.get(stored, 0),
                min_price_cpt=None if min_price is None else cpt(min_price),
                max_price_cpt=None if max_price is None else cpt(max_price),
            )
        )
    return rows


def recent_settlements(session: Session, limit: int = RECENT_SETTLEMENTS) -> list[SettlementRow]:
    """The newest settled jobs.

    Args:
        session: a read session on the index.
        limit: how many.
    """
    newest = Job.settled_at.desc(), Job.id.desc()
    jobs = session.scalars(
        select(Job).where(Job.settled_at.is_not(None)).order_by(*newest).limit(limit)
    )
    return [
        SettlementRow(
            job_id=job.id,
            provider=checksum(job.provider),
            gpu_class=class_name(job.gpu_class),
            payment_cpt=cpt(job.payment),
            tokens_per_joule=tpj(job.ai_tokens, job.energy_mj),
            meter_kind=meter_name(job.meter_kind) if job.meter_kind is not None else None,
            timestamp=job.settled_at or 0,
            tx_hash=job.settle_tx or "",
        )
        for job in jobs
    ]


def leaderboards(session: Session) -> list[Leaderboard]:
    """Providers ranked by tokens per joule in each GPU class, one board per meter kind,
    so a simulated meter is never ranked against a real one (real meters first).

    Args:
        session: a read session on the index.
    """
    boards: dict[str, list[LeaderRow]] = {}
    for stat in session.scalars(select(ProviderClassStats)):
        if not stat.energy_mj:
            continue
        kind = meter_name(stat.meter_kind)
        boards.setdefault(kind, []).append(
            LeaderRow(
                rank=0,
                provider=checksum(stat.provider) or "-",
                gpu_class=class_name(stat.gpu_class),
                meter_kind=kind,
                jobs=stat.jobs_settled,
                energy_j=joules(stat.energy_mj),
                ai_tokens=int(stat.ai_tokens or 0),
                tokens_per_joule=tpj(stat.ai_tokens, stat.energy_mj),
            )
        )
    result = []
    for kind in sorted(boards, key=lambda k: (k != "nvml", k)):
        rows = sorted(boards[kind], key=lambda r: (-r.tokens_per_joule, r.provider))
        ranked = [row.model_copy(update={"rank": n}) for n, row in enumerate(rows, start=1)]
        result.append(Leaderboard(meter_kind=kind, rows=ranked))
    return result
