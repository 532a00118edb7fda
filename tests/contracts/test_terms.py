"""Terms are fixed per job (DESIGN.md): an admin change of fee, bond, slash and penalty
shares, treasury share or attestors never reaches a job already posted; every setter is
bounded; a dispute always costs its bond's treasury share, so disputing oneself never pays."""

from __future__ import annotations

from typing import Any

import brownie
import pytest
from eth_account import Account
from market_constants import (
    COLLATERAL_BPS,
    DEFAULT_EXPIRE_PENALTY_BPS,
    DEFAULT_SLASH_BPS,
    DEFAULT_TREASURY_SHARE_BPS,
    DISPUTE_BOND,
    DISPUTE_WINDOW,
    FEE_BPS,
    MIN_DISPUTE_BOND,
    ONE,
    padded,
)

BPS = 10_000
ESCROW = 11 * ONE  # what `protocol.settled` posts: 10 CPT max payment plus a 1 CPT bid
LOCK = ESCROW * COLLATERAL_BPS // BPS
PAYMENT = 5 * ONE  # 4,000 GPU-s at 0.001 CPT plus the bid


def admin(protocol: Any) -> dict[str, Any]:
    return {"from": protocol.admin}


# --- P5: a change never reaches a job in flight ---------------------------------------------


def test_a_fee_change_does_not_reach_a_posted_job(
    protocol: Any, market: Any, provider: Any, client: Any, treasury: Any
) -> None:
    job = protocol.post(client, bid=ONE)
    market.setFeeBps(1_000, admin(protocol))
    market.claimJob(job, {"from": provider})  # claimed after the change, posted before it
    protocol.settle(job, provider, gpu_millis=4_000_000)
    protocol.sleep(DISPUTE_WINDOW + 1)
    tx = market.withdraw([job], {"from": provider})
    fee = PAYMENT * FEE_BPS // BPS
    assert tx.events["JobFinalized"]["fee"] == fee
    assert tx.events["Withdrawn"]["amount"] == PAYMENT - fee
    assert market.job(job)["feeBps"] == FEE_BPS
    assert market.job(protocol.post(client))["feeBps"] == 1_000


def test_a_bond_change_does_not_reach_a_posted_job(
    protocol: Any, market: Any, provider: Any, client: Any
) -> None:
    job = protocol.settled(client, provider)
    market.setDisputeBond(3 * DISPUTE_BOND, admin(protocol))
    before = protocol.token.balanceOf(client)
    tx = market.openDispute(job, {"from": client})
    assert tx.events["DisputeOpened"]["bond"] == DISPUTE_BOND
    assert protocol.token.balanceOf(client) == before - DISPUTE_BOND
    assert market.dispute(job)["bond"] == DISPUTE_BOND


def test_a_slash_change_does_not_reach_a_claimed_job(
    protocol: Any, market: Any, staking: Any, provider: Any, client: Any
) -> None:
    job = protocol.claimed(client, provider, bid=ONE)
    market.setDisputeSlashBps(BPS, admin(protocol))
    protocol.settle(job, provider, gpu_millis=4_000_000)
    market.openDispute(job, {"from": client})
    stake = staking.providerInfo(provider)["stake"]
    tx = market.resolveDispute(job, True, admin(protocol))
    slashed = LOCK * DEFAULT_SLASH_BPS // BPS
    assert tx.events["DisputeResolved"]["slashed"] == slashed
    assert staking.providerInfo(provider)["stake"] == stake - slashed


def test_an_expiry_penalty_change_does_not_reach_a_claimed_job(
    protocol: Any, market: Any, provider: Any, client: Any, chain: Any
) -> None:
    job = protocol.claimed(client, provider, bid=ONE, deadline=protocol.now() + 100)
    market.setExpirePenaltyBps(BPS, admin(protocol))
    protocol.sleep(101)
    tx = market.expireJob(job, {"from": client})
    penalty = LOCK * DEFAULT_EXPIRE_PENALTY_BPS // BPS
    assert tx.events["JobExpired"]["penalty"] == penalty
    assert market.credit(client) == ESCROW + penalty


