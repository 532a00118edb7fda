"""The job page (lifecycle, usage record, money), the index's head, and what a transaction
hash leads to."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from jouleledger_indexer.models import AccountTx, Block, Event, Job, SyncState

from ..errors import NotFound
from ..models import JobView, TimelineRow, UsageView
from .common import (
    SQL_INT_MAX,
    checksum,
    class_name,
    cpt,
    hex_or_dash,
    joules,
    meter_name,
    state_name,
    tpj,
)

#: Event arguments shown in a timeline step, in this order, and how.
_AMOUNTS = ("maxPayment", "bid", "boost", "payment", "refund", "penalty", "payout", "fee",
            "bond", "slashed", "toTreasury", "lockedStake", "amount")  # fmt: skip
_PLAIN = ("provider", "client", "clientWins", "byDefault", "energyMj", "aiTokens")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _detail(args_json: str | None) -> str:
    """An event's arguments as one line (amounts in CPT); untrusted text, escaped later."""
    try:
        args: dict[str, Any] = json.loads(args_json or "{}")
    except ValueError:
        return ""
    parts = [f"{name} {cpt(int(args[name]))} CPT" for name in _AMOUNTS if name in args]
    for name in _PLAIN:
        value = args.get(name)
        if isinstance(value, bool):
            parts.append(f"{name} {'yes' if value else 'no'}")
        elif isinstance(value, str) and _ADDRESS.match(value):
            if int(value, 16):  # the zero address means "none": leave it out
                parts.append(f"{name} {checksum(value)}")
        elif value is not None:
            parts.append(f"{name} {value}")
    return ", ".join(parts)


def job_view(conn: Connection, job_id: int) -> JobView:
    """Everything the `/jobs/{id}` page shows.

    Args:
        conn: a read connection to the index.
        job_id: a parsed job id.

    Raises:
        NotFound: the index has no such job.
    """
    with Session(conn) as session:
        return _job_view(session, job_id)


def _job_view(session: Session, job_id: int) -> JobView:
    job = session.get(Job, job_id) if job_id <= SQL_INT_MAX else None
    if job is None:
        newest = session.scalar(select(Job.id).order_by(Job.id.desc()).limit(1))
        known = f"the newest indexed job is {newest}" if newest else "no job is indexed yet"
        raise NotFound(f"job {job_id} is not on this market ({known})")
    events = session.scalars(
        select(Event).where(Event.job_id == job_id).order_by(Event.block_number, Event.log_index)
    )
    timeline = [
        TimelineRow(
            kind=e.name,
            block=e.block_number,
            timestamp=e.block_time or 0,
            tx_hash=e.tx_hash,
            detail=_detail(e.args),
        )
        for e in events
    ]
    return JobView(
        job_id=job.id,
        state=state_name(job.state),
        client=checksum(job.client) or "-",
        provider=checksum(job.provider),
        gpu_class=class_name(job.gpu_class),
        price_per_gpu_second_cpt=cpt(job.price_per_gpu_second),
        max_payment_cpt=cpt(job.max_payment),
        bid_cpt=cpt(job.bid),
        boost_cpt=cpt(job.boost),
        deadline=job.deadline or 0,
        payment_cpt=None if job.payment is None else cpt(job.payment),
        refund_cpt=None if job.refund is None else cpt(job.refund),
        fee_cpt=None if job.fee is None else cpt(job.fee),
        timeline=timeline,
        usage=_usage(job),
    )


def _usage(job: Job) -> UsageView | None:
    if job.energy_mj is None or job.meter_kind is None:
        return None
    return UsageView(
        gpu_seconds=round(int(job.gpu_millis or 0) / 1000, 3),
        energy_j=joules(job.energy_mj),
        ai_tokens=int(job.ai_tokens or 0),
        tokens_per_joule=tpj(job.ai_tokens, job.energy_mj),
        meter_kind=meter_name(job.meter_kind),
        gpu_id_hash=hex_or_dash(job.gpu_id_hash),
        result_hash=hex_or_dash(job.result_hash),
        start_time=job.usage_start or 0,
        end_time=job.usage_end or 0,
    )


_HEAD = (
    select(SyncState.indexed_block, Block.timestamp, SyncState.indexed_hash)
    .outerjoin(Block, Block.number == SyncState.indexed_block)
    .where(SyncState.id == 1)
)


def indexed_head(conn: Connection) -> tuple[int, int, str | None]:
    """The newest block the index holds, its time and its hash (``(-1, 0, None)`` before the
    first sync).

    Args:
        conn: a read connection to the index.
    """
    row = conn.execute(_HEAD).first()
    if row is None or row[0] is None:
        return -1, 0, None
    return int(row[0]), int(row[1] or 0), row[2]


def tx_target(conn: Connection, tx_hash: str) -> str:
    """The page a transaction hash leads to: its job's, else the first account it touched.

    Args:
        conn: a read connection to the index.
        tx_hash: a parsed, lower-case hash.

    Raises:
        NotFound: the index has no event from that transaction.
    """
    job_id = conn.scalar(
        select(Event.job_id).where(Event.tx_hash == tx_hash, Event.job_id.is_not(None)).limit(1)
    )
    if job_id is not None:
        return f"/jobs/{job_id}"
    account = conn.scalar(select(AccountTx.account).where(AccountTx.tx_hash == tx_hash).limit(1))
    if account is not None:
        return f"/accounts/{account}"
    raise NotFound(
        f"no indexed event comes from transaction {tx_hash}: it is not a JouleLedger "
        "transaction, or the index has not reached its block yet"
    )
