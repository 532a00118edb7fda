"""JobMarket after the claim, function by function: settlement, attestors, expiry, disputes,
withdrawals and administration, each behaviour and each custom error."""

from __future__ import annotations

from typing import Any

import brownie
from eth_account import Account
from market_constants import (
    ARBITER_TIMEOUT,
    CLAIMED,
    COLLATERAL_BPS,
    DAY,
    DISPUTE_BOND,
    DISPUTE_WINDOW,
    EXPIRED,
    FEE_BPS,
    FINALIZED,
    H100,
    ONE,
    PRICE,
    SETTLED,
    ZERO_ADDRESS,
)
from web3 import Web3

ARBITER_ROLE = Web3.keccak(text="ARBITER_ROLE")
PARAMS_ROLE = Web3.keccak(text="PARAMS_ROLE")
PAUSER_ROLE = Web3.keccak(text="PAUSER_ROLE")


# --- settlement ----------------------------------------------------------------------------


def test_settle_errors_on_bad_usage(
    protocol: Any, market: Any, provider: Any, client: Any, chain: Any, error: Any
) -> None:
    job = protocol.claimed(client, provider)
    for bad in (
        {"energyMj": 0},
        {"startTime": protocol.now(), "endTime": protocol.now() - 5},
        {"endTime": protocol.now() + 99},
    ):
        with brownie.reverts(error("MarketInvalidUsage", job)):
            protocol.settle(job, provider, **bad)


def test_settle_after_the_deadline_is_refused(
    protocol: Any, market: Any, provider: Any, client: Any, chain: Any, error: Any
) -> None:
    deadline = protocol.now() + 100
    job = protocol.claimed(client, provider, deadline=deadline)
    chain.sleep(200)
    chain.mine()
    with brownie.reverts(error("MarketDeadlinePassed", job, deadline)):
        protocol.settle(job, provider)


def test_settle_a_record_naming_another_provider(
    protocol: Any, market: Any, provider: Any, provider2: Any, client: Any, error: Any
) -> None:
    job = protocol.claimed(client, provider)
    record = protocol.record(job, provider2)
    sig = protocol.sign(protocol.signer_keys[provider.address], record)
    with brownie.reverts(error("MarketWrongProvider", job, provider2, provider)):
        market.settle(record.tuple(), sig, [], {"from": provider})


def test_batch_settles_every_job_with_one_signature(
    protocol: Any, market: Any, provider: Any, client: Any
) -> None:
    jobs = [protocol.claimed(client, provider) for _ in range(4)]
    tx = protocol.settle_batch(jobs, provider)
    assert [e["jobId"] for e in tx.events["JobSettled"]] == jobs
    assert tx.events["UsageAttested"]["jobs"] == 4
    assert all(market.job(j)["state"] == SETTLED for j in jobs)


def test_batch_errors(
    protocol: Any, market: Any, provider: Any, provider2: Any, client: Any, error: Any
) -> None:
    with brownie.reverts(error("MarketEmptyBatch")):
        market.settleBatch(provider, [], b"", [], {"from": provider})
    mine = protocol.claimed(client, provider)
    theirs = protocol.claimed(client, provider2)
    records = [protocol.record(mine, provider), protocol.record(theirs, provider)]
    sig = protocol.sign_batch(protocol.signer_keys[provider.address], records)
    with brownie.reverts(error("MarketWrongProvider", theirs, provider, provider2)):
        market.settleBatch(
            provider, [r.batch_tuple() for r in records], sig, [], {"from": provider}
        )


def test_digests_match_eth_account_eip712(protocol: Any, market: Any, provider: Any) -> None:
    from eth_account.messages import _hash_eip191_message, encode_typed_data  # noqa: F401

    record = protocol.record(7, provider)
    key = protocol.signer_keys[provider.address]
    sig = protocol.sign(key, record)
    assert Account._recover_hash(market.recordDigest(record.tuple()), signature=sig) == key.address
    records = [record, protocol.record(8, provider)]
    sig = protocol.sign_batch(key, records)
    digest = market.batchDigest(provider, [r.batch_tuple() for r in records])
    assert Account._recover_hash(digest, signature=sig) == key.address


# --- attestors -----------------------------------------------------------------------------


