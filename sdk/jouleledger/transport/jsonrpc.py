"""Connections and raw JSON-RPC: `connect`, the chain check, single requests and batches.

Facts that never change for a connection (``eth_chainId``, ``web3_clientVersion``,
``net_version``) are cached by web3.py itself (`CACHED_REQUESTS`, the provider's
``cache_allowed_requests``): web3's validation middleware asks for the chain id before every
``eth_call`` and ``eth_estimateGas``, and the cache answers it without a round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3 import HTTPProvider, IPCProvider, Web3
from web3.exceptions import Web3RPCError
from web3.types import RPCEndpoint, RPCResponse

from ..errors import RpcError, WrongChain
from .provider import endpoint
from .retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy, call

#: Requests whose answers web3.py may cache for the life of a provider.
CACHED_REQUESTS = frozenset(
    RPCEndpoint(m) for m in ("eth_chainId", "web3_clientVersion", "net_version")
)


def http_provider(url: str, *, timeout: float, web3_retries: bool = False) -> HTTPProvider:
    """An `HTTPProvider` as the SDK uses it: `CACHED_REQUESTS` cached by web3.py.

    Args:
        url: the node's HTTP(S) URL.
        timeout: seconds per HTTP request.
        web3_retries: keep web3.py's own retries of reads on connection errors (by default
            retries are ours, `call`: web3's would stack on top and retry refusals too).
    """
    retries: dict[str, Any] = {} if web3_retries else {"exception_retry_configuration": None}
    return HTTPProvider(
        url,
        request_kwargs={"timeout": timeout},
        cache_allowed_requests=True,
        cacheable_requests=set(CACHED_REQUESTS),
        # No block-age threshold: it costs an eth_chainId of its own, and these never age.
        request_cache_validation_threshold=None,
        **retries,
    )


def raw_request(w3: Web3, method: str, params: Sequence[Any]) -> Any:
    """One JSON-RPC request straight through the provider, past web3's middleware.

    For requests whose params and result are wanted in JSON-RPC form (hex strings), such as
    a signed transaction or a gas estimate of an already encoded one.

    Args:
        w3: a connection whose provider `supports_batch` (HTTP or IPC).
        method: e.g. ``"eth_estimateGas"``.
        params: JSON-RPC params.

    Returns:
        The ``result``.

    Raises:
        TypeError: the provider takes no raw requests (eth-tester).
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
        TypeError: the provider cannot batch (eth-tester).
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
        policy=policy if retry else NO_RETRY,
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
    w3 = Web3(http_provider(url, timeout=timeout))
    if chain_id is None:
        call(w3, lambda: w3.eth.chain_id, method="eth_chainId", policy=policy)
    else:
        check_chain(w3, chain_id, policy=policy)
    return w3
