"""What the SDK knows about a provider without asking the node: where it points, whether
it takes raw JSON-RPC and batches, and the lock an in-process chain needs."""

from __future__ import annotations

import contextlib
import threading
import weakref
from typing import Any

from web3 import HTTPProvider, IPCProvider, Web3
from web3.providers import BaseProvider, EthereumTesterProvider

_LOCK = threading.Lock()
_INPROC_LOCKS: weakref.WeakKeyDictionary[BaseProvider, threading.RLock] = (
    weakref.WeakKeyDictionary()
)


def endpoint(w3: Web3) -> str:
    """The node's URL (or IPC path, or a description of an in-process chain), for messages.

    Args:
        w3: the connection.
    """
    provider = w3.provider
    uri = getattr(provider, "endpoint_uri", None) or getattr(provider, "ipc_path", None)
    if uri:
        return str(uri)
    if isinstance(provider, EthereumTesterProvider):
        return "the in-process eth-tester chain"
    return type(provider).__name__


def supports_batch(w3: Web3) -> bool:
    """Whether `w3`'s provider can post a JSON-RPC batch (HTTP and IPC; not eth-tester).

    Args:
        w3: the connection.
    """
    return isinstance(w3.provider, HTTPProvider | IPCProvider)


def in_process(w3: Web3) -> bool:
    """Whether `w3` drives an in-process chain (eth-tester over py-evm), not a node.

    Args:
        w3: the connection.
    """
    return isinstance(w3.provider, EthereumTesterProvider)


def inproc_lock(w3: Web3) -> contextlib.AbstractContextManager[Any]:
    """A lock that serialises requests into an in-process (eth-tester) chain; else a no-op.

    py-evm is not thread-safe; a node behind HTTP is.

    Args:
        w3: the connection.
    """
    provider = w3.provider
    if not isinstance(provider, EthereumTesterProvider):
        return contextlib.nullcontext()
    with _LOCK:
        lock = _INPROC_LOCKS.get(provider)
        if lock is None:
            lock = _INPROC_LOCKS[provider] = threading.RLock()
    return lock
