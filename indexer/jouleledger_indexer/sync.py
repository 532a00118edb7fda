"""The sync state row: which deployment a database holds and how far it is indexed, and
finding where a deployment's history starts."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update
from web3.exceptions import Web3Exception

from jouleledger.errors import JouleLedgerError

from .errors import IndexerError, WrongDeployment
from .fetch import NodeReader
from .models import LOG_TABLES, STATE_TABLES, Base, Block, SyncState, UndoEntry, table_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cursor:
    """How far the index is: every block up to `indexed_block` is written."""

    indexed_block: int
    indexed_hash: str | None
    revertible_from: int | None
    start_block: int


def load_cursor(conn: Connection) -> Cursor | None:
    """The stored cursor, or None for an empty database.

    Args:
        conn: a connection.
    """
    row = conn.execute(select(SyncState).where(SyncState.id == 1)).mappings().first()
    if row is None:
        return None
    return Cursor(
        indexed_block=int(row["indexed_block"]),
        indexed_hash=row["indexed_hash"],
        revertible_from=row["revertible_from"],
        start_block=int(row["start_block"]),
    )


def claim_database(
    conn: Connection, chain_id: int, addresses: Mapping[str, str], start_block: int
) -> Cursor:
    """The cursor of this deployment, creating the sync row in an empty database.

    Args:
        conn: a connection inside a transaction.
        chain_id: the chain the deployment is on.
        addresses: ``token``, ``staking``, ``market`` and ``vault`` addresses (lowercase).
        start_block: the first block of the deployment's history.

    Raises:
        WrongDeployment: the database holds another deployment's index.
    """
    row = conn.execute(select(SyncState).where(SyncState.id == 1)).mappings().first()
    if row is None:
        conn.execute(
            insert(table_of(SyncState)).values(
                id=1,
                chain_id=chain_id,
                start_block=start_block,
                indexed_block=start_block - 1,
                indexed_hash=None,
                revertible_from=start_block,
                updated_at=time.time(),
                **addresses,
            )
        )
    elif int(row["chain_id"]) != chain_id or row["market"] != addresses["market"]:
        raise WrongDeployment(
            f"this database holds the index of market {row['market']} on chain id "
            f"{row['chain_id']}, not of market {addresses['market']} on chain id {chain_id}: "
            "give each deployment its own database (another SQLite file or PostgreSQL db)"
        )
    cursor = load_cursor(conn)
    assert cursor is not None
    return cursor


class CursorMoved(IndexerError):
    """Another indexer moved the cursor of this database meanwhile (the batch is undone)."""


def advance(
    conn: Connection, before: int, last: int, last_hash: str, revertible_from: int | None
) -> None:
    """Record that every block up to `last` is written, if the cursor still is at `before`.

    Args:
        conn: the batch's connection (the cursor moves in the batch's transaction).
        before: the indexed block the batch started from.
        last: the last block of the batch.
        last_hash: its hash.
        revertible_from: the lowest block a rollback may still reach.

    Raises:
        CursorMoved: another process indexed this database meanwhile; the caller's
            transaction must be rolled back.
    """
    moved = conn.execute(
        update(table_of(SyncState))
        .where(SyncState.id == 1, SyncState.indexed_block == before)
        .values(
            indexed_block=last,
            indexed_hash=last_hash,
            revertible_from=revertible_from,
            updated_at=time.time(),
        )
    )
    if moved.rowcount != 1:
        raise CursorMoved(f"another indexer moved past block {before} meanwhile")


def wipe(conn: Connection) -> None:
    """Delete everything indexed, and the sync row (the next start indexes anew).

    Args:
        conn: a connection inside a transaction.
    """
    models: tuple[type[Base], ...] = (*LOG_TABLES, *STATE_TABLES, Block, UndoEntry, SyncState)
    for model in models:
        conn.execute(delete(table_of(model)))


def find_start_block(reader: NodeReader, token: str, deployed_by: int) -> int:
    """The block the token was deployed in (its mint is the first event to index).

    Binary search over ``eth_getCode``; a node that keeps no old state cannot answer, and
    then the deployment's recorded block is used.

    Args:
        reader: the node.
        token: the token's address.
        deployed_by: a block at which the whole deployment exists (0: unknown, the head).
    """
    try:
        high = deployed_by or reader.head()
        if not reader.has_code(token, high):
            return deployed_by
        low = 0
        while low < high:
            middle = (low + high) // 2
            if reader.has_code(token, middle):
                high = middle
            else:
                low = middle + 1
        return low
    except (JouleLedgerError, Web3Exception) as exc:
        log.warning("cannot find the token's deployment block (%s); from %d", exc, deployed_by)
        return deployed_by
