"""Attacks on settlement, claiming, staking and disputes: each must fail with its exact error."""

from __future__ import annotations

from typing import Any

import brownie
import pytest
from eth_account import Account
from market_constants import (
    ARBITER_TIMEOUT,
    ASK_INCREASE_DELAY,
    BOOST_BPS,
    COLLATERAL_BPS,
    COLLATERAL_CAP,
    DISPUTE_WINDOW,
    EPOCH,
    HOLDING_PER_JOB,
    MAX_BOOST,
    MAX_ESCROW,
    MAX_JOBS_PER_EPOCH,
    MIN_STAKE,
    ONE,
    UNBONDING_DELAY,
    WARMUP,
    ZERO_ADDRESS,
)
from market_protocol import market_at

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SETTLED = 3


def recovered(protocol: Any, market: Any, record: Any, signature: bytes) -> str:
    return Account._recover_hash(market.recordDigest(record.tuple()), signature=signature)


def test_signature_replayed_on_another_job_is_refused(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    first, second = protocol.claimed(client, provider), protocol.claimed(client, provider)
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
    deploy: Any,
    error: Any,
) -> None:
    other = deploy(protocol.admin, protocol.admin)
    market2 = other.market
    key = protocol.signer_keys[provider.address]
    # The same provider with the same oracle key on both markets, job 1 claimed on each.
    other.add_provider(provider, stake=MIN_STAKE, signer=key)
    other.fund(client)
    job_a = protocol.claimed(client, provider)
    job_b = other.claimed(client, provider)
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
    job = protocol.claimed(client, provider)
    key = protocol.signer_keys[provider.address]
    record = protocol.record(job, provider)
    signature = protocol.sign(key, record, chain_id=1)
    wrong = recovered(protocol, market, record, signature)
    with brownie.reverts(error("MarketInvalidSigner", wrong, key.address)):
        market.settle(record.tuple(), signature, [], {"from": provider})


