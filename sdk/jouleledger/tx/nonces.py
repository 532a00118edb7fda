"""Nonces for one account on one chain, handed out safely across threads.

Gaps stall an account: a node keeps a transaction with nonce n+1 queued until one with
nonce n arrives. So the manager hands out nonces *under its lock for the whole of signing
and sending* (`reserve`): nonce n+1 is only handed out once the node has accepted nonce n or
n has been given back. Estimating gas and waiting for receipts happen outside the lock, so
threads still overlap on everything but the send itself (about a millisecond on a local node).

The next nonce is read from the node (``eth_getTransactionCount(address, "pending")``) on
first use, after any send whose outcome is unknown, and whenever the caller re-syncs after
a "nonce too low" / "already known" / "replacement underpriced" answer; in between it is
counted locally, so a burst costs no extra requests. Call `NonceManager.resync` after
``evm_revert`` or anything else that rewinds the chain.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Hashable, Iterator

from eth_typing import ChecksumAddress
from web3 import Web3

from .. import transport
from ..transport import DEFAULT_RETRY, RetryPolicy


class Reservation:
    """Consecutive nonces ``start .. start + count - 1``, held while they are signed and sent.

    Attributes:
        start: the first nonce.
        count: how many.
        used: how many of them (from `start`) the node has taken; set it before leaving the
            ``with`` block when only some were. Default: all on success, none on an error.
    """

    def __init__(self, manager: NonceManager, start: int, count: int) -> None:
        """Made by `NonceManager.reserve`, under the manager's lock.

        Args:
            manager: the manager that handed the nonces out.
            start: the first nonce.
            count: how many.
        """
        self._manager = manager
        self.start = start
        self.count = count
        self.used: int | None = None
        self.uncertain = False

    @property
    def nonce(self) -> int:
        """The first (for a single transaction: the only) nonce."""
        return self.start

    def resync(self) -> int:
        """Re-read the node's pending nonce and move this reservation there.

        Only valid while none of its nonces has been accepted (the caller holds the lock).

        Raises:
            RpcError: the node cannot be asked.
        """
        self.start = self._manager.node_nonce()
        return self.start

    def mark_uncertain(self) -> None:
        """Some send may or may not have reached the node: re-read the node next time."""
        self.uncertain = True


class NonceManager:
    """Hands out nonces for one (chain, address); see the module docstring.

    Use `for_account` to get the one shared instance per chain and address.
    """

    def __init__(self, w3: Web3, address: str, *, policy: RetryPolicy = DEFAULT_RETRY) -> None:
        """No request is made until the first reservation.

        Args:
            w3: connection to the chain.
            address: the account whose nonces this hands out.
            policy: retries when reading the node's nonce.
        """
        self.w3 = w3
        self.address: ChecksumAddress = Web3.to_checksum_address(address)
        self._policy = policy
        self._lock = threading.RLock()
        self._next: int | None = None

    @classmethod
    def for_account(cls, w3: Web3, address: str) -> NonceManager:
        """The shared manager of `address` on the chain behind `w3` (one per chain and address).

        Two `Web3` objects for the same node share it while either is in use; a devnet
        restarted on the same port is another chain (the key includes the genesis hash).

        Args:
            w3: connection to the chain.
            address: the account.

        Raises:
            RpcError: the node cannot be asked which chain it is.
        """
        key = (transport.chain_key(w3), Web3.to_checksum_address(address))
        with _REGISTRY_LOCK:
            manager = _REGISTRY.get(key)
            if manager is None:
                manager = _REGISTRY[key] = cls(w3, address)
            return manager

    def node_nonce(self) -> int:
        """The node's count of this account's transactions, pending ones included.

        Raises:
            RpcError: the node cannot be asked.
        """
        return int(
            transport.call(
                self.w3,
                lambda: self.w3.eth.get_transaction_count(self.address, "pending"),
                method="eth_getTransactionCount",
                policy=self._policy,
            )
        )

    def peek(self) -> int | None:
        """The nonce the next reservation starts at, if known without asking the node."""
        with self._lock:
            return self._next

    def resync(self) -> int:
        """Forget the local count and take the node's (blocks while a send is in progress).

        Raises:
            RpcError: the node cannot be asked.
        """
        with self._lock:
            self._next = self.node_nonce()
            return self._next

    def invalidate(self) -> None:
        """Re-read the node's nonce at the next reservation (cheap; no request now)."""
        with self._lock:
            self._next = None

    @contextlib.contextmanager
    def reserve(self, count: int = 1) -> Iterator[Reservation]:
        """Hold `count` consecutive nonces while signing and sending them.

        On leaving the block the manager moves past the nonces the node took (`used`);
        the others are handed out again, so an error before the node accepted a
        transaction leaves no gap.

        Args:
            count: how many consecutive nonces.

        Raises:
            ValueError: `count` is below 1.
            RpcError: the node's nonce was needed and cannot be read.
        """
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        with self._lock:
            if self._next is None:
                self._next = self.node_nonce()
            reservation = Reservation(self, self._next, count)
            failed = False
            try:
                yield reservation
            except BaseException:
                failed = True
                raise
            finally:
                used = reservation.used
                if used is None:
                    used = 0 if failed else reservation.count
                used = max(0, min(used, reservation.count))
                self._next = None if reservation.uncertain else reservation.start + used


# Weak values: a manager lives while some Sender holds it; a new one re-reads the node.
_REGISTRY: weakref.WeakValueDictionary[tuple[Hashable, ChecksumAddress], NonceManager] = (
    weakref.WeakValueDictionary()
)
_REGISTRY_LOCK = threading.Lock()
