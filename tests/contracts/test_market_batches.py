"""The batch calls: postJobs, claimNextJobs and withdraw of many jobs. A batch does what the
same single calls in a row would do, in one transaction; a bad element reverts all of it
with an error naming its index; duplicates, a pause and ineligible jobs change nothing."""

from __future__ import annotations

from typing import Any

import brownie
from eth_abi import encode
from market_constants import COLLATERAL_CAP, DISPUTE_WINDOW, H100, MAX_ESCROW, MIN_STAKE, ONE, PRICE
from web3 import Web3

MAX_BATCH = 256


def item_error(error: Any, index: int, name: str, types: list[str], args: list[Any]) -> str:
    """The revert message of `MarketBatchItemInvalid(index, <name(args) encoded>)`."""
    selector = Web3.keccak(text=f"{name}({','.join(types)})")[:4]
    return error("MarketBatchItemInvalid", index, selector + encode(types, args))


def test_post_jobs_numbers_jobs_in_order_and_collects_one_transfer(
    protocol: Any, market: Any, client: Any
) -> None:
    requests = [protocol.request()] * 3 + [protocol.request(bid=ONE), protocol.request()]
    before = market.jobCount()
    balance = protocol.token.balanceOf(client)
    tx = market.postJobs(requests, {"from": client})
    first = tx.return_value
    assert first == before + 1 and market.jobCount() == before + 5
    assert [e["jobId"] for e in tx.events["JobPosted"]] == list(range(first, first + 5))
    assert len(tx.events["Transfer"]) == 1
    assert protocol.token.balanceOf(client) == balance - (5 * 10 * ONE + ONE)
    # The order single posts would give: the bid first, then first posted first served.
    assert protocol.queue()[:5] == [first + 3, first, first + 1, first + 2, first + 4]
    assert market.job(first + 4)["client"] == client


def test_a_bad_element_reverts_the_whole_batch_and_names_its_index(
    protocol: Any, market: Any, client: Any, provider2: Any, error: Any
) -> None:
    before, balance = market.jobCount(), protocol.token.balanceOf(client)
    too_large = MAX_ESCROW + 2 * 10**9  # its lock exceeds the cap by a nano-CPT
    requests = [protocol.request(), protocol.request(), protocol.request(max_payment=too_large)]
    expected = item_error(
        error, 2, "MarketJobTooLarge", ["uint256", "uint256"], [too_large, MAX_ESCROW]
    )
    with brownie.reverts(expected):
        market.postJobs(requests, {"from": client})
    wrong_class = protocol.request(gpu_class=b"\x01\x02\x03\x04", provider=provider2)
    with brownie.reverts(revert_pattern=r"MarketBatchItemInvalid: 1, .*"):
        market.postJobs([protocol.request(), wrong_class], {"from": client})
    assert market.jobCount() == before and protocol.token.balanceOf(client) == balance


def test_batches_are_bounded(
    market: Any, protocol: Any, client: Any, provider: Any, error: Any
) -> None:
    with brownie.reverts(error("MarketEmptyBatch")):
        market.postJobs([], {"from": client})
    with brownie.reverts(error("MarketBatchTooLarge", MAX_BATCH + 1, MAX_BATCH)):
        market.postJobs([protocol.request()] * (MAX_BATCH + 1), {"from": client})
    with brownie.reverts(error("MarketEmptyBatch")):
        market.claimNextJobs(0, {"from": provider})
    with brownie.reverts(error("MarketBatchTooLarge", MAX_BATCH + 1, MAX_BATCH)):
        market.claimNextJobs(MAX_BATCH + 1, {"from": provider})
    with brownie.reverts(error("MarketBatchTooLarge", MAX_BATCH + 1, MAX_BATCH)):
        market.withdraw([1] * (MAX_BATCH + 1), {"from": client})


