"""Finding where the node's chain and the index part ways, and rolling the index back.

A block hash commits to every ancestor, so the newest stored block whose hash the node
still has is on the chain, with everything under it. The stored blocks are compared newest
first, a batch of headers at a time, down to the revertible floor; below it only the oldest
stored block is asked, to tell a reorg too deep to undo from a chain that was replaced.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from .errors import ChainReplaced, ReorgTooDeep
from .fetch import HEADER_BATCH, NodeReader
from .models import Block
from .sync import Cursor, advance
from .writer import roll_back

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fork:
    """The newest indexed block still on the chain (everything above it is not)."""

    block: int
    hash: str


def on_chain(reader: NodeReader, cursor: Cursor) -> bool:
    """Whether the index's tip is still on the node's chain (one request).

    Args:
        reader: the node.
        cursor: the index's cursor.
    """
    if cursor.indexed_hash is None:
        return True
    found = reader.headers([cursor.indexed_block], missing_ok=True).get(cursor.indexed_block)
    return found is not None and found.hash == cursor.indexed_hash


def find_fork(engine: Engine, reader: NodeReader, cursor: Cursor) -> Fork:
    """The newest stored block the node still has.

    Args:
        engine: the index database.
        reader: the node.
        cursor: the index's cursor (its tip is known to be off the chain).

    Raises:
        ReorgTooDeep: no stored block at or above the revertible floor is on the chain.
        ChainReplaced: not even the oldest stored block is on the chain.
    """
    floor = cursor.revertible_from if cursor.revertible_from is not None else cursor.start_block
    below = cursor.indexed_block + 1
    while True:
        with engine.connect() as conn:
            stored = conn.execute(
                select(Block.number, Block.hash)
                .where(Block.number < below, Block.number >= floor - 1)
                .order_by(Block.number.desc())
                .limit(HEADER_BATCH)
            ).all()
        if not stored:
            break
        node = reader.headers([n for n, _ in stored], missing_ok=True)
        for number, stored_hash in stored:
            if number in node and node[number].hash == stored_hash:
                return Fork(number, stored_hash)
        below = stored[-1][0]
    with engine.connect() as conn:
        oldest = conn.execute(select(func.min(Block.number))).scalar()
        oldest_hash = conn.execute(select(Block.hash).where(Block.number == oldest)).scalar()
    if oldest is not None and oldest < floor - 1:
        found = reader.headers([oldest], missing_ok=True).get(oldest)
        if found is not None and found.hash == oldest_hash:
            raise ReorgTooDeep(
                f"the chain changed below block {floor}, the oldest the index can roll back "
                "to: raise reorg_window (or confirmations) and index anew into an empty "
                "database"
            )
    raise ChainReplaced(
        f"none of the indexed blocks up to {cursor.indexed_block} is on the node's chain "
        "any more (a restarted devnet?): index into an empty database, or set "
        "reset_if_replaced"
    )


def rewind(engine: Engine, cursor: Cursor, fork: Fork) -> int:
    """Undo every block above `fork` and move the cursor back to it; the first undone block.

    Args:
        engine: the index database.
        cursor: the index's cursor.
        fork: the newest indexed block still on the chain.

    Raises:
        CursorMoved: another indexer moved the cursor meanwhile (nothing was undone).
    """
    first = fork.block + 1
    with engine.begin() as conn:
        restored = roll_back(conn, first)
        advance(conn, cursor.indexed_block, fork.block, fork.hash, cursor.revertible_from)
    log.warning(
        "reorg: rolled back blocks %d..%d (%d rows restored)",
        first,
        cursor.indexed_block,
        restored,
    )
    return first
