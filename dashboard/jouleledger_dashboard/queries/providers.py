"""The provider page: totals, jobs by state, per-GPU work, disputes and slashes, and the
series behind its two charts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jouleledger_indexer.models import Dispute, Job, Provider, ProviderClassStats, Slash

from ..errors import NotFound
from ..models import DisputeRow, GpuRow, ProviderView, Series
from .common import (
    checksum,
    class_name,
    cpt,
    cpt_sum,
    hex_or_dash,
    joules,
    meter_name,
    state_name,
    tpj,
)

SERIES_POINTS = 1000  # the newest settlements a chart shows
WEI_PER_CPT = 10**18


def provider_view(session: Session, address: str, key: str) -> ProviderView:
    """Everything the `/providers/{address}` page shows.

    Args:
        session: a read session on the index.
        address: the provider, checksummed (as shown).
        key: its stored address.

    Raises:
        NotFound: the address never registered nor ran a job.
    """
    provider = session.get(Provider, key)
    counts = session.execute(
        select(Job.state, func.count()).where(Job.provider == key).group_by(Job.state)
    )
    jobs_by_state = {state_name(s): int(n) for s, n in sorted(counts)}
    if provider is None and not jobs_by_state:
        raise NotFound(
            f"{address} is not a provider on this deployment (it never registered): see "
            f"/accounts/{address} for its account"
        )
    kinds = session.scalars(
        select(ProviderClassStats.meter_kind).where(ProviderClassStats.provider == key).distinct()
    )
    slashes = list(session.scalars(select(Slash).where(Slash.provider == key)))
    return ProviderView(
        address=address,
        gpu_class=class_name(provider.gpu_class) if provider is not None else None,
        endpoint=provider.endpoint if provider is not None else None,
        meter_kinds=sorted(meter_name(k) for k in kinds),
        jobs_by_state=jobs_by_state,
        jobs_settled=provider.jobs_settled if provider is not None else 0,
        earned_cpt=cpt(provider.earned if provider is not None else 0),
        paid_out_cpt=cpt(provider.paid_out if provider is not None else 0),
        energy_j=joules(provider.energy_mj if provider is not None else 0),
        ai_tokens=int(provider.ai_tokens or 0) if provider is not None else 0,
        tokens_per_joule=tpj(provider.ai_tokens, provider.energy_mj) if provider else 0.0,
        gpus=gpu_rows(session, key),
        disputes=dispute_rows(session, key, slashes),
        slashed_cpt=cpt(cpt_sum(s.amount for s in slashes)),
    )


def gpu_rows(session: Session, key: str) -> list[GpuRow]:
    """The provider's settled work per GPU (by the record's GPU id hash) and meter kind.

    Args:
        session: a read session on the index.
        key: the provider's stored address.
    """
    query = (
        select(
            Job.gpu_id_hash,
            Job.meter_kind,
            func.count(),
            func.sum(Job.gpu_millis),
            func.sum(Job.energy_mj),
            func.sum(Job.ai_tokens),
        )
        .where(Job.provider == key, Job.gpu_id_hash.is_not(None))
        .group_by(Job.gpu_id_hash, Job.meter_kind)
    )
    return [
        GpuRow(
            gpu_id_hash=hex_or_dash(gpu),
            meter_kind=meter_name(kind),
            jobs=int(n),
            gpu_seconds=round(int(millis or 0) / 1000, 3),
            energy_j=joules(energy),
            ai_tokens=int(tokens or 0),
            tokens_per_joule=tpj(tokens, energy),
        )
        for gpu, kind, n, millis, energy, tokens in session.execute(query)
    ]


def dispute_rows(session: Session, key: str, slashes: list[Slash]) -> list[DisputeRow]:
    """The provider's disputes and slashes, oldest first.

    Args:
        session: a read session on the index.
        key: the provider's stored address.
        slashes: its slashes (already read).
    """
    rows = []
    for d in session.scalars(select(Dispute).where(Dispute.provider == key)):
        if d.client_wins is None:
            outcome = "open: the arbiter has not decided"
        else:
            side = "client" if d.client_wins else "provider"
            outcome = f"{side} won" + (" (by default)" if d.by_default else "")
        rows.append(
            DisputeRow(
                kind="dispute",
                job_id=d.job_id,
                amount_cpt=cpt(d.bond),
                detail=f"bond posted by {checksum(d.client)}; {outcome}",
                timestamp=d.resolved_at or d.opened_at or 0,
                tx_hash=d.resolved_tx or d.opened_tx or "",
            )
        )
    for s in slashes:
        rows.append(
            DisputeRow(
                kind="slash",
                job_id=s.job_id,
                amount_cpt=cpt(s.amount),
                detail=f"to {checksum(s.recipient)}",
                timestamp=s.block_time or 0,
                tx_hash=s.tx_hash,
            )
        )
    return sorted(rows, key=lambda r: r.timestamp)


def provider_series(session: Session, address: str, key: str) -> Series:
    """The provider's newest settlements in time order: cumulative earnings and tokens per
    joule of each job, for the charts.

    Args:
        session: a read session on the index.
        address: the provider, checksummed.
        key: its stored address.
    """
    newest = session.execute(
        select(Job.settled_at, Job.payment, Job.ai_tokens, Job.energy_mj)
        .where(Job.provider == key, Job.settled_at.is_not(None))
        .order_by(Job.settled_at.desc(), Job.id.desc())
        .limit(SERIES_POINTS)
    ).all()
    times, earnings, efficiency = [], [], []
    total = 0
    for settled_at, payment, tokens, energy in reversed(newest):
        total += int(payment or 0)
        times.append(int(settled_at or 0))
        earnings.append(total / WEI_PER_CPT)
        efficiency.append(tpj(tokens, energy))
    return Series(address=address, timestamps=times, earnings_cpt=earnings,
                  tokens_per_joule=efficiency)  # fmt: skip
