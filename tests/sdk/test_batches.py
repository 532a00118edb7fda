"""The SDK's batch paths on a real anvil: `post_jobs` over `postJobs`, `claim_next(n)` over
`claimNextJobs` and `withdraw` of many jobs, split by the market's MAX_BATCH and by gas, with
errors that name the caller's own index."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account

from jouleledger import Devnet, start_devnet
from jouleledger.abi import error_class
from jouleledger.client import JobRequest, JouleLedger
from jouleledger.client.batches import fit_chunks
from jouleledger.deployment import ProtocolConfig, deploy_protocol
from jouleledger.records import MarketDomain, batch_digest
from jouleledger.transport import advance_time
from jouleledger.types import JobState
from jouleledger.units import parse_amount
from tests.conftest import ROOT
from tests.sample_records import sample_record

CLASS = "nvidia-h100"
PRICE, MAX_PAYMENT = parse_amount("0.001"), parse_amount("1")


@pytest.fixture(scope="module")
def anvil() -> Iterator[Devnet]:
    with start_devnet("anvil", accounts=4, search_from=ROOT) as net:
        yield net


@pytest.fixture(scope="module")
def parties(anvil: Devnet) -> tuple[JouleLedger, JouleLedger, JouleLedger]:
    """admin, client and a registered provider (staked for 300 jobs' collateral)."""
    deployment = deploy_protocol(anvil.w3, anvil.accounts[0], ProtocolConfig(fee_bps=100))
    admin = JouleLedger(anvil.w3, deployment, anvil.accounts[0])
    client = admin.as_account(anvil.accounts[1])
    provider = admin.as_account(anvil.accounts[2])
    admin.transfer(client.address, parse_amount("100000"))
    admin.transfer(provider.address, parse_amount("100000"))
    provider.stake(parse_amount("40000"))
    provider.register_provider(anvil.accounts[3], CLASS, PRICE, "http://gpu.example")
    return admin, client, provider


def test_post_jobs_posts_300_jobs_in_two_calls_with_consecutive_ids(
    parties: tuple[JouleLedger, JouleLedger, JouleLedger],
) -> None:
    admin, client, _ = parties
    before = admin.job_count()
    balance = client.balance()
    jobs = client.post_jobs([JobRequest(CLASS, PRICE, MAX_PAYMENT)] * 300)
    assert jobs == list(range(before + 1, before + 301))
    assert client.balance() == balance - 300 * MAX_PAYMENT
    assert admin.job(jobs[-1]).state is JobState.OPEN
    assert len(admin.queue(CLASS, limit=400)) >= 300


def test_post_jobs_with_permits_spends_one_permit_per_call(
    parties: tuple[JouleLedger, JouleLedger, JouleLedger],
) -> None:
    admin, client, _ = parties
    requests = [JobRequest(CLASS, PRICE, MAX_PAYMENT + n * 10**9) for n in range(260)]
    jobs = client.post_jobs(requests, use_permit=True)
    assert len(jobs) == 260
    assert admin.job(jobs[259]).max_payment == MAX_PAYMENT + 259 * 10**9


def test_a_bad_request_posts_nothing_and_names_its_index_in_the_whole_list(
    parties: tuple[JouleLedger, JouleLedger, JouleLedger],
) -> None:
    admin, client, _ = parties
    before = admin.job_count()
    requests = [JobRequest(CLASS, PRICE, MAX_PAYMENT)] * 270
    requests[261] = JobRequest(CLASS, PRICE, parse_amount("300"))  # above the collateral cap
    with pytest.raises(error_class("MarketBatchItemInvalid")) as caught:
        client.post_jobs(requests)
    assert caught.value.args_by_name["index"] == 261
    assert caught.value.inner is not None
    assert caught.value.inner.name == "MarketJobTooLarge"
    assert "element 261" in str(caught.value)
    assert admin.job_count() == before


def test_claim_next_n_claims_in_priority_order_and_withdraw_pays_them_all(
    parties: tuple[JouleLedger, JouleLedger, JouleLedger], anvil: Devnet
) -> None:
    admin, client, provider = parties
    first = admin.queue(CLASS, limit=1)[0][0]
    urgent = client.post_jobs([JobRequest(CLASS, PRICE, MAX_PAYMENT, bid=10**15)] * 3)
    claimed = provider.claim_next(5)
    assert claimed == [*urgent, first, first + 1]
    assert all(admin.job(j).state is JobState.CLAIMED for j in claimed)
    assert provider.claim_next(0 + 1) == [first + 2]
    with pytest.raises(ValueError, match="at least 1"):
        provider.claim_next(0)
    now = anvil.w3.eth.get_block("latest")["timestamp"]
    records = [sample_record(j, provider.address, now) for j in [*claimed, first + 2]]
    domain = MarketDomain(admin.deployment.chain_id, admin.deployment.market)
    digest = batch_digest(domain, records)
    signature = bytes(Account.unsafe_sign_hash(digest, anvil.accounts[3].key).signature)
    provider.settle_batch(records, signature)
    advance_time(anvil.w3, 3_601)
    balance = provider.balance()
    with pytest.raises(error_class("MarketBatchItemInvalid")) as caught:
        provider.withdraw([claimed[0], claimed[0]])  # a duplicate: paid once, then refused
    assert caught.value.args_by_name["index"] == 1
    assert caught.value.inner is not None and caught.value.inner.name == "MarketNotWithdrawable"
    assert provider.balance() == balance
    paid = provider.withdraw([*claimed, first + 2])
    assert paid > 0 and provider.balance() == balance + paid
    assert admin.job(claimed[0]).state is JobState.FINALIZED


def test_claim_next_n_returns_an_empty_list_when_nothing_is_eligible(anvil: Devnet) -> None:
    deployment = deploy_protocol(anvil.w3, anvil.accounts[0])
    admin = JouleLedger(anvil.w3, deployment, anvil.accounts[0])
    provider = admin.as_account(anvil.accounts[2])
    admin.transfer(provider.address, parse_amount("10000"))
    provider.stake(parse_amount("5000"))
    provider.register_provider(anvil.accounts[3], CLASS, PRICE, "http://gpu.example")
    assert provider.claim_next(4) == []


def test_fit_chunks_halves_a_chunk_over_the_gas_cap_and_keeps_offsets() -> None:
    seen: list[tuple[int, int]] = []

    def estimate(offset: int, part: object) -> int:
        size = len(part)  # type: ignore[arg-type]
        seen.append((offset, size))
        return 1_000 * size

    plan = fit_chunks(list(range(10)), 8, estimate, 3_000)
    assert [(offset, len(part)) for offset, part, _ in plan] == [
        (0, 2), (2, 2), (4, 2), (6, 2), (8, 2)
    ]  # fmt: skip
    assert all(gas <= 3_000 for _, _, gas in plan)
    with pytest.raises(ValueError, match="alone needs"):
        fit_chunks([1], 8, lambda offset, part: 5_000, 3_000)
