"""Event handlers of the token, staking and holdings vault contracts, and `apply`, which
stores each event and runs its handler (the market's are in `market_handlers`).

Handlers are private and reached through `HANDLERS`; every event is also stored as it is
(`BatchContext.record`), also those without a handler.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from .context import ZERO, BatchContext
from .decoding import DecodedLog
from .market_handlers import MARKET_HANDLERS
from .models import HoldingsChange, Slash, Transfer

Handler = Callable[[BatchContext, DecodedLog], None]


def _transfer(ctx: BatchContext, log: DecodedLog) -> None:
    """Balances, the transfers table and both sides' history."""
    a = log.args
    sender, receiver, value = a["from"], a["to"], int(a["value"])
    block = log.block_number
    ctx.writer.append(
        Transfer, ctx.at_log(log, from_address=sender, to_address=receiver, value=value)
    )
    if sender != ZERO:
        ctx.account(sender, block)["balance"] -= value
        ctx.history(log, sender, "transfer_out", amount=value, counterparty=receiver)
    if receiver != ZERO:
        ctx.account(receiver, block)["balance"] += value
        ctx.history(log, receiver, "transfer_in", amount=value, counterparty=sender)


def _staked(ctx: BatchContext, log: DecodedLog) -> None:
    """The provider's stake (the event carries the new total)."""
    who = log.args["provider"]
    ctx.provider(who, log.block_number)["stake"] = int(log.args["stake"])
    ctx.history(log, who, "staked", amount=int(log.args["amount"]))


def _unbonding_requested(ctx: BatchContext, log: DecodedLog) -> None:
    """Stake moves to unbonding, ready at ``readyAt``."""
    a = log.args
    row = ctx.provider(a["provider"], log.block_number)
    row["stake"] -= int(a["amount"])
    row["unbonding"] = int(a["unbonding"])
    row["unbonding_ready_at"] = int(a["readyAt"])
    ctx.history(log, a["provider"], "unbonding_requested", amount=int(a["amount"]))


def _unbonded_withdrawn(ctx: BatchContext, log: DecodedLog) -> None:
    """Unbonded stake left the contract."""
    a = log.args
    row = ctx.provider(a["provider"], log.block_number)
    row["unbonding"] -= int(a["amount"])
    if row["unbonding"] == 0:
        row["unbonding_ready_at"] = None
    ctx.history(log, a["provider"], "unbonded_withdrawn", amount=int(a["amount"]))


def _slashed(ctx: BatchContext, log: DecodedLog) -> None:
    """Taken from the stake first, then from unbonding (as the contract does); the job is
    filled in by the market event of the same transaction."""
    a = log.args
    amount = int(a["amount"])
    row = ctx.provider(a["provider"], log.block_number)
    from_stake = min(amount, row["stake"])
    row["stake"] -= from_stake
    row["unbonding"] -= min(amount - from_stake, row["unbonding"])
    row["slashed"] += amount
    slash = ctx.at_log(
        log, provider=a["provider"], amount=amount, recipient=a["recipient"], job_id=None
    )
    ctx.writer.append(Slash, slash)
    ctx.slashes_by_tx.setdefault(log.tx_hash, []).append(slash)
    ctx.history(log, a["provider"], "slashed", amount=amount, counterparty=a["recipient"])


def _registration(ctx: BatchContext, log: DecodedLog, kind: str) -> None:
    """``ProviderRegistered`` / ``ProviderUpdated``: signer, class, ask and endpoint."""
    a = log.args
    row = ctx.provider(a["provider"], log.block_number)
    row.update(
        signer=a["signer"],
        gpu_class=a["gpuClass"],
        ask_price_per_gpu_second=int(a["askPricePerGpuSecond"]),
        endpoint=a["endpoint"],
    )
    if "index" in a:
        row["index"] = int(a["index"])
        row["registered_at"] = ctx.time(log)
    if row["pending_ask"] is not None and row["pending_ask"] == row["ask_price_per_gpu_second"]:
        row["pending_ask"] = row["pending_ask_at"] = None
    ctx.history(log, a["provider"], kind)


def _ask_increase_scheduled(ctx: BatchContext, log: DecodedLog) -> None:
    """A higher ask, in force from ``effectiveAt``."""
    row = ctx.provider(log.args["provider"], log.block_number)
    row["pending_ask"] = int(log.args["ask"])
    row["pending_ask_at"] = int(log.args["effectiveAt"])


def _holdings(ctx: BatchContext, log: DecodedLog, kind: str) -> None:
    """``HoldingsLocked`` / ``HoldingsUnlocked`` / ``BoostUsed``: the holder's locked total,
    when it counts, and the boost it used this epoch."""
    a = log.args
    holder, amount = a["holder"], int(a.get("amount", a.get("boost", 0)))
    row = ctx.account(holder, log.block_number)
    locked = a.get("locked")
    if locked is not None:
        row["holdings_locked"] = int(locked)
    if "warmAt" in a:
        row["holdings_warm_at"] = int(a["warmAt"])
    if kind == "boost_used":
        row["boost_used"] = int(a["used"])
        row["boost_capacity"] = int(a["capacity"])
        row["boost_backed_until"] = int(a["backedUntil"])
    change = ctx.at_log(
        log,
        holder=holder,
        kind=kind,
        amount=amount,
        locked_after=None if locked is None else int(locked),
        warm_at=int(a["warmAt"]) if "warmAt" in a else None,
    )
    ctx.writer.append(HoldingsChange, change)
    ctx.history(log, holder, f"holdings_{kind}" if kind != "boost_used" else kind, amount=amount)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("token", "Transfer"): _transfer,
    ("staking", "Staked"): _staked,
    ("staking", "UnbondingRequested"): _unbonding_requested,
    ("staking", "UnbondedWithdrawn"): _unbonded_withdrawn,
    ("staking", "Slashed"): _slashed,
    ("staking", "ProviderRegistered"): partial(_registration, kind="provider_registered"),
    ("staking", "ProviderUpdated"): partial(_registration, kind="provider_updated"),
    ("staking", "AskIncreaseScheduled"): _ask_increase_scheduled,
    ("vault", "HoldingsLocked"): partial(_holdings, kind="locked"),
    ("vault", "HoldingsUnlocked"): partial(_holdings, kind="unlocked"),
    ("vault", "BoostUsed"): partial(_holdings, kind="boost_used"),
    **{("market", name): handler for name, handler in MARKET_HANDLERS.items()},
}


def apply(ctx: BatchContext, log: DecodedLog) -> None:
    """Store `log` and apply it to the batch's rows.

    Args:
        ctx: the batch.
        log: a decoded log.
    """
    ctx.record(log)
    handler = HANDLERS.get((log.contract, log.name))
    if handler is not None:
        handler(ctx, log)