def test_a_job_settles_once(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    job = protocol.claimed(client, provider)
    record, signature = protocol.oracle_signed(job, provider)
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
    job = protocol.claimed(client, provider)
    intruder = Account.create()
    record = protocol.record(job, provider)
    signer = protocol.signer_keys[provider.address].address
    with brownie.reverts(error("MarketInvalidSigner", intruder.address, signer)):
        market.settle(record.tuple(), protocol.sign(intruder, record), [], {"from": provider})


def test_high_s_signature_is_refused(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    job = protocol.claimed(client, provider)
    record, signature = protocol.oracle_signed(job, provider)
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
    job = protocol.claimed(client, provider)
    record, oracle = protocol.oracle_signed(job, provider)
    twice = [protocol.sign(attestors[0], record)] * 2
    with brownie.reverts(error("MarketDuplicateAttestor", attestors[0].address)):
        market.settle(record.tuple(), oracle, twice, {"from": provider})


def test_claim_cannot_skip_a_higher_bid_it_is_eligible_for(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    high = protocol.post(client, bid=2 * ONE)
    low = protocol.post(client, bid=ONE)
    with brownie.reverts(error("MarketHigherPriorityEligible", low, high)):
        market.claimJob(low, {"from": provider})
    market.claimJob(high, {"from": provider})
    market.claimJob(low, {"from": provider})


def test_stake_that_a_pending_slash_needs_cannot_leave(
    protocol: Any, market: Any, staking: Any, provider: Any, client: Any, error: Any
) -> None:
    job = protocol.claimed(client, provider, max_payment=MAX_ESCROW)
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
    job = protocol.claimed(client, provider)
    tx = protocol.settle(job, provider)
    chain.sleep(DISPUTE_WINDOW + 1)
    chain.mine()
    with brownie.reverts(error("MarketDisputeWindowClosed", job, tx.timestamp + DISPUTE_WINDOW)):
        market.openDispute(job, {"from": client})


def test_disputing_yourself_never_profits(
    protocol: Any, market: Any, provider: Any, client: Any, chain: Any
) -> None:
    """One owner behind both the client and the provider account: a dispute (either
    outcome) must leave it worse off than letting the settlement stand."""

    def cycle(dispute: bool | None) -> int:
        before = protocol.wealth(client, provider)
        job = protocol.claimed(client, provider, bid=ONE)
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
        return protocol.wealth(client, provider) - before

    honest = cycle(None)
    client_wins = cycle(True)
    provider_wins = cycle(False)
    assert honest < 0  # the protocol fee
    assert client_wins < honest
    assert provider_wins < honest


def test_withdrawals_work_while_paused(
    protocol: Any, market: Any, staking: Any, provider: Any, client: Any, chain: Any
) -> None:
    job = protocol.claimed(client, provider)
    protocol.settle(job, provider)
    staking.requestUnbond(ONE, {"from": provider})
    market.pause({"from": protocol.admin})
    chain.sleep(UNBONDING_DELAY + 1)
    chain.mine()
    market.withdraw([job], {"from": client})
    market.withdraw([job], {"from": provider})
    staking.withdrawUnbonded({"from": provider})
    assert market.job(job)["state"] == 5  # Finalized


# --- wiring: contracts refuse partners that use another token, staking or vault -----------


def other_staking(ProviderStaking: Any, token: Any, admin: Any) -> Any:
    return ProviderStaking.deploy(
        token, UNBONDING_DELAY, MIN_STAKE, ASK_INCREASE_DELAY, admin, {"from": admin}
    )


def other_vault(HoldingsVault: Any, token: Any, admin: Any) -> Any:
    params = (BOOST_BPS, MAX_BOOST, HOLDING_PER_JOB, MAX_JOBS_PER_EPOCH)
    return HoldingsVault.deploy(token, WARMUP, EPOCH, params, admin, {"from": admin})


def deploy_market(JobMarket: Any, protocol: Any, staking: Any, vault: Any) -> Any:
    a = protocol.admin
    return JobMarket.deploy(
        protocol.token,
        staking,
        vault,
        protocol.market.EXTENSION(),
        DISPUTE_WINDOW,
        ARBITER_TIMEOUT,
        COLLATERAL_BPS,
        COLLATERAL_CAP,
        a,
        a,
        {"from": a},
    )


@pytest.fixture
def other_token(ComputePowerToken: Any, protocol: Any) -> Any:
    return ComputePowerToken.deploy(ONE, {"from": protocol.admin})


def test_market_refuses_staking_of_another_token(
    JobMarket: Any, ProviderStaking: Any, protocol: Any, other_token: Any, error: Any
) -> None:
    staking = other_staking(ProviderStaking, other_token, protocol.admin)
    with brownie.reverts(error("MarketWiringMismatch", protocol.token, other_token)):
        deploy_market(JobMarket, protocol, staking, protocol.vault)


def test_market_refuses_a_vault_of_another_token(
    JobMarket: Any, HoldingsVault: Any, protocol: Any, other_token: Any, error: Any
) -> None:
    vault = other_vault(HoldingsVault, other_token, protocol.admin)
    with brownie.reverts(error("MarketWiringMismatch", protocol.token, other_token)):
        deploy_market(JobMarket, protocol, protocol.staking, vault)


def unwired(kind: str, ProviderStaking: Any, HoldingsVault: Any, protocol: Any) -> Any:
    """A staking contract or vault of the protocol's token, not yet wired to any market."""
    if kind == "staking":
        return other_staking(ProviderStaking, protocol.token, protocol.admin)
    return other_vault(HoldingsVault, protocol.token, protocol.admin)


WIRING_ERROR = {"staking": "StakingWiringMismatch", "vault": "HoldingsWiringMismatch"}


@pytest.mark.parametrize("kind", ["staking", "vault"])
def test_a_market_that_names_another_staking_or_vault_is_refused(
    kind: str, ProviderStaking: Any, HoldingsVault: Any, protocol: Any, error: Any
) -> None:
    fresh = unwired(kind, ProviderStaking, HoldingsVault, protocol)
    named = protocol.staking if kind == "staking" else protocol.vault
    with brownie.reverts(error(WIRING_ERROR[kind], fresh, named)):
        fresh.setMarket(protocol.market, {"from": protocol.admin})


@pytest.mark.parametrize("kind", ["staking", "vault"])
def test_a_market_of_another_token_is_refused(
    kind: str,
    ProviderStaking: Any,
    HoldingsVault: Any,
    MockMarket: Any,
    protocol: Any,
    other_token: Any,
    error: Any,
) -> None:
    fresh = unwired(kind, ProviderStaking, HoldingsVault, protocol)
    if kind == "staking":
        wrong = MockMarket.deploy(fresh, other_token, ZERO_ADDRESS, {"from": protocol.admin})
    else:
        wrong = MockMarket.deploy(protocol.staking, other_token, fresh, {"from": protocol.admin})
    with brownie.reverts(error(WIRING_ERROR[kind], protocol.token, other_token)):
        fresh.setMarket(wrong, {"from": protocol.admin})


def test_vault_market_is_set_once(protocol: Any, accounts: Any, error: Any) -> None:
    with brownie.reverts(error("HoldingsMarketAlreadySet", protocol.market)):
        protocol.vault.setMarket(accounts[6], {"from": protocol.admin})


def test_a_second_market_on_the_same_vault_cannot_spend_its_boosts(
    JobMarket: Any,
    JobMarketExtension: Any,
    ProviderStaking: Any,
    protocol: Any,
    client: Any,
    error: Any,
) -> None:
    """The vault took one market: another one built on it (the constructor cannot know)
    gets HoldingsOnlyMarket as soon as a busy class asks the vault for a boost."""
    staking = other_staking(ProviderStaking, protocol.token, protocol.admin)
    second = deploy_market(JobMarket, protocol, staking, protocol.vault)
    staking.setMarket(second, {"from": protocol.admin})
    second = market_at(JobMarket, JobMarketExtension, second.address)
    second.setBusyThreshold(1, {"from": protocol.admin})
    protocol.token.approve(second, 2**256 - 1, {"from": client})
    second.postJob(protocol.request(), {"from": client})  # not busy yet: no vault call
    with brownie.reverts(error("HoldingsOnlyMarket", second)):
        second.postJob(protocol.request(), {"from": client})
