"""ProviderStaking: deposits, registration, unbonding, slashing and their errors."""

from __future__ import annotations

from typing import Any

import brownie
from eth_account import Account
from market_constants import (
    ASK_INCREASE_DELAY,
    H100,
    MAX_ESCROW,
    MIN_STAKE,
    ONE,
    PRICE,
    UNBONDING_DELAY,
    ZERO_ADDRESS,
)
from web3 import Web3

PARAMS_ROLE = Web3.keccak(text="PARAMS_ROLE")


def test_stake_moves_tokens_and_counts_them(protocol: Any, staking: Any, accounts: Any) -> None:
    who = accounts[6]
    protocol.fund(who)
    tx = staking.stake(5 * ONE, {"from": who})
    assert tx.events["Staked"]["stake"] == 5 * ONE
    assert staking.providerInfo(who)["stake"] == 5 * ONE
    assert protocol.token.balanceOf(staking) == staking.totalBonded() == 5 * ONE


def test_stake_rejects_zero(staking: Any, accounts: Any, error: Any) -> None:
    with brownie.reverts(error("StakingZeroAmount")):
        staking.stake(0, {"from": accounts[6]})


def test_stake_with_permit_needs_no_approval(protocol: Any, staking: Any, accounts: Any) -> None:
    who = protocol.funded_local_account(accounts, 10 * ONE)
    deadline, v, r, s = protocol.permit(who, staking, 10 * ONE)
    staking.stakeWithPermit(10 * ONE, deadline, v, r, s, {"from": who})
    assert staking.providerInfo(who)["stake"] == 10 * ONE
    assert protocol.token.allowance(who, staking) == 0


def test_register_records_terms_and_tells_the_market(
    protocol: Any, staking: Any, market: Any, accounts: Any
) -> None:
    who = accounts[6]
    signer = protocol.add_provider(who, ask=2 * PRICE)
    info = staking.providerInfo(who)
    assert info["signer"] == signer.address
    assert info["gpuClass"] == "0x" + H100.hex()
    assert info["askPricePerGpuSecond"] == 2 * PRICE
    assert info["endpoint"] == "http://gpu.test"
    assert staking.providerAt(info["index"]) == (who.address, signer.address)


def test_register_needs_the_minimum_stake(
    protocol: Any, staking: Any, accounts: Any, error: Any
) -> None:
    who = accounts[6]
    protocol.fund(who)
    staking.stake(MIN_STAKE - 1, {"from": who})
    key = Account.create()
    with brownie.reverts(error("StakingInsufficientStake", who, MIN_STAKE - 1, MIN_STAKE)):
        staking.registerProvider(
            key.address, protocol.sign_binding(key, who), H100, PRICE, "", {"from": who}
        )


def test_register_twice_is_refused(protocol: Any, staking: Any, provider: Any, error: Any) -> None:
    key = Account.create()
    with brownie.reverts(error("StakingAlreadyRegistered", provider)):
        staking.registerProvider(
            key.address, protocol.sign_binding(key, provider), H100, PRICE, "", {"from": provider}
        )


def test_register_refuses_a_zero_signer_and_an_empty_class(
    protocol: Any, staking: Any, accounts: Any, error: Any
) -> None:
    who = accounts[6]
    protocol.fund(who)
    staking.stake(MIN_STAKE, {"from": who})
    key = Account.create()
    proof = protocol.sign_binding(key, who)
    with brownie.reverts(error("StakingInvalidSigner", ZERO_ADDRESS)):
        staking.registerProvider(ZERO_ADDRESS, proof, H100, PRICE, "", {"from": who})
    with brownie.reverts(error("StakingInvalidGpuClass")):
        staking.registerProvider(key.address, proof, b"\x00" * 4, PRICE, "", {"from": who})


