"""Talking to the node: typed transport errors, bounded retries, JSON-RPC batches, chain checks.

web3.py's `HTTPProvider` already retries most read methods a few times on connection errors;
`call` adds what it lacks: a bounded exponential backoff for resets, timeouts, HTTP 429 and
5xx, and one exception type per failure (`NodeUnreachable`, `RpcTimeout`, `RpcUnavailable`).
It is for idempotent requests only: sending a transaction again is decided in `jouleledger.tx`,
after checking whether the node already knows it.
"""

from __future__ import annotations

import contextlib
import enum
import random
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from web3 import HTTPProvider, IPCProvider, Web3
from web3.exceptions import TooManyRequests, Web3RPCError
from web3.providers import BaseProvider, EthereumTesterProvider
from web3.types import RPCEndpoint, RPCResponse

from .errors import NodeUnreachable, RpcError, RpcTimeout, RpcUnavailable, WrongChain

T = TypeVar("T")

DEVNET_KINDS = ("anvil", "ganache", "eth-tester", "hardhat")
#: Nodes that mine each transaction before answering its eth_sendRawTransaction (ganache's
#: default "eager" instamine, eth-tester): a JSON-RPC batch gains little there, and a batch
#: with a refused transaction in the middle waits for the ones queued behind it.
SYNCHRONOUS_MINERS = ("ganache", "eth-tester")
START_NODE_HINT = "start a local one with `jl devnet up`, or check the RPC URL"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for transient failures.

    Attributes:
        attempts: tries in total (1 = no retry).
        initial_delay: seconds before the second try.
        max_delay: the longest single wait.
        multiplier: growth of the wait per try.
        jitter: fraction of each wait that is randomised, so that threads spread out.
    """

    attempts: int = 5
    initial_delay: float = 0.05
    max_delay: float = 2.0
    multiplier: float = 2.0
    jitter: float = 0.25

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the `attempt`-th failed try.

        Args:
            attempt: how many tries have failed so far (1-based).
        """
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        return base * (1 - self.jitter * random.random())


DEFAULT_RETRY = RetryPolicy()


class Failure(enum.Enum):
    """How a transport failure is handled."""

    UNREACHABLE = "unreachable"  # refused, DNS: not retried (web3 already retried reads)
    CONNECT_TIMEOUT = "connect-timeout"  # no connection in time: retried
    TIMEOUT = "timeout"  # connected, no answer in time: retried
    RESET = "reset"  # connection dropped mid-request: retried
    BUSY = "busy"  # HTTP 429 / 5xx, rate-limit errors: retried
    HTTP = "http"  # other HTTP errors (401, 404): not retried


_UNREACHABLE_TEXT = (
    "connection refused",
    "errno 111",
    "name or service not known",
    "nameresolutionerror",
    "failed to resolve",
    "temporary failure in name resolution",
    "nodename nor servname",
    "getaddrinfo failed",
    "no route to host",
    "network is unreachable",
)


def classify(exc: BaseException) -> tuple[Failure, int] | None:
    """Which transport failure `exc` is (with the HTTP status, else 0); None if it is not one.

    Args:
        exc: anything a web3 call raised.
    """
    for err in _chain(exc):
        if isinstance(err, RpcError):
            return None  # already translated
        if isinstance(err, requests.HTTPError):
            status = err.response.status_code if err.response is not None else 0
            return (Failure.BUSY if status == 429 or status >= 500 else Failure.HTTP, status)
        if isinstance(err, requests.ConnectTimeout):
            return (Failure.CONNECT_TIMEOUT, 0)
        if isinstance(err, requests.Timeout | TimeoutError):
            return (Failure.TIMEOUT, 0)
        if isinstance(err, ConnectionRefusedError | FileNotFoundError):
            return (Failure.UNREACHABLE, 0)
        if isinstance(err, requests.ConnectionError | ConnectionError):
            text = str(err).lower()
            if any(marker in text for marker in _UNREACHABLE_TEXT):
                return (Failure.UNREACHABLE, 0)
            return (Failure.RESET, 0)
        if isinstance(err, TooManyRequests):
            return (Failure.BUSY, 429)
        if isinstance(err, Web3RPCError) and isinstance(err.rpc_response, dict):
            error = err.rpc_response.get("error")
            if isinstance(error, dict):
                message = str(error.get("message", "")).lower()
                if (
                    error.get("code") == -32005
                    or "rate limit" in message
                    or ("too many requests" in message)
                ):
                    return (Failure.BUSY, 429)
    return None


