"""Event handlers of the job market: the job lifecycle, disputes, payouts, and the
provider and client totals they move.

Handlers are private and reached through `MARKET_HANDLERS`; those of an existing job get
its row (`_of_job`), and skip events of jobs the index never saw posted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jouleledger.types import JobState

from .columns import clamp_int64
from .context import ZERO, BatchContext
from .decoding import DecodedLog
from .models import Base, Dispute, Job, ProviderClassStats, ProviderDaily, table_of
from .writer import Row

DAY = 86_400
_JOB_COLUMNS = [c.name for c in table_of(Job).columns if c.name != "id"]
Handler = Callable[[BatchContext, DecodedLog], None]
JobHandler = Callable[[BatchContext, DecodedLog, Row], None]


def _of_job(handler: JobHandler) -> Handler:
    """`handler` called with the row of the event's job (not at all for unknown jobs)."""

    def run(ctx: BatchContext, log: DecodedLog) -> None:
        job = ctx.job(int(log.args["jobId"]), log.block_number)
        if job is not None:
            handler(ctx, log, job)

    run.__doc__ = handler.__doc__
    return run


def _job_posted(ctx: BatchContext, log: DecodedLog) -> None:
    """A new open job; the client's escrow grows."""
    a, block = log.args, log.block_number
    job_id = int(a["jobId"])
    designated = a["provider"] if a["provider"] != ZERO else None
    row = ctx.writer.edit(Job, (job_id,), block, {"id": job_id} | dict.fromkeys(_JOB_COLUMNS))
    assert row is not None
    bid, boost = int(a["bid"]), int(a["boost"])
    row.update(
        state=int(JobState.OPEN), client=a["client"], designated_provider=designated,
        gpu_class=a["gpuClass"], spec_hash=a["specHash"],
        price_per_gpu_second=int(a["pricePerGpuSecond"]), max_payment=int(a["maxPayment"]),
        bid=bid, boost=boost, priority=bid + boost, deadline=int(a["deadline"]),
        posted_at=ctx.time(log), posted_block=block, updated_block=block, post_tx=log.tx_hash,
    )  # fmt: skip
    escrow = row["max_payment"] + bid
    client = ctx.account(a["client"], block)
    client["jobs_posted"] += 1
    client["escrowed"] += escrow
    ctx.history(log, a["client"], "job_posted", amount=escrow, counterparty=designated)


@_of_job
def _bid_raised(ctx: BatchContext, log: DecodedLog, job: Row) -> None:
    """A higher bid; the client's escrow grows by the difference."""
    new_bid = int(log.args["bid"])
    ctx.account(job["client"], log.block_number)["escrowed"] += new_bid - job["bid"]
    job["bid"], job["priority"] = new_bid, int(log.args["priority"])
    ctx.history(log, job["client"], "bid_raised", amount=new_bid)


@_of_job
def _job_cancelled(ctx: BatchContext, log: DecodedLog, job: Row) -> None:
    """The escrow goes back to the client's credit."""
    refund = int(log.args["refund"])
    job.update(state=int(JobState.CANCELLED), refund=refund, cancelled_at=ctx.time(log))
    _release_escrow(ctx, job, log, refund=refund)
    ctx.history(log, job["client"], "job_cancelled", amount=refund)


@_of_job
def _job_claimed(ctx: BatchContext, log: DecodedLog, job: Row) -> None:
    """A provider took the job and locked stake for it."""
    provider, locked = log.args["provider"], int(log.args["lockedStake"])
    job.update(
        state=int(JobState.CLAIMED), provider=provider, locked_stake=locked,
        claimed_at=ctx.time(log),
    )  # fmt: skip
    ctx.provider(provider, log.block_number)["jobs_claimed"] += 1
    ctx.history(log, provider, "job_claimed", amount=locked, counterparty=job["client"])
    ctx.history(log, job["client"], "job_claimed", counterparty=provider)


