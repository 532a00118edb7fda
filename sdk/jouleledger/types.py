"""Typed values the SDK hands out: ids, amounts and read-only views of chain state."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NewType

from eth_typing import ChecksumAddress

from .efficiency import tokens_per_joule

JobId = NewType("JobId", int)
Wei = NewType("Wei", int)  # token base units (1 CPT = 10**18)


class JobState(IntEnum):
    """The market's `JobState` enum."""

    NONE = 0
    OPEN = 1
    CLAIMED = 2
    SETTLED = 3
    DISPUTED = 4
    FINALIZED = 5
    EXPIRED = 6
    CANCELLED = 7


@dataclass(frozen=True)
class Job:
    """One job as the market reports it now (`JobMarket.job`).

    `max_payment`, `bid` and `deadline` are meaningful while the job is open or claimed;
    `payment`, `refund` and `settled_at` once it has been settled.
    """

    id: JobId
    state: JobState
    client: ChecksumAddress
    provider: ChecksumAddress | None
    gpu_class: bytes
    price_per_gpu_second: Wei
    max_payment: Wei
    bid: Wei
    payment: Wei
    refund: Wei
    refund_withdrawn: bool
    deadline: int
    settled_at: int
    fee_bps: int
    boost: Wei = Wei(0)  # priority from the client's locked holdings, fixed at posting
    priority: Wei = Wei(0)  # bid + boost while open or claimed: what orders the job
    level: int = 0  # the priority level it is queued at (four per doubling)
    terms_version: int = 0  # the market terms that apply to it (fixed at posting)


@dataclass(frozen=True)
class ProviderInfo:
    """A provider's stake and terms (`ProviderStaking.providerInfo`)."""

    address: ChecksumAddress
    index: int
    stake: Wei
    locked: Wei
    unbonding: Wei
    unbonding_ready_at: int
    signer: ChecksumAddress | None
    gpu_class: bytes
    ask_price_per_gpu_second: Wei
    endpoint: str
    pending_ask: Wei = Wei(0)  # a raised ask that applies from `pending_ask_at` (0: none)
    pending_ask_at: int = 0
    signer_nonce: int = 0  # the nonce the next signer proof must sign

    @property
    def registered(self) -> bool:
        return self.index != 0


@dataclass(frozen=True)
class Terms:
    """What decides a job's parties' gains and losses; fixed per job when it is posted
    (`JobMarket.terms(version)`)."""

    version: int
    fee_bps: int
    dispute_bond: Wei
    dispute_slash_bps: int
    expire_penalty_bps: int
    treasury_share_bps: int
    attestor_threshold: int
    attestors: tuple[ChecksumAddress, ...]


@dataclass(frozen=True)
class MarketParameters:
    """The terms new jobs get now, and the market-wide settings."""

    terms: Terms
    treasury: ChecksumAddress
    busy_threshold: int
    dispute_window: int
    arbiter_timeout: int
    collateral_bps: int
    collateral_cap: Wei


@dataclass(frozen=True)
class Holding:
    """A holder's locked CPT and the priority it buys (`HoldingsVault.holding`)."""

    address: ChecksumAddress
    locked: Wei
    warm: Wei  # counts now
    warming: Wei  # counts from `warm_at`
    warm_at: int
    backed_until: int  # locked until then: it backs boosted jobs
    boost_per_job: Wei  # what a job posted now in a busy class would get
    capacity: int  # boosted jobs per epoch
    used: int  # boosted jobs used this epoch
    epoch_ends_at: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.used, 0)


@dataclass(frozen=True)
class ClassStatus:
    """A GPU class's queue of jobs open to all, and whether holdings boost posts now."""

    gpu_class: bytes
    open_jobs: int
    busy: bool
    busy_threshold: int


@dataclass(frozen=True)
class ProviderStats:
    """What a provider did, summed from settlement events."""

    address: ChecksumAddress
    jobs_settled: int
    earned: Wei  # payments of settled jobs, before fees
    energy_mj: int
    ai_tokens: int

    @property
    def tokens_per_joule(self) -> float:
        """AI tokens per joule over all settled jobs (0 when no energy was recorded)."""
        return tokens_per_joule(self.ai_tokens, self.energy_mj)
