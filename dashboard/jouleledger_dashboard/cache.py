"""Answers computed from the index, kept until the index moves on.

Everything a page reads from the index is a function of the indexed block, so an answer
keyed by that block stays right until the next block is indexed; twenty visitors of one
provider page then cost one set of queries per block. The indexed head itself is reread at
most every `HEAD_TTL_S`, far below the two seconds a new block may take to show.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
HEAD_TTL_S = 0.1
SIZE = 4096


class BlockCache:
    """A thread-safe LRU of answers keyed by what they are of and the indexed block.

    Args:
        size: the most answers kept.
        clock: seconds, monotonic.
    """

    def __init__(self, size: int = SIZE, clock: Callable[[], float] = time.monotonic) -> None:
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._head: tuple[float, tuple[int, int]] = (-1.0, (-1, 0))

    def head(self, read: Callable[[], tuple[int, int]]) -> tuple[int, int]:
        """The indexed block and its time, reread at most every `HEAD_TTL_S`.

        Args:
            read: reads them from the index.
        """
        now = self._clock()
        with self._lock:
            at, head = self._head
        if now - at < HEAD_TTL_S:
            return head
        head = read()
        with self._lock:
            self._head = (now, head)
        return head

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer for `key` (which must include the indexed block), computed once.

        Args:
            key: what the answer is of, with the block it is for.
            compute: makes the answer on a miss (an exception is not cached).
        """
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._answers[key] = value
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)
        return value
