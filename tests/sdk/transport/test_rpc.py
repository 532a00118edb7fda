"""Transport failures: typed exceptions, bounded retries, and sends that are never doubled.

A small JSON-RPC proxy in front of anvil injects the failures: HTTP 503/429, a response lost
after the node processed the request, a slow answer.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from eth_utils.crypto import keccak
from web3 import HTTPProvider, Web3

from jouleledger import Devnet, start_devnet
from jouleledger.errors import (
    JouleLedgerError,
    NodeUnreachable,
    RpcTimeout,
    RpcUnavailable,
    WrongChain,
)
from jouleledger.transport import RetryPolicy, connect
from jouleledger.tx import Sender
from tests.conftest import ROOT
from tests.sdk.conftest import fresh_address

FAST_RETRY = RetryPolicy(attempts=4, initial_delay=0.01, max_delay=0.05)
LATE = 2.0  # seconds; well past the 1 s client timeout below, even on a busy machine


class FaultyProxy:
    """Forwards JSON-RPC to `upstream`, except for the faults scripted per method.

    A fault is ``503``/``429`` (answer that HTTP status without forwarding), ``"drop"``
    (forward, then close the connection without answering), ``"late"`` (forward, then answer
    after `LATE` seconds), ``"swallow"`` (answer a send with its hash but never forward it:
    the node loses the transaction) or a float (wait that many seconds, then forward). A
    JSON-RPC batch counts as ``"batch:<method of its first request>"``.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: dict[str, list[int | str | float]] = {}
        self.seen: list[str] = []
        self._session = requests.Session()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(body)
                if isinstance(payload, list):
                    method = f"batch:{payload[0]['method']}"
                else:
                    method = payload["method"]
                with proxy._lock:
                    proxy.seen.append(method)
                    queue = proxy.faults.get(method) or []
                    fault = queue.pop(0) if queue else None
                if fault in (503, 429):
                    self.send_response(int(fault))  # type: ignore[arg-type]
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if fault == "swallow":
                    raw = bytes.fromhex(payload["params"][0][2:])
                    answer_body = json.dumps(
                        {"jsonrpc": "2.0", "id": payload["id"], "result": "0x" + keccak(raw).hex()}
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer_body)))
                    self.end_headers()
                    self.wfile.write(answer_body)
                    return
                if isinstance(fault, float):
                    time.sleep(fault)
                answer = proxy._session.post(
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                if fault == "drop":
                    return  # the node did the work; the client never hears of it
                if fault == "late":
                    time.sleep(LATE)  # the client has given up by now
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def web3(self, *, timeout: float = 5.0, web3_retries: bool = False) -> Web3:
        kwargs: dict[str, Any] = {} if web3_retries else {"exception_retry_configuration": None}
        return Web3(HTTPProvider(self.url, request_kwargs={"timeout": timeout}, **kwargs))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._session.close()


@pytest.fixture(scope="module")
def anvil() -> Iterator[Devnet]:
    with start_devnet("anvil", search_from=ROOT) as net:
        yield net


@pytest.fixture
def proxy(anvil: Devnet) -> Iterator[FaultyProxy]:
    assert anvil.rpc_url is not None
    faulty = FaultyProxy(anvil.rpc_url)
    yield faulty
    faulty.close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_closed_port_raises_node_unreachable_naming_the_url_and_how_to_start_a_node() -> None:
    url = closed_port_url()
    w3 = Web3(HTTPProvider(url, exception_retry_configuration=None))
    account = Web3().eth.account.create()

    with pytest.raises(NodeUnreachable) as caught:
        Sender(w3, account).send({"to": fresh_address(), "value": 1})

    assert isinstance(caught.value, ConnectionError)
    assert isinstance(caught.value, JouleLedgerError)
    assert caught.value.url == url
    assert f"cannot reach the Ethereum node at {url} (connection refused)" in str(caught.value)
    assert "`jl devnet up`" in str(caught.value)


def test_connect_to_closed_port_fails_at_once_with_node_unreachable() -> None:
    started = time.monotonic()

    with pytest.raises(NodeUnreachable, match="connection refused"):
        connect(closed_port_url())

    assert time.monotonic() - started < 1.0  # a refusal is not retried


def test_node_of_another_chain_raises_wrong_chain_before_anything_is_sent(anvil: Devnet) -> None:
    account = anvil.accounts[5]
    before = anvil.w3.eth.get_transaction_count(account.address)

    with pytest.raises(WrongChain) as caught:
        Sender(anvil.w3, account, chain_id=1).send({"to": fresh_address(), "value": 1})
    with pytest.raises(WrongChain):
        connect(str(anvil.rpc_url), chain_id=1)

    assert (caught.value.expected, caught.value.actual) == (1, 31337)
    assert "serves chain id 31337, but chain id 1 was expected" in str(caught.value)
    assert anvil.w3.eth.get_transaction_count(account.address) == before
    assert connect(str(anvil.rpc_url), chain_id=31337).eth.chain_id == 31337


def test_connection_asks_the_chain_id_once_and_web3_answers_it_from_its_cache(
    anvil: Devnet, proxy: FaultyProxy
) -> None:
    w3 = connect(proxy.url, chain_id=31337)
    call = {"to": fresh_address(), "data": "0x"}

    for _ in range(3):
        w3.eth.call(call)  # web3's validation middleware wants the chain id each time
    assert w3.eth.chain_id == 31337

    assert proxy.seen.count("eth_chainId") == 1
    assert proxy.seen.count("eth_call") == 3


def test_http_503_and_429_are_retried_until_the_node_answers(
    anvil: Devnet, proxy: FaultyProxy
) -> None:
    proxy.faults["eth_estimateGas"] = [503, 429]
    sender = Sender(proxy.web3(), anvil.accounts[5], retry=FAST_RETRY)

    receipt = sender.send({"to": fresh_address(), "value": 1})

    assert receipt["status"] == 1
    assert proxy.seen.count("eth_estimateGas") == 3


def test_node_that_keeps_answering_503_raises_rpc_unavailable(
    anvil: Devnet, proxy: FaultyProxy
) -> None:
    proxy.faults["eth_chainId"] = [503] * 10
    sender = Sender(
        proxy.web3(), anvil.accounts[5], retry=RetryPolicy(attempts=3, initial_delay=0.01)
    )

    with pytest.raises(RpcUnavailable) as caught:
        sender.send({"to": fresh_address(), "value": 1})

    assert caught.value.status == 503
    assert "HTTP 503 (3 tries)" in str(caught.value)
    assert proxy.seen.count("eth_chainId") == 3


def test_node_that_answers_too_slowly_raises_rpc_timeout(anvil: Devnet, proxy: FaultyProxy) -> None:
    proxy.faults["eth_estimateGas"] = [0.5, 0.5]
    w3 = proxy.web3(timeout=0.2)
    sender = Sender(w3, anvil.accounts[5], retry=RetryPolicy(attempts=2, initial_delay=0.01))

    with pytest.raises(RpcTimeout) as caught:
        sender.send({"to": fresh_address(), "value": 1})

    assert isinstance(caught.value, TimeoutError)
    assert caught.value.method == "eth_estimateGas"


def sender_meeting(
    anvil: Devnet, proxy: FaultyProxy, account: int, method: str, fault: str, **web3: Any
) -> tuple[Sender, int]:
    """A sender of dev account `account` through `proxy`, whose next `method` request meets
    `fault`, and the account's nonce before it sends.

    Args:
        anvil: the chain behind the proxy.
        proxy: the faulty proxy.
        account: the dev account's index.
        method: the request that fails (``batch:`` in front for a batched one).
        fault: what happens to it.
        **web3: `FaultyProxy.web3`'s options.
    """
    signer = anvil.accounts[account]
    before = anvil.w3.eth.get_transaction_count(signer.address)
    proxy.faults[method] = [fault]
    return Sender(proxy.web3(**web3), signer, retry=FAST_RETRY), before


@pytest.mark.parametrize(
    ("fault", "web3_retries", "posts"),
    [("drop", False, 1), ("late", False, 1), ("late", True, 2)],
    ids=["connection-dropped", "answer-late", "answer-late-web3-reposts"],
)
def test_send_whose_answer_was_lost_is_found_by_hash_not_sent_twice(
    anvil: Devnet, proxy: FaultyProxy, fault: str, web3_retries: bool, posts: int
) -> None:
    sender, before = sender_meeting(
        anvil, proxy, 6, "eth_sendRawTransaction", fault, timeout=1.0, web3_retries=web3_retries
    )

    receipt = sender.send({"to": fresh_address(), "value": 1})

    assert receipt["status"] == 1
    assert anvil.w3.eth.get_transaction_count(sender.address) == before + 1
    assert "eth_getTransactionByHash" in proxy.seen
    # web3.py re-posts the same signed bytes after a timeout (the node answers "nonce too
    # low"); the SDK itself only re-posts after finding the hash unknown.
    assert proxy.seen.count("eth_sendRawTransaction") == posts


def test_batch_whose_answer_was_lost_is_checked_and_not_sent_twice(
    anvil: Devnet, proxy: FaultyProxy
) -> None:
    sender, before = sender_meeting(anvil, proxy, 7, "batch:eth_sendRawTransaction", "drop")

    results = sender.send_many([{"to": fresh_address(), "value": 1} for _ in range(5)])

    assert all(r.ok for r in results)
    assert [r.nonce for r in results] == list(range(before, before + 5))
    assert anvil.w3.eth.get_transaction_count(sender.address) == before + 5


def test_transaction_the_node_lost_is_posted_again_and_mines(
    anvil: Devnet, proxy: FaultyProxy
) -> None:
    sender, before = sender_meeting(anvil, proxy, 8, "eth_sendRawTransaction", "swallow")

    receipt = sender.send({"to": fresh_address(), "value": 1}, timeout=10)

    assert receipt["status"] == 1
    assert anvil.w3.eth.get_transaction_count(sender.address) == before + 1
    posts = proxy.seen.count("eth_sendRawTransaction")
    reposts = proxy.seen.count("batch:eth_sendRawTransaction")
    assert (posts, reposts) == (1, 1)  # lost once, posted again
