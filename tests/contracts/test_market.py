"""JobMarket up to the claim, function by function: deployment, posting, bids, cancelling and
claiming, each behaviour and each custom error."""

from __future__ import annotations

from typing import Any

import brownie
import pytest
from market_constants import (
    A100,
    ARBITER_TIMEOUT,
    CANCELLED,
    CLAIMED,
    COLLATERAL_BPS,
    COLLATERAL_CAP,
    DEFAULT_BUSY_THRESHOLD,
    DEFAULT_EXPIRE_PENALTY_BPS,
    DEFAULT_SLASH_BPS,
    DEFAULT_TREASURY_SHARE_BPS,
    DISPUTE_BOND,
    DISPUTE_WINDOW,
    FEE_BPS,
    H100,
    MAX_ESCROW,
    MIN_DISPUTE_BOND,
    NANO,
    ONE,
    OPEN,
    PRICE,
    UNBONDING_DELAY,
    ZERO_ADDRESS,
    padded,
)

# --- deployment ----------------------------------------------------------------------------


def deploy_market(JobMarket: Any, protocol: Any, *args: Any, **changes: Any) -> Any:
    """JobMarket.deploy with the protocol's wiring and settings, some of them changed."""
    a = protocol.admin
    settings = {
        "token": protocol.token,
        "staking": protocol.staking,
        "vault": protocol.vault,
        "extension": protocol.market.EXTENSION(),
        "window": DISPUTE_WINDOW,
        "timeout": ARBITER_TIMEOUT,
        "bps": COLLATERAL_BPS,
        "cap": COLLATERAL_CAP,
        "treasury": a,
        "admin": a,
    }
    settings.update(changes)
    return JobMarket.deploy(*settings.values(), {"from": a})


def test_constructor_refuses_an_unbonding_delay_not_beyond_window_and_timeout(
    JobMarket: Any, protocol: Any, error: Any
) -> None:
    window = UNBONDING_DELAY - ARBITER_TIMEOUT
    with brownie.reverts(error("MarketUnbondingTooShort", UNBONDING_DELAY, UNBONDING_DELAY + 1)):
        deploy_market(JobMarket, protocol, window=window)


@pytest.mark.parametrize("role", ["token", "staking", "vault", "extension", "treasury", "admin"])
def test_constructor_refuses_a_zero_address(
    JobMarket: Any, protocol: Any, role: str, error: Any
) -> None:
    with brownie.reverts(error("MarketZeroAddress")):
        deploy_market(JobMarket, protocol, **{role: ZERO_ADDRESS})


def test_constructor_refuses_collateral_over_100_percent(
    JobMarket: Any, protocol: Any, error: Any
) -> None:
    with brownie.reverts(error("MarketInvalidParameter", padded("collateralBps"), 10_001)):
        deploy_market(JobMarket, protocol, bps=10_001)


def test_constructor_refuses_a_collateral_cap_not_in_whole_nano_cpt(
    JobMarket: Any, protocol: Any, error: Any
) -> None:
    cap = COLLATERAL_CAP + 1
    with brownie.reverts(error("MarketInvalidParameter", padded("collateralCap"), cap)):
        deploy_market(JobMarket, protocol, cap=cap)


def test_a_fresh_market_has_bounded_default_terms(JobMarket: Any, protocol: Any) -> None:
    fresh = deploy_market(JobMarket, protocol)
    assert fresh.COLLATERAL_CAP() == COLLATERAL_CAP
    assert fresh.VAULT() == protocol.vault
    # Version 0 holds the constructor's defaults; the fixture's setters made versions 1, 2.
    defaults = (
        0,
        MIN_DISPUTE_BOND,
        DEFAULT_SLASH_BPS,
        DEFAULT_EXPIRE_PENALTY_BPS,
        DEFAULT_TREASURY_SHARE_BPS,
        0,
        0,
    )
    terms, attestors = protocol.market.terms(0)
    assert [int(value) for value in terms] == list(defaults) and list(attestors) == []
    params = protocol.market.parameters()
    assert (params["termsVersion"], params["disputeBond"]) == (2, DISPUTE_BOND)
    assert params["busyThreshold"] == DEFAULT_BUSY_THRESHOLD


# --- posting -------------------------------------------------------------------------------


def test_post_escrows_and_emits(protocol: Any, market: Any, client: Any) -> None:
    before = protocol.token.balanceOf(client)
    request = protocol.request(bid=2 * ONE)
    tx = market.postJob(request, {"from": client})
    job = tx.return_value
    assert protocol.token.balanceOf(client) == before - 12 * ONE
    event = tx.events["JobPosted"]
    assert (event["jobId"], event["client"], event["maxPayment"], event["bid"]) == (
        job,
        client,
        10 * ONE,
        2 * ONE,
    )
    view = market.job(job)
    assert view["state"] == OPEN and view["client"] == client and view["feeBps"] == FEE_BPS
    assert view["pricePerGpuSecond"] == PRICE and view["deadline"] == request[5]


