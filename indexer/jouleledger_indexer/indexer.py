"""`Indexer`: reads every event of a deployment into the database, reorg-safe and resumable.

One batch = one ``eth_getLogs`` range = one database transaction that also moves the
cursor, so a process killed at any point restarts from the last committed block: nothing
is lost and nothing is written twice. Before each run the stored tip's hash is compared
with the node's; on a mismatch the newest stored block still on the chain is found, every
block above it is rolled back (`writer.roll_back`) and read again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass

from web3 import Web3
from web3.exceptions import Web3Exception

from jouleledger import load_artifact
from jouleledger.deployment import Deployment
from jouleledger.errors import RpcError
from jouleledger.transport import is_devnet_chain_id
from jouleledger.transport.retry import call

from .context import BatchContext
from .db import Database
from .decoding import DecodedLog, EventDecoder, UsageDecoder
from .errors import ChainReplaced, IndexerError
from .fetch import AdaptiveRange, MissingBlock, NodeReader, RangeRefused
from .handlers import apply
from .models import Block
from .reorg import find_fork, on_chain, rewind
from .sync import Cursor, CursorMoved, advance, claim_database, find_start_block, load_cursor, wipe
from .writer import BatchWriter, prune_undo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexerConfig:
    """How the indexer reads.

    Attributes:
        confirmations: blocks a block must be under the head before it is indexed
            (None: 0 on devnet chain ids, 12 elsewhere).
        start_block: the first block (None: the block the token was deployed in).
        initial_range, min_range, max_range: the adaptive ``eth_getLogs`` span.
        reorg_window: how many blocks under the head stay revertible.
        reset_if_replaced: when no indexed block is on the chain any more (a restarted
            devnet), wipe the index and start again instead of raising `ChainReplaced`.
    """

    confirmations: int | None = None
    start_block: int | None = None
    initial_range: int = 500
    min_range: int = 1
    max_range: int = 10_000
    reorg_window: int = 256
    reset_if_replaced: bool = False


@dataclass(frozen=True)
class SyncResult:
    """What one `Indexer.run_once` did."""

    from_block: int
    to_block: int
    events: int
    rolled_back_to: int | None
    caught_up: bool


@dataclass(frozen=True)
class Status:
    """How far the index is behind the node."""

    indexed_block: int
    head: int
    confirmations: int

    @property
    def lag(self) -> int:
        """Blocks between the newest indexable block and the newest indexed one."""
        return max(0, self.head - self.confirmations - self.indexed_block)


class Indexer:
    """Indexes one deployment into one database.

    Args:
        w3: a connection to a node over HTTP or IPC.
        deployment: the deployment (the vault's address is read from the market).
        database: where to write.
        config: how to read (see `IndexerConfig`).

    Raises:
        IndexerError: the connection cannot send raw JSON-RPC, or no market is deployed at
            the deployment's address.
        RpcError: the node cannot be reached (see `jouleledger.transport`).
    """

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        database: Database,
        config: IndexerConfig | None = None,
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.database = database
        self.config = config or IndexerConfig()
        market = w3.eth.contract(address=deployment.market, abi=load_artifact("JobMarket").abi)
        try:
            vault = str(call(w3, market.functions.VAULT().call, method="eth_call"))
        except Web3Exception as exc:
            raise IndexerError(
                f"no JouleLedger market answers at {deployment.market} on the node ({exc}): "
                "check the RPC URL and the deployment (`jl deploy` records it)"
            ) from exc
        self.addresses = {
            "token": deployment.token.lower(),
            "staking": deployment.staking.lower(),
            "market": deployment.market.lower(),
            "vault": vault.lower(),
        }
        self.confirmations = self.config.confirmations
        if self.confirmations is None:
            self.confirmations = 0 if is_devnet_chain_id(deployment.chain_id) else 12
        window = AdaptiveRange(
            self.config.initial_range, self.config.min_range, self.config.max_range
        )
        self.reader = NodeReader(w3, list(self.addresses.values()), window)
        self.decoder = EventDecoder(self.addresses)
        self.usage = UsageDecoder()
        self._upgraded = False
        self._claimed = False

    def start(self) -> Cursor:
        """Upgrade the schema, claim the database for this deployment (once), and return
        the stored cursor (read anew each time: another process may have moved it).

        Raises:
            WrongDeployment: the database holds another deployment's index.
        """
        if not self._upgraded:
            self.database.upgrade()
            self._upgraded = True
        with self.database.engine.begin() as conn:
            cursor = load_cursor(conn)
        if cursor is not None and self._claimed:
            return cursor
        start = cursor.start_block if cursor is not None else self._start_block()
        with self.database.engine.begin() as conn:
            cursor = claim_database(conn, self.deployment.chain_id, self.addresses, start)
        self._claimed = True
        return cursor

    def _start_block(self) -> int:
        if self.config.start_block is not None:
            return self.config.start_block
        return find_start_block(self.reader, self.addresses["token"], self.deployment.block)

    def status(self) -> Status:
        """How far the index is, against the node's head."""
        cursor = self.start()
        assert self.confirmations is not None
        return Status(cursor.indexed_block, self.reader.head(), self.confirmations)

    def run_once(self, stop: threading.Event | None = None) -> SyncResult:
        """Index every confirmed block not indexed yet (after rolling back a reorg).

        Args:
            stop: when set, return after the current batch.

        Raises:
            ReorgTooDeep: the chain changed below the revertible window.
            ChainReplaced: no indexed block is on the chain (see `reset_if_replaced`).
            RpcError: the node kept failing (see `jouleledger.transport`).
        """
        cursor = self.start()
        rolled = self._follow_reorg(cursor)
        cursor = self.start()
        assert self.confirmations is not None
        head = self.reader.head()
        target = head - self.confirmations
        first, events = cursor.indexed_block + 1, 0
        while cursor.indexed_block < target and not (stop is not None and stop.is_set()):
            try:
                written = self._index_batch(cursor, target, head)
            except CursorMoved:  # another indexer wrote these blocks: go on from there
                cursor = self.start()
                continue
            except MissingBlock:  # the chain got shorter under the batch
                written = None
            if written is None:  # the chain moved under the batch: check again next run
                break
            events += written
            cursor = self.start()
        return SyncResult(
            first, cursor.indexed_block, events, rolled, cursor.indexed_block >= target
        )

    def run_forever(
        self,
        stop: threading.Event,
        *,
        poll_interval: float = 0.5,
        on_batch: Callable[[SyncResult], None] | None = None,
    ) -> None:
        """Index until `stop` is set, polling the node every `poll_interval` seconds once
        caught up. Transport failures are logged and retried on the next poll.

        Args:
            stop: set it to return.
            poll_interval: seconds between polls of the head.
            on_batch: called after each run that wrote events or rolled back.

        Raises:
            ReorgTooDeep: the chain changed below the revertible window.
            WrongDeployment: the database holds another deployment's index.
        """
        while not stop.is_set():
            try:
                result = self.run_once(stop)
            except RpcError as exc:
                log.warning("indexing paused: %s", exc)
                stop.wait(poll_interval)
                continue
            if on_batch is not None and (result.events or result.rolled_back_to is not None):
                on_batch(result)
            if result.caught_up:
                stop.wait(poll_interval)

    # --- one batch ------------------------------------------------------------------------

    def _index_batch(self, cursor: Cursor, target: int, head: int) -> int | None:
        start = cursor.indexed_block + 1
        while True:
            last = min(target, start + self.reader.window.size - 1)
            tip_before = self.reader.headers([last])[last]
            try:
                raw = self.reader.logs(start, last)
            except RangeRefused as exc:
                if not self.reader.window.shrink():
                    raise IndexerError(
                        f"the node refuses the logs of block {start} even alone ({exc}): "
                        "raise its log limits or use another node"
                    ) from exc
                continue
            self.reader.window.grow()
            break
        decoded = sorted(
            (self.decoder.decode(entry) for entry in raw if not entry.get("removed")),
            key=lambda d: (d.block_number, d.log_index),
        )
        headers = self.reader.headers({d.block_number for d in decoded} | {last})
        if headers[last].hash != tip_before.hash or any(
            headers[d.block_number].hash != d.block_hash for d in decoded
        ):
            log.info("blocks %d..%d changed while being read; reading them again", start, last)
            return None
        usage = self._usage(decoded)
        window_floor = head - self.config.reorg_window
        record_undo = last > window_floor
        revertible = cursor.revertible_from if record_undo else last + 1
        if record_undo and revertible is not None and revertible < window_floor:
            revertible = max(window_floor, start)
        with self.database.engine.begin() as conn:
            writer = BatchWriter(conn, record_undo=record_undo)
            ctx = BatchContext(writer, {n: h.timestamp for n, h in headers.items()}, usage)
            ctx.prefetch(decoded)
            for entry in decoded:
                apply(ctx, entry)
            for header in headers.values():
                writer.append(Block, asdict(header))  # its fields are the columns
            writer.flush()
            if record_undo and revertible is not None:
                prune_undo(conn, revertible)
            advance(conn, cursor.indexed_block, last, headers[last].hash, revertible)
        return len(decoded)

    def _usage(self, decoded: list[DecodedLog]) -> dict[int, dict[str, object]]:
        hashes = {d.tx_hash for d in decoded if d.contract == "market" and d.name == "JobSettled"}
        records: dict[int, dict[str, object]] = {}
        for calldata in self.reader.transaction_inputs(hashes).values():
            records.update(self.usage.records(calldata))
        return records

    # --- reorgs ---------------------------------------------------------------------------

    def _follow_reorg(self, cursor: Cursor) -> int | None:
        if on_chain(self.reader, cursor):
            return None
        try:
            fork = find_fork(self.database.engine, self.reader, cursor)
        except ChainReplaced:
            if not self.config.reset_if_replaced:
                raise
            with self.database.engine.begin() as conn:
                wipe(conn)
            log.warning("the chain was replaced: the index starts again")
            self._claimed = False
            return cursor.start_block
        return rewind(self.database.engine, cursor, fork)
