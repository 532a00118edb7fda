"""Which node is on the other end, asked once per provider: "is this a devnet" in one place.

`node_kind` reads ``web3_clientVersion``; `is_devnet` says whether the node takes devnet
control requests (``evm_mine``, time travel, snapshots); `is_devnet_chain_id` says whether a
chain id is one of the local development chain ids (a fork of a public chain served by
anvil is a devnet by the first test, not by the second).
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Hashable
from typing import Any

from web3 import HTTPProvider, IPCProvider, Web3
from web3.providers import BaseProvider, EthereumTesterProvider

from .provider import endpoint, inproc_lock
from .retry import call

ANVIL_CHAIN_ID = 31337
GANACHE_CHAIN_ID = 1337
#: The chain ids the local development chains serve by default (anvil, ganache).
DEVNET_CHAIN_IDS = frozenset({ANVIL_CHAIN_ID, GANACHE_CHAIN_ID})
DEVNET_KINDS = ("anvil", "ganache", "eth-tester", "hardhat")
#: Nodes that mine each transaction before answering its eth_sendRawTransaction (ganache's
#: default "eager" instamine, eth-tester): a JSON-RPC batch gains little there, and a batch
#: with a refused transaction in the middle waits for the ones queued behind it.
SYNCHRONOUS_MINERS = ("ganache", "eth-tester")
_VERSION_PREFIXES = {
    "anvil": "anvil",
    "ganache": "ganache",
    "ethereumtester": "eth-tester",
    "hardhatnetwork": "hardhat",
    "geth": "geth",
}

_LOCK = threading.Lock()
_KIND: weakref.WeakKeyDictionary[BaseProvider, str] = weakref.WeakKeyDictionary()
_CHAIN_KEY: weakref.WeakKeyDictionary[BaseProvider, Hashable] = weakref.WeakKeyDictionary()
_MINING_LOCKS: dict[str, threading.RLock] = {}


def node_kind(w3: Web3) -> str:
    """``"anvil"``, ``"ganache"``, ``"eth-tester"``, ``"hardhat"``, ``"geth"`` or ``"other"``.

    Read from ``web3_clientVersion`` once per provider; a node that does not answer counts
    as ``"other"``.

    Args:
        w3: the connection.
    """
    provider = w3.provider
    with _LOCK:
        known = _KIND.get(provider)
    if known is not None:
        return known
    if isinstance(provider, EthereumTesterProvider):
        kind = "eth-tester"
    else:
        try:
            version = str(call(w3, lambda: w3.client_version, method="web3_clientVersion"))
        except Exception:
            version = ""
        flat = version.lower().replace(" ", "")
        kind = next((k for p, k in _VERSION_PREFIXES.items() if flat.startswith(p)), "other")
    with _LOCK:
        _KIND[provider] = kind
    return kind


def is_devnet(w3: Web3) -> bool:
    """Whether the node is a local development chain (anvil, ganache, eth-tester, hardhat).

    Only devnets take control requests (`jouleledger.transport.control`) and get
    ``evm_mine`` nudges when receipts stall.

    Args:
        w3: the connection.
    """
    return node_kind(w3) in DEVNET_KINDS


def is_devnet_chain_id(chain_id: int) -> bool:
    """Whether `chain_id` is a local development chain id (anvil's 31337, ganache's 1337).

    Args:
        chain_id: the chain id the node serves.
    """
    return chain_id in DEVNET_CHAIN_IDS


def mines_synchronously(w3: Web3) -> bool:
    """Whether the node mines each transaction before answering its send.

    See `SYNCHRONOUS_MINERS`.

    Args:
        w3: the connection.
    """
    return node_kind(w3) in SYNCHRONOUS_MINERS


def chain_key(w3: Web3) -> Hashable:
    """Identifies the chain behind `w3`: equal for two connections to the same node and chain.

    Made of the endpoint, the chain id and the genesis hash, so that a devnet restarted on
    the same port is a different chain. Cached per provider.

    Args:
        w3: the connection.

    Raises:
        RpcError: the node cannot be asked (see `call`).
    """
    provider = w3.provider
    with _LOCK:
        known = _CHAIN_KEY.get(provider)
    if known is not None:
        return known
    chain_id = int(call(w3, lambda: w3.eth.chain_id, method="eth_chainId"))
    genesis = call(w3, lambda: w3.eth.get_block(0)["hash"], method="eth_getBlockByNumber")
    where: Hashable = (
        endpoint(w3) if isinstance(provider, HTTPProvider | IPCProvider) else id(provider)
    )
    key = (where, chain_id, bytes(genesis or b""))
    with _LOCK:
        _CHAIN_KEY[provider] = key
    return key


def mining_lock(w3: Web3) -> contextlib.AbstractContextManager[Any]:
    """A lock to hold around gas estimates, sends and ``evm_mine`` on nodes that need it.

    ganache 7 leaves an ``eth_estimateGas`` that arrives while it mines a block unanswered
    until the next block (or the HTTP timeout): seen with four threads sending from one
    account, where estimates took seconds each. Holding this lock around our own estimates
    and sends keeps them apart (ganache mines serially anyway). eth-tester gets its
    in-process lock; other nodes a no-op.

    Args:
        w3: the connection.
    """
    if isinstance(w3.provider, EthereumTesterProvider):
        return inproc_lock(w3)
    if node_kind(w3) != "ganache":
        return contextlib.nullcontext()
    key = endpoint(w3)
    with _LOCK:
        lock = _MINING_LOCKS.get(key)
        if lock is None:
            lock = _MINING_LOCKS[key] = threading.RLock()
    return lock
