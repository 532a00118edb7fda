"""Initial schema: the tables of `jouleledger_indexer.models` as first released.

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-07 16:24:29.490851

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jouleledger_indexer.columns import Uint256

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table(
        "account_txs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", Uint256(), nullable=True),
        sa.Column("counterparty", sa.String(length=42), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_account_txs_account_block", "account_txs", ["account", "block_number"], unique=False
    )
    op.create_index(
        "ix_account_txs_account_kind_block",
        "account_txs",
        ["account", "kind", "block_number"],
        unique=False,
    )
    op.create_index(
        op.f("ix_account_txs_block_number"), "account_txs", ["block_number"], unique=False
    )
    op.create_index(op.f("ix_account_txs_job_id"), "account_txs", ["job_id"], unique=False)
    op.create_index(op.f("ix_account_txs_tx_hash"), "account_txs", ["tx_hash"], unique=False)
    op.create_table(
        "accounts",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("balance", Uint256(), nullable=False),
        sa.Column("holdings_locked", Uint256(), nullable=False),
        sa.Column("holdings_warm_at", sa.BigInteger(), nullable=True),
        sa.Column("boost_used", Uint256(), nullable=False),
        sa.Column("boost_capacity", Uint256(), nullable=False),
        sa.Column("boost_backed_until", sa.BigInteger(), nullable=True),
        sa.Column("jobs_posted", sa.Integer(), nullable=False),
        sa.Column("spent", Uint256(), nullable=False),
        sa.Column("refunded", Uint256(), nullable=False),
        sa.Column("escrowed", Uint256(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("parent_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "disputes",
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("client", sa.String(length=42), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=True),
        sa.Column("bond", Uint256(), nullable=False),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("opened_tx", sa.String(length=66), nullable=False),
        sa.Column("resolved_at", sa.BigInteger(), nullable=True),
        sa.Column("client_wins", sa.Boolean(), nullable=True),
        sa.Column("by_default", sa.Boolean(), nullable=True),
        sa.Column("slashed", Uint256(), nullable=True),
        sa.Column("to_treasury", Uint256(), nullable=True),
        sa.Column("resolved_tx", sa.String(length=66), nullable=True),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_index(op.f("ix_disputes_provider"), "disputes", ["provider"], unique=False)
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("contract", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_block_log", "events", ["block_number", "log_index"], unique=True)
    op.create_index(op.f("ix_events_job_id"), "events", ["job_id"], unique=False)
    op.create_index("ix_events_name_block", "events", ["name", "block_number"], unique=False)
    op.create_index(op.f("ix_events_tx_hash"), "events", ["tx_hash"], unique=False)
    op.create_table(
        "holdings_changes",
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", Uint256(), nullable=False),
        sa.Column("locked_after", Uint256(), nullable=True),
        sa.Column("warm_at", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index"),
    )
    op.create_index(
        op.f("ix_holdings_changes_holder"), "holdings_changes", ["holder"], unique=False
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("client", sa.String(length=42), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=True),
        sa.Column("designated_provider", sa.String(length=42), nullable=True),
        sa.Column("gpu_class", sa.String(length=10), nullable=False),
        sa.Column("spec_hash", sa.String(length=66), nullable=False),
        sa.Column("price_per_gpu_second", Uint256(), nullable=False),
        sa.Column("max_payment", Uint256(), nullable=False),
        sa.Column("bid", Uint256(), nullable=False),
        sa.Column("boost", Uint256(), nullable=False),
        sa.Column("priority", Uint256(), nullable=True),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("locked_stake", Uint256(), nullable=True),
        sa.Column("payment", Uint256(), nullable=True),
        sa.Column("refund", Uint256(), nullable=True),
        sa.Column("payout", Uint256(), nullable=True),
        sa.Column("fee", Uint256(), nullable=True),
        sa.Column("penalty", Uint256(), nullable=True),
        sa.Column("gpu_millis", sa.BigInteger(), nullable=True),
        sa.Column("energy_mj", sa.BigInteger(), nullable=True),
        sa.Column("ai_tokens", sa.BigInteger(), nullable=True),
        sa.Column("tokens_per_joule_e6", Uint256(), nullable=True),
        sa.Column("meter_kind", sa.Integer(), nullable=True),
        sa.Column("gpu_id_hash", sa.String(length=66), nullable=True),
        sa.Column("result_hash", sa.String(length=66), nullable=True),
        sa.Column("usage_start", sa.BigInteger(), nullable=True),
        sa.Column("usage_end", sa.BigInteger(), nullable=True),
        sa.Column("posted_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sa.BigInteger(), nullable=True),
        sa.Column("settled_at", sa.BigInteger(), nullable=True),
        sa.Column("disputed_at", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", sa.BigInteger(), nullable=True),
        sa.Column("finalized_at", sa.BigInteger(), nullable=True),
        sa.Column("cancelled_at", sa.BigInteger(), nullable=True),
        sa.Column("expired_at", sa.BigInteger(), nullable=True),
        sa.Column("posted_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("post_tx", sa.String(length=66), nullable=False),
        sa.Column("settle_tx", sa.String(length=66), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_class_state", "jobs", ["gpu_class", "state"], unique=False)
    op.create_index("ix_jobs_client_state", "jobs", ["client", "state"], unique=False)
    op.create_index("ix_jobs_provider_state", "jobs", ["provider", "state"], unique=False)
    op.create_index(op.f("ix_jobs_settled_at"), "jobs", ["settled_at"], unique=False)
    op.create_table(
        "provider_class_stats",
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("gpu_class", sa.String(length=10), nullable=False),
        sa.Column("meter_kind", sa.Integer(), nullable=False),
        sa.Column("jobs_settled", sa.Integer(), nullable=False),
        sa.Column("energy_mj", sa.BigInteger(), nullable=False),
        sa.Column("ai_tokens", sa.BigInteger(), nullable=False),
        sa.Column("gpu_millis", sa.BigInteger(), nullable=False),
        sa.Column("earned", Uint256(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "gpu_class", "meter_kind"),
    )
    op.create_table(
        "provider_daily",
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("gpu_class", sa.String(length=10), nullable=False),
        sa.Column("jobs_settled", sa.Integer(), nullable=False),
        sa.Column("earned", Uint256(), nullable=False),
        sa.Column("energy_mj", sa.BigInteger(), nullable=False),
        sa.Column("ai_tokens", sa.BigInteger(), nullable=False),
        sa.Column("gpu_millis", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "day", "gpu_class"),
    )
    op.create_table(
        "providers",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("index", sa.Integer(), nullable=True),
        sa.Column("signer", sa.String(length=42), nullable=True),
        sa.Column("gpu_class", sa.String(length=10), nullable=True),
        sa.Column("ask_price_per_gpu_second", Uint256(), nullable=True),
        sa.Column("endpoint", sa.Text(), nullable=True),
        sa.Column("pending_ask", Uint256(), nullable=True),
        sa.Column("pending_ask_at", sa.BigInteger(), nullable=True),
        sa.Column("stake", Uint256(), nullable=False),
        sa.Column("unbonding", Uint256(), nullable=False),
        sa.Column("unbonding_ready_at", sa.BigInteger(), nullable=True),
        sa.Column("slashed", Uint256(), nullable=False),
        sa.Column("jobs_claimed", sa.Integer(), nullable=False),
        sa.Column("jobs_settled", sa.Integer(), nullable=False),
        sa.Column("jobs_expired", sa.Integer(), nullable=False),
        sa.Column("jobs_disputed", sa.Integer(), nullable=False),
        sa.Column("earned", Uint256(), nullable=False),
        sa.Column("paid_out", Uint256(), nullable=False),
        sa.Column("fees", Uint256(), nullable=False),
        sa.Column("energy_mj", sa.BigInteger(), nullable=False),
        sa.Column("ai_tokens", sa.BigInteger(), nullable=False),
        sa.Column("gpu_millis", sa.BigInteger(), nullable=False),
        sa.Column("registered_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_table(
        "slashes",
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("amount", Uint256(), nullable=False),
        sa.Column("recipient", sa.String(length=42), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index"),
    )
    op.create_index(op.f("ix_slashes_provider"), "slashes", ["provider"], unique=False)
    op.create_table(
        "sync_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("staking", sa.String(length=42), nullable=False),
        sa.Column("market", sa.String(length=42), nullable=False),
        sa.Column("vault", sa.String(length=42), nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("indexed_block", sa.BigInteger(), nullable=False),
        sa.Column("indexed_hash", sa.String(length=66), nullable=True),
        sa.Column("revertible_from", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "transfers",
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("from_address", sa.String(length=42), nullable=False),
        sa.Column("to_address", sa.String(length=42), nullable=False),
        sa.Column("value", Uint256(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index"),
    )
    op.create_index(op.f("ix_transfers_from_address"), "transfers", ["from_address"], unique=False)
    op.create_index(op.f("ix_transfers_to_address"), "transfers", ["to_address"], unique=False)
    op.create_table(
        "undo_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("old_row", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_undo_log_block_number"), "undo_log", ["block_number"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""

    op.drop_index(op.f("ix_undo_log_block_number"), table_name="undo_log")
    op.drop_table("undo_log")
    op.drop_index(op.f("ix_transfers_to_address"), table_name="transfers")
    op.drop_index(op.f("ix_transfers_from_address"), table_name="transfers")
    op.drop_table("transfers")
    op.drop_table("sync_state")
    op.drop_index(op.f("ix_slashes_provider"), table_name="slashes")
    op.drop_table("slashes")
    op.drop_table("providers")
    op.drop_table("provider_daily")
    op.drop_table("provider_class_stats")
    op.drop_index(op.f("ix_jobs_settled_at"), table_name="jobs")
    op.drop_index("ix_jobs_provider_state", table_name="jobs")
    op.drop_index("ix_jobs_client_state", table_name="jobs")
    op.drop_index("ix_jobs_class_state", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index(op.f("ix_holdings_changes_holder"), table_name="holdings_changes")
    op.drop_table("holdings_changes")
    op.drop_index(op.f("ix_events_tx_hash"), table_name="events")
    op.drop_index("ix_events_name_block", table_name="events")
    op.drop_index(op.f("ix_events_job_id"), table_name="events")
    op.drop_index("ix_events_block_log", table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_disputes_provider"), table_name="disputes")
    op.drop_table("disputes")
    op.drop_table("blocks")
    op.drop_table("accounts")
    op.drop_index(op.f("ix_account_txs_tx_hash"), table_name="account_txs")
    op.drop_index(op.f("ix_account_txs_job_id"), table_name="account_txs")
    op.drop_index(op.f("ix_account_txs_block_number"), table_name="account_txs")
    op.drop_index("ix_account_txs_account_kind_block", table_name="account_txs")
    op.drop_index("ix_account_txs_account_block", table_name="account_txs")
    op.drop_table("account_txs")
