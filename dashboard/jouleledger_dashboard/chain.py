"""Live chain values the index does not hold exactly (balances, stake, credit, holdings,
queue status), cached per block, so twenty visitors of one account cost one read per block.

An account's five values are read in one JSON-RPC batch of pre-encoded ``eth_call`` s
(`AddressView`): through web3's contract objects the same reads took 22 ms on two cores
(30 ms as a ``w3.batch_requests()``), which alone would have broken the page's latency
target under twenty concurrent clients; the batch takes about 2 ms. It is posted over a
keep-alive `http.client` connection per server thread (`HttpBatch`), with the SDK's retries
and error types around it: through web3's provider (`requests`) the same batch cost 1.1 ms
of server CPU, a fifth of an account page, against 0.3 ms. Chains that cannot batch (the
in-process eth-tester) go through the SDK's read calls instead.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from eth_abi.abi import decode
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_output_types
from web3 import HTTPProvider, Web3
from web3.contract import Contract

from jouleledger import transport
from jouleledger.client import JouleLedger
from jouleledger.client.core import struct_fields
from jouleledger.errors import RpcError
from jouleledger.types import ClassStatus
from jouleledger.units import format_amount

from .cache import BlockCache
from .models import Balances

T = TypeVar("T")
_HEAD_TTL_S = 0.25  # how long one eth_blockNumber answer is reused


class AddressView:
    """One view of a contract that takes an address: its calldata built and its answer
    decoded by hand, for batching.

    Args:
        contract: the contract.
        name: the view's name (its first output's struct fields name the values).
    """

    def __init__(self, contract: Contract, name: str) -> None:
        abi = contract.get_function_by_name(name).abi
        self.to = contract.address
        self.selector = function_abi_to_4byte_selector(abi)
        self.types = get_abi_output_types(abi)
        self.fields = struct_fields(contract.abi, name)

    def call(self, address: str) -> tuple[str, list[Any]]:
        """The ``eth_call`` request for `address`, at the newest block.

        Args:
            address: a 0x-address.
        """
        data = self.selector + bytes(12) + bytes.fromhex(address[2:])
        return "eth_call", [{"to": self.to, "data": "0x" + data.hex()}, "latest"]

    def decode(self, result: str) -> dict[str, Any]:
        """The view's answer by field name.

        Args:
            result: the ``eth_call`` result (0x-hex).
        """
        values = decode(self.types, bytes.fromhex(result[2:]))
        if len(self.types) == 1 and self.types[0].startswith("("):
            values = values[0]
        return dict(zip(self.fields, values, strict=True))


class HttpBatch:
    """JSON-RPC batches to an HTTP(S) node over one keep-alive connection per thread.

    Args:
        url: the node's URL (no user or password in it).
        headers: the provider's request headers.
        timeout: seconds per request.
    """

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urlsplit(url)
        self.url = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = headers
        self._timeout = timeout
        self._local = threading.local()

    @classmethod
    def of(cls, w3: Web3) -> HttpBatch | None:
        """The batcher for `w3`'s node, or None where its provider is not a plain web3
        `HTTPProvider` that sets only headers and a timeout (those keep going through web3).

        Args:
            w3: the connection.
        """
        provider = w3.provider
        if type(provider) is not HTTPProvider:
            return None
        kwargs = provider.get_request_kwargs()
        timeout = kwargs.get("timeout", 10.0)
        parts = urlsplit(str(provider.endpoint_uri))
        plain = parts.scheme in ("http", "https") and not parts.username and parts.hostname
        if (
            set(kwargs) - {"headers", "timeout"}
            or not isinstance(timeout, int | float)
            or not plain
        ):
            return None
        return cls(str(provider.endpoint_uri), dict(kwargs["headers"]), float(timeout))

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it is new."""
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, False
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = kind(self._host, self._port, timeout=self._timeout)
        self._local.conn = conn
        return conn, True

    def _exchange(self, body: bytes) -> tuple[int, bytes]:
        """POST `body`; a connection the node closed while idle is reopened at once."""
        while True:
            conn, new = self._connection()
            try:
                conn.request("POST", self._path, body, self._headers)
                response = conn.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if new:
                    raise  # not a stale connection: the SDK's `call` retries or types it

    def post(self, requests_: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
        """Post `requests_` as one batch; the raw answers in request order.

        Args:
            requests_: ``(method, params)`` pairs.

        Raises:
            RpcError: the node answered with an HTTP error or not with a whole batch.
            OSError: transport failures (the SDK's `transport.call` types them).
        """
        body = json.dumps(
            [{"jsonrpc": "2.0", "id": n, "method": m, "params": list(p)}
             for n, (m, p) in enumerate(requests_)]
        ).encode()  # fmt: skip
        status, data = self._exchange(body)
        if status != 200:
            raise RpcError(f"the node at {self.url} answered HTTP {status}", url=self.url)
        answers = json.loads(data)
        if not isinstance(answers, list) or len(answers) != len(requests_):
            raise RpcError(f"the node at {self.url} did not answer the batch", url=self.url)
        return sorted(answers, key=lambda a: int(a.get("id", 0)))


class LiveChain:
    """Read-only views of the deployment at the node's newest block.

    Args:
        reader: a read-only SDK client of the deployment.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(self, reader: JouleLedger, clock: Callable[[], float] = time.monotonic) -> None:
        self.reader = reader
        self._clock = clock
        self._lock = threading.Lock()
        self._head: tuple[float, int] = (-1.0, 0)
        self._refreshing = False
        self._answers = BlockCache()  # keyed by the node's block, not the indexed one
        self._batch = transport.supports_batch(reader.w3)
        self._http = HttpBatch.of(reader.w3)
        self._views = {
            "balance": AddressView(reader.token, "balanceOf"),
            "provider": AddressView(reader.staking, "providerInfo"),
            "credit": AddressView(reader.market, "credit"),
            "holding": AddressView(reader.vault, "holding"),
        }

    def head(self) -> int:
        """The node's newest block number (reused for a quarter of a second)."""
        now = self._clock()
        with self._lock:
            at, block = self._head
            fresh = now - at < _HEAD_TTL_S
            if fresh or (self._refreshing and at >= 0):
                return block  # another thread is asking the node: its answer is near enough
            self._refreshing = True
        try:
            block = int(self.reader.w3.eth.block_number)
        finally:
            with self._lock:
                self._refreshing = False
        with self._lock:
            self._head = (now, block)
        return block

    def _cached(self, key: tuple[Any, ...], read: Callable[[], T], floor: int) -> T:
        """`read`'s answer for the node's newest block, or for block `floor` where the
        reused head number is older (an answer from before a block the index already
        holds would contradict the page's history)."""
        return self._answers.get(max(self.head(), floor), key, read)

    def class_status(self, gpu_class: bytes, floor: int = -1) -> ClassStatus:
        """A class's open queue and busy flag now.

        Args:
            gpu_class: the 4-byte class id.
            floor: a block the answer must not be older than (the indexed one).
        """
        return self._cached(
            ("class", gpu_class), lambda: self.reader.class_status(gpu_class), floor
        )

    def _values(self, address: str) -> tuple[dict[str, dict[str, Any]], int]:
        """The four views of `address` by name, and the newest block's time."""
        if not self._batch:
            r = self.reader
            info, holding = r.provider(address), r.holding(address)
            values = {
                "balance": {"balance": r.balance(address)},
                "provider": vars(info),
                "credit": {"credit": r.credit(address)},
                "holding": vars(holding),
            }
            return values, int(r.w3.eth.get_block("latest")["timestamp"])
        calls = [
            *(view.call(address) for view in self._views.values()),
            ("eth_getBlockByNumber", ["latest", False]),
        ]
        answers = self._post(calls)
        failed = [a["error"] for a in answers if a.get("error") is not None]
        if failed:
            raise RpcError(f"reading {address} from the node failed: {failed[0]}")
        decoded = {
            name: view.decode(answer["result"])
            for (name, view), answer in zip(self._views.items(), answers, strict=False)
        }
        return decoded, int(answers[-1]["result"]["timestamp"], 16)

    def _post(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """`calls` as one batch: through `HttpBatch` where it serves the node, else the SDK."""
        w3, http = self.reader.w3, self._http
        if http is None:
            return transport.batch(w3, calls)
        return transport.call(w3, lambda: http.post(calls), method=f"a batch of {len(calls)}")

    def balances(self, address: str, floor: int = -1) -> tuple[Balances, int]:
        """Balance, stake, unbonding, credit and holdings of `address` now, and its CPT
        balance in wei.

        Args:
            address: a checksummed address.
            floor: a block the answer must not be older than (the indexed one).
        """

        def read() -> tuple[Balances, int]:
            values, now = self._values(address)
            info, holding = values["provider"], values["holding"]
            balance = int(next(iter(values["balance"].values())))
            return Balances(
                balance_cpt=format_amount(balance),
                stake_cpt=format_amount(info["stake"]),
                locked_stake_cpt=format_amount(info["locked"]),
                unbonding_cpt=format_amount(info["unbonding"]),
                unbonding_ready_at=info["unbonding_ready_at"],
                unbonding_ready=bool(info["unbonding"]) and info["unbonding_ready_at"] <= now,
                credit_cpt=format_amount(next(iter(values["credit"].values()))),
                holdings_locked_cpt=format_amount(holding["locked"]),
                holdings_warm_cpt=format_amount(holding["warm"]),
                boost_per_job_cpt=format_amount(holding["boost_per_job"]),
                boost_capacity=holding["capacity"],
                boost_used=holding["used"],
                boost_remaining=max(holding["capacity"] - holding["used"], 0),
            ), balance

        return self._cached(("balances", address), read, floor)
