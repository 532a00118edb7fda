"""Many threads posting at once, from shared accounts, on both escrow paths: posting needs
no queue hint, the nonce manager and the per-account spend lock keep every post valid, and
the queue ends in priority order."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from jouleledger import Devnet, start_devnet
from jouleledger.client import JobRequest, JouleLedger
from jouleledger.deployment import ProtocolConfig, deploy_protocol
from jouleledger.priority import claim_order_key
from jouleledger.types import JobState
from jouleledger.units import parse_amount
from tests.conftest import ROOT

ACCOUNTS, THREADS, PER_THREAD = 4, 8, 125  # 1,000 posts
PRICE, MAX_PAYMENT = parse_amount("0.001"), parse_amount("1")


@pytest.fixture(scope="module")
def anvil() -> Iterator[Devnet]:
    with start_devnet("anvil", accounts=ACCOUNTS + 1, search_from=ROOT) as net:
        yield net


def test_1000_posts_from_8_threads_over_4_accounts_are_all_mined_in_priority_order(
    anvil: Devnet,
) -> None:
    config = ProtocolConfig(busy_threshold=10**6)  # never busy: priority is the bid alone
    admin = JouleLedger(anvil.w3, deploy_protocol(anvil.w3, anvil.accounts[0], config))
    admin = admin.as_account(anvil.accounts[0])
    clients = [admin.as_account(a) for a in anvil.accounts[1 : ACCOUNTS + 1]]
    for client in clients:
        admin.transfer(client.address, parse_amount("10000"))

    def post(thread: int) -> list[int]:
        # Two threads per account: one posts with permits, one through approve; bids differ
        # per thread so jobs interleave across priority levels.
        client = clients[thread % ACCOUNTS]
        request = JobRequest("nvidia-h100", PRICE, MAX_PAYMENT, bid=(thread + 1) * 10**16)
        permit = thread < ACCOUNTS
        return [client.post_job(request, use_permit=permit) for _ in range(PER_THREAD)]

    with ThreadPoolExecutor(THREADS) as pool:
        posted = [job for jobs in pool.map(post, range(THREADS)) for job in jobs]

    total = THREADS * PER_THREAD
    assert sorted(posted) == list(range(1, total + 1))
    queue = admin.queue("nvidia-h100", limit=total + 1)
    assert len(queue) == total
    assert [job for job, _ in queue] == sorted(
        (job for job, _ in queue), key=lambda j: claim_order_key(dict(queue)[j], j)
    )
    assert all(admin.job(j).state is JobState.OPEN for j in posted[:: total // 20])
    for n, client in enumerate(clients):
        bids = sum((t + 1) * 10**16 * PER_THREAD for t in range(THREADS) if t % ACCOUNTS == n)
        spent = 2 * PER_THREAD * MAX_PAYMENT + bids
        assert client.balance() == parse_amount("10000") - spent
