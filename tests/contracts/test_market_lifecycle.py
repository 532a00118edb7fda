"""The job lifecycle end to end: post, claim, settle, withdraw, and the money it moves."""

from __future__ import annotations

from typing import Any

from market_constants import DISPUTE_WINDOW, FEE_BPS, NANO, ONE, PRICE


def test_post_claim_settle_withdraw_pays_usage_plus_bid_and_refunds_the_rest(
    protocol: Any, market: Any, provider: Any, client: Any, treasury: Any, chain: Any
) -> None:
    token = protocol.token
    client_before = token.balanceOf(client)
    job = protocol.post(client, bid=ONE)
    assert token.balanceOf(market) == 11 * ONE
    market.claimNext({"from": provider})
    tx = protocol.settle(job, provider, gpu_millis=4_000_000)  # 4,000 GPU-s at 0.001 = 4 CPT
    event = tx.events["JobSettled"]
    assert event["payment"] == 5 * ONE  # 4 CPT usage + 1 CPT bid
    assert event["energyMj"] == 1_500_000 and event["aiTokens"] == 3_000
    assert event["tokensPerJouleE6"] == 3_000 * 10**9 // 1_500_000  # 2 tokens/J
    assert tx.events["UsageAttested"]["provider"] == provider

    view = market.job(job)
    assert view["payment"] == 5 * ONE and view["refund"] == 6 * ONE
    market.withdraw([job], {"from": client})
    assert token.balanceOf(client) == client_before - 5 * ONE

    chain.sleep(DISPUTE_WINDOW + 1)
    before = token.balanceOf(provider)
    market.withdraw([job], {"from": provider})
    fee = 5 * ONE * FEE_BPS // 10_000
    assert token.balanceOf(provider) - before == 5 * ONE - fee
    assert market.credit(treasury) == fee
    assert market.lockedStake(provider) == 0
    assert market.job(job)["state"] == 5  # Finalized


def test_payment_is_capped_at_max_payment_plus_bid(
    protocol: Any, market: Any, provider: Any, client: Any
) -> None:
    job = protocol.post(client, bid=2 * ONE, max_payment=3 * ONE)
    market.claimNext({"from": provider})
    tx = protocol.settle(job, provider, gpu_millis=10**12)
    assert tx.events["JobSettled"]["payment"] == 5 * ONE
    assert market.job(job)["refund"] == 0


def test_price_is_charged_per_gpu_millisecond_in_whole_nano_cpt(
    protocol: Any, market: Any, provider: Any, client: Any
) -> None:
    job = protocol.post(client)
    market.claimNext({"from": provider})
    tx = protocol.settle(job, provider, gpu_millis=1_234)
    # 1.234 GPU-s x 1e6 nano-CPT/s = 1,234,000 nano-CPT
    assert tx.events["JobSettled"]["payment"] == PRICE * 1_234 // 1000 // NANO * NANO
