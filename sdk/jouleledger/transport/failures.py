"""Transport failures: which ones a retry may cure, and the typed exception for the rest.

A transport failure is anything between the SDK and the node's answer: a refused
connection, a timeout, a dropped connection, HTTP 429 / 5xx. `classify` names it (with the
HTTP status); `translate` turns one that retrying did not cure into `NodeUnreachable`,
`RpcTimeout`, `RpcUnavailable` or `RpcError`. Errors the node answers (reverts, "nonce too
low") are not transport failures: `rpc_error_message` reads their text.
"""

from __future__ import annotations

import enum

import requests
from web3.exceptions import TooManyRequests, Web3RPCError

from ..errors import NodeUnreachable, RpcError, RpcTimeout, RpcUnavailable

START_NODE_HINT = "start a local one with `jl devnet up`, or check the RPC URL"


class Failure(enum.Enum):
    """How a transport failure is handled."""

    UNREACHABLE = "unreachable"  # refused, DNS: not retried (web3 already retried reads)
    CONNECT_TIMEOUT = "connect-timeout"  # no connection in time: retried
    TIMEOUT = "timeout"  # connected, no answer in time: retried
    RESET = "reset"  # connection dropped mid-request: retried
    BUSY = "busy"  # HTTP 429 / 5xx, rate-limit errors: retried
    HTTP = "http"  # other HTTP errors (401, 404): not retried

    @property
    def transient(self) -> bool:
        """Whether trying again may cure it."""
        return self not in (Failure.UNREACHABLE, Failure.HTTP)


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


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is a transport failure that trying again may cure (a tenacity predicate).

    Args:
        exc: anything a web3 call raised.
    """
    found = classify(exc)
    return found is not None and found[0].transient


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