def test_post_validates_its_request(
    protocol: Any, market: Any, client: Any, chain: Any, error: Any
) -> None:
    now = protocol.now()
    with brownie.reverts(error("MarketInvalidGpuClass")):
        market.postJob(protocol.request(gpu_class=b"\0" * 4), {"from": client})
    past = now - 1
    with brownie.reverts(revert_pattern=rf"MarketInvalidDeadline: {past}, \d+"):
        market.postJob(protocol.request(deadline=past), {"from": client})
    with brownie.reverts(error("MarketZeroPayment")):
        market.postJob(protocol.request(max_payment=0), {"from": client})
    with brownie.reverts(error("MarketAmountNotAligned", ONE + 1, NANO)):
        market.postJob(protocol.request(max_payment=ONE + 1), {"from": client})
    with brownie.reverts(error("MarketAmountNotAligned", PRICE + 7, NANO)):
        market.postJob(protocol.request(price=PRICE + 7), {"from": client})
    huge = 2**56 * NANO  # amounts are kept as 56-bit nano-CPT (JobWord.MAX_AMOUNT)
    with brownie.reverts(error("MarketAmountTooLarge", huge, (2**56 - 1) * NANO)):
        market.postJob(protocol.request(max_payment=huge), {"from": client})
    with brownie.reverts(error("MarketProviderNotRegistered", client)):
        market.postJob(protocol.request(provider=client), {"from": client})


def test_post_without_allowance_reverts_with_the_token_error(
    protocol: Any, market: Any, accounts: Any, error: Any
) -> None:
    poor = accounts[7]
    with brownie.reverts(error("ERC20InsufficientAllowance", market, 0, 10 * ONE)):
        market.postJob(protocol.request(), {"from": poor})


def test_post_with_permit_escrows_in_one_transaction(
    protocol: Any, market: Any, accounts: Any
) -> None:
    who = protocol.funded_local_account(accounts, 20 * ONE)
    deadline, v, r, s = protocol.permit(who, market, 11 * ONE)
    tx = market.postJobWithPermit(protocol.request(bid=ONE), deadline, v, r, s, {"from": who})
    assert market.job(tx.return_value)["client"] == who
    assert protocol.token.balanceOf(who) == 9 * ONE
    assert protocol.token.allowance(who, market) == 0


def test_queue_orders_by_bid_then_age(
    protocol: Any, market: Any, client: Any, client2: Any
) -> None:
    a = protocol.post(client, bid=1 * ONE)
    b = protocol.post(client2, bid=3 * ONE)
    c = protocol.post(client, bid=1 * ONE)
    d = protocol.post(client2, bid=0)
    ids, bids = market.queue(H100, 0, 10)
    assert list(ids) == [b, a, c, d]
    assert list(bids) == [3 * ONE, ONE, ONE, 0]
    assert list(market.queue(H100, a, 10)[0]) == [c, d]
    assert list(market.queue(H100, 0, 2)[0]) == [b, a]
    assert list(market.queue(A100, 0, 10)[0]) == []


def test_queue_from_a_job_not_queued_there_is_empty(
    protocol: Any, market: Any, provider: Any, client: Any
) -> None:
    claimed = protocol.claimed(client, provider)
    protocol.post(client)
    assert market.queue(H100, claimed, 10) == ((), ())
    assert market.queue(H100, 999, 10) == ((), ())


def test_raise_bid_moves_the_job_up_and_escrows_the_difference(
    protocol: Any, market: Any, client: Any, client2: Any
) -> None:
    a = protocol.post(client, bid=2 * ONE)
    b = protocol.post(client2, bid=ONE)
    before = protocol.token.balanceOf(client2)
    tx = market.raiseBid(b, 3 * ONE, {"from": client2})
    assert tx.events["BidRaised"]["bid"] == 3 * ONE
    assert protocol.token.balanceOf(client2) == before - 2 * ONE
    assert list(market.queue(H100, 0, 10)[0]) == [b, a]
    assert market.job(b)["bid"] == 3 * ONE


def test_raise_bid_errors(
    protocol: Any, market: Any, provider: Any, client: Any, client2: Any, error: Any
) -> None:
    job = protocol.post(client, bid=ONE)
    with brownie.reverts(error("MarketNotJobClient", job, client2)):
        market.raiseBid(job, 2 * ONE, {"from": client2})
    with brownie.reverts(error("MarketBidNotHigher", job, ONE, ONE)):
        market.raiseBid(job, ONE, {"from": client})
    with brownie.reverts(error("MarketAmountNotAligned", 2 * ONE + 1, NANO)):
        market.raiseBid(job, 2 * ONE + 1, {"from": client})
    market.claimJob(job, {"from": provider})
    with brownie.reverts(error("MarketInvalidJobState", job, CLAIMED)):
        market.raiseBid(job, 2 * ONE, {"from": client})


