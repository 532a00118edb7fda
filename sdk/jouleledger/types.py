"""Typed values the SDK hands out: ids, amounts and read-only views of chain state."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NewType

from eth_typing import ChecksumAddress

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

    @property
    def registered(self) -> bool:
        return self.index != 0


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
        return self.ai_tokens * 1000 / self.energy_mj if self.energy_mj else 0.0
