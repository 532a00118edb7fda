"""The priority book: claiming order, levels, first in first out, designated queues and
posting without hints (DESIGN.md, "Priority" and "Ordering is enforced on chain")."""

from __future__ import annotations

from typing import Any

import brownie
import pytest
from brownie import web3
from market_constants import (
    A100,
    CLAIMED,
    H100,
    MAX_ESCROW,
    MAX_LEVEL,
    NANO,
    ONE,
    OPEN,
    PRICE,
    ZERO_ADDRESS,
    level_of,
)
from market_protocol import send_raw

JOB_POSTED = web3.keccak(
    text="JobPosted(uint256,address,bytes4,bytes32,uint256,uint256,uint256,uint256,uint32,address)"
)


def test_priority_levels_follow_four_steps_per_doubling(market: Any) -> None:
    samples = [0, 1, 2, 3, 4, 5, 7, 8, 1_000, 123_456_789, 10**9, 2**40 + 12_345]
    for nano in [*samples, 2**55 + 2**54 - 1, 2**55 + 2**54, 2**60, 2**64 - 1]:
        assert market.priorityLevel(nano * NANO) == level_of(nano * NANO), nano
    assert market.priorityLevel(NANO - 1) == 0  # below one nano-CPT counts as nothing
    assert market.priorityLevel((2**55 + 2**54) * NANO) == MAX_LEVEL
    assert market.priorityLevel(2**200) == MAX_LEVEL
    assert level_of(ONE) == level_of(ONE + ONE // 20) < level_of(ONE + ONE // 5)


# --- P2: order ---------------------------------------------------------------------------


def test_claim_job_below_a_higher_priority_job_it_can_take_reverts(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    low = protocol.post(client, bid=ONE)
    high = protocol.post(client, bid=2 * ONE)
    with brownie.reverts(error("MarketHigherPriorityEligible", low, high)):
        market.claimJob(low, {"from": provider})


def test_claim_job_below_higher_jobs_it_cannot_take_succeeds(
    protocol: Any, market: Any, provider: Any, provider2: Any, client: Any, chain: Any
) -> None:
    protocol.post(client, bid=3 * ONE, provider=provider2)  # not for it
    protocol.post(client, bid=3 * ONE, price=PRICE - NANO)  # below its ask
    protocol.post(client, bid=3 * ONE, deadline=protocol.now() + 5)  # about to expire
    target = protocol.post(client, bid=ONE)
    protocol.sleep(10)
    tx = market.claimJob(target, {"from": provider})
    assert tx.events["JobClaimed"]["jobId"] == target


def test_claim_job_of_a_job_it_cannot_take_reverts_not_eligible(
    protocol: Any, market: Any, provider: Any, provider2: Any, client: Any, error: Any
) -> None:
    for job in (
        protocol.post(client, provider=provider2),
        protocol.post(client, price=PRICE - NANO),
        protocol.post(client, gpu_class=A100),
    ):
        with brownie.reverts(error("MarketProviderNotEligible", job, provider)):
            market.claimJob(job, {"from": provider})


def test_claim_next_with_nothing_it_can_take_reverts(
    protocol: Any, market: Any, provider: Any, provider2: Any, client: Any, error: Any
) -> None:
    protocol.post(client, provider=provider2)
    protocol.post(client, price=PRICE - NANO)
    with brownie.reverts(error("MarketNoEligibleJob", provider, H100)):
        market.claimNext({"from": provider})


def test_designated_job_goes_before_an_open_job_of_the_same_level(
    protocol: Any, market: Any, provider: Any, provider2: Any, client: Any, served_first: Any
) -> None:
    open_job = protocol.post(client, bid=ONE)
    designated = protocol.post(client, bid=ONE + ONE // 20, provider=provider)  # same level
    assert market.job(open_job)["level"] == market.job(designated)["level"]
    served_first(provider, designated, open_job)
    assert market.claimNext({"from": provider}).return_value == open_job


def test_designated_job_does_not_hold_back_other_providers(
    protocol: Any, market: Any, provider: Any, provider2: Any, client: Any
) -> None:
    protocol.post(client, bid=ONE, provider=provider)
    open_job = protocol.post(client, bid=ONE)
    assert market.claimNext({"from": provider2}).return_value == open_job


def test_open_job_of_a_higher_level_goes_before_a_designated_one(
    protocol: Any, provider: Any, client: Any, served_first: Any
) -> None:
    designated = protocol.post(client, bid=ONE, provider=provider)
    open_job = protocol.post(client, bid=2 * ONE)
    served_first(provider, open_job, designated)


def test_jobs_of_one_level_are_served_first_in_first_out(
    protocol: Any, provider: Any, client: Any, client2: Any, served_first: Any
) -> None:
    first = protocol.post(client, bid=ONE)
    second = protocol.post(client2, bid=ONE + ONE // 20)  # bids more, same level
    assert protocol.queue() == [first, second]
    served_first(provider, first, second)


def test_raise_bid_within_the_level_keeps_the_job_in_place(
    protocol: Any, market: Any, client: Any, client2: Any
) -> None:
    first = protocol.post(client, bid=ONE)
    second = protocol.post(client2, bid=ONE)
    tx = market.raiseBid(second, ONE + ONE // 20, {"from": client2})
    assert tx.events["BidRaised"]["priority"] == ONE + ONE // 20
    assert protocol.queue() == [first, second]
    assert market.job(second)["level"] == level_of(ONE)


def test_raise_bid_to_a_higher_level_moves_the_job_to_that_level_s_tail(
    protocol: Any, market: Any, provider: Any, client: Any, client2: Any
) -> None:
    low = protocol.post(client, bid=ONE)
    high = protocol.post(client, bid=2 * ONE)
    raised = protocol.post(client2, bid=ONE)
    market.raiseBid(raised, 2 * ONE, {"from": client2})
    assert protocol.queue() == [high, raised, low]
    view = market.job(raised)
    assert (view["bid"], view["priority"], view["level"]) == (2 * ONE, 2 * ONE, level_of(2 * ONE))
    assert market.claimNext({"from": provider}).return_value == high
    assert market.claimNext({"from": provider}).return_value == raised


def test_raise_bid_of_a_designated_job_keeps_it_designated(
    protocol: Any, market: Any, provider: Any, provider2: Any, client: Any
) -> None:
    job = protocol.post(client, provider=provider2)
    market.raiseBid(job, 5 * ONE, {"from": client})
    assert [int(j) for j in market.designatedQueue(provider2, H100, 0, 10)[0]] == [job]
    assert protocol.queue() == []
    assert market.claimNext({"from": provider2}).return_value == job


# --- P1: what others post cannot block a provider ----------------------------------------


def test_a_job_designated_elsewhere_never_blocks_a_third_provider(
    protocol: Any, market: Any, provider: Any, provider2: Any, client: Any
) -> None:
    protocol.post(client, bid=50 * ONE, provider=provider2)
    first = protocol.post(client, bid=0)
    second = protocol.post(client, bid=0)
    market.claimJob(first, {"from": provider})
    assert market.claimNext({"from": provider}).return_value == second
    assert market.job(second)["state"] == CLAIMED


@pytest.mark.parametrize("designated", [False, True])
def test_junk_too_large_to_collateralise_is_refused_at_post(
    protocol: Any, market: Any, provider2: Any, client: Any, designated: bool, error: Any
) -> None:
    who = provider2 if designated else ZERO_ADDRESS
    request = protocol.request(max_payment=MAX_ESCROW, bid=2 * NANO, provider=who)
    with brownie.reverts(error("MarketJobTooLarge", MAX_ESCROW + 2 * NANO, MAX_ESCROW)):
        market.postJob(request, {"from": client})


# --- P3: posting needs no hint -------------------------------------------------------------


def expected_order(posted: list[tuple[int, int]]) -> list[int]:
    """Job ids by level (highest first), then by id (first posted first)."""
    return [job for job, bid in sorted(posted, key=lambda p: (-level_of(p[1]), p[0]))]


def test_interleaved_posts_from_several_accounts_queue_in_priority_order(
    protocol: Any, market: Any, accounts: Any
) -> None:
    clients = [accounts[i] for i in (2, 3, 5, 6)]
    for who in clients:
        protocol.fund(who)
    bids = [0, 3, 1, 2, 1, 0, 7, 3, 2, 1]
    posted = []
    for i, bid in enumerate(bids):
        amount = bid * ONE + (i % 3) * ONE // 50  # a few cents apart: same level or not
        posted.append((protocol.post(clients[i % 4], bid=amount), amount))
    ids, priorities = market.queue(H100, 0, 100)
    order = expected_order(posted)
    assert [int(j) for j in ids] == order
    assert list(priorities) == [dict(posted)[j] for j in order]


def test_posts_mined_in_one_block_all_succeed_without_hints(
    protocol: Any, market: Any, accounts: Any
) -> None:
    """What a stale hint would break: many clients posting against the same queue state."""
    clients = [accounts[i] for i in (2, 3, 5, 6, 7, 8)]
    for who in clients:
        protocol.fund(who)
    bids = [ONE, 0, 2 * ONE, ONE, 5 * ONE, 0, ONE + ONE // 20, 2 * ONE, 3 * ONE, ONE]
    nonces = {str(c): web3.eth.get_transaction_count(str(c)) for c in clients}
    sent = {}
    web3.provider.make_request("evm_setAutomine", [False])
    try:
        for i, bid in enumerate(bids):
            who = str(clients[i % len(clients)])
            tx_hash = send_raw(who, market, "postJob", protocol.request(bid=bid), nonce=nonces[who])
            nonces[who] += 1
            sent[tx_hash] = bid
        web3.provider.make_request("evm_mine", [])
    finally:
        web3.provider.make_request("evm_setAutomine", [True])
    posted = []
    blocks = set()
    for tx_hash, bid in sent.items():
        receipt = web3.eth.get_transaction_receipt(tx_hash)
        assert receipt["status"] == 1
        blocks.add(receipt["blockNumber"])
        (log,) = [lg for lg in receipt["logs"] if lg["topics"][0] == JOB_POSTED]
        posted.append((int.from_bytes(log["topics"][1], "big"), bid))
    assert len(blocks) == 1
    assert protocol.queue() == expected_order(posted)
    assert all(market.job(job)["state"] == OPEN for job, _ in posted)


# --- the FIFO of a level stays whole whatever leaves it ---------------------------------------


def test_a_level_stays_in_order_after_removals_from_its_head_middle_and_tail(
    protocol: Any, market: Any, provider: Any, client: Any
) -> None:
    a, b, c, d = (protocol.post(client) for _ in range(4))
    market.cancelJob(b, {"from": client})  # middle
    assert market.claimNext({"from": provider}).return_value == a  # head
    market.cancelJob(d, {"from": client})  # tail
    e = protocol.post(client)
    assert protocol.queue() == [c, e]
    market.cancelJob(c, {"from": client})  # the head again: its successor becomes head
    assert protocol.queue() == [e]
    f = protocol.post(client)
    market.cancelJob(f, {"from": client})  # the tail behind a head that was promoted
    assert protocol.queue() == [e]
    assert market.claimNext({"from": provider}).return_value == e
    assert protocol.queue() == []
    assert market.classStatus(H100)[0] == 0
    g = protocol.post(client)  # the emptied level takes jobs again
    assert protocol.queue() == [g]
    assert market.claimNext({"from": provider}).return_value == g


def test_a_promoted_head_can_leave_from_the_middle_of_its_level_later(
    protocol: Any, market: Any, provider: Any, client: Any
) -> None:
    a, b = protocol.post(client), protocol.post(client)
    assert market.claimNext({"from": provider}).return_value == a  # b is the head now
    c, d = protocol.post(client), protocol.post(client)
    market.cancelJob(c, {"from": client})  # between b and d
    assert protocol.queue() == [b, d]
    market.raiseBid(b, ONE, {"from": client})  # b leaves level 0 for a higher one
    assert protocol.queue() == [b, d]
    market.cancelJob(d, {"from": client})
    assert protocol.queue() == [b]
    h = protocol.post(client)
    assert protocol.queue() == [b, h]
