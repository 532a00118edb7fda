"""The indexed tables, as SQLAlchemy 2 declarative models (the read side's API).

Every address column holds lowercase 0x-hex (`address_key`); every amount in wei is a
`Uint256` (an exact `int`); times are block timestamps in unix seconds. Tables fall in two
groups, which is what makes rollback after a reorg cheap:

- append-only rows keyed by the block they come from (`Block`, `Event`, `AccountTx`,
  `Transfer`, `Slash`, `HoldingsChange`): a rollback deletes those at or above the fork;
- current state (`Job`, `Account`, `Provider`, `Dispute`, `ProviderClassStats`,
  `ProviderDaily`): each write in the revertible window saves the row it replaced in
  `UndoEntry`, and a rollback puts those back.

The schema itself is created and upgraded by the Alembic scripts in ``migrations/``.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .columns import Uint256

Address = String(42)
Hash = String(66)
ClassId = String(10)


class Base(DeclarativeBase):
    """Base of every indexed table."""


def table_of(model: type[Base]) -> Table:
    """The `Table` of a model (typed, for Core statements).

    Args:
        model: a model class of this module.
    """
    return cast(Table, model.__table__)


class SettledWork:
    """Totals over settled jobs (a provider's, or one slice of them)."""

    jobs_settled: Mapped[int] = mapped_column(Integer)
    earned: Mapped[int] = mapped_column(Uint256)
    energy_mj: Mapped[int] = mapped_column(BigInteger)
    ai_tokens: Mapped[int] = mapped_column(BigInteger)
    gpu_millis: Mapped[int] = mapped_column(BigInteger)


class FromLog:
    """Rows keyed by the log they come from: its block, position, transaction and time."""

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    tx_hash: Mapped[str] = mapped_column(Hash)
    block_time: Mapped[int] = mapped_column(BigInteger)


class SyncState(Base):
    """Where indexing stands (one row, id 1) and which deployment the database holds."""

    __tablename__ = "sync_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(Address)
    staking: Mapped[str] = mapped_column(Address)
    market: Mapped[str] = mapped_column(Address)
    vault: Mapped[str] = mapped_column(Address)
    start_block: Mapped[int] = mapped_column(BigInteger)
    indexed_block: Mapped[int] = mapped_column(BigInteger)
    indexed_hash: Mapped[str | None] = mapped_column(Hash)
    revertible_from: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[float] = mapped_column()


class Block(Base):
    """A block the index depends on: every block with an event, and every sync tip."""

    __tablename__ = "blocks"
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(Hash)
    parent_hash: Mapped[str] = mapped_column(Hash)
    timestamp: Mapped[int] = mapped_column(BigInteger)


class Event(Base):
    """Every decoded log of the deployment's contracts (also those without a handler)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_block_log", "block_number", "log_index", unique=True),
        Index("ix_events_name_block", "name", "block_number"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(Integer)
    tx_hash: Mapped[str] = mapped_column(Hash, index=True)
    contract: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    args: Mapped[str] = mapped_column(Text)
    block_time: Mapped[int] = mapped_column(BigInteger)


class AccountTx(Base):
    """One line of an account's transaction history (an event can give several accounts
    one line each)."""

    __tablename__ = "account_txs"
    __table_args__ = (
        Index("ix_account_txs_account_block", "account", "block_number"),
        Index("ix_account_txs_account_kind_block", "account", "kind", "block_number"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(Address)
    kind: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    amount: Mapped[int | None] = mapped_column(Uint256)
    counterparty: Mapped[str | None] = mapped_column(Address)
    tx_hash: Mapped[str] = mapped_column(Hash, index=True)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    log_index: Mapped[int] = mapped_column(Integer)
    block_time: Mapped[int] = mapped_column(BigInteger)


class Transfer(FromLog, Base):
    """A token transfer (mints come from the zero address)."""

    __tablename__ = "transfers"
    from_address: Mapped[str] = mapped_column(Address, index=True)
    to_address: Mapped[str] = mapped_column(Address, index=True)
    value: Mapped[int] = mapped_column(Uint256)


class Slash(FromLog, Base):
    """Stake taken from a provider; `job_id` is the job whose dispute or expiry caused it."""

    __tablename__ = "slashes"
    provider: Mapped[str] = mapped_column(Address, index=True)
    amount: Mapped[int] = mapped_column(Uint256)
    recipient: Mapped[str] = mapped_column(Address)
    job_id: Mapped[int | None] = mapped_column(BigInteger)


class HoldingsChange(FromLog, Base):
    """A change of a holder's locked holdings in the vault, or a boost it used."""

    __tablename__ = "holdings_changes"
    holder: Mapped[str] = mapped_column(Address, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Uint256)
    locked_after: Mapped[int | None] = mapped_column(Uint256)
    warm_at: Mapped[int | None] = mapped_column(BigInteger)