def translate(
    exc: BaseException, failure: Failure, status: int, *, url: str, method: str, tries: int
) -> RpcError:
    """The typed exception for a transport failure that retrying did not cure.

    Args:
        exc: the last exception.
        failure: its classification.
        status: its HTTP status, or 0.
        url: the node's endpoint, for the message.
        method: the JSON-RPC method, for the message.
        tries: how many times it was tried.
    """
    times = f" ({tries} tries)" if tries > 1 else ""
    if failure is Failure.UNREACHABLE:
        reason = "connection refused"
        text = str(exc).lower()
        if "resolv" in text or "name or service" in text or "nodename" in text:
            reason = "host name not found"
        return NodeUnreachable(
            f"cannot reach the Ethereum node at {url} ({reason}): is it running? "
            + START_NODE_HINT,
            url=url,
        )
    if failure is Failure.CONNECT_TIMEOUT:
        return NodeUnreachable(
            f"the Ethereum node at {url} did not accept a connection in time{times}: "
            f"is it running and reachable? {START_NODE_HINT}",
            url=url,
        )
    if failure is Failure.RESET:
        return NodeUnreachable(
            f"the connection to the Ethereum node at {url} kept dropping during {method}"
            f"{times}: {_short(exc)}",
            url=url,
        )
    if failure is Failure.TIMEOUT:
        return RpcTimeout(
            f"the Ethereum node at {url} did not answer {method} in time{times}: it may be "
            "overloaded; try again or raise the HTTP timeout "
            "(HTTPProvider(url, request_kwargs={'timeout': seconds}))",
            url=url,
            method=method,
        )
    if failure is Failure.BUSY:
        return RpcUnavailable(
            f"the Ethereum node at {url} answered {method} with HTTP {status or 429}{times}: "
            "it is rate-limiting or failing; slow down or use another endpoint",
            url=url,
            status=status,
        )
    return RpcError(
        f"the Ethereum node at {url} answered {method} with HTTP {status}: "
        "check the URL and any API key in it",
        url=url,
    )


def call(
    w3: Web3,
    fn: Callable[[], T],
    *,
    method: str,
    policy: RetryPolicy = DEFAULT_RETRY,
) -> T:
    """Run the idempotent request `fn`, retrying transient transport failures.

    Args:
        w3: the connection `fn` uses (for the endpoint in messages, and to serialise calls
            into an in-process chain, which is not thread-safe).
        fn: the request, e.g. ``lambda: w3.eth.chain_id``.
        method: its JSON-RPC method name, for messages.
        policy: how often and how long to retry.

    Raises:
        NodeUnreachable: refused, DNS failure, or connections kept dropping.
        RpcTimeout: the node kept not answering in time.
        RpcUnavailable: the node kept answering HTTP 429 / 5xx.
        RpcError: another HTTP error.
        Exception: anything else `fn` raises (reverts, RPC errors) passes through unchanged.
    """
    tries = 0
    while True:
        try:
            with inproc_lock(w3):
                return fn()
        except Exception as exc:
            found = classify(exc)
            if found is None:
                raise
            tries += 1
            failure, status = found
            if failure in (Failure.UNREACHABLE, Failure.HTTP) or tries >= policy.attempts:
                raise translate(
                    exc, failure, status, url=endpoint(w3), method=method, tries=tries
                ) from exc
            time.sleep(policy.delay(tries))


def raw_request(w3: Web3, method: str, params: Sequence[Any]) -> Any:
    """One JSON-RPC request straight through the provider, past web3's middleware.

    web3's validation middleware asks the node for ``eth_chainId`` before every
    ``eth_estimateGas`` and ``eth_call`` (two extra round trips per transaction sent); the
    SDK checks the chain once per `Sender` instead. Params and result are in JSON-RPC
    form (hex strings).

    Args:
        w3: a connection whose provider `supports_batch` (HTTP or IPC).
        method: e.g. ``"eth_estimateGas"``.
        params: JSON-RPC params.

    Returns:
        The ``result``.

    Raises:
        Web3RPCError: the node answered with an error (``rpc_response`` holds it), as web3
            would raise it.
        Exception: transport failures, as the provider raises them (see `classify`).
    """
    provider = w3.provider
    if not isinstance(provider, HTTPProvider | IPCProvider):
        raise TypeError(f"{type(provider).__name__} takes no raw JSON-RPC requests")
    response = provider.make_request(RPCEndpoint(method), list(params))
    if response.get("error") is not None:
        raise Web3RPCError(str(response["error"]), rpc_response=response)
    return response.get("result")


