"""Bounded retries for idempotent requests, declared once and run by tenacity.

web3.py's `HTTPProvider` already retries most read methods a few times on connection errors;
`call` adds what it lacks: a bounded exponential backoff for resets, timeouts, HTTP 429 and
5xx, and one exception type per failure (`NodeUnreachable`, `RpcTimeout`, `RpcUnavailable`).
It is for idempotent requests only: sending a transaction again is decided by the sender,
after checking whether the node already knows it.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from tenacity import RetryCallState, Retrying, stop_after_attempt
from tenacity.retry import retry_base, retry_if_exception
from web3 import Web3

from .failures import classify, is_transient, translate
from .provider import endpoint, inproc_lock

T = TypeVar("T")


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

    def wait(self, state: RetryCallState) -> float:
        """The tenacity wait strategy of this policy (see `delay`).

        Args:
            state: tenacity's record of the call so far.
        """
        return self.delay(state.attempt_number)

    def retrying(self, retry: retry_base | None = None, **kwargs: Any) -> Retrying:
        """A tenacity `Retrying` with this policy's stop and wait; the last error re-raised.

        Args:
            retry: which outcomes to retry (default: transient transport failures).
            **kwargs: more `Retrying` arguments (``before_sleep``, ``sleep``, ...).
        """
        return Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self.wait,
            retry=retry if retry is not None else retry_if_exception(is_transient),
            reraise=True,
            **kwargs,
        )


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)


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
    tries = 1
    try:
        with inproc_lock(w3):
            return fn()  # the fast path: no tenacity machinery (tens of µs) unless it fails
    except Exception as exc:
        if policy.attempts <= 1 or not is_transient(exc):
            _raise_typed(exc, w3, method, tries)
        first: list[BaseException] = [exc]

    def attempt() -> T:
        nonlocal tries
        if first:
            raise first.pop()  # tenacity's try 1 is the failure above: it waits, then retries
        tries += 1
        with inproc_lock(w3):
            return fn()

    try:
        return _retrying(policy)(attempt)
    except Exception as exc:
        _raise_typed(exc, w3, method, tries)


def _raise_typed(exc: Exception, w3: Web3, method: str, tries: int) -> NoReturn:
    """Raise `exc` as its typed transport exception, or unchanged if it is not one."""
    found = classify(exc)
    if found is None:
        raise exc
    failure, status = found
    raise translate(exc, failure, status, url=endpoint(w3), method=method, tries=tries) from exc


@functools.lru_cache(maxsize=64)
def _retrying(policy: RetryPolicy) -> Retrying:
    # One `Retrying` per policy: tenacity keeps its per-call state in a thread-local.
    return policy.retrying()
