"""Liveness of the priority book under junk (DESIGN.md: "no set of jobs posted by others ...
can stop an eligible provider from claiming the best job it can take; its extra cost grows
at most linearly with such junk and far below the junk's cost to its poster").

One module-scoped book is built once (1,000 junk posts take a while): a claimant with one
job already claimed, good jobs queued behind junk of every kind, and the gas of claimNext
measured as the junk grows from 0 to 100 to 1,000 jobs. Every test starts from that book.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import brownie
import pytest
from market_constants import H100, MIN_STAKE, NANO, ONE, OPEN, PRICE
from market_protocol import receipt_of, send_raw

STEPS = (0, 100, 1000)
JUNK_BID = ONE  # far above the good jobs, which bid nothing
EXPIRY = 300  # expiring junk is posted this many seconds before its deadline
# Junk kinds, posted in turn: (name, whether the claimant has to pass over it).
KINDS = (
    ("designated to another provider", False),
    ("designated to a provider with no stake", False),
    ("open, priced below the ask", True),
    ("designated to the claimant, priced below its ask", True),
    ("open, expired", True),
)


@dataclass
class Book:
    claimant: Any
    good: list[int] = field(default_factory=list)  # good jobs still open, in order
    claim_gas: dict[int, int] = field(default_factory=dict)  # junk count -> claimNext gas
    passed: dict[int, int] = field(default_factory=dict)  # junk count -> jobs passed over
    post_gas: dict[str, int] = field(default_factory=dict)  # junk kind -> gas of one post


@pytest.fixture(scope="module")
def book(protocol: Any, provider: Any, provider2: Any, accounts: Any) -> Book:
    market, claimant = protocol.market, provider
    idle = accounts[6]  # registered, then all its stake unbonded
    protocol.add_provider(idle, stake=MIN_STAKE)
    protocol.staking.requestUnbond(MIN_STAKE, {"from": idle})
    assert protocol.staking.providerInfo(idle)["stake"] == 0
    junk_poster, good_poster = accounts[5], accounts[7]
    protocol.fund(junk_poster)
    protocol.fund(good_poster)
    book = Book(claimant)

    def junk_request(i: int) -> tuple[Any, ...]:
        kind = i % len(KINDS)
        cheap = PRICE - NANO
        now = protocol.now()
        return [
            lambda: protocol.request(bid=JUNK_BID, provider=provider2),
            lambda: protocol.request(bid=JUNK_BID, provider=idle),
            lambda: protocol.request(bid=JUNK_BID, price=cheap),
            lambda: protocol.request(bid=JUNK_BID, price=cheap, provider=claimant),
            lambda: protocol.request(bid=JUNK_BID, deadline=now + EXPIRY),
        ][kind]()

    good_posted = []

    def post_good() -> None:
        book.good.append(protocol.post(good_poster, bid=0))
        good_posted.append(book.good[-1])

    # Steady state: the claimant already holds a claimed job, and a claim leaves the queue
    # non-empty (two good jobs queued before each measurement, one taken).
    post_good()
    market.claimNext({"from": claimant})
    book.good.pop(0)
    post_good()
    posted = 0
    for target in STEPS:
        hashes = [
            send_raw(junk_poster, market, "postJob", junk_request(i)) for i in range(posted, target)
        ]
        for tx_hash in hashes[-len(KINDS) :]:  # the gas of one post of each kind
            receipt = receipt_of(tx_hash)
            kind = KINDS[(posted + hashes.index(tx_hash)) % len(KINDS)][0]
            book.post_gas[kind] = receipt["gasUsed"]
        posted = target
        post_good()
        assert market.jobCount() == posted + len(good_posted)  # every junk post went in
        protocol.sleep(EXPIRY + 1)  # the expiring junk is expired now
        tx = market.claimNext({"from": claimant})
        assert tx.events["JobClaimed"]["jobId"] == book.good.pop(0)
        book.claim_gas[target] = tx.gas_used
        book.passed[target] = sum(KINDS[i % len(KINDS)][1] for i in range(target))
    post_good()  # two good jobs behind the 1,000 junk jobs for the tests
    print(f"\nclaimNext gas by junk ahead: {book.claim_gas}; passed over: {book.passed}")
    print(f"gas of one junk post by kind: {book.post_gas}")
    return book


def test_claim_next_takes_the_good_job_behind_1000_junk_jobs(
    protocol: Any, market: Any, book: Book
) -> None:
    ids, _ = market.queue(H100, 0, 2000)
    ahead = list(ids).index(book.good[0])
    mine, _ = market.designatedQueue(book.claimant, H100, 0, 2000)
    # The junk ahead of it that someone could still claim (priced below this claimant's ask):
    # 400. It also passes the 200 expired junk jobs, which the queue no longer lists, and
    # 400 more are designated elsewhere.
    assert ahead + len(mine) == 400
    first = book.good[0]
    tx = market.claimNext({"from": book.claimant})
    assert tx.events["JobClaimed"]["jobId"] == first


def test_claim_job_of_the_good_job_behind_1000_junk_jobs_succeeds(market: Any, book: Book) -> None:
    first = book.good[0]
    market.claimJob(first, {"from": book.claimant})
    assert market.job(first)["provider"] == book.claimant


def test_claim_job_behind_1000_junk_jobs_still_keeps_the_order(
    market: Any, book: Book, error: Any
) -> None:
    first, second = book.good[:2]
    with brownie.reverts(error("MarketHigherPriorityEligible", second, first)):
        market.claimJob(second, {"from": book.claimant})


def test_junk_designated_elsewhere_is_claimable_by_its_provider_only(
    protocol: Any, market: Any, provider2: Any, book: Book
) -> None:
    tx = market.claimNext({"from": provider2})
    job = tx.events["JobClaimed"]["jobId"]
    assert market.job(job)["bid"] == JUNK_BID
    assert market.job(book.good[0])["state"] == OPEN


def test_claim_next_costs_at_most_60k_gas_in_a_steady_state_without_junk(book: Book) -> None:
    assert book.claim_gas[0] <= 60_000


def test_claim_next_gas_grows_linearly_with_junk_and_far_below_its_cost(book: Book) -> None:
    gas, passed = book.claim_gas, book.passed
    first = (gas[100] - gas[0]) / passed[100]
    then = (gas[1000] - gas[100]) / (passed[1000] - passed[100])
    print(
        f"\nextra claimNext gas per junk job passed: {first:.0f} (0->100), {then:.0f} (100->1000)"
    )
    assert 0.9 <= then / first <= 1.1  # linear: the same cost per job passed
    cheapest_post = min(book.post_gas.values())
    worst = max(first, then)
    print(f"cheapest junk post {cheapest_post} gas: ratio {cheapest_post / worst:.1f}")
    assert worst * 20 <= cheapest_post
    # Counted over every junk job, passed over or not, it is cheaper still.
    assert (gas[1000] - gas[0]) * 20 <= 1000 * cheapest_post


def test_junk_escrow_comes_back_to_its_poster(
    protocol: Any, market: Any, accounts: Any, book: Book
) -> None:
    """The junk costs its poster only gas: its open jobs can be cancelled for the escrow.
    (Sent through web3 and awaited by receipt: brownie's own wait, which watches the
    sender's nonce, once reported such a cancel as "dropped" after the bulk set-up.)"""
    junk_poster = accounts[5]
    ids, _ = market.queue(H100, 0, 5)
    for job in ids:
        assert market.job(job)["client"] == junk_poster
        assert receipt_of(send_raw(junk_poster, market, "cancelJob", job))["status"] == 1
    assert market.credit(junk_poster) == len(ids) * (10 * ONE + JUNK_BID)
