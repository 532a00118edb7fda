"""The account page: a client's escrow, spending and time-to-empty, and the transaction
history with its filters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    Integer,
    Row,
    Select,
    bindparam,
    exists,
    func,
    select,
    union,
)
from sqlalchemy.sql.elements import ColumnElement

from jouleledger.types import JobState
from jouleledger_indexer.models import Account, AccountTx, Job, Provider

from ..models import ClientSummary, History, HistoryRow
from .common import SQL_INT_MAX, checksum, cpt, cpt_sum, state_name

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

# The statements are built once, with bound parameters: building a select per request
# cost as much as running it. Each is written for an index (see the indexer's migration
# 0002): jobs by client and state, settled jobs by client and time.
_KEY: BindParameter[str] = bindparam("key")
_JOBS_BY_STATE = select(Job.state, func.count()).where(Job.client == _KEY).group_by(Job.state)
#: The jobs that hold escrow, and the ones settled in the spend window: both are few, and
#: each half of the union reads its own index, so neither reads the client's other jobs
#: (an OR of the two made SQLite read them all). The job id makes the union keep a job
#: that is in both halves once.
_ESCROW_COLUMNS = (Job.id, Job.state, Job.max_payment, Job.bid, Job.payment, Job.settled_at)
_HELD_OR_RECENT = union(
    select(*_ESCROW_COLUMNS).where(Job.client == _KEY, Job.state.in_([int(s) for s in HELD])),
    select(*_ESCROW_COLUMNS).where(Job.client == _KEY, Job.settled_at > bindparam("since")),
)


def _of_account(column: Any) -> Any:
    return select(column).where(Account.address == _KEY).scalar_subquery()


#: The account's totals and whether it is a provider, in one row even when neither exists.
_TOTALS = select(
    _of_account(Account.jobs_posted),
    _of_account(Account.spent),
    _of_account(Account.refunded),
    exists().where(Provider.address == _KEY),
)


def client_summary(
    conn: Connection, key: str, balance_wei: int, now: int, totals: Row[*tuple[Any, ...]]
) -> ClientSummary:
    """An account's side as a client.

    Args:
        conn: a read connection to the index.
        key: the account's stored (lower-case) address.
        balance_wei: its CPT balance now, for the time-to-empty.
        now: the chain's time (the newest block's), unix seconds.
        totals: the account's `_TOTALS` row.
    """
    counts = conn.execute(_JOBS_BY_STATE, {"key": key})
    jobs_by_state = {state_name(s): int(n) for s, n in sorted(counts)}
    since = now - SPEND_WINDOW_S
    escrow: dict[str, int] = {}
    rate = 0  # wei paid over the window (one hour)
    for _, state, max_payment, bid, payment, settled_at in conn.execute(
        _HELD_OR_RECENT, {"key": key, "since": since}
    ):
        if settled_at is not None and settled_at > since:
            rate += int(payment or 0)
        if state in HELD:
            # Open and claimed jobs hold the whole escrow; settled ones the payment until
            # the dispute window closes (the rest was refunded at settlement).
            amount = payment if state >= JobState.SETTLED else cpt_sum((max_payment, bid))
            escrow[state_name(state)] = escrow.get(state_name(state), 0) + int(amount or 0)
    posted, spent, refunded, _ = totals
    to_empty = None if rate == 0 else balance_wei * SPEND_WINDOW_S // rate
    return ClientSummary(
        jobs_posted=posted or 0,
        escrow_by_state={s: cpt(v) for s, v in escrow.items()},
        jobs_by_state=jobs_by_state,
        spent_cpt=cpt(spent),
        refunded_cpt=cpt(refunded),
        spend_rate_cpt_per_hour=cpt(rate * 3600 // SPEND_WINDOW_S),
        window_s=SPEND_WINDOW_S,
        time_to_empty_s=to_empty,
        low_funds=to_empty is not None and to_empty < LOW_FUNDS_S,
    )


def account_reads(
    conn: Connection, key: str, balance_wei: int, now: int
) -> tuple[ClientSummary, bool, bool]:
    """The client summary, whether the account is a provider, and whether the index knows
    it at all: what the account page needs besides its history, in one connection.

    Args:
        conn: a read connection to the index.
        key: the account's stored address.
        balance_wei: its CPT balance now.
        now: the chain's time, unix seconds.
    """
    totals = conn.execute(_TOTALS, {"key": key}).one()
    posted, is_provider = totals[0], bool(totals[3])
    return (
        client_summary(conn, key, balance_wei, now, totals),
        is_provider,
        (is_provider or posted is not None),
    )


@dataclass(frozen=True)
class HistoryFilter:
    """The history filters a request gave (already parsed)."""

    kind: str | None = None
    job: int | None = None
    since: int | None = None
    until: int | None = None

    @property
    def matches_nothing(self) -> bool:
        """A job id no integer column holds: no row can match."""
        return self.job is not None and self.job > SQL_INT_MAX

    def params(self, key: str) -> dict[str, Any]:
        """The bound values of `_history_queries` for account `key`.

        Args:
            key: the account's stored address.
        """
        values = {"kind": self.kind, "job": self.job, "since": self.since, "until": self.until}
        return {"key": key, **{k: v for k, v in values.items() if v is not None and v != ""}}

    @property
    def shape(self) -> tuple[bool, bool, bool, bool]:
        """Which filters are set: the statements are built once per shape."""
        return (bool(self.kind), self.job is not None, self.since is not None,
                self.until is not None)  # fmt: skip


#: The columns a history row shows, selected as plain rows (no ORM objects: a page of
#: them is built on every account page view).
_COLUMNS = (AccountTx.block_number, AccountTx.block_time, AccountTx.tx_hash,
            AccountTx.log_index, AccountTx.kind, AccountTx.job_id, AccountTx.amount,
            AccountTx.counterparty)  # fmt: skip


@lru_cache(maxsize=16)
def _history_queries(
    shape: tuple[bool, bool, bool, bool],
) -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]]]:
    """The newest-first rows (``LIMIT :limit``) of one filter shape, and the same with how
    many rows match in a last column, with the values as bound parameters
    (`HistoryFilter.params`). The count is a subquery the database runs once, from the
    covering index: one statement instead of two (one round trip less on PostgreSQL).

    Args:
        shape: `HistoryFilter.shape`.
    """
    kind, job, since, until = shape
    where: list[ColumnElement[bool]] = [AccountTx.account == _KEY]
    if kind:
        where.append(AccountTx.kind == bindparam("kind"))
    if job:
        where.append(AccountTx.job_id == bindparam("job"))
    if since:
        where.append(AccountTx.block_time >= bindparam("since"))
    if until:
        where.append(AccountTx.block_time <= bindparam("until"))
    newest = (AccountTx.block_number.desc(), AccountTx.log_index.desc(), AccountTx.id)
    limit = bindparam("limit", type_=Integer)
    rows = select(*_COLUMNS).where(*where).order_by(*newest).limit(limit)
    total = select(func.count()).select_from(AccountTx).where(*where).scalar_subquery()
    return rows, rows.add_columns(total)


def _row(tx: Row[*tuple[Any, ...]]) -> HistoryRow:
    block, time, tx_hash, log_index, kind, job_id, amount, counterparty = tx[:8]
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


def history(
    conn: Connection, address: str, key: str, flt: HistoryFilter, limit: int = HISTORY_PAGE
) -> History:
    """The newest `limit` history entries of an account that match `flt`, and how many match.

    Args:
        conn: a read connection to the index.
        address: the account, checksummed (as shown).
        key: its stored address.
        flt: the filters.
        limit: the most rows to return.
    """
    if flt.matches_nothing:
        return History(address=address, rows=[], kinds=list(KINDS), total=0)
    found = conn.execute(_history_queries(flt.shape)[1], {**flt.params(key), "limit": limit})
    rows, total = [], 0
    for r in found:
        rows.append(_row(r))
        total = r[-1]
    return History(address=address, rows=rows, kinds=list(KINDS), total=total)


CSV_FIELDS = ("block", "timestamp", "tx_hash", "log_index", "kind", "job_id", "amount_cpt",
              "counterparty")  # fmt: skip


def history_rows(conn: Connection, key: str, flt: HistoryFilter) -> Iterator[HistoryRow]:
    """Every matching history entry (up to `CSV_LIMIT`), newest first, for the CSV export.

    Args:
        conn: a read connection to the index.
        key: the account's stored address.
        flt: the filters.
    """
    if flt.matches_nothing:
        return
    query = _history_queries(flt.shape)[0].execution_options(yield_per=1000)
    for tx in conn.execute(query, {**flt.params(key), "limit": CSV_LIMIT}):
        yield _row(tx)