class Account(Base):
    """An account's token balance, holdings and, as a client, its money in jobs."""

    __tablename__ = "accounts"
    address: Mapped[str] = mapped_column(Address, primary_key=True)
    balance: Mapped[int] = mapped_column(Uint256)
    holdings_locked: Mapped[int] = mapped_column(Uint256)
    holdings_warm_at: Mapped[int | None] = mapped_column(BigInteger)
    boost_used: Mapped[int] = mapped_column(Uint256)
    boost_capacity: Mapped[int] = mapped_column(Uint256)
    boost_backed_until: Mapped[int | None] = mapped_column(BigInteger)
    jobs_posted: Mapped[int] = mapped_column(Integer)
    spent: Mapped[int] = mapped_column(Uint256)
    refunded: Mapped[int] = mapped_column(Uint256)
    escrowed: Mapped[int] = mapped_column(Uint256)
    updated_block: Mapped[int] = mapped_column(BigInteger)


class Provider(SettledWork, Base):
    """A provider's registration, stake and totals over its jobs."""

    __tablename__ = "providers"
    address: Mapped[str] = mapped_column(Address, primary_key=True)
    index: Mapped[int | None] = mapped_column(Integer)
    signer: Mapped[str | None] = mapped_column(Address)
    gpu_class: Mapped[str | None] = mapped_column(ClassId)
    ask_price_per_gpu_second: Mapped[int | None] = mapped_column(Uint256)
    endpoint: Mapped[str | None] = mapped_column(Text)
    pending_ask: Mapped[int | None] = mapped_column(Uint256)
    pending_ask_at: Mapped[int | None] = mapped_column(BigInteger)
    stake: Mapped[int] = mapped_column(Uint256)
    unbonding: Mapped[int] = mapped_column(Uint256)
    unbonding_ready_at: Mapped[int | None] = mapped_column(BigInteger)
    slashed: Mapped[int] = mapped_column(Uint256)
    jobs_claimed: Mapped[int] = mapped_column(Integer)
    jobs_expired: Mapped[int] = mapped_column(Integer)
    jobs_disputed: Mapped[int] = mapped_column(Integer)
    paid_out: Mapped[int] = mapped_column(Uint256)
    fees: Mapped[int] = mapped_column(Uint256)
    registered_at: Mapped[int | None] = mapped_column(BigInteger)
    updated_block: Mapped[int] = mapped_column(BigInteger)


class ProviderClassStats(SettledWork, Base):
    """Settled work per provider, GPU class and meter kind: the efficiency leaderboard.

    `meter_kind` is a `jouleledger.MeterKind`, or -1 where the usage record could not be
    read from the settling transaction (settled through another contract)."""

    __tablename__ = "provider_class_stats"
    provider: Mapped[str] = mapped_column(Address, primary_key=True)
    gpu_class: Mapped[str] = mapped_column(ClassId, primary_key=True)
    meter_kind: Mapped[int] = mapped_column(Integer, primary_key=True)


class ProviderDaily(SettledWork, Base):
    """Settled work per provider, UTC day and GPU class: earnings and efficiency charts."""

    __tablename__ = "provider_daily"
    provider: Mapped[str] = mapped_column(Address, primary_key=True)
    day: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    gpu_class: Mapped[str] = mapped_column(ClassId, primary_key=True)


def _settled_only(name: str, *columns: str, where: str = "settled_at") -> Index:
    """A partial index of the jobs' table over the rows where `where` is set, on both
    databases.

    Args:
        name: the index's name.
        columns: its columns.
        where: a column that settlement sets.
    """
    condition = text(f"{where} IS NOT NULL")
    return Index(name, *columns, sqlite_where=condition, postgresql_where=condition)


