"""Holdings that buy priority (DESIGN.md, "Priority"): only while the class is busy, only
after a warm-up lock (no flash loans), capped and rationed per epoch, visible on the job,
and locked while they back a boosted job."""

from __future__ import annotations

from typing import Any

import brownie
import pytest
from market_constants import (
    DEFAULT_BUSY_THRESHOLD,
    EPOCH,
    H100,
    HOLDING_PER_JOB,
    MAX_BOOST,
    MAX_JOBS_PER_EPOCH,
    NANO,
    ONE,
    WARMUP,
    level_of,
    padded,
)

BUSY_AT = 2  # the busy threshold these tests set, so that two filler jobs make a class busy


@pytest.fixture(scope="module")
def locker(protocol: Any, accounts: Any) -> Any:
    """A client that locks holdings (it has approved the vault)."""
    protocol.fund(accounts[5])
    return accounts[5]


@pytest.fixture
def busy(protocol: Any, client2: Any) -> list[int]:
    """H100 made busy: the threshold lowered to BUSY_AT and that many filler jobs posted."""
    protocol.market.setBusyThreshold(BUSY_AT, {"from": protocol.admin})
    return protocol.make_busy(client2)


def status(market: Any) -> tuple[int, bool]:
    open_jobs, busy = market.classStatus(H100)
    return int(open_jobs), bool(busy)


def boost_of(tx: Any) -> int:
    return int(tx.events["JobPosted"]["boost"])


def test_a_class_turns_busy_at_the_threshold_of_open_jobs(
    protocol: Any, market: Any, client: Any
) -> None:
    for _ in range(DEFAULT_BUSY_THRESHOLD - 1):
        protocol.post(client, max_payment=ONE)
    assert status(market) == (DEFAULT_BUSY_THRESHOLD - 1, False)
    protocol.post(client, max_payment=ONE)
    assert status(market) == (DEFAULT_BUSY_THRESHOLD, True)


def test_designated_jobs_do_not_make_a_class_busy(
    protocol: Any, market: Any, provider: Any, client: Any
) -> None:
    market.setBusyThreshold(BUSY_AT, {"from": protocol.admin})
    for _ in range(BUSY_AT):
        protocol.post(client, provider=provider)
    assert status(market) == (0, False)


def test_warm_holdings_give_no_boost_when_the_class_is_not_busy(
    protocol: Any, vault: Any, locker: Any
) -> None:
    protocol.lock_warm(locker, 1_000 * ONE)
    tx = protocol.post_tx(locker, bid=ONE)
    assert boost_of(tx) == 0 and "BoostUsed" not in tx.events
    assert vault.holding(locker)["used"] == 0


def test_tokens_merely_held_give_no_boost(protocol: Any, busy: list[int], locker: Any) -> None:
    assert protocol.token.balanceOf(locker) > 1_000 * ONE
    assert boost_of(protocol.post_tx(locker, bid=ONE)) == 0


def test_a_lock_just_made_gives_no_boost(
    protocol: Any, vault: Any, busy: list[int], locker: Any
) -> None:
    """Flash-loan style: lock, post, and unlock would buy nothing even in one block."""
    protocol.lock(locker, 1_000 * ONE)
    assert boost_of(protocol.post_tx(locker, bid=ONE)) == 0
    holding = vault.holding(locker)
    assert (holding["warm"], holding["warming"], holding["used"]) == (0, 1_000 * ONE, 0)


def test_warm_holdings_boost_a_job_in_a_busy_class(
    protocol: Any, market: Any, vault: Any, busy: list[int], locker: Any
) -> None:
    protocol.lock_warm(locker, 1_000 * ONE)
    tx = protocol.post_tx(locker, bid=ONE)
    boost = 1_000 * ONE // 100  # 1% of the warm holdings
    assert boost_of(tx) == boost == tx.events["BoostUsed"]["boost"]
    job = tx.events["JobPosted"]["jobId"]
    view = market.job(job)
    assert (view["boost"], view["bid"], view["priority"]) == (boost, ONE, ONE + boost)
    assert view["level"] == level_of(ONE + boost)
    ids, priorities = market.queue(H100, 0, 1)
    assert (ids[0], priorities[0]) == (job, ONE + boost)


