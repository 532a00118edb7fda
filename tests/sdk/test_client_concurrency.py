"""One account posting from several threads: the nonce manager and the queue-hint retry
keep every post valid."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from jouleledger import Devnet, start_devnet
from jouleledger.client import JobRequest, JouleLedger
from jouleledger.deployment import deploy_protocol
from jouleledger.types import JobState
from jouleledger.units import parse_amount
from tests.conftest import ROOT

THREADS, PER_THREAD = 4, 50


@pytest.fixture(scope="module")
def anvil() -> Iterator[Devnet]:
    with start_devnet("anvil", search_from=ROOT) as net:
        yield net


def test_200_posts_from_4_threads_with_one_account_are_all_mined(anvil: Devnet) -> None:
    admin = JouleLedger(anvil.w3, deploy_protocol(anvil.w3, anvil.accounts[0]), anvil.accounts[0])
    client = admin.as_account(anvil.accounts[1])
    admin.transfer(client.address, parse_amount("10000"))
    client.approve(admin.deployment.market, 2**256 - 1)

    def post(thread: int) -> list[int]:
        # Bids differ per thread, so jobs interleave in the queue and hints go stale.
        request = JobRequest(
            "nvidia-h100", parse_amount("0.001"), parse_amount("1"), bid=thread * 10**9
        )
        return [client.post_job(request, use_permit=False) for _ in range(PER_THREAD)]

    with ThreadPoolExecutor(THREADS) as pool:
        posted = [job for jobs in pool.map(post, range(THREADS)) for job in jobs]

    assert sorted(posted) == list(range(1, THREADS * PER_THREAD + 1))
    assert all(client.job(j).state is JobState.OPEN for j in posted)
    queue = client.queue("nvidia-h100")
    assert len(queue) == THREADS * PER_THREAD
    assert queue == sorted(queue, key=lambda entry: (-entry[1], entry[0]))
    assert client.balance() == parse_amount("10000") - THREADS * PER_THREAD * parse_amount(
        "1"
    ) - sum(t * 10**9 * PER_THREAD for t in range(THREADS))