def test_a_treasury_share_change_does_not_reach_a_posted_job(
    protocol: Any, market: Any, provider: Any, client: Any, treasury: Any
) -> None:
    job = protocol.settled(client, provider)
    market.setTreasuryShareBps(5_000, admin(protocol))
    market.openDispute(job, {"from": client})
    tx = market.resolveDispute(job, False, admin(protocol))
    fee = PAYMENT * FEE_BPS // BPS
    share = DISPUTE_BOND * DEFAULT_TREASURY_SHARE_BPS // BPS
    assert tx.events["DisputeResolved"]["toTreasury"] == fee + share
    assert market.credit(treasury) == fee + share
    assert market.credit(provider) == PAYMENT - fee + DISPUTE_BOND - share


def test_new_attestors_are_not_required_of_a_posted_job(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    old = protocol.claimed(client, provider)
    market.setAttestors([Account.create().address, Account.create().address], 2, admin(protocol))
    new = protocol.claimed(client, provider)
    protocol.settle(old, provider)  # no attestor signatures, as when it was posted
    with brownie.reverts(error("MarketAttestorThresholdNotMet", 0, 2)):
        protocol.settle(new, provider)


def test_a_posted_job_keeps_the_attestor_set_of_its_posting(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    first, second = Account.create(), Account.create()
    market.setAttestors([first.address], 1, admin(protocol))
    job = protocol.claimed(client, provider)
    market.setAttestors([second.address], 1, admin(protocol))
    assert not market.isAttestor(first.address)
    with brownie.reverts(error("MarketUnknownAttestor", second.address)):
        protocol.settle(job, provider, attestors=(second,))
    protocol.settle(job, provider, attestors=(first,))


def test_a_batch_cannot_mix_jobs_of_different_attestor_terms(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    before = protocol.claimed(client, provider)
    market.setAttestors([Account.create().address], 1, admin(protocol))
    after = protocol.claimed(client, provider)
    records = [protocol.record(before, provider), protocol.record(after, provider)]
    signature = protocol.sign_batch(protocol.signer_keys[provider.address], records)
    with brownie.reverts(error("MarketMixedTerms", 1, after)):
        market.settleBatch(
            provider, [r.batch_tuple() for r in records], signature, [], {"from": provider}
        )


def test_every_terms_setter_makes_a_new_version_and_keeps_the_old(
    protocol: Any, market: Any
) -> None:
    start = market.parameters()["termsVersion"]
    old = [int(v) for v in market.terms(start)[0]]
    changes = [
        (market.setFeeBps, (250,)),
        (market.setDisputeBond, (7 * ONE,)),
        (market.setDisputeSlashBps, (9_000,)),
        (market.setExpirePenaltyBps, (2_000,)),
        (market.setTreasuryShareBps, (3_000,)),
        (market.setAttestors, ([Account.create().address], 1)),
    ]
    for i, (setter, args) in enumerate(changes, 1):
        tx = setter(*args, admin(protocol))
        event = tx.events[
            "AttestorsUpdated" if setter == market.setAttestors else "ParameterUpdated"
        ]
        assert event["termsVersion"] == start + i
    assert market.parameters()["termsVersion"] == start + len(changes)
    assert [int(v) for v in market.terms(start)[0]] == old
    latest = market.terms(start + len(changes))[0]
    assert [int(v) for v in latest][:6] == [250, 7 * ONE, 9_000, 2_000, 3_000, 1]


# --- every setter is bounded -----------------------------------------------------------------

OUT_OF_RANGE = [
    ("setFeeBps", "feeBps", 1_001),
    ("setDisputeBond", "disputeBond", 0),
    ("setDisputeBond", "disputeBond", MIN_DISPUTE_BOND - 1),
    ("setDisputeBond", "disputeBond", 10**27 + 1),
    ("setDisputeSlashBps", "disputeSlashBps", BPS + 1),
    ("setExpirePenaltyBps", "expirePenaltyBps", BPS + 1),
    ("setTreasuryShareBps", "treasuryShareBps", 0),
    ("setTreasuryShareBps", "treasuryShareBps", 5_001),
    ("setBusyThreshold", "busyThreshold", 0),
    ("setBusyThreshold", "busyThreshold", 10**6 + 1),
]


@pytest.mark.parametrize(("setter", "name", "value"), OUT_OF_RANGE)
def test_a_setter_refuses_a_value_out_of_range(
    protocol: Any, market: Any, setter: str, name: str, value: int, error: Any
) -> None:
    version = market.parameters()["termsVersion"]
    with brownie.reverts(error("MarketInvalidParameter", padded(name), value)):
        getattr(market, setter)(value, admin(protocol))
    assert market.parameters()["termsVersion"] == version


def test_set_attestors_refuses_a_threshold_above_the_set(
    protocol: Any, market: Any, error: Any
) -> None:
    attestors = [Account.create().address for _ in range(2)]
    with brownie.reverts(error("MarketInvalidParameter", padded("attestorThreshold"), 3)):
        market.setAttestors(attestors, 3, admin(protocol))


def test_set_attestors_refuses_more_than_32(protocol: Any, market: Any, error: Any) -> None:
    attestors = [Account.create().address for _ in range(33)]
    with brownie.reverts(error("MarketTooManyAttestors", 33, 32)):
        market.setAttestors(attestors, 1, admin(protocol))


# --- P8: disputes always cost their bond's share ----------------------------------------------


def test_a_dispute_on_default_terms_posts_a_nonzero_bond(deploy: Any, accounts: Any) -> None:
    fresh = deploy()
    fresh.add_provider(accounts[6])
    fresh.fund(accounts[7])
    job = fresh.settled(accounts[7], accounts[6])
    before = fresh.token.balanceOf(accounts[7])
    tx = fresh.market.openDispute(job, {"from": accounts[7]})
    assert tx.events["DisputeOpened"]["bond"] == MIN_DISPUTE_BOND > 0
    assert fresh.token.balanceOf(accounts[7]) == before - MIN_DISPUTE_BOND


def run_job(protocol: Any, client: Any, provider: Any, outcome: str | None) -> int:
    """One job from posting to the last withdrawal; the pair's change in wealth."""
    market = protocol.market
    before = protocol.wealth(client, provider)
    job = protocol.settled(client, provider)
    if outcome is not None:
        market.openDispute(job, {"from": client})
        if outcome == "default":
            protocol.sleep(market.ARBITER_TIMEOUT() + 1)
            market.finalizeDispute(job, {"from": client})
        else:
            market.resolveDispute(job, outcome == "client wins", admin(protocol))
    protocol.sleep(DISPUTE_WINDOW + 1)
    market.withdraw([job], {"from": client})  # the refund
    if outcome is None:
        market.withdraw([job], {"from": provider})
    for who in (client, provider):
        if market.credit(who):
            market.withdraw([], {"from": who})
    return protocol.wealth(client, provider) - before


@pytest.mark.parametrize("outcome", ["client wins", "provider wins", "default"])
def test_a_self_dispute_leaves_the_pair_strictly_worse_off_even_without_fees(
    protocol: Any, market: Any, provider: Any, accounts: Any, outcome: str
) -> None:
    """The client account is the provider's own other account."""
    market.setFeeBps(0, admin(protocol))
    own_client = accounts[8]
    protocol.fund(own_client)
    honest = run_job(protocol, own_client, provider, None)
    disputed = run_job(protocol, own_client, provider, outcome)
    assert honest == 0  # no fee: settling moves tokens within the pair only
    assert disputed < honest
    share = DISPUTE_BOND * DEFAULT_TREASURY_SHARE_BPS // BPS
    slash_share = LOCK * DEFAULT_SLASH_BPS // BPS * DEFAULT_TREASURY_SHARE_BPS // BPS
    assert disputed == -share - (slash_share if outcome == "client wins" else 0)