def test_locking_more_keeps_the_warm_part_warm(protocol: Any, busy: list[int], locker: Any) -> None:
    protocol.lock_warm(locker, 200 * ONE)
    protocol.lock(locker, 800 * ONE)  # warming again, but the 200 already count
    assert boost_of(protocol.post_tx(locker)) == 2 * ONE


def test_the_boost_is_capped_at_max_boost(protocol: Any, busy: list[int], locker: Any) -> None:
    protocol.lock_warm(locker, 10_000 * ONE)  # 1% would be 100 CPT
    assert boost_of(protocol.post_tx(locker)) == MAX_BOOST


def test_the_boost_is_whole_nano_cpt(protocol: Any, busy: list[int], locker: Any) -> None:
    protocol.lock_warm(locker, HOLDING_PER_JOB + 99)  # 1% is 1 CPT and 0.99 wei
    assert boost_of(protocol.post_tx(locker)) == HOLDING_PER_JOB // 100
    assert boost_of(protocol.post_tx(locker)) % NANO == 0


def test_boosted_jobs_are_rationed_per_epoch(
    protocol: Any, vault: Any, busy: list[int], locker: Any
) -> None:
    protocol.lock_warm(locker, HOLDING_PER_JOB)  # capacity: one boosted job per epoch
    protocol.start_of_epoch()
    assert boost_of(protocol.post_tx(locker)) == ONE
    tx = protocol.post_tx(locker)
    assert boost_of(tx) == 0 and "BoostUsed" not in tx.events
    holding = vault.holding(locker)
    assert (holding["capacity"], holding["used"]) == (1, 1)


def test_a_new_epoch_restores_the_boost(
    protocol: Any, vault: Any, busy: list[int], locker: Any
) -> None:
    protocol.lock_warm(locker, HOLDING_PER_JOB)
    protocol.start_of_epoch()
    protocol.post_tx(locker)
    protocol.sleep(EPOCH)
    assert vault.holding(locker)["used"] == 0
    assert boost_of(protocol.post_tx(locker)) == ONE


def test_max_jobs_per_epoch_caps_the_capacity_whatever_the_holdings(
    protocol: Any, vault: Any, busy: list[int], locker: Any
) -> None:
    vault.setBoostParams((100, MAX_BOOST, HOLDING_PER_JOB, 2), {"from": protocol.admin})
    protocol.lock_warm(locker, 1_000 * ONE)  # ten jobs' worth of holdings
    protocol.start_of_epoch()
    assert [boost_of(protocol.post_tx(locker)) for _ in range(3)] == [10 * ONE, 10 * ONE, 0]
    assert vault.holding(locker)["capacity"] == 2


def test_unlock_is_blocked_while_holdings_back_a_boosted_job(
    protocol: Any, vault: Any, busy: list[int], locker: Any, chain: Any, error: Any
) -> None:
    protocol.lock_warm(locker, 1_000 * ONE)
    deadline = protocol.now() + 1_000
    protocol.post(locker, deadline=deadline)
    assert vault.holding(locker)["backedUntil"] == deadline
    with brownie.reverts(error("HoldingsBacking", locker, deadline)):
        vault.unlock(ONE, {"from": locker})


def test_cancelling_the_boosted_job_does_not_free_the_holdings_early(
    protocol: Any, market: Any, vault: Any, busy: list[int], locker: Any, chain: Any, error: Any
) -> None:
    protocol.lock_warm(locker, 1_000 * ONE)
    deadline = protocol.now() + 1_000
    job = protocol.post(locker, deadline=deadline)
    market.cancelJob(job, {"from": locker})
    with brownie.reverts(error("HoldingsBacking", locker, deadline)):
        vault.unlock(1_000 * ONE, {"from": locker})


