"""The node's view of the market: the `Chain` interface, what it returns, and how it fails.

Failures come back as three oracle exceptions (defined in `jouleledger_oracle.errors`,
re-exported here), so the node's loops need not know web3:

- `NoEligibleJob`: nothing to claim right now (not an error).
- `ChainRejected`: the contract refused (a custom error, decoded into the SDK's typed
  exception); retrying the same call will not help unless the chain's state changes.
- `ChainUnavailable`: the node, the network or the fee market failed us; retry with backoff.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from eth_typing import ChecksumAddress

from jouleledger.records import MarketDomain, UsageRecord
from jouleledger.types import JobState

from ..errors import ChainRejected, ChainUnavailable, ConfigError, NoEligibleJob

__all__ = [
    "SETTLED_STATES",
    "Chain",
    "ChainJob",
    "ChainRejected",
    "ChainUnavailable",
    "NoEligibleJob",
    "Registration",
    "Settlement",
    "check_registration",
]

SETTLED_STATES: Final = frozenset({JobState.SETTLED, JobState.DISPUTED, JobState.FINALIZED})


@dataclass(frozen=True)
class ChainJob:
    """A job as the market reports it now."""

    job_id: int
    state: JobState
    provider: ChecksumAddress | None
    deadline: int
    settled_at: int
    payment: int
    bid: int = 0
    boost: int = 0  # priority from the client's locked holdings, fixed at posting


@dataclass(frozen=True)
class Settlement:
    """A transaction that settled jobs, and what each job was paid (wei, before fees)."""

    tx_hash: str
    payments: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Registration:
    """The provider's registration as the staking contract reports it."""

    provider: ChecksumAddress
    registered: bool
    signer: ChecksumAddress | None
    gpu_class: str
    stake: int


class Chain(Protocol):
    """The market, seen by one provider. Every method may raise `ChainUnavailable`."""

    provider: ChecksumAddress
    domain: MarketDomain

    def registration(self) -> Registration:
        """The provider's stake, class and registered oracle signer."""
        ...

    def claim_next(self) -> int:
        """Claim the highest-priority job this provider may take; its id.

        Raises:
            NoEligibleJob: there is none.
            ChainRejected: the market refused (paused, not enough stake, ...).
        """
        ...

    def claim_many(self, n: int) -> list[int]:
        """Claim up to `n` of the highest-priority jobs this provider may take, in one
        transaction (a node with `n` free GPUs asks for `n`); their ids, best first.

        Args:
            n: the most jobs to claim (at least 1).

        Returns:
            The claimed ids; empty when no job is eligible (not an error).

        Raises:
            ChainRejected: the market refused (paused, not enough stake, ...).
        """
        ...

    def claim(self, job_id: int) -> None:
        """Claim one job (one designated to this provider).

        Args:
            job_id: the job.

        Raises:
            ChainRejected: the market refused (a higher bid comes first, not eligible, ...).
        """
        ...

    def job(self, job_id: int) -> ChainJob | None:
        """The job now, or None when no job has that id.

        Args:
            job_id: the job.
        """
        ...

    def spec_hash(self, job_id: int) -> bytes | None:
        """The spec hash the job was posted with, or None when no job has that id.

        Args:
            job_id: the job.
        """
        ...

    def claimed_job_ids(self) -> list[int]:
        """Every job this provider ever claimed on this market, oldest first."""
        ...

    def settle(self, record: UsageRecord, signature: bytes) -> Settlement:
        """Settle one job with the oracle's signature over its record.

        Args:
            record: the job's usage record.
            signature: the oracle's 65-byte signature over its EIP-712 digest.

        Raises:
            ChainRejected: the market refused.
        """
        ...

    def settle_batch(self, records: Sequence[UsageRecord], signature: bytes) -> Settlement:
        """Settle jobs with one signature over the batch.

        Args:
            records: the jobs' usage records.
            signature: the oracle's signature over the batch digest.

        Raises:
            ChainRejected: the market refused (the whole batch).
        """
        ...

    def settlement(self, job_id: int) -> Settlement | None:
        """The transaction that settled `job_id` (from its ``JobSettled`` event), if any.

        Args:
            job_id: the job.
        """
        ...

    def payments(self, job_ids: Iterable[int]) -> dict[int, int]:
        """What each of `job_ids` that is settled was paid, from ``JobSettled`` events.

        Args:
            job_ids: the jobs to look up.
        """
        ...

    def finalized_job_ids(self) -> set[int]:
        """Jobs whose payment this provider has withdrawn (``JobFinalized`` events)."""
        ...

    def chain_time(self) -> int:
        """The latest block's timestamp: the clock the market checks records against."""
        ...

    def nudge(self) -> bool:
        """On a development chain, mine a block so its clock catches up; True if it did."""
        ...

    def dispute_window(self) -> int:
        """Seconds after settlement before the payment can be withdrawn."""
        ...

    def withdraw(self, job_ids: Sequence[int]) -> int:
        """Pull the payments of `job_ids` (and any credit); the amount in wei.

        Args:
            job_ids: the jobs whose payments to pull.

        Raises:
            ChainRejected: the market refused (window still open, nothing to withdraw, ...).
        """
        ...


def check_registration(chain: Chain, signer: ChecksumAddress) -> Registration:
    """Check that the provider is registered with `signer` as its oracle signer.

    Args:
        chain: the market, as the provider.
        signer: the address of the node's oracle key.

    Raises:
        ConfigError: not registered, or registered with another signer (the message says
            how to fix it).
        ChainUnavailable: the chain cannot be read.
    """
    reg = chain.registration()
    if not reg.registered:
        raise ConfigError(
            f"{reg.provider} is not a registered provider on this market: stake and register "
            f"it first, naming {signer} as its oracle signer"
        )
    if reg.signer != signer:
        raise ConfigError(
            f"provider {reg.provider} is registered with oracle signer {reg.signer}, but this "
            f"node's keystore holds {signer}: update the provider's signer or use the right "
            "keystore"
        )
    return reg
