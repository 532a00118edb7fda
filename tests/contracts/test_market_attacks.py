"""Attacks on settlement, claiming, staking and disputes: each must fail with its exact error."""

from __future__ import annotations

from typing import Any

import brownie
from conftest import (
    ARBITER_TIMEOUT,
    COLLATERAL_BPS,
    DISPUTE_WINDOW,
    H100,
    MIN_STAKE,
    ONE,
    UNBONDING_DELAY,
    Protocol,
)
from eth_account import Account

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SETTLED = 3


def claimed(protocol: Any, client: Any, provider: Any, **post: Any) -> int:
    job = protocol.post(client, **post)
    protocol.market.claimJob(job, {"from": provider})
    return job


def recovered(protocol: Any, market: Any, record: Any, signature: bytes) -> str:
    return Account._recover_hash(market.recordDigest(record.tuple()), signature=signature)


def test_signature_replayed_on_another_job_is_refused(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    first, second = claimed(protocol, client, provider), claimed(protocol, client, provider)
    key = protocol.signer_keys[provider.address]
    signed_for_first = protocol.sign(key, protocol.record(first, provider))
    replay = protocol.record(second, provider)
    wrong = recovered(protocol, market, replay, signed_for_first)
    with brownie.reverts(error("MarketInvalidSigner", wrong, key.address)):
        market.settle(replay.tuple(), signed_for_first, [], {"from": provider})


def test_signature_replayed_on_a_second_market_is_refused(
    protocol: Any,
    provider: Any,
    client: Any,
    ComputePowerToken: Any,
    ProviderStaking: Any,
    JobMarket: Any,
    accounts: Any,
    chain: Any,
    error: Any,
) -> None:
    admin = protocol.admin
    token = ComputePowerToken.deploy(10**9 * ONE, {"from": admin})
    staking = ProviderStaking.deploy(token, UNBONDING_DELAY, MIN_STAKE, admin, {"from": admin})
    market2 = JobMarket.deploy(
        token,
        staking,
        DISPUTE_WINDOW,
        ARBITER_TIMEOUT,
        COLLATERAL_BPS,
        admin,
        admin,
        {"from": admin},
    )
    staking.setMarket(market2, {"from": admin})
    other = Protocol(token, staking, market2, admin, chain)
    key = protocol.signer_keys[provider.address]
    # The same provider with the same oracle key on both markets, job 1 claimed on each.
    other.fund(provider)
    other.fund(client)
    staking.stake(MIN_STAKE, {"from": provider})
    staking.registerProvider(key.address, H100, 10**15, "", {"from": provider})
    job_a = claimed(protocol, client, provider)
    job_b = claimed(other, client, provider)
    assert job_a == job_b == 1
    record = protocol.record(job_a, provider)
    signature = protocol.sign(key, record)  # for the first market
    wrong = Account._recover_hash(market2.recordDigest(record.tuple()), signature=signature)
    with brownie.reverts(error("MarketInvalidSigner", wrong, key.address)):
        market2.settle(record.tuple(), signature, [], {"from": provider})
    protocol.market.settle(record.tuple(), signature, [], {"from": provider})


def test_signature_for_another_chain_id_is_refused(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    job = claimed(protocol, client, provider)
    key = protocol.signer_keys[provider.address]
    record = protocol.record(job, provider)
    signature = protocol.sign(key, record, chain_id=1)
    wrong = recovered(protocol, market, record, signature)
    with brownie.reverts(error("MarketInvalidSigner", wrong, key.address)):
        market.settle(record.tuple(), signature, [], {"from": provider})


def test_a_job_settles_once(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    job = claimed(protocol, client, provider)
    record = protocol.record(job, provider)
    signature = protocol.sign(protocol.signer_keys[provider.address], record)
    market.settle(record.tuple(), signature, [], {"from": provider})
    with brownie.reverts(error("MarketInvalidJobState", job, SETTLED)):
        market.settle(record.tuple(), signature, [], {"from": provider})
    with brownie.reverts(error("MarketInvalidJobState", job, SETTLED)):
        market.settleBatch(
            provider,
            [record.batch_tuple()],
            protocol.sign_batch(protocol.signer_keys[provider.address], [record]),
            [],
            {"from": provider},
        )


def test_record_signed_by_an_unbound_key_is_refused(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    job = claimed(protocol, client, provider)
    intruder = Account.create()
    record = protocol.record(job, provider)
    signer = protocol.signer_keys[provider.address].address
    with brownie.reverts(error("MarketInvalidSigner", intruder.address, signer)):
        market.settle(record.tuple(), protocol.sign(intruder, record), [], {"from": provider})


def test_high_s_signature_is_refused(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    job = claimed(protocol, client, provider)
    record = protocol.record(job, provider)
    signature = protocol.sign(protocol.signer_keys[provider.address], record)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    high_s = (SECP256K1_N - s).to_bytes(32, "big")
    malleated = r + high_s + bytes([55 - v])  # the other v (27 <-> 28)
    with brownie.reverts(error("ECDSAInvalidSignatureS", high_s)):
        market.settle(record.tuple(), malleated, [], {"from": provider})


def test_duplicate_attestor_signatures_are_refused(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    attestors = [Account.create() for _ in range(2)]
    market.setAttestors([a.address for a in attestors], 2, {"from": protocol.admin})
    job = claimed(protocol, client, provider)
    record = protocol.record(job, provider)
    oracle = protocol.sign(protocol.signer_keys[provider.address], record)
    twice = [protocol.sign(attestors[0], record)] * 2
    with brownie.reverts(error("MarketDuplicateAttestor", attestors[0].address)):
        market.settle(record.tuple(), oracle, twice, {"from": provider})


def test_claim_cannot_skip_a_higher_bid_it_is_eligible_for(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    high = protocol.post(client, bid=2 * ONE)
    low = protocol.post(client, bid=ONE)
    with brownie.reverts(error("MarketHigherBidEligible", low, high)):
        market.claimJob(low, {"from": provider})
    market.claimJob(high, {"from": provider})
    market.claimJob(low, {"from": provider})


def test_stake_that_a_pending_slash_needs_cannot_leave(
    protocol: Any, market: Any, staking: Any, provider: Any, client: Any, error: Any
) -> None:
    job = claimed(protocol, client, provider, max_payment=1_000 * ONE)
    protocol.settle(job, provider)
    market.openDispute(job, {"from": client})
    stake = staking.providerInfo(provider)["stake"]
    locked = market.lockedStake(provider)
    with brownie.reverts(
        error("StakingInsufficientUnlockedStake", provider, stake - locked, stake)
    ):
        staking.requestUnbond(stake, {"from": provider})
    staking.requestUnbond(stake - locked, {"from": provider})  # everything else may leave
    market.resolveDispute(job, True, {"from": protocol.admin})
    slashed = locked * 5_000 // 10_000
    assert staking.providerInfo(provider)["stake"] == locked - slashed


def test_dispute_after_the_window_is_refused(
    protocol: Any, market: Any, provider: Any, client: Any, chain: Any, error: Any
) -> None:
    job = claimed(protocol, client, provider)
    tx = protocol.settle(job, provider)
    chain.sleep(DISPUTE_WINDOW + 1)
    chain.mine()
    with brownie.reverts(error("MarketDisputeWindowClosed", job, tx.timestamp + DISPUTE_WINDOW)):
        market.openDispute(job, {"from": client})


def wealth(protocol: Any, *accounts: Any) -> int:
    """Everything the accounts hold in the protocol: tokens, stake, unbonding, credit."""
    total = 0
    for account in accounts:
        info = protocol.staking.providerInfo(account)
        total += protocol.token.balanceOf(account) + info["stake"] + info["unbonding"]
        total += protocol.market.credit(account)
    return total


def test_disputing_yourself_never_profits(
    protocol: Any, market: Any, provider: Any, client: Any, chain: Any
) -> None:
    """One owner behind both the client and the provider account: a dispute (either
    outcome) must leave it worse off than letting the settlement stand."""

    def cycle(dispute: bool | None) -> int:
        before = wealth(protocol, client, provider)
        job = claimed(protocol, client, provider, bid=ONE)
        protocol.settle(job, provider, gpu_millis=4_000_000)
        if dispute is not None:
            market.openDispute(job, {"from": client})
            market.resolveDispute(job, dispute, {"from": protocol.admin})
        chain.sleep(DISPUTE_WINDOW + 1)
        chain.mine()
        market.withdraw([job], {"from": client})
        if dispute is None:
            market.withdraw([job], {"from": provider})
        else:
            for who in (client, provider):
                if market.credit(who):
                    market.withdraw([], {"from": who})
        return wealth(protocol, client, provider) - before

    honest = cycle(None)
    client_wins = cycle(True)
    provider_wins = cycle(False)
    assert honest < 0  # the protocol fee
    assert client_wins < honest
    assert provider_wins < honest


def test_withdrawals_work_while_paused(
    protocol: Any, market: Any, staking: Any, provider: Any, client: Any, chain: Any
) -> None:
    job = claimed(protocol, client, provider)
    protocol.settle(job, provider)
    staking.requestUnbond(ONE, {"from": provider})
    market.pause({"from": protocol.admin})
    chain.sleep(UNBONDING_DELAY + 1)
    chain.mine()
    market.withdraw([job], {"from": client})
    market.withdraw([job], {"from": provider})
    staking.withdrawUnbonded({"from": provider})
    assert market.job(job)["state"] == 5  # Finalized
