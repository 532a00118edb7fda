"""The read path's moving parts on their own: the per-block answer cache (reuse, one
computation per answer, the head's time-to-live) and the keep-alive JSON-RPC batcher."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from web3 import HTTPProvider, Web3

from jouleledger_dashboard.cache import HEAD_TTL_S, BlockCache
from jouleledger_dashboard.chain import HttpBatch


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _counting(computed: list[str], value: str) -> Callable[[], str]:
    def compute() -> str:
        computed.append(value)
        return value

    return compute


def test_an_answer_is_computed_once_per_block_and_again_for_the_next() -> None:
    cache = BlockCache()
    computed: list[str] = []

    def page(block: int) -> str:
        return cache.get(block, ("provider", "0xabc"), _counting(computed, f"at {block}"))

    assert [page(7), page(7), page(8), page(8)] == ["at 7", "at 7", "at 8", "at 8"]
    assert computed == ["at 7", "at 8"]


def test_a_newer_block_drops_the_answers_for_older_ones() -> None:
    cache = BlockCache()
    computed: list[str] = []
    cache.get(7, "market", _counting(computed, "old"))
    cache.get(8, "market", _counting(computed, "new"))
    assert cache.get(7, "market", _counting(computed, "old again")) == "old again"
    assert cache.get(7, "market", _counting(computed, "and again")) == "and again"  # not kept
    assert cache.get(8, "market", _counting(computed, "unused")) == "new"


def test_a_failed_computation_is_not_kept() -> None:
    cache = BlockCache()

    def fail() -> str:
        raise LookupError("no such provider")

    with pytest.raises(LookupError):
        cache.get(1, "provider", fail)
    assert cache.get(1, "provider", lambda: "registered since") == "registered since"


def test_a_request_for_an_answer_being_computed_waits_for_it() -> None:
    cache = BlockCache()
    entered, release = threading.Event(), threading.Event()
    got: dict[str, str] = {}
    second_computed = threading.Event()

    def slow() -> str:
        entered.set()
        release.wait(30)
        return "first"

    def second() -> str:
        second_computed.set()
        return "second"

    first = threading.Thread(target=lambda: got.update(first=cache.get(1, "key", slow)))
    first.start()
    assert entered.wait(30)
    waiter = threading.Thread(target=lambda: got.update(waiter=cache.get(1, "key", second)))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive()  # it waits for the first computation instead of running its own
    release.set()
    first.join(30)
    waiter.join(30)
    assert got == {"first": "first", "waiter": "first"}
    assert not second_computed.is_set()


def test_the_head_is_reread_after_its_time_to_live() -> None:
    clock = Clock()
    cache = BlockCache(clock=clock)
    heads = iter([(5, 1000, "0x05"), (6, 1012, "0x06")])
    assert cache.head(lambda: next(heads)) == (5, 1000)
    clock.now += HEAD_TTL_S / 2
    assert cache.head(lambda: (99, 0, "0x99")) == (5, 1000)  # still fresh: not read
    clock.now += HEAD_TTL_S
    assert cache.head(lambda: next(heads)) == (6, 1012)


def test_while_one_request_rereads_the_head_the_others_keep_the_last_one() -> None:
    clock = Clock()
    cache = BlockCache(clock=clock)
    cache.head(lambda: (5, 1000, "0x05"))
    clock.now += 2 * HEAD_TTL_S
    entered, release = threading.Event(), threading.Event()

    def slow_read() -> tuple[int, int, str]:
        entered.set()
        release.wait(30)
        return 6, 1012, "0x06"

    reader = threading.Thread(target=cache.head, args=(slow_read,))
    reader.start()
    assert entered.wait(30)
    assert cache.head(lambda: (99, 0, "0x99")) == (5, 1000)
    release.set()
    reader.join(30)
    assert cache.head(lambda: (99, 0, "0x99")) == (6, 1012)


@pytest.mark.parametrize(
    "after", [(9, 1100, "0x09"), (10, 1112, "0x10b")], ids=["lower head", "same height, other hash"]
)
def test_a_reorg_drops_every_answer(after: tuple[int, int, str]) -> None:
    clock = Clock()
    cache = BlockCache(clock=clock)
    computed: list[str] = []
    cache.head(lambda: (10, 1112, "0x10a"))
    cache.get(10, "provider", _counting(computed, "before the reorg"))
    clock.now += 2 * HEAD_TTL_S
    cache.head(lambda: after)
    assert cache.get(10, "provider", _counting(computed, "after")) == "after"
    assert computed == ["before the reorg", "after"]


def test_an_answer_begun_before_a_reorg_is_not_kept() -> None:
    clock = Clock()
    cache = BlockCache(clock=clock)
    cache.head(lambda: (10, 1112, "0x10a"))

    def during() -> str:  # the reorg is seen while this answer is computed
        clock.now += 2 * HEAD_TTL_S
        cache.head(lambda: (9, 1100, "0x09"))
        return "from the old chain"

    assert cache.get(10, "provider", during) == "from the old chain"
    assert cache.get(10, "provider", lambda: "from the new chain") == "from the new chain"


class _DropsIdleConnections(BaseHTTPRequestHandler):
    """Answers a JSON-RPC batch, then closes the connection without saying so (as a node
    does with an idle keep-alive connection)."""

    protocol_version = "HTTP/1.1"
    connections = 0

    def setup(self) -> None:
        type(self).connections += 1
        super().setup()

    def do_POST(self) -> None:
        calls = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps(
            [{"jsonrpc": "2.0", "id": c["id"], "result": c["method"]} for c in reversed(calls)]
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.fixture
def node() -> Iterator[str]:
    """A JSON-RPC node stand-in on a free port; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DropsIdleConnections)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_batches_come_back_in_request_order_over_a_reopened_connection(node: str) -> None:
    batcher = HttpBatch.of(Web3(HTTPProvider(node, request_kwargs={"timeout": 5})))
    assert batcher is not None
    calls = [("eth_blockNumber", []), ("eth_chainId", []), ("eth_call", [{}, "latest"])]
    before = _DropsIdleConnections.connections
    for _ in range(2):  # the second finds its kept-alive connection closed by the node
        assert [a["result"] for a in batcher.post(calls)] == [m for m, _ in calls]
    assert _DropsIdleConnections.connections - before == 2


@pytest.mark.parametrize(
    "provider",
    [
        HTTPProvider("http://127.0.0.1:8545", request_kwargs={"timeout": 5, "verify": False}),
        HTTPProvider("http://user:secret@127.0.0.1:8545"),
    ],
    ids=["other request options", "credentials in the url"],
)
def test_providers_the_batcher_cannot_honour_stay_with_web3(provider: HTTPProvider) -> None:
    assert HttpBatch.of(Web3(provider)) is None