def test_claim_next_jobs_takes_what_single_claims_in_a_row_would(
    protocol: Any, market: Any, client: Any, provider: Any
) -> None:
    plain = protocol.post(client)
    bid = protocol.post(client, bid=ONE)
    designated = protocol.post(client, provider=provider)  # first at its level
    protocol.post(client, price=PRICE // 2)  # below the ask: passed over
    higher = protocol.post(client, bid=2 * ONE)
    tx = market.claimNextJobs(10, {"from": provider})
    # Higher level first; at one level designated first, then first posted first served.
    order = [higher, bid, designated, plain]
    assert list(tx.return_value) == order
    assert [e["jobId"] for e in tx.events["JobClaimed"]] == order
    assert market.lockedStake(provider) == sum(e["lockedStake"] for e in tx.events["JobClaimed"])


def test_claim_next_jobs_stops_where_the_free_stake_ends(
    protocol: Any, market: Any, client: Any, accounts: Any
) -> None:
    small = accounts[8]
    protocol.add_provider(small, stake=MIN_STAKE)  # covers MIN_STAKE / COLLATERAL_CAP claims
    covered = MIN_STAKE // COLLATERAL_CAP
    market.postJobs([protocol.request()] * (covered + 2), {"from": client})
    tx = market.claimNextJobs(covered + 2, {"from": small})
    assert len(tx.return_value) == covered
    assert market.lockedStake(small) <= MIN_STAKE


def test_claim_next_jobs_with_nothing_to_take_reverts(
    market: Any, provider: Any, error: Any
) -> None:
    with brownie.reverts(error("MarketNoEligibleJob", provider, H100)):
        market.claimNextJobs(3, {"from": provider})


def test_jobs_left_behind_in_a_group_are_skipped_by_a_batch_claim(
    protocol: Any, market: Any, client: Any, provider: Any
) -> None:
    first = market.postJobs([protocol.request()] * 4, {"from": client}).return_value
    market.cancelJob(first + 1, {"from": client})  # one job of the group is no longer open
    market.raiseBid(first + 2, ONE, {"from": client})  # one moved to a higher level
    tx = market.claimNextJobs(4, {"from": provider})
    assert list(tx.return_value) == [first + 2, first, first + 3]
    assert protocol.queue() == []


def test_a_pause_stops_batch_posts_and_claims_but_not_batch_withdrawals(
    protocol: Any, market: Any, client: Any, provider: Any, error: Any
) -> None:
    jobs = [protocol.settled(client, provider) for _ in range(2)]
    protocol.sleep(DISPUTE_WINDOW + 1)
    protocol.post(client)
    market.pause({"from": protocol.admin})
    with brownie.reverts(error("EnforcedPause")):
        market.postJobs([protocol.request()], {"from": client})
    with brownie.reverts(error("EnforcedPause")):
        market.claimNextJobs(2, {"from": provider})
    tx = market.withdraw(jobs, {"from": provider})
    assert len(tx.events["JobFinalized"]) == 2
    assert all(market.job(j)["state"] == 5 for j in jobs)  # Finalized


def test_a_job_twice_in_a_withdrawal_reverts_it_all(
    protocol: Any, market: Any, client: Any, provider: Any, error: Any
) -> None:
    jobs = [protocol.settled(client, provider) for _ in range(2)]
    protocol.sleep(DISPUTE_WINDOW + 1)
    balance = protocol.token.balanceOf(provider)
    expected = item_error(
        error, 2, "MarketNotWithdrawable", ["uint256", "address"], [jobs[0], str(provider)]
    )
    with brownie.reverts(expected):
        market.withdraw([jobs[0], jobs[1], jobs[0]], {"from": provider})
    assert protocol.token.balanceOf(provider) == balance
    market.withdraw(jobs, {"from": provider})
    with brownie.reverts(error("MarketNotWithdrawable", jobs[1], provider)):
        market.withdraw([jobs[1]], {"from": provider})  # paid once, never twice