class Job(Base):
    """A job: terms, state, usage record, money, and the time of each lifecycle step."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_client_state", "client", "state"),
        Index("ix_jobs_provider_state", "provider", "state"),
        Index("ix_jobs_class_state", "gpu_class", "state"),
        # For the dashboard's reads (migration 0002). Partial: a job gets entries only
        # when it settles, so posting and claiming (most of the indexer's writes) pay
        # nothing for them.
        _settled_only("ix_jobs_client_settled", "client", "settled_at"),
        _settled_only("ix_jobs_provider_settled", "provider", "settled_at"),
        # Covering: a provider's work per GPU is summed from the index alone.
        _settled_only("ix_jobs_provider_gpu", "provider", "gpu_id_hash", "meter_kind",
                      "gpu_millis", "energy_mj", "ai_tokens", where="gpu_id_hash"),
    )  # fmt: skip
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[int] = mapped_column(Integer)
    client: Mapped[str] = mapped_column(Address)
    provider: Mapped[str | None] = mapped_column(Address)
    designated_provider: Mapped[str | None] = mapped_column(Address)
    gpu_class: Mapped[str] = mapped_column(ClassId)
    spec_hash: Mapped[str] = mapped_column(Hash)
    price_per_gpu_second: Mapped[int] = mapped_column(Uint256)
    max_payment: Mapped[int] = mapped_column(Uint256)
    bid: Mapped[int] = mapped_column(Uint256)
    boost: Mapped[int] = mapped_column(Uint256)
    priority: Mapped[int | None] = mapped_column(Uint256)
    deadline: Mapped[int] = mapped_column(BigInteger)
    locked_stake: Mapped[int | None] = mapped_column(Uint256)
    payment: Mapped[int | None] = mapped_column(Uint256)
    refund: Mapped[int | None] = mapped_column(Uint256)
    payout: Mapped[int | None] = mapped_column(Uint256)
    fee: Mapped[int | None] = mapped_column(Uint256)
    penalty: Mapped[int | None] = mapped_column(Uint256)
    gpu_millis: Mapped[int | None] = mapped_column(BigInteger)
    energy_mj: Mapped[int | None] = mapped_column(BigInteger)
    ai_tokens: Mapped[int | None] = mapped_column(BigInteger)
    tokens_per_joule_e6: Mapped[int | None] = mapped_column(Uint256)
    meter_kind: Mapped[int | None] = mapped_column(Integer)
    gpu_id_hash: Mapped[str | None] = mapped_column(Hash)
    result_hash: Mapped[str | None] = mapped_column(Hash)
    usage_start: Mapped[int | None] = mapped_column(BigInteger)
    usage_end: Mapped[int | None] = mapped_column(BigInteger)
    posted_at: Mapped[int] = mapped_column(BigInteger)
    claimed_at: Mapped[int | None] = mapped_column(BigInteger)
    settled_at: Mapped[int | None] = mapped_column(BigInteger, index=True)
    disputed_at: Mapped[int | None] = mapped_column(BigInteger)
    resolved_at: Mapped[int | None] = mapped_column(BigInteger)
    finalized_at: Mapped[int | None] = mapped_column(BigInteger)
    cancelled_at: Mapped[int | None] = mapped_column(BigInteger)
    expired_at: Mapped[int | None] = mapped_column(BigInteger)
    posted_block: Mapped[int] = mapped_column(BigInteger)
    updated_block: Mapped[int] = mapped_column(BigInteger)
    post_tx: Mapped[str] = mapped_column(Hash)
    settle_tx: Mapped[str | None] = mapped_column(Hash)


class Dispute(Base):
    """A dispute over a settled job, and how it ended."""

    __tablename__ = "disputes"
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    client: Mapped[str] = mapped_column(Address)
    provider: Mapped[str | None] = mapped_column(Address, index=True)
    bond: Mapped[int] = mapped_column(Uint256)
    opened_at: Mapped[int] = mapped_column(BigInteger)
    opened_tx: Mapped[str] = mapped_column(Hash)
    resolved_at: Mapped[int | None] = mapped_column(BigInteger)
    client_wins: Mapped[bool | None] = mapped_column(Boolean)
    by_default: Mapped[bool | None] = mapped_column(Boolean)
    slashed: Mapped[int | None] = mapped_column(Uint256)
    to_treasury: Mapped[int | None] = mapped_column(Uint256)
    resolved_tx: Mapped[str | None] = mapped_column(Hash)


class UndoEntry(Base):
    """The row a write in the revertible window replaced (None: there was none)."""

    __tablename__ = "undo_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    table_name: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(Text)
    old_row: Mapped[str | None] = mapped_column(Text)


#: Current-state tables, restored from `UndoEntry` on rollback.
STATE_TABLES: tuple[type[Base], ...] = (
    Job,
    Account,
    Provider,
    Dispute,
    ProviderClassStats,
    ProviderDaily,
)
#: Append-only tables, cut at the fork on rollback (all have a `block_number`).
LOG_TABLES: tuple[type[Base], ...] = (Event, AccountTx, Transfer, Slash, HoldingsChange)
