"""The JSON the API answers (and the pages render): one pydantic model per view.

Token amounts are exact decimal strings in CPT (``"1.5"``), never floats, so that what a page
shows is digit for digit what the chain holds; times are unix seconds; tokens per joule is a
float derived from the settlement event's six-decimal value.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Head(BaseModel):
    """How far the index has read: pages reload their live parts when `block` changes."""

    block: int = Field(description="The newest block the index holds (-1: none yet).")
    timestamp: int = Field(description="That block's time, unix seconds (0: none yet).")
    chain_block: int = Field(description="The newest block the node reports.")


class ClassRow(BaseModel):
    """One GPU class on the market page."""

    gpu_class: str
    open_jobs: int
    busy: bool
    busy_threshold: int
    max_bid_cpt: str
    max_boost_cpt: str
    boosted_open: int
    min_price_cpt: str | None = Field(description="Lowest CPT per GPU-second of open jobs.")
    max_price_cpt: str | None


class SettlementRow(BaseModel):
    """A recent settlement."""

    job_id: int
    provider: str | None
    gpu_class: str
    payment_cpt: str
    tokens_per_joule: float
    meter_kind: str | None
    timestamp: int
    tx_hash: str


class LeaderRow(BaseModel):
    """A provider's efficiency in one GPU class, measured by one kind of meter."""

    rank: int
    provider: str
    gpu_class: str
    meter_kind: str
    jobs: int
    energy_j: float
    ai_tokens: int
    tokens_per_joule: float


class Leaderboard(BaseModel):
    """Efficiency ranked within each meter kind: a simulated meter is never ranked with a
    real one."""

    meter_kind: str
    rows: list[LeaderRow]


class MarketView(BaseModel):
    """The `/` page."""

    classes: list[ClassRow]
    settlements: list[SettlementRow]
    leaderboards: list[Leaderboard]


class Balances(BaseModel):
    """Live chain values of an account (read through the SDK at the indexed head)."""

    balance_cpt: str
    stake_cpt: str
    locked_stake_cpt: str
    unbonding_cpt: str
    unbonding_ready_at: int
    unbonding_ready: bool
    credit_cpt: str
    holdings_locked_cpt: str
    holdings_warm_cpt: str
    boost_per_job_cpt: str
    boost_capacity: int
    boost_used: int
    boost_remaining: int


class ClientSummary(BaseModel):
    """An account's side as a client: its escrow, spending and time-to-empty."""

    jobs_posted: int
    escrow_by_state: dict[str, str] = Field(description="CPT still escrowed, by job state.")
    jobs_by_state: dict[str, int]
    spent_cpt: str = Field(description="Payments plus bids of settled jobs.")
    refunded_cpt: str
    spend_rate_cpt_per_hour: str = Field(description="Over the recent window.")
    window_s: int
    time_to_empty_s: int | None = Field(description="Balance / spend rate (None: no spend).")
    low_funds: bool = Field(description="Less than a day left at the recent rate.")


class AccountView(BaseModel):
    """The `/accounts/{address}` page's numbers."""

    address: str
    head_block: int
    balances: Balances
    client: ClientSummary
    is_provider: bool


class HistoryRow(BaseModel):
    """One event that concerns an account."""

    block: int
    timestamp: int
    tx_hash: str
    log_index: int
    kind: str
    job_id: int | None
    amount_cpt: str | None
    counterparty: str | None = Field(description="The other side, where there is one.")


class History(BaseModel):
    """A page of an account's transaction history, newest first."""

    address: str
    rows: list[HistoryRow]
    kinds: list[str] = Field(description="Every kind the filter accepts.")
    total: int


class GpuRow(BaseModel):
    """A provider's work on one GPU (by the record's GPU id hash)."""

    gpu_id_hash: str
    meter_kind: str
    jobs: int
    gpu_seconds: float
    energy_j: float
    ai_tokens: int
    tokens_per_joule: float


class DisputeRow(BaseModel):
    """A dispute or a slash that concerns a provider."""

    kind: str
    job_id: int | None
    amount_cpt: str
    detail: str
    timestamp: int
    tx_hash: str


class ProviderView(BaseModel):
    """The `/providers/{address}` page's numbers."""

    address: str
    gpu_class: str | None
    endpoint: str | None
    meter_kinds: list[str]
    jobs_by_state: dict[str, int]
    jobs_settled: int
    earned_cpt: str
    paid_out_cpt: str
    energy_j: float
    ai_tokens: int
    tokens_per_joule: float
    gpus: list[GpuRow]
    disputes: list[DisputeRow]
    slashed_cpt: str


class Series(BaseModel):
    """A provider's settlements over time, for the charts: one point per settled job."""

    address: str
    timestamps: list[int]
    earnings_cpt: list[float] = Field(description="Cumulative payments, in CPT.")
    tokens_per_joule: list[float]


class TimelineRow(BaseModel):
    """One step of a job's life."""

    kind: str
    block: int
    timestamp: int
    tx_hash: str
    detail: str


class UsageView(BaseModel):
    """The usage record a job was settled with."""

    gpu_seconds: float
    energy_j: float
    ai_tokens: int
    tokens_per_joule: float
    meter_kind: str
    gpu_id_hash: str
    result_hash: str
    start_time: int
    end_time: int


class JobView(BaseModel):
    """The `/jobs/{id}` page's numbers."""

    job_id: int
    state: str
    client: str
    provider: str | None
    gpu_class: str
    price_per_gpu_second_cpt: str
    max_payment_cpt: str
    bid_cpt: str
    boost_cpt: str
    deadline: int
    payment_cpt: str | None
    refund_cpt: str | None
    fee_cpt: str | None
    timeline: list[TimelineRow]
    usage: UsageView | None


class SearchResult(BaseModel):
    """Where a search box entry leads."""

    kind: str
    url: str