@_of_job
def _job_settled(ctx: BatchContext, log: DecodedLog, job: Row) -> None:
    """Payment, usage (the record comes from the transaction's calldata), and the refund
    of the rest of the escrow."""
    a, block = log.args, log.block_number
    payment = int(a["payment"])
    refund = job["max_payment"] + job["bid"] - payment
    record: dict[str, Any] = ctx.usage.get(job["id"], {})
    gpu_millis = clamp_int64(int(record.get("gpuMillis", 0)))
    energy, tokens = clamp_int64(int(a["energyMj"])), clamp_int64(int(a["aiTokens"]))
    meter = int(record["meterKind"]) if "meterKind" in record else None
    job.update(
        state=int(JobState.SETTLED), payment=payment, refund=refund, settled_at=ctx.time(log),
        energy_mj=energy, ai_tokens=tokens, tokens_per_joule_e6=int(a["tokensPerJouleE6"]),
        gpu_millis=gpu_millis if record else None, meter_kind=meter,
        gpu_id_hash=record.get("gpuIdHash"), result_hash=record.get("resultHash"),
        usage_start=record.get("startTime"), usage_end=record.get("endTime"),
        settle_tx=log.tx_hash,
    )  # fmt: skip
    _release_escrow(ctx, job, log, refund=refund, spent=payment)
    provider = job["provider"]
    if provider is not None:
        totals = ctx.provider(provider, block)
        totals["jobs_settled"] += 1
        totals["earned"] += payment
        _add_work(totals, energy, tokens, gpu_millis)
        _add_stats(ctx, block, job, meter, payment, gpu_millis)
        ctx.history(log, provider, "job_settled", amount=payment, counterparty=job["client"])
    ctx.history(log, job["client"], "job_settled", amount=payment, counterparty=provider)
    if refund:
        ctx.history(log, job["client"], "job_refund", amount=refund)


@_of_job
def _job_expired(ctx: BatchContext, log: DecodedLog, job: Row) -> None:
    """The client gets the escrow back, the provider pays a penalty."""
    refund, penalty = int(log.args["refund"]), int(log.args["penalty"])
    job.update(
        state=int(JobState.EXPIRED), refund=refund, penalty=penalty, expired_at=ctx.time(log)
    )
    _release_escrow(ctx, job, log, refund=refund)
    _link_slashes(ctx, log)
    ctx.history(log, job["client"], "job_expired", amount=refund, counterparty=job["provider"])
    if job["provider"] is not None:
        ctx.provider(job["provider"], log.block_number)["jobs_expired"] += 1
        ctx.history(log, job["provider"], "job_expired", amount=penalty)


def _dispute_opened(ctx: BatchContext, log: DecodedLog) -> None:
    """The client put up a bond against the settlement."""
    a, block = log.args, log.block_number
    job_id = int(a["jobId"])
    job = ctx.job(job_id, block)
    provider = job["provider"] if job is not None else None
    if job is not None:
        job.update(state=int(JobState.DISPUTED), disputed_at=ctx.time(log))
    dispute = ctx.writer.edit(Dispute, (job_id,), block, {"job_id": job_id})
    assert dispute is not None
    dispute.update(
        client=a["client"], provider=provider, bond=int(a["bond"]), opened_at=ctx.time(log),
        opened_tx=log.tx_hash, resolved_at=None, client_wins=None, by_default=None,
        slashed=None, to_treasury=None, resolved_tx=None,
    )  # fmt: skip
    if provider is not None:
        ctx.provider(provider, block)["jobs_disputed"] += 1
    ctx.history(log, a["client"], "dispute_opened", amount=int(a["bond"]), counterparty=provider)
    ctx.history(log, provider, "dispute_opened", counterparty=a["client"])