def test_a_signer_serves_one_provider_only(
    protocol: Any, staking: Any, provider: Any, accounts: Any, error: Any
) -> None:
    key = protocol.signer_keys[provider.address]
    who = accounts[6]
    protocol.fund(who)
    staking.stake(MIN_STAKE, {"from": who})
    proof = protocol.sign_binding(key, who)  # even with the key's own proof
    with brownie.reverts(error("StakingSignerInUse", key.address, provider)):
        staking.registerProvider(key.address, proof, H100, PRICE, "", {"from": who})


def test_update_provider_rotates_the_signer_for_settlement(
    protocol: Any, staking: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    old_key = protocol.signer_keys[provider.address]
    new_key = Account.create()
    protocol.update_provider(provider, signer=new_key, endpoint="http://new")
    job = protocol.post(client)
    market.claimNext({"from": provider})
    record = protocol.record(job, provider)
    with brownie.reverts(error("MarketInvalidSigner", old_key.address, new_key.address)):
        market.settle(record.tuple(), protocol.sign(old_key, record), [], {"from": provider})
    market.settle(record.tuple(), protocol.sign(new_key, record), [], {"from": provider})
    assert staking.providerInfo(provider)["endpoint"] == "http://new"


def test_update_provider_needs_registration(
    protocol: Any, staking: Any, accounts: Any, error: Any
) -> None:
    key = Account.create()
    proof = protocol.sign_binding(key, accounts[6])
    with brownie.reverts(error("StakingNotRegistered", accounts[6])):
        staking.updateProvider(key.address, proof, H100, PRICE, "", {"from": accounts[6]})


def test_unbonding_waits_for_the_delay_then_pays_out(
    protocol: Any, staking: Any, provider: Any, chain: Any, error: Any
) -> None:
    tx = staking.requestUnbond(3 * ONE, {"from": provider})
    ready = tx.events["UnbondingRequested"]["readyAt"]
    assert ready == tx.timestamp + UNBONDING_DELAY
    with brownie.reverts(error("StakingUnbondingNotReady", provider, ready)):
        staking.withdrawUnbonded({"from": provider})
    chain.sleep(UNBONDING_DELAY + 1)
    chain.mine()
    before = protocol.token.balanceOf(provider)
    staking.withdrawUnbonded({"from": provider})
    assert protocol.token.balanceOf(provider) - before == 3 * ONE
    assert protocol.token.balanceOf(staking) == staking.totalBonded()


def test_unbond_refuses_zero_and_locked_stake(
    protocol: Any, staking: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    with brownie.reverts(error("StakingZeroAmount")):
        staking.requestUnbond(0, {"from": provider})
    protocol.post(client, max_payment=MAX_ESCROW)  # locks 100 CPT of the 10,000 staked
    market.claimNext({"from": provider})
    assert market.lockedStake(provider) == 100 * ONE
    unlocked = 10_000 * ONE - market.lockedStake(provider)
    with brownie.reverts(
        error("StakingInsufficientUnlockedStake", provider, unlocked, unlocked + 1)
    ):
        staking.requestUnbond(unlocked + 1, {"from": provider})
    staking.requestUnbond(unlocked, {"from": provider})


def test_withdraw_unbonded_with_nothing_unbonding(staking: Any, accounts: Any, error: Any) -> None:
    with brownie.reverts(error("StakingNothingUnbonding", accounts[6])):
        staking.withdrawUnbonded({"from": accounts[6]})


def test_only_the_market_may_slash(staking: Any, provider: Any, accounts: Any, error: Any) -> None:
    with brownie.reverts(error("StakingOnlyMarket", accounts[6])):
        staking.slash(provider, ONE, accounts[6], {"from": accounts[6]})


def test_slash_takes_stake_then_unbonding(
    ComputePowerToken: Any, ProviderStaking: Any, MockMarket: Any, accounts: Any
) -> None:
    admin, who, recipient = accounts[0], accounts[6], accounts[7]
    token = ComputePowerToken.deploy(10**6 * ONE, {"from": admin})
    staking = ProviderStaking.deploy(
        token, UNBONDING_DELAY, 0, ASK_INCREASE_DELAY, admin, {"from": admin}
    )
    market = MockMarket.deploy(staking, token, ZERO_ADDRESS, {"from": admin})
    staking.setMarket(market, {"from": admin})
    token.transfer(who, 10 * ONE, {"from": admin})
    token.approve(staking, 10 * ONE, {"from": who})
    staking.stake(10 * ONE, {"from": who})
    staking.requestUnbond(6 * ONE, {"from": who})  # 4 active, 6 unbonding
    tx = market.slash(who, 7 * ONE, recipient, {"from": admin})
    assert tx.return_value == 7 * ONE
    info = staking.providerInfo(who)
    assert (info["stake"], info["unbonding"]) == (0, 3 * ONE)
    assert token.balanceOf(recipient) == 7 * ONE
    assert market.slash(who, 100 * ONE, recipient, {"from": admin}).return_value == 3 * ONE
    assert token.balanceOf(staking) == staking.totalBonded() == 0


def test_market_is_set_once_and_never_to_zero(
    staking: Any, ProviderStaking: Any, protocol: Any, accounts: Any, error: Any
) -> None:
    with brownie.reverts(error("StakingMarketAlreadySet", protocol.market)):
        staking.setMarket(accounts[6], {"from": protocol.admin})
    fresh = ProviderStaking.deploy(
        protocol.token,
        UNBONDING_DELAY,
        0,
        ASK_INCREASE_DELAY,
        protocol.admin,
        {"from": protocol.admin},
    )
    with brownie.reverts(error("StakingZeroAddress")):
        fresh.setMarket(ZERO_ADDRESS, {"from": protocol.admin})
    with brownie.reverts(error("StakingMarketNotSet")):
        fresh.registerProvider(accounts[7], b"", H100, PRICE, "", {"from": accounts[6]})


def test_constructor_refuses_zero_addresses(
    ProviderStaking: Any, accounts: Any, error: Any
) -> None:
    with brownie.reverts(error("StakingZeroAddress")):
        ProviderStaking.deploy(ZERO_ADDRESS, 1, 0, 0, accounts[0], {"from": accounts[0]})
    with brownie.reverts(error("StakingZeroAddress")):
        ProviderStaking.deploy(accounts[1], 1, 0, 0, ZERO_ADDRESS, {"from": accounts[0]})


def test_min_stake_is_set_by_the_params_role(
    staking: Any, protocol: Any, accounts: Any, error: Any
) -> None:
    tx = staking.setMinStake(5 * ONE, {"from": protocol.admin})
    assert tx.events["MinStakeUpdated"]["minStake"] == 5 * ONE
    assert staking.minStake() == 5 * ONE
    with brownie.reverts(error("AccessControlUnauthorizedAccount", accounts[6], PARAMS_ROLE)):
        staking.setMinStake(1, {"from": accounts[6]})


def test_min_stake_above_the_bound_is_refused(staking: Any, protocol: Any, error: Any) -> None:
    too_much = 10**27 + 1
    with brownie.reverts(error("StakingInvalidParameter", b"minStake".ljust(32, b"\0"), too_much)):
        staking.setMinStake(too_much, {"from": protocol.admin})


def test_a_new_min_stake_reaches_the_market_claims(
    protocol: Any, staking: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    protocol.post(client)
    stake = staking.providerInfo(provider)["stake"]
    staking.setMinStake(stake + ONE, {"from": protocol.admin})
    with brownie.reverts(error("MarketInsufficientStake", provider, stake, stake + ONE)):
        market.claimNext({"from": provider})


def test_stake_changes_reach_the_market_claims(
    protocol: Any, staking: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    protocol.post(client)
    stake = staking.providerInfo(provider)["stake"]
    staking.requestUnbond(stake - 50 * ONE, {"from": provider})  # below the 100 CPT cap
    with brownie.reverts(error("MarketInsufficientStake", provider, 50 * ONE, MIN_STAKE)):
        market.claimNext({"from": provider})
    staking.stake(MIN_STAKE, {"from": provider})
    market.claimNext({"from": provider})