def test_attestors_must_co_sign_when_the_market_requires_them(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    attestors = sorted((Account.create() for _ in range(3)), key=lambda a: int(a.address, 16))
    market.setAttestors([a.address for a in attestors], 2, {"from": protocol.admin})
    job = protocol.claimed(client, provider)
    record, oracle = protocol.oracle_signed(job, provider)
    with brownie.reverts(error("MarketAttestorThresholdNotMet", 1, 2)):
        market.settle(
            record.tuple(), oracle, [protocol.sign(attestors[0], record)], {"from": provider}
        )
    stranger = Account.create()
    with brownie.reverts(error("MarketUnknownAttestor", stranger.address)):
        market.settle(
            record.tuple(),
            oracle,
            [protocol.sign(stranger, record), protocol.sign(attestors[0], record)],
            {"from": provider},
        )
    backwards = [protocol.sign(attestors[2], record), protocol.sign(attestors[0], record)]
    with brownie.reverts(
        error("MarketAttestorsUnsorted", attestors[2].address, attestors[0].address)
    ):
        market.settle(record.tuple(), oracle, backwards, {"from": provider})
    good = [protocol.sign(attestors[0], record), protocol.sign(attestors[2], record)]
    market.settle(record.tuple(), oracle, good, {"from": provider})
    assert market.job(job)["state"] == SETTLED
    assert market.parameters()["attestorThreshold"] == 2


def test_set_attestors_validates(market: Any, protocol: Any, accounts: Any, error: Any) -> None:
    admin = protocol.admin
    with brownie.reverts(error("MarketInvalidParameter", b"attestorThreshold".ljust(32, b"\0"), 2)):
        market.setAttestors([accounts[6]], 2, {"from": admin})
    with brownie.reverts(error("MarketZeroAddress")):
        market.setAttestors([ZERO_ADDRESS], 1, {"from": admin})
    with brownie.reverts(error("MarketDuplicateAttestor", accounts[6])):
        market.setAttestors([accounts[6], accounts[6]], 1, {"from": admin})
    tx = market.setAttestors([accounts[6], accounts[7]], 1, {"from": admin})
    assert tx.events["AttestorsUpdated"]["threshold"] == 1
    market.setAttestors([], 0, {"from": admin})
    assert market.parameters()["attestors"] == ()


# --- expiry --------------------------------------------------------------------------------


def test_expire_claimed_job_refunds_and_penalises_the_provider(
    protocol: Any, market: Any, provider: Any, client: Any, accounts: Any, chain: Any, error: Any
) -> None:
    deadline = protocol.now() + 100
    job = protocol.claimed(client, provider, deadline=deadline)
    with brownie.reverts(error("MarketDeadlineNotPassed", job, deadline)):
        market.expireJob(job, {"from": accounts[7]})
    chain.sleep(200)
    stake_before = protocol.staking.providerInfo(provider)["stake"]
    tx = market.expireJob(job, {"from": accounts[7]})  # anyone may
    lock = 10 * ONE * COLLATERAL_BPS // 10_000
    penalty = lock * 1_000 // 10_000
    assert (tx.events["JobExpired"]["refund"], tx.events["JobExpired"]["penalty"]) == (
        10 * ONE,
        penalty,
    )
    assert market.credit(client) == 10 * ONE + penalty
    assert protocol.staking.providerInfo(provider)["stake"] == stake_before - penalty
    assert market.lockedStake(provider) == 0
    with brownie.reverts(error("MarketInvalidJobState", job, EXPIRED)):
        market.expireJob(job, {"from": accounts[7]})


def test_expire_open_job_refunds_without_penalty(
    protocol: Any, market: Any, client: Any, chain: Any
) -> None:
    job = protocol.post(client, bid=ONE, deadline=protocol.now() + 100)
    chain.sleep(200)
    tx = market.expireJob(job, {"from": client})
    assert tx.events["JobExpired"]["penalty"] == 0
    assert market.credit(client) == 11 * ONE
    assert list(market.queue(H100, 0, 10)[0]) == []


# --- disputes ------------------------------------------------------------------------------


def settled_job(protocol: Any, client: Any, provider: Any) -> int:
    job = protocol.claimed(client, provider, bid=ONE)
    protocol.settle(job, provider, gpu_millis=4_000_000)  # payment 5 CPT, refund 6
    return job


def test_client_wins_dispute_gets_payment_bond_and_slash(
    protocol: Any, market: Any, provider: Any, client: Any, treasury: Any
) -> None:
    job = settled_job(protocol, client, provider)
    tx = market.openDispute(job, {"from": client})
    assert tx.events["DisputeOpened"]["bond"] == DISPUTE_BOND
    assert market.dispute(job)["client"] == client
    lock = 11 * ONE * COLLATERAL_BPS // 10_000
    slashed = lock * 5_000 // 10_000
    fee = 5 * ONE * FEE_BPS // 10_000
    tx = market.resolveDispute(job, True, {"from": protocol.admin})
    event = tx.events["DisputeResolved"]
    assert (event["clientWins"], event["byDefault"], event["slashed"]) == (True, False, slashed)
    # The treasury takes its 10% of the bond and of the slash whoever wins.
    bond_share = DISPUTE_BOND // 10
    assert market.credit(client) == (
        5 * ONE - fee + DISPUTE_BOND - bond_share + slashed - slashed // 10
    )
    assert market.credit(treasury) == fee + bond_share + slashed // 10
    assert event["toTreasury"] == fee + bond_share + slashed // 10
    assert market.lockedStake(provider) == 0
    assert market.job(job)["state"] == FINALIZED


def test_provider_wins_dispute_takes_payment_and_the_bond(
    protocol: Any, market: Any, provider: Any, client: Any, treasury: Any
) -> None:
    job = settled_job(protocol, client, provider)
    market.openDispute(job, {"from": client})
    market.resolveDispute(job, False, {"from": protocol.admin})
    fee = 5 * ONE * FEE_BPS // 10_000
    assert market.credit(provider) == 5 * ONE - fee + DISPUTE_BOND - DISPUTE_BOND // 10
    assert market.credit(treasury) == fee + DISPUTE_BOND // 10


def test_default_after_arbiter_timeout_lets_the_record_stand(
    protocol: Any, market: Any, provider: Any, client: Any, accounts: Any, chain: Any, error: Any
) -> None:
    job = settled_job(protocol, client, provider)
    tx = market.openDispute(job, {"from": client})
    deadline = tx.timestamp + ARBITER_TIMEOUT
    with brownie.reverts(error("MarketArbiterTimeoutNotPassed", job, deadline)):
        market.finalizeDispute(job, {"from": accounts[7]})
    chain.sleep(ARBITER_TIMEOUT + 1)
    chain.mine()
    with brownie.reverts(error("MarketArbiterTimeoutPassed", job, deadline)):
        market.resolveDispute(job, True, {"from": protocol.admin})
    tx = market.finalizeDispute(job, {"from": accounts[7]})
    assert tx.events["DisputeResolved"]["byDefault"] is True
    assert tx.events["DisputeResolved"]["clientWins"] is False


def test_dispute_errors(
    protocol: Any, market: Any, provider: Any, client: Any, client2: Any, accounts: Any, error: Any
) -> None:
    job = protocol.claimed(client, provider)
    with brownie.reverts(error("MarketInvalidJobState", job, CLAIMED)):
        market.openDispute(job, {"from": client})
    protocol.settle(job, provider)
    with brownie.reverts(error("MarketNotJobClient", job, client2)):
        market.openDispute(job, {"from": client2})
    with brownie.reverts(error("MarketInvalidJobState", job, SETTLED)):
        market.resolveDispute(job, True, {"from": protocol.admin})
    market.openDispute(job, {"from": client})
    with brownie.reverts(error("AccessControlUnauthorizedAccount", accounts[7], ARBITER_ROLE)):
        market.resolveDispute(job, True, {"from": accounts[7]})


# --- withdrawals ---------------------------------------------------------------------------


def test_withdraw_errors(
    protocol: Any, market: Any, provider: Any, client: Any, client2: Any, error: Any
) -> None:
    with brownie.reverts(error("MarketNothingToWithdraw", client)):
        market.withdraw([], {"from": client})
    job = settled_job(protocol, client, provider)
    with brownie.reverts(error("MarketNotWithdrawable", job, client2)):
        market.withdraw([job], {"from": client2})
    tx = market.withdraw([job], {"from": client})  # the refund, at once
    assert tx.events["Withdrawn"]["amount"] == 6 * ONE
    assert market.job(job)["refundWithdrawn"] is True
    with brownie.reverts(error("MarketNotWithdrawable", job, client)):
        market.withdraw([job], {"from": client})
    window_end = market.job(job)["settledAt"] + DISPUTE_WINDOW
    with brownie.reverts(error("MarketDisputeWindowOpen", job, window_end)):
        market.withdraw([job], {"from": provider})


# --- admin ---------------------------------------------------------------------------------


def test_parameter_setters_emit_and_check_bounds(
    market: Any, protocol: Any, accounts: Any, error: Any
) -> None:
    admin = protocol.admin
    for setter, value, name in (
        (market.setFeeBps, 250, "feeBps"),
        (market.setDisputeBond, 7 * ONE, "disputeBond"),
        (market.setDisputeSlashBps, 9_000, "disputeSlashBps"),
        (market.setExpirePenaltyBps, 2_000, "expirePenaltyBps"),
        (market.setTreasuryShareBps, 3_000, "treasuryShareBps"),
    ):
        tx = setter(value, {"from": admin})
        assert tx.events["ParameterUpdated"]["value"] == value
        assert market.parameters()[name] == value
    padded = lambda name: name.encode().ljust(32, b"\0")  # noqa: E731
    for setter, value, name in (
        (market.setFeeBps, 1_001, "feeBps"),
        (market.setDisputeSlashBps, 10_001, "disputeSlashBps"),
        (market.setExpirePenaltyBps, 10_001, "expirePenaltyBps"),
        (market.setTreasuryShareBps, 0, "treasuryShareBps"),
        (market.setTreasuryShareBps, 5_001, "treasuryShareBps"),
        (market.setDisputeBond, 2**96, "disputeBond"),
    ):
        with brownie.reverts(error("MarketInvalidParameter", padded(name), value)):
            setter(value, {"from": admin})
    with brownie.reverts(error("AccessControlUnauthorizedAccount", accounts[7], PARAMS_ROLE)):
        market.setFeeBps(1, {"from": accounts[7]})
    with brownie.reverts(error("MarketZeroAddress")):
        market.setTreasury(ZERO_ADDRESS, {"from": admin})
    assert (
        market.setTreasury(accounts[8], {"from": admin}).events["TreasuryUpdated"]["treasury"]
        == accounts[8]
    )


def test_pause_stops_posting_and_claiming_only(
    protocol: Any, market: Any, provider: Any, client: Any, accounts: Any, error: Any
) -> None:
    job = settled_job(protocol, client, provider)
    open_job = protocol.post(client)
    with brownie.reverts(error("AccessControlUnauthorizedAccount", accounts[7], PAUSER_ROLE)):
        market.pause({"from": accounts[7]})
    market.pause({"from": protocol.admin})
    with brownie.reverts(error("EnforcedPause")):
        market.postJob(protocol.request(), {"from": client})
    with brownie.reverts(error("EnforcedPause")):
        market.claimNext({"from": provider})
    with brownie.reverts(error("EnforcedPause")):
        market.raiseBid(open_job, ONE, {"from": client})
    market.withdraw([job], {"from": client})  # withdrawals go on
    market.cancelJob(open_job, {"from": client})  # and so does getting escrow back
    market.unpause({"from": protocol.admin})
    protocol.post(client)


def test_sync_provider_is_for_staking_only(market: Any, accounts: Any, error: Any) -> None:
    with brownie.reverts(error("MarketOnlyStaking", accounts[7])):
        market.syncProvider(
            accounts[7], 1, accounts[7], H100, ONE, PRICE, 0, 0, {"from": accounts[7]}
        )


def test_sync_stake_and_min_stake_are_for_staking_only(
    market: Any, accounts: Any, error: Any
) -> None:
    with brownie.reverts(error("MarketOnlyStaking", accounts[7])):
        market.syncStake(accounts[7], 10**30, {"from": accounts[7]})
    with brownie.reverts(error("MarketOnlyStaking", accounts[7])):
        market.syncMinStake(0, {"from": accounts[7]})


def test_day_constant_is_a_day() -> None:
    assert DAY == 24 * 3600


def test_a_job_that_earned_nothing_still_finalizes_and_frees_the_lock(
    protocol: Any, market: Any, provider: Any, client: Any, chain: Any
) -> None:
    job = protocol.claimed(client, provider)
    protocol.settle(job, provider, gpu_millis=0)  # no GPU time and no bid: payment 0
    chain.sleep(DISPUTE_WINDOW + 1)
    chain.mine()
    tx = market.withdraw([job], {"from": provider})
    assert tx.events["Withdrawn"]["amount"] == 0
    assert market.lockedStake(provider) == 0
    assert market.job(job)["state"] == FINALIZED
