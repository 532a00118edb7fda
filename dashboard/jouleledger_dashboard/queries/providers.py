"""The provider page: totals, jobs by state, per-GPU work, disputes and slashes, and the
series behind its two charts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Connection, Row, bindparam, func, select

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

# Built once with a bound key (building a select per request cost as much as running it).
_KEY: BindParameter[str] = bindparam("key")
_PROVIDER = select(Provider.gpu_class, Provider.endpoint, Provider.jobs_settled,
                   Provider.earned, Provider.paid_out, Provider.energy_mj,
                   Provider.ai_tokens).where(Provider.address == _KEY)  # fmt: skip
_JOBS_BY_STATE = select(Job.state, func.count()).where(Job.provider == _KEY).group_by(Job.state)
_METER_KINDS = (
    select(ProviderClassStats.meter_kind).where(ProviderClassStats.provider == _KEY).distinct()
)
_SLASHES = select(Slash.amount, Slash.job_id, Slash.recipient, Slash.block_time,
                  Slash.tx_hash).where(Slash.provider == _KEY)  # fmt: skip
_DISPUTES = select(Dispute.job_id, Dispute.bond, Dispute.client, Dispute.client_wins,
                   Dispute.by_default, Dispute.opened_at, Dispute.resolved_at, Dispute.opened_tx,
                   Dispute.resolved_tx).where(Dispute.provider == _KEY)  # fmt: skip
#: Settled work per GPU and meter kind: read from the covering index
#: ``ix_jobs_provider_gpu`` (settled jobs only) without touching the jobs' rows.
_GPUS = (
    select(Job.gpu_id_hash, Job.meter_kind, func.count(), func.sum(Job.gpu_millis),
           func.sum(Job.energy_mj), func.sum(Job.ai_tokens))
    .where(Job.provider == _KEY, Job.gpu_id_hash.is_not(None))
    .group_by(Job.gpu_id_hash, Job.meter_kind)
)  # fmt: skip
#: The newest settlements, from the index ``ix_jobs_provider_settled``.
_SERIES = (
    select(Job.settled_at, Job.payment, Job.ai_tokens, Job.energy_mj)
    .where(Job.provider == _KEY, Job.settled_at.is_not(None))
    .order_by(Job.settled_at.desc(), Job.id.desc())
    .limit(SERIES_POINTS)
)


def provider_view(conn: Connection, address: str, key: str) -> ProviderView:
    """Everything the `/providers/{address}` page shows.

    Args:
        conn: a read connection to the index.
        address: the provider, checksummed (as shown).
        key: its stored address.

    Raises:
        NotFound: the address never registered nor ran a job.
    """
    at = {"key": key}
    provider = conn.execute(_PROVIDER, at).first()
    counts = conn.execute(_JOBS_BY_STATE, at)
    jobs_by_state = {state_name(s): int(n) for s, n in sorted(counts)}
    if provider is None and not jobs_by_state:
        raise NotFound(
            f"{address} is not a provider on this deployment (it never registered): see "
            f"/accounts/{address} for its account"
        )
    gpu_class, endpoint, settled, earned, paid_out, energy_mj, ai_tokens = provider or (
        None, None, 0, 0, 0, 0, 0
    )  # fmt: skip
    slashes = list(conn.execute(_SLASHES, at))
    return ProviderView(
        address=address,
        gpu_class=class_name(gpu_class) if provider is not None else None,
        endpoint=endpoint,
        meter_kinds=sorted(meter_name(k) for k in conn.scalars(_METER_KINDS, at)),
        jobs_by_state=jobs_by_state,
        jobs_settled=settled or 0,
        earned_cpt=cpt(earned),
        paid_out_cpt=cpt(paid_out),
        energy_j=joules(energy_mj),
        ai_tokens=int(ai_tokens or 0),
        tokens_per_joule=tpj(ai_tokens, energy_mj),
        gpus=gpu_rows(conn, key),
        disputes=dispute_rows(conn, key, slashes),
        slashed_cpt=cpt(cpt_sum(s.amount for s in slashes)),
    )


def gpu_rows(conn: Connection, key: str) -> list[GpuRow]:
    """The provider's settled work per GPU (by the record's GPU id hash) and meter kind.

    Args:
        conn: a read connection to the index.
        key: the provider's stored address.
    """
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
        for gpu, kind, n, millis, energy, tokens in conn.execute(_GPUS, {"key": key})
    ]


def dispute_rows(
    conn: Connection, key: str, slashes: list[Row[*tuple[Any, ...]]]
) -> list[DisputeRow]:
    """The provider's disputes and slashes, oldest first.

    Args:
        conn: a read connection to the index.
        key: the provider's stored address.
        slashes: its `_SLASHES` rows (already read).
    """
    rows = []
    for d in conn.execute(_DISPUTES, {"key": key}):
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


def provider_series(conn: Connection, address: str, key: str) -> Series:
    """The provider's newest settlements in time order: cumulative earnings and tokens per
    joule of each job, for the charts.

    Args:
        conn: a read connection to the index.
        address: the provider, checksummed.
        key: its stored address.
    """
    newest = conn.execute(_SERIES, {"key": key}).all()
    times, earnings, efficiency = [], [], []
    total = 0
    for settled_at, payment, tokens, energy in reversed(newest):
        total += int(payment or 0)
        times.append(int(settled_at or 0))
        earnings.append(total / WEI_PER_CPT)
        efficiency.append(tpj(tokens, energy))
    return Series(address=address, timestamps=times, earnings_cpt=earnings,
                  tokens_per_joule=efficiency)  # fmt: skip
