"""Answers computed from the index, kept until the index moves on.

Everything a page reads from the index is a function of the indexed block, so an answer
kept for that block stays right until the next block is indexed; twenty visitors of one
provider page then cost one set of queries per block. The first request for a newer block
drops the answers for older ones (nobody asks for them again), so the cache holds one
block's pages, not thousands of stale ones for the collector to walk. The indexed head
itself is reread at most every `HEAD_TTL_S`, far below the two seconds a new block may take
to show. When a new block makes every answer stale at once, concurrent requests for the
same answer wait for the one computing it instead of each running the same queries.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
HEAD_TTL_S = 0.1
SIZE = 4096


class BlockCache:
    """A thread-safe LRU of answers keyed by the block they are for and what they are of.

    Args:
        size: the most answers kept.
        clock: seconds, monotonic.
    """

    def __init__(self, size: int = SIZE, clock: Callable[[], float] = time.monotonic) -> None:
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[int, Hashable], Any] = OrderedDict()
        self._pending: dict[tuple[int, Hashable], Future[Any]] = {}
        self._newest = -1
        self._generation = 0
        self._head: tuple[float, tuple[int, int]] = (-1.0, (-1, 0))
        self._head_hash: str | None = None
        self._head_reading = False

    def head(self, read: Callable[[], tuple[int, int, str | None]]) -> tuple[int, int]:
        """The indexed block and its time, reread at most every `HEAD_TTL_S` (by one
        thread: the others keep the last answer meanwhile). A head lower than the last one,
        or the same height with another hash, is a reorg: every answer is dropped, since
        some are for blocks the chain no longer has.

        Args:
            read: reads the indexed block, its time and its hash from the index.
        """
        now = self._clock()
        with self._lock:
            at, head = self._head
            if now - at < HEAD_TTL_S or (self._head_reading and at >= 0):
                return head
            self._head_reading = True
        try:
            block, timestamp, block_hash = read()
            with self._lock:
                last, last_hash = self._head[1][0], self._head_hash
                if block < last or (block == last and block_hash != last_hash):
                    self._answers.clear()
                    self._pending = {}  # what is being computed now is neither kept
                    self._newest = -1  # nor handed to requests that come after the reorg
                    self._generation += 1
                self._head, self._head_hash = (now, (block, timestamp)), block_hash
        finally:
            with self._lock:
                self._head_reading = False
        return block, timestamp

    def get(self, block: int, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer for `key` at `block`, computed once.

        Args:
            block: the block the answer is for (the indexed one, or the node's).
            key: what the answer is of.
            compute: makes the answer on a miss. An exception is not cached; the requests
                that waited for that computation get it too.
        """
        at = (block, key)
        with self._lock:
            if at in self._answers:
                self._answers.move_to_end(at)
                return self._answers[at]  # type: ignore[no-any-return]
            self._advance(block)
            pending = self._pending.get(at)
            if pending is not None:  # being computed: wait for it
                waiting = pending
            else:
                waiting, pending = None, self._pending.setdefault(at, Future())
            generation = self._generation
        if waiting is not None:
            return waiting.result()  # type: ignore[no-any-return]
        return self._compute(at, pending, generation, compute)

    def _advance(self, block: int) -> None:
        """Drop the answers for blocks older than `block` (under the lock)."""
        if block > self._newest:
            self._newest = block
            for stale in [k for k in self._answers if k[0] < block]:
                del self._answers[stale]

    def _compute(
        self,
        at: tuple[int, Hashable],
        pending: Future[Any],
        generation: int,
        compute: Callable[[], T],
    ) -> T:
        """Compute the answer `pending` promises, keep it if it is still current, and hand
        it (or the exception) to whoever waits."""
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                if self._pending.get(at) is pending:
                    del self._pending[at]
            pending.set_exception(exc)
            raise
        with self._lock:
            if self._pending.get(at) is pending:
                del self._pending[at]
            # Not kept: an answer for a block already passed, or begun before a reorg.
            if at[0] >= self._newest and generation == self._generation:
                self._answers[at] = value
                while len(self._answers) > self._size:
                    self._answers.popitem(last=False)
        pending.set_result(value)
        return value