def _dispute_resolved(ctx: BatchContext, log: DecodedLog) -> None:
    """Who won, by the arbiter or by default, and what was slashed."""
    a, block = log.args, log.block_number
    job_id, slashed = int(a["jobId"]), int(a["slashed"])
    dispute = ctx.writer.edit(Dispute, (job_id,), block)
    if dispute is not None:
        dispute.update(
            resolved_at=ctx.time(log), client_wins=bool(a["clientWins"]),
            by_default=bool(a["byDefault"]), slashed=slashed,
            to_treasury=int(a["toTreasury"]), resolved_tx=log.tx_hash,
        )  # fmt: skip
    _link_slashes(ctx, log)
    job = ctx.job(job_id, block)
    if job is not None:
        job.update(state=int(JobState.FINALIZED), resolved_at=ctx.time(log))
        for who in (job["client"], job["provider"]):
            ctx.history(log, who, "dispute_resolved", amount=slashed)


def _job_finalized(ctx: BatchContext, log: DecodedLog) -> None:
    """The provider's payout after the dispute window, less the fee."""
    a, block = log.args, log.block_number
    payout, fee = int(a["payout"]), int(a["fee"])
    job = ctx.job(int(a["jobId"]), block)
    if job is not None:
        job.update(
            state=int(JobState.FINALIZED), payout=payout, fee=fee, finalized_at=ctx.time(log)
        )
    totals = ctx.provider(a["provider"], block)
    totals["paid_out"] += payout
    totals["fees"] += fee
    ctx.history(log, a["provider"], "job_finalized", amount=payout)


def _withdrawn(ctx: BatchContext, log: DecodedLog) -> None:
    """An account took its credit, payouts and refunds out of the market."""
    ctx.history(log, log.args["account"], "withdrawn", amount=int(log.args["amount"]))


def _release_escrow(
    ctx: BatchContext, job: Row, log: DecodedLog, *, refund: int, spent: int = 0
) -> None:
    client = ctx.account(job["client"], log.block_number)
    client["escrowed"] = max(0, client["escrowed"] - (job["max_payment"] + job["bid"]))
    client["refunded"] += refund
    client["spent"] += spent


def _link_slashes(ctx: BatchContext, log: DecodedLog) -> None:
    for slash in ctx.slashes_by_tx.pop(log.tx_hash, []):
        slash["job_id"] = log.job_id


def _add_work(row: Row, energy: int, tokens: int, gpu_millis: int) -> None:
    row["energy_mj"] = clamp_int64(row["energy_mj"] + energy)
    row["ai_tokens"] = clamp_int64(row["ai_tokens"] + tokens)
    row["gpu_millis"] = clamp_int64(row["gpu_millis"] + gpu_millis)


def _add_stats(
    ctx: BatchContext, block: int, job: Row, meter: int | None, payment: int, gpu_millis: int
) -> None:
    provider, gpu_class = job["provider"], job["gpu_class"]
    meter_kind = -1 if meter is None else meter
    day = ctx.times[block] // DAY * DAY
    keyed: tuple[tuple[type[Base], tuple[Any, ...], Row], ...] = (
        (
            ProviderClassStats,
            (provider, gpu_class, meter_kind),
            {"provider": provider, "gpu_class": gpu_class, "meter_kind": meter_kind},
        ),
        (
            ProviderDaily,
            (provider, day, gpu_class),
            {"provider": provider, "day": day, "gpu_class": gpu_class},
        ),
    )
    for model, key, ident in keyed:
        zero = {"jobs_settled": 0, "earned": 0, "energy_mj": 0, "ai_tokens": 0, "gpu_millis": 0}
        row = ctx.writer.edit(model, key, block, ident | zero)
        assert row is not None
        row["jobs_settled"] += 1
        row["earned"] += payment
        _add_work(row, job["energy_mj"] or 0, job["ai_tokens"] or 0, gpu_millis)


MARKET_HANDLERS: dict[str, Handler] = {
    "JobPosted": _job_posted,
    "BidRaised": _bid_raised,
    "JobCancelled": _job_cancelled,
    "JobClaimed": _job_claimed,
    "JobSettled": _job_settled,
    "JobExpired": _job_expired,
    "DisputeOpened": _dispute_opened,
    "DisputeResolved": _dispute_resolved,
    "JobFinalized": _job_finalized,
    "Withdrawn": _withdrawn,
}