def supports_batch(w3: Web3) -> bool:
    """Whether `w3`'s provider can post a JSON-RPC batch (HTTP and IPC; not eth-tester).

    Args:
        w3: the connection.
    """
    return isinstance(w3.provider, HTTPProvider | IPCProvider)


def batch(
    w3: Web3,
    requests_: Sequence[tuple[str, Sequence[Any]]],
    *,
    retry: bool = True,
    policy: RetryPolicy = DEFAULT_RETRY,
) -> list[RPCResponse]:
    """Post `requests_` as one JSON-RPC batch; raw responses in request order.

    Per-request errors come back as ``{"error": ...}`` items; nothing raises for them (unlike
    ``w3.batch_requests()``, which raises on the first and does not allow
    ``eth_sendRawTransaction`` at all).

    Args:
        w3: a connection whose provider `supports_batch`.
        requests_: ``(method, params)`` pairs.
        retry: retry transient transport failures (only for idempotent requests).
        policy: the retry policy.

    Raises:
        RpcError: the node refused the whole batch, or a transport failure (see `call`).
    """
    if not requests_:
        return []
    provider = w3.provider
    if not isinstance(provider, HTTPProvider | IPCProvider):
        raise TypeError(f"{type(provider).__name__} cannot send JSON-RPC batches")
    payload = [(RPCEndpoint(method), list(params)) for method, params in requests_]
    method = f"a batch of {len(payload)} {payload[0][0]}"
    response = call(
        w3,
        lambda: provider.make_batch_request(payload),
        method=method,
        policy=policy if retry else RetryPolicy(attempts=1),
    )
    if not isinstance(response, list):
        error = response.get("error") if isinstance(response, dict) else response
        raise RpcError(f"the node at {endpoint(w3)} refused {method}: {error}", url=endpoint(w3))
    if len(response) != len(payload):
        raise RpcError(
            f"the node at {endpoint(w3)} answered {len(response)} of {method}",
            url=endpoint(w3),
        )
    return response


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


def check_chain(w3: Web3, expected: int, *, policy: RetryPolicy = DEFAULT_RETRY) -> int:
    """The node's chain id, after checking that it is `expected`.

    Args:
        w3: the connection.
        expected: the chain id the caller means to use.
        policy: retries for the ``eth_chainId`` request.

    Raises:
        WrongChain: the node serves another chain.
        RpcError: the node cannot be asked (see `call`).
    """
    actual = int(call(w3, lambda: w3.eth.chain_id, method="eth_chainId", policy=policy))
    if actual != expected:
        raise WrongChain(
            f"the node at {endpoint(w3)} serves chain id {actual}, but chain id {expected} "
            "was expected: point the RPC URL at the right network (anvil uses 31337, "
            "ganache 1337) or pass the chain id you mean",
            expected=expected,
            actual=actual,
        )
    return actual


def connect(
    url: str,
    *,
    chain_id: int | None = None,
    timeout: float = 10.0,
    policy: RetryPolicy = DEFAULT_RETRY,
) -> Web3:
    """A `Web3` for the HTTP(S) node at `url`, after checking that it answers.

    Args:
        url: e.g. ``"http://127.0.0.1:8545"``.
        chain_id: when given, the chain the node must serve.
        timeout: seconds per HTTP request.
        policy: retries for the first request.

    Raises:
        NodeUnreachable: nothing answers at `url` (the message says how to start a node).
        WrongChain: the node serves another chain than `chain_id`.
        RpcError: another transport failure.
    """
    # Retries are ours (`call`): web3's own would stack on top and retry refusals too.
    provider = HTTPProvider(
        url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
    )
    w3 = Web3(provider)
    if chain_id is None:
        call(w3, lambda: w3.eth.chain_id, method="eth_chainId", policy=policy)
    else:
        check_chain(w3, chain_id, policy=policy)
    return w3


# --- per-provider facts, cached weakly ----------------------------------------------------

_FACTS_LOCK = threading.Lock()
_KIND: weakref.WeakKeyDictionary[BaseProvider, str] = weakref.WeakKeyDictionary()
_CHAIN_KEY: weakref.WeakKeyDictionary[BaseProvider, Hashable] = weakref.WeakKeyDictionary()
_INPROC_LOCKS: weakref.WeakKeyDictionary[BaseProvider, threading.RLock] = (
    weakref.WeakKeyDictionary()
)


