"""What the node's parts share: the chain, the store, the signer, the clock, the counters,
the wake-up events, and one way to retry with backoff (tenacity)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from eth_typing import ChecksumAddress
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

from ..chain import Chain, ChainUnavailable
from ..metrics import NodeMetrics
from ..settings import NodeConfig
from ..signer import OracleSigner
from ..store import OracleStore
from .issues import IssueBook
from .stats import GpuStats

logger = logging.getLogger("jouleledger_oracle.node")

Clock = Callable[[], float]
T = TypeVar("T")


class NodeContext:
    """The state the worker, the settler and the withdrawals share; built by `OracleNode`
    from the parts it is given (its arguments say what each is)."""

    def __init__(
        self,
        *,
        chain: Chain,
        store: OracleStore,
        signer: OracleSigner,
        config: NodeConfig,
        clock: Clock,
    ) -> None:
        self.chain = chain
        self.store = store
        self.signer = signer
        self.config = config
        self.clock = clock
        self.provider: ChecksumAddress = chain.provider
        self.domain = chain.domain
        self.metrics = NodeMetrics()
        self.stats = GpuStats()
        self.issues = IssueBook(clock, self.error)
        self.stop = threading.Event()
        self.wake_worker = threading.Event()
        self.wake_settler = threading.Event()
        self.recovered = threading.Event()
        self.progress = threading.Condition()
        self.last_chain_ok = 0.0

    def chain_ok(self) -> None:
        """Note that the chain just answered."""
        self.last_chain_ok = self.clock()

    def notify(self) -> None:
        """Wake whoever waits in `OracleNode.wait_until`: something moved."""
        with self.progress:
            self.progress.notify_all()

    def error(self, message: str, *, kind: str, chain: bool = False) -> None:
        """Count an error and remember it as the latest.

        Args:
            message: what went wrong.
            kind: its bounded metric label (an exception class name or a job issue's stage).
            chain: the Ethereum node failed (also counted as a chain error).
        """
        self.metrics.error(message, self.clock(), kind=kind)
        if chain:
            self.metrics.add(chain_errors=1)
        self.notify()

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Wait `seconds`, or less when the node stops or `wake` is set.

        Args:
            seconds: the longest wait.
            wake: an event that ends the wait early (besides stopping).
        """
        (wake or self.stop).wait(seconds)

    def keep_trying(
        self,
        step: Callable[[], T],
        what: str,
        *,
        wake: threading.Event | None = None,
        on_unavailable: Callable[[], None] | None = None,
    ) -> T | None:
        """Run `step` until it returns, backing off exponentially after each failure (from
        ``backoff_initial_s`` doubling up to ``backoff_max_s``) and recording the failure.

        Args:
            step: the work; any exception it raises is retried.
            what: names the loop in logs and error messages (``worker``, ``settler``...).
            wake: an event that cuts a backoff short.
            on_unavailable: also called when the chain was unavailable.

        Returns:
            What `step` returned, or None when the node stopped before it succeeded.
        """

        def failed(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            if isinstance(exc, ChainUnavailable):
                self.error(str(exc), kind=type(exc).__name__, chain=True)
                if on_unavailable is not None:
                    on_unavailable()
                logger.warning(
                    "node: %s: chain unavailable (%s); retrying in %.1f s", what, exc, delay
                )
            elif exc is not None:
                self.error(f"{what}: {exc}", kind=type(exc).__name__)
                logger.error("node: %s error; retrying in %.1f s", what, delay, exc_info=exc)

        retrying = Retrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_exponential(
                multiplier=self.config.backoff_initial_s, max=self.config.backoff_max_s
            ),
            stop=lambda _: self.stop.is_set(),
            sleep=lambda seconds: self.sleep(seconds, wake),
            before_sleep=failed,
            retry_error_callback=lambda _: None,
        )
        return retrying(step)
