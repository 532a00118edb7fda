"""The account page: a client's escrow, spending and time-to-empty, and the transaction
history with its filters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Row, Select, false, func, or_, select
from sqlalchemy.orm import Session

from jouleledger.types import JobState
from jouleledger_indexer.models import Account, AccountTx, Job, Provider

from ..models import ClientSummary, History, HistoryRow
from .common import SQL_INT_MAX, checksum, cpt, cpt_sum, state_name

AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])
SPEND_WINDOW_S = 3600  # the recent window the spend rate is measured over
LOW_FUNDS_S = 24 * 3600  # warn when the balance lasts less than this at that rate
HISTORY_PAGE = 50  # rows a page shows; ?limit= up to HISTORY_MAX, the CSV has all
HISTORY_MAX = 1000
CSV_LIMIT = 100_000
#: The states whose jobs still hold the client's tokens.
HELD = (JobState.OPEN, JobState.CLAIMED, JobState.SETTLED, JobState.DISPUTED)

KINDS = (
    "transfer_in", "transfer_out", "job_posted", "bid_raised", "job_cancelled", "job_claimed",
    "job_settled", "job_refund", "job_expired", "job_finalized", "dispute_opened",
    "dispute_resolved", "withdrawn", "staked", "unbonding_requested", "unbonded_withdrawn",
    "slashed", "holdings_locked", "holdings_unlocked", "boost_used", "provider_registered",
    "provider_updated",
)  # fmt: skip


def client_summary(session: Session, key: str, balance_wei: int, now: int) -> ClientSummary:
    """An account's side as a client.

    Args:
        session: a read session on the index.
        key: the account's stored (lower-case) address.
        balance_wei: its CPT balance now, for the time-to-empty.
        now: the chain's time (the newest block's), unix seconds.
    """
    counts = session.execute(
        select(Job.state, func.count()).where(Job.client == key).group_by(Job.state)
    )
    jobs_by_state = {state_name(s): int(n) for s, n in sorted(counts)}
    since = now - SPEND_WINDOW_S
    # One query for both the jobs that hold escrow and the recent spending: both are few.
    rows = session.execute(
        select(Job.state, Job.max_payment, Job.bid, Job.payment, Job.settled_at).where(
            Job.client == key,
            or_(Job.state.in_([int(s) for s in HELD]), Job.settled_at > since),
        )
    )
    escrow: dict[str, int] = {}
    rate = 0  # wei paid over the window (one hour)
    for state, max_payment, bid, payment, settled_at in rows:
        if settled_at is not None and settled_at > since:
            rate += int(payment or 0)
        if state in HELD:
            # Open and claimed jobs hold the whole escrow; settled ones the payment until
            # the dispute window closes (the rest was refunded at settlement).
            amount = payment if state >= JobState.SETTLED else cpt_sum((max_payment, bid))
            escrow[state_name(state)] = escrow.get(state_name(state), 0) + int(amount or 0)
    account = session.get(Account, key)
    to_empty = None if rate == 0 else balance_wei * SPEND_WINDOW_S // rate
    return ClientSummary(
        jobs_posted=account.jobs_posted if account is not None else 0,
        escrow_by_state={s: cpt(v) for s, v in escrow.items()},
        jobs_by_state=jobs_by_state,
        spent_cpt=cpt(account.spent if account is not None else 0),
        refunded_cpt=cpt(account.refunded if account is not None else 0),
        spend_rate_cpt_per_hour=cpt(rate * 3600 // SPEND_WINDOW_S),
        window_s=SPEND_WINDOW_S,
        time_to_empty_s=to_empty,
        low_funds=to_empty is not None and to_empty < LOW_FUNDS_S,
    )


def account_reads(
    session: Session, key: str, balance_wei: int, now: int
) -> tuple[ClientSummary, bool, bool]:
    """The client summary, whether the account is a provider, and whether the index knows
    it at all: what the account page needs besides its history, in one session.

    Args:
        session: a read session on the index.
        key: the account's stored address.
        balance_wei: its CPT balance now.
        now: the chain's time, unix seconds.
    """
    client = client_summary(session, key, balance_wei, now)
    is_provider = session.get(Provider, key) is not None
    known = is_provider or session.get(Account, key) is not None
    return client, is_provider, known


@dataclass(frozen=True)
class HistoryFilter:
    """The history filters a request gave (already parsed)."""

    kind: str | None = None
    job: int | None = None
    since: int | None = None
    until: int | None = None

    def apply(self, query: AnySelect, key: str) -> AnySelect:
        """`query` narrowed to account `key` and these filters.

        Args:
            query: a select over `AccountTx`.
            key: the account's stored address.
        """
        query = query.where(AccountTx.account == key)
        if self.kind:
            query = query.where(AccountTx.kind == self.kind)
        if self.job is not None:  # an id no integer column holds matches nothing
            query = query.where(
                AccountTx.job_id == self.job if self.job <= SQL_INT_MAX else false()
            )
        if self.since is not None:
            query = query.where(AccountTx.block_time >= self.since)
        if self.until is not None:
            query = query.where(AccountTx.block_time <= self.until)
        return query


#: The columns a history row shows, selected as plain rows (no ORM objects: a page of
#: them is built on every account page view).
_COLUMNS = (AccountTx.block_number, AccountTx.block_time, AccountTx.tx_hash,
            AccountTx.log_index, AccountTx.kind, AccountTx.job_id, AccountTx.amount,
            AccountTx.counterparty)  # fmt: skip


def _row(tx: Row[*tuple[Any, ...]]) -> HistoryRow:
    block, time, tx_hash, log_index, kind, job_id, amount, counterparty = tx
    return HistoryRow(
        block=block,
        timestamp=time or 0,
        tx_hash=tx_hash,
        log_index=log_index,
        kind=kind,
        job_id=job_id,
        amount_cpt=None if amount is None else cpt(amount),
        counterparty=checksum(counterparty),
    )


def _ordered(query: AnySelect) -> AnySelect:
    return query.order_by(AccountTx.block_number.desc(), AccountTx.log_index.desc(), AccountTx.id)


def history(
    session: Session, address: str, key: str, flt: HistoryFilter, limit: int = HISTORY_PAGE
) -> History:
    """The newest `limit` history entries of an account that match `flt`, and how many match.

    Args:
        session: a read session on the index.
        address: the account, checksummed (as shown).
        key: its stored address.
        flt: the filters.
        limit: the most rows to return.
    """
    query = _ordered(flt.apply(select(*_COLUMNS), key)).limit(limit)
    rows = [_row(r) for r in session.execute(query)]
    total = len(rows)
    if total == limit:  # there may be more: count them
        total = session.scalar(flt.apply(select(func.count()).select_from(AccountTx), key)) or 0
    return History(address=address, rows=rows, kinds=list(KINDS), total=total)


CSV_FIELDS = ("block", "timestamp", "tx_hash", "log_index", "kind", "job_id", "amount_cpt",
              "counterparty")  # fmt: skip


def history_rows(session: Session, key: str, flt: HistoryFilter) -> Iterator[HistoryRow]:
    """Every matching history entry (up to `CSV_LIMIT`), newest first, for the CSV export.

    Args:
        session: a read session on the index.
        key: the account's stored address.
        flt: the filters.
    """
    query = _ordered(flt.apply(select(*_COLUMNS), key)).limit(CSV_LIMIT)
    for tx in session.execute(query.execution_options(yield_per=1000)):
        yield _row(tx)