def test_unlock_is_allowed_after_the_boosted_deadline(
    protocol: Any, vault: Any, busy: list[int], locker: Any, chain: Any
) -> None:
    protocol.lock_warm(locker, 1_000 * ONE)
    deadline = protocol.now() + 1_000
    protocol.post(locker, deadline=deadline)
    protocol.sleep(1_001)
    before = protocol.token.balanceOf(locker)
    vault.unlock(1_000 * ONE, {"from": locker})
    assert protocol.token.balanceOf(locker) == before + 1_000 * ONE
    assert vault.totalLocked() == 0 == vault.holding(locker)["locked"]


def test_unlock_more_than_locked_reverts(
    protocol: Any, vault: Any, locker: Any, error: Any
) -> None:
    protocol.lock(locker, ONE)
    with brownie.reverts(error("HoldingsInsufficient", locker, ONE, 2 * ONE)):
        vault.unlock(2 * ONE, {"from": locker})


def test_a_boosted_job_overtakes_a_richer_bid_in_a_busy_class(
    protocol: Any, market: Any, provider: Any, busy: list[int], locker: Any, client: Any
) -> None:
    protocol.lock_warm(locker, 1_000 * ONE)  # boost 10 CPT
    rich = protocol.post(client, bid=5 * ONE)
    boosted = protocol.post(locker, bid=ONE)
    assert protocol.queue()[:2] == [boosted, rich]
    assert market.claimNext({"from": provider}).return_value == boosted


def test_holdings_do_not_overtake_a_richer_bid_in_a_quiet_class(
    protocol: Any, market: Any, provider: Any, locker: Any, client: Any
) -> None:
    protocol.lock_warm(locker, 1_000 * ONE)
    rich = protocol.post(client, bid=5 * ONE)
    holder_job = protocol.post(locker, bid=ONE)
    assert protocol.queue() == [rich, holder_job]
    assert market.claimNext({"from": provider}).return_value == rich


def test_raising_the_bid_keeps_the_boost(
    protocol: Any, market: Any, busy: list[int], locker: Any
) -> None:
    protocol.lock_warm(locker, 1_000 * ONE)
    job = protocol.post(locker, bid=ONE)
    tx = market.raiseBid(job, 2 * ONE, {"from": locker})
    assert tx.events["BidRaised"]["priority"] == 12 * ONE
    assert market.job(job)["priority"] == 12 * ONE


def test_only_the_market_may_spend_a_boost(
    protocol: Any, vault: Any, locker: Any, chain: Any, error: Any
) -> None:
    protocol.lock_warm(locker, 1_000 * ONE)
    with brownie.reverts(error("HoldingsOnlyMarket", locker)):
        vault.useBoost(locker, protocol.now() + 10**6, {"from": locker})


@pytest.mark.parametrize(
    ("params", "name", "value"),
    [
        ((10_001, MAX_BOOST, HOLDING_PER_JOB, 1), "boostBps", 10_001),
        ((100, MAX_BOOST, NANO - 1, 1), "holdingPerJob", NANO - 1),
        ((100, MAX_BOOST, HOLDING_PER_JOB, 0), "maxJobsPerEpoch", 0),
        ((100, MAX_BOOST, HOLDING_PER_JOB, 1_000_001), "maxJobsPerEpoch", 1_000_001),
    ],
)
def test_boost_params_out_of_range_are_refused(
    protocol: Any, vault: Any, params: tuple[int, ...], name: str, value: int, error: Any
) -> None:
    with brownie.reverts(error("HoldingsInvalidParameter", padded(name), value)):
        vault.setBoostParams(params, {"from": protocol.admin})
    assert vault.boostParams()[3] == MAX_JOBS_PER_EPOCH


def test_warm_up_is_the_vault_s_warmup(vault: Any) -> None:
    assert (vault.WARMUP(), vault.EPOCH()) == (WARMUP, EPOCH)
