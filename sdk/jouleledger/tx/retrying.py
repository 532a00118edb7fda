"""The tenacity pieces the transaction layer's retry loops share.

Each loop is a `tenacity.Retrying` whose try raises `Again` when another try may cure the
failure; `Again.error` is what the caller sees once the loop gives up (`give_up`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from tenacity import RetryCallState

from ..transport import RetryPolicy


class Again(Exception):
    """One try failed in a way that another may cure.

    Attributes:
        error: what to raise when no try is left.
        prepare: what to do before the next try (re-read the nonce, re-quote fees), if any.
    """

    def __init__(self, error: Exception, prepare: Callable[[], object] | None = None) -> None:
        """Keep what the loop needs once it stops or goes on.

        Args:
            error: what to raise when no try is left.
            prepare: what to do before the next try.
        """
        super().__init__(str(error))
        self.error = error
        self.prepare = prepare


def give_up(state: RetryCallState) -> NoReturn:
    """tenacity ``retry_error_callback``: raise the last try's `Again.error` (or exception).

    Args:
        state: tenacity's state of the loop.

    Raises:
        Exception: the error the last try reported.
    """
    assert state.outcome is not None
    exc = state.outcome.exception()
    if isinstance(exc, Again):
        raise exc.error from exc.__cause__
    assert exc is not None
    raise exc


def prepare_next(state: RetryCallState) -> None:
    """tenacity ``before_sleep``: run the failed try's `Again.prepare`.

    Args:
        state: tenacity's state of the loop.
    """
    assert state.outcome is not None
    exc = state.outcome.exception()
    if isinstance(exc, Again) and exc.prepare is not None:
        exc.prepare()


def policy_wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    """tenacity ``wait``: the `RetryPolicy`'s backoff after the n-th failed try.

    Args:
        policy: the backoff.
    """

    def wait(state: RetryCallState) -> float:
        return policy.delay(state.attempt_number)

    return wait