def node_kind(w3: Web3) -> str:
    """``"anvil"``, ``"ganache"``, ``"eth-tester"``, ``"hardhat"``, ``"geth"`` or ``"other"``.

    Read from ``web3_clientVersion`` once per provider; a node that does not answer counts
    as ``"other"``.

    Args:
        w3: the connection.
    """
    provider = w3.provider
    with _FACTS_LOCK:
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
        prefixes = {
            "anvil": "anvil",
            "ganache": "ganache",
            "ethereumtester": "eth-tester",
            "hardhatnetwork": "hardhat",
            "geth": "geth",
        }
        flat = version.lower().replace(" ", "")
        kind = next((k for p, k in prefixes.items() if flat.startswith(p)), "other")
    with _FACTS_LOCK:
        _KIND[provider] = kind
    return kind


def is_devnet(w3: Web3) -> bool:
    """Whether the node is a local development chain (anvil, ganache, eth-tester, hardhat).

    Only devnets get ``evm_mine`` nudges when receipts stall.

    Args:
        w3: the connection.
    """
    return node_kind(w3) in DEVNET_KINDS


def mines_synchronously(w3: Web3) -> bool:
    """Whether the node mines each transaction before answering its send.

    See `SYNCHRONOUS_MINERS`.

    Args:
        w3: the connection.
    """
    return node_kind(w3) in SYNCHRONOUS_MINERS


def mine(w3: Web3) -> None:
    """Ask a devnet to mine a block now (``evm_mine``).

    Args:
        w3: the connection to a devnet.

    Raises:
        RpcError: transport failure (see `call`).
    """
    with mining_lock(w3):
        call(w3, lambda: w3.provider.make_request(RPCEndpoint("evm_mine"), []), method="evm_mine")


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
    with _FACTS_LOCK:
        known = _CHAIN_KEY.get(provider)
    if known is not None:
        return known
    chain_id = int(call(w3, lambda: w3.eth.chain_id, method="eth_chainId"))
    genesis = call(w3, lambda: w3.eth.get_block(0)["hash"], method="eth_getBlockByNumber")
    where: Hashable = (
        endpoint(w3) if isinstance(provider, HTTPProvider | IPCProvider) else id(provider)
    )
    key = (where, chain_id, bytes(genesis or b""))
    with _FACTS_LOCK:
        _CHAIN_KEY[provider] = key
    return key


def inproc_lock(w3: Web3) -> contextlib.AbstractContextManager[Any]:
    """A lock that serialises requests into an in-process (eth-tester) chain; else a no-op.

    py-evm is not thread-safe; a node behind HTTP is.

    Args:
        w3: the connection.
    """
    provider = w3.provider
    if not isinstance(provider, EthereumTesterProvider):
        return contextlib.nullcontext()
    with _FACTS_LOCK:
        lock = _INPROC_LOCKS.get(provider)
        if lock is None:
            lock = _INPROC_LOCKS[provider] = threading.RLock()
    return lock


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
    with _FACTS_LOCK:
        lock = _MINING_LOCKS.get(key)
        if lock is None:
            lock = _MINING_LOCKS[key] = threading.RLock()
    return lock


_MINING_LOCKS: dict[str, threading.RLock] = {}


def rpc_error_message(exc: BaseException) -> str | None:
    """The node's error message inside a web3/eth-tester exception, or None.

    Args:
        exc: what ``send_raw_transaction`` or another request raised.
    """
    for err in _chain(exc):
        if isinstance(err, Web3RPCError) and isinstance(err.rpc_response, dict):
            error = err.rpc_response.get("error")
            if isinstance(error, dict):
                return str(error.get("message", ""))
            if error is not None:
                return str(error)
        if isinstance(err, ValueError) and err.args and isinstance(err.args[0], dict):
            return str(err.args[0].get("message", ""))
        if type(err).__module__.startswith(("eth_utils", "eth_tester", "eth.")) and err.args:
            return str(err.args[0])
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < 8:
        found.append(current)
        if current.args and isinstance(current.args[0], BaseException):
            nested = current.args[0]  # requests wraps urllib3's errors in args
            if nested not in found:
                found.append(nested)
                reason = getattr(nested, "reason", None)
                if isinstance(reason, BaseException) and reason not in found:
                    found.append(reason)
        current = current.__cause__ or current.__context__
    return found


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