def test_cancel_credits_the_whole_escrow(
    protocol: Any, market: Any, client: Any, error: Any
) -> None:
    job = protocol.post(client, bid=ONE)
    before = protocol.token.balanceOf(client)
    tx = market.cancelJob(job, {"from": client})
    assert tx.events["JobCancelled"]["refund"] == 11 * ONE
    assert market.job(job)["state"] == CANCELLED
    assert list(market.queue(H100, 0, 10)[0]) == []
    market.withdraw([], {"from": client})
    assert protocol.token.balanceOf(client) == before + 11 * ONE
    with brownie.reverts(error("MarketInvalidJobState", job, CANCELLED)):
        market.cancelJob(job, {"from": client})


def test_only_the_client_cancels(
    protocol: Any, market: Any, client: Any, client2: Any, error: Any
) -> None:
    job = protocol.post(client)
    with brownie.reverts(error("MarketNotJobClient", job, client2)):
        market.cancelJob(job, {"from": client2})


# --- claiming ------------------------------------------------------------------------------


def test_claim_next_takes_the_highest_bid_and_locks_stake(
    protocol: Any, market: Any, provider: Any, client: Any
) -> None:
    protocol.post(client, bid=0)
    top = protocol.post(client, bid=ONE)
    tx = market.claimNext({"from": provider})
    assert tx.return_value == top
    lock = 11 * ONE * COLLATERAL_BPS // 10_000
    assert tx.events["JobClaimed"]["lockedStake"] == lock
    assert market.lockedStake(provider) == lock
    view = market.job(top)
    assert view["state"] == CLAIMED and view["provider"] == provider


def test_claim_skips_jobs_the_provider_cannot_take(
    protocol: Any, market: Any, provider: Any, provider2: Any, client: Any
) -> None:
    designated = protocol.post(client, bid=3 * ONE, provider=provider2)
    cheap = protocol.post(client, bid=2 * ONE, price=PRICE // 2)  # below the ask
    fine = protocol.post(client, bid=ONE)
    assert market.claimNext({"from": provider}).return_value == fine
    assert market.claimNext({"from": provider2}).return_value == designated
    assert market.job(cheap)["state"] == OPEN


def test_claim_errors(
    protocol: Any,
    market: Any,
    provider: Any,
    provider2: Any,
    client: Any,
    accounts: Any,
    error: Any,
) -> None:
    with brownie.reverts(error("MarketNoEligibleJob", provider, H100)):
        market.claimNext({"from": provider})
    job = protocol.post(client)
    with brownie.reverts(error("MarketProviderNotRegistered", accounts[7])):
        market.claimNext({"from": accounts[7]})
    other_class = protocol.post(client, gpu_class=A100)
    with brownie.reverts(error("MarketProviderNotEligible", other_class, provider)):
        market.claimJob(other_class, {"from": provider})
    market.claimJob(job, {"from": provider})
    with brownie.reverts(error("MarketInvalidJobState", job, CLAIMED)):
        market.claimJob(job, {"from": provider2})


def test_claim_needs_the_collateral_cap_free_whatever_the_job(
    protocol: Any, market: Any, client: Any, accounts: Any, error: Any
) -> None:
    protocol.staking.setMinStake(100 * ONE, {"from": protocol.admin})
    small = accounts[6]
    protocol.add_provider(small, stake=250 * ONE)
    for _ in range(2):
        protocol.post(client, max_payment=MAX_ESCROW)  # each locks the whole 100 CPT cap
        market.claimNext({"from": small})  # needs 0 + 100, then 100 + 100 <= 250
    # 200 locked + 100 > 250: even a 1 CPT job (lock 0.5) needs the cap free, so whether a
    # provider can claim never depends on the job.
    protocol.post(client, max_payment=ONE)
    with brownie.reverts(error("MarketInsufficientStake", small, 250 * ONE, 300 * ONE)):
        market.claimNext({"from": small})


def test_post_refuses_a_job_whose_lock_exceeds_the_cap(
    protocol: Any, market: Any, client: Any, error: Any
) -> None:
    protocol.post(client, max_payment=MAX_ESCROW - ONE, bid=ONE)  # exactly at the cap
    too_large = MAX_ESCROW + ONE
    with brownie.reverts(error("MarketJobTooLarge", too_large, MAX_ESCROW)):
        market.postJob(protocol.request(max_payment=MAX_ESCROW, bid=ONE), {"from": client})


def test_raise_bid_refuses_to_grow_a_job_past_the_cap(
    protocol: Any, market: Any, client: Any, error: Any
) -> None:
    job = protocol.post(client, max_payment=MAX_ESCROW - ONE)
    with brownie.reverts(error("MarketJobTooLarge", MAX_ESCROW + ONE, MAX_ESCROW)):
        market.raiseBid(job, 2 * ONE, {"from": client})
    market.raiseBid(job, ONE, {"from": client})
