"""``eth_getLogs`` ranges adapt to the node's limits: they shrink when the node refuses a
range and grow again after answers.

The node is a real anvil behind a small proxy that refuses log queries over a block span,
with the error text Infura and geth use ("query returned more than 10000 results"): anvil
itself has no such limit, so the limit is the only thing faked here.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jouleledger import Devnet
from jouleledger.transport import connect
from jouleledger_indexer import Database, Indexer, IndexerConfig, IndexerError
from tests.indexer.scenario import Market, assert_index_matches_chain

LIMIT = 4  # blocks per eth_getLogs the proxied node accepts


class LimitedNode:
    """A JSON-RPC proxy to `upstream` that refuses ``eth_getLogs`` over `limit` blocks."""

    def __init__(self, upstream: str, limit: int) -> None:
        self.upstream, self.limit = upstream, limit
        self.spans: list[int] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = node.answer(json.loads(body), body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, request: Any, body: bytes) -> Any:
        calls = request if isinstance(request, list) else [request]
        for call in calls:
            if call.get("method") == "eth_getLogs":
                query = call["params"][0]
                span = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
                self.spans.append(span)
                if span > self.limit:
                    error = {"code": -32005, "message": "query returned more than 10000 results"}
                    return {"jsonrpc": "2.0", "id": call["id"], "error": error}
        forward = urllib.request.Request(
            self.upstream, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(forward, timeout=10) as response:
            return json.loads(response.read())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def limited(anvil: Devnet) -> Iterator[LimitedNode]:
    assert anvil.rpc_url is not None
    node = LimitedNode(anvil.rpc_url, LIMIT)
    yield node
    node.close()


def test_refused_ranges_shrink_then_grow_and_nothing_is_missed(
    anvil: Devnet, limited: LimitedNode
) -> None:
    market = Market.deploy(anvil.w3, anvil.accounts)
    market.run()
    db = Database("sqlite://")
    config = IndexerConfig(initial_range=16, max_range=16)
    indexer = Indexer(connect(limited.url), market.deployment, db, config)

    result = indexer.run_once()

    assert result.caught_up
    assert limited.spans[0] == 16 and max(limited.spans) == 16
    answered = [s for s in limited.spans if s <= LIMIT]
    assert answered and LIMIT in answered  # it shrank to what the node takes ...
    assert indexer.reader.window.size > LIMIT  # ... and grew after answers
    assert_index_matches_chain(db, market)


def test_a_node_that_refuses_even_one_block_gives_a_clear_error(
    anvil: Devnet, limited: LimitedNode
) -> None:
    market = Market.deploy(anvil.w3, anvil.accounts)
    limited.limit = 0
    indexer = Indexer(connect(limited.url), market.deployment, Database("sqlite://"))
    with pytest.raises(IndexerError, match=r"refuses the logs of block .* even alone"):
        indexer.run_once()
