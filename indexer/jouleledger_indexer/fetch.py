"""Reading the node: logs in block ranges that adapt to its limits, headers, transactions.

Every node caps ``eth_getLogs`` in its own way (a block span, a result count, a response
size, or a timeout). `AdaptiveRange` halves the span when the node refuses a range or does
not answer in time, and doubles it after each range it answers, up to `max_range`. Requests
go through the SDK's transport (`jouleledger.transport`): its retry policy for transient
failures, its JSON-RPC batches for headers and transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.exceptions import Web3RPCError

from jouleledger.errors import RpcTimeout, RpcUnavailable
from jouleledger.transport import batch, raw_request
from jouleledger.transport.provider import endpoint, supports_batch
from jouleledger.transport.retry import RetryPolicy, call

from .errors import IndexerError

#: What nodes answer when a log query asks too much (geth, erigon, Infura, Alchemy,
#: QuickNode, anvil's forks of them, Nethermind).
TOO_MUCH = (
    "more than",
    "too many",
    "limit exceeded",
    "exceed",
    "range is too",
    "range too",
    "block range",
    "response size",
    "too large",
    "query timeout",
    "timed out",
)
HEADER_BATCH = 250


class MissingBlock(IndexerError):
    """The node has no block of that number (it is behind, or its chain just got shorter)."""


class RangeRefused(IndexerError):
    """The node refused a log query as too large, or did not answer it in time."""


@dataclass
class AdaptiveRange:
    """The span of blocks the next ``eth_getLogs`` asks for.

    Attributes:
        size: blocks in the next query.
        minimum: the smallest span; a refusal at this span is an error.
        maximum: the largest span.
    """

    size: int = 500
    minimum: int = 1
    maximum: int = 10_000

    def shrink(self) -> bool:
        """Halve the span; False when it already is the minimum."""
        if self.size <= self.minimum:
            return False
        self.size = max(self.minimum, self.size // 2)
        return True

    def grow(self) -> None:
        """Double the span (up to the maximum) after an answered query."""
        self.size = min(self.maximum, self.size * 2)


@dataclass(frozen=True, slots=True)
class Header:
    """What the index keeps of a block."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int


class NodeReader:
    """The JSON-RPC reads of the indexer, over one connection.

    Args:
        w3: a connection to a node over HTTP or IPC (raw requests and batches).
        addresses: the contracts whose logs are read.
        window: the adaptive span of log queries.
        policy: retries of transient transport failures.

    Raises:
        IndexerError: the connection cannot send raw JSON-RPC (the in-process chain).
    """

    def __init__(
        self,
        w3: Web3,
        addresses: Sequence[str],
        window: AdaptiveRange,
        policy: RetryPolicy | None = None,
    ) -> None:
        if not supports_batch(w3):
            raise IndexerError(
                f"the indexer reads a node over HTTP or IPC, not {type(w3.provider).__name__}: "
                "start one with `jl devnet up` (anvil) or pass an --rpc URL"
            )
        self.w3 = w3
        self.addresses = [Web3.to_checksum_address(a) for a in addresses]
        self.window = window
        self.policy = policy or RetryPolicy(attempts=4)
        # A log query that times out is retried once, then asked for less (`window`).
        self._logs_policy = RetryPolicy(attempts=2)

    def _request(self, method: str, params: Sequence[Any]) -> Any:
        return call(
            self.w3, lambda: raw_request(self.w3, method, params), method=method, policy=self.policy
        )

    def head(self) -> int:
        """The newest block number."""
        return int(self._request("eth_blockNumber", []), 16)

    def logs(self, start: int, last: int) -> list[dict[str, Any]]:
        """The logs of the contracts in blocks `start` to `last`, in one query.

        Args:
            start: the first block.
            last: the last block.

        Raises:
            RangeRefused: the node refused the span or did not answer in time: shrink
                `window` and ask for less.
        """
        try:
            return self._get_logs(start, last)
        except (RpcTimeout, RpcUnavailable) as exc:
            raise RangeRefused(str(exc)) from exc

    def _get_logs(self, start: int, last: int) -> list[dict[str, Any]]:
        query = {"fromBlock": hex(start), "toBlock": hex(last), "address": self.addresses}

        def ask() -> Any:
            try:
                return raw_request(self.w3, "eth_getLogs", [query])
            except Web3RPCError as exc:
                if not any(marker in str(exc).lower() for marker in TOO_MUCH):
                    raise
                message = str(exc)
            # Raised outside the handler, so that no retry policy sees the node's error
            # (Infura's -32005 reads as a rate limit) behind it: a refusal is not retried.
            raise RangeRefused(message)

        result = call(self.w3, ask, method="eth_getLogs", policy=self._logs_policy)
        return list(result or [])

    def headers(self, numbers: Iterable[int], *, missing_ok: bool = False) -> dict[int, Header]:
        """The headers of blocks `numbers` (batched).

        Args:
            numbers: block numbers.
            missing_ok: leave out blocks the node does not have, instead of raising.

        Raises:
            MissingBlock: the node does not have one of them (it is behind, or reorganised).
        """
        wanted = sorted(set(numbers))
        out: dict[int, Header] = {}
        for i in range(0, len(wanted), HEADER_BATCH):
            part = wanted[i : i + HEADER_BATCH]
            answers = batch(self.w3, [("eth_getBlockByNumber", [hex(n), False]) for n in part])
            for number, answer in zip(part, answers, strict=True):
                block = answer.get("result")
                if not block:
                    if missing_ok:
                        continue
                    raise MissingBlock(
                        f"the node at {endpoint(self.w3)} has no block {number}: "
                        f"{answer.get('error') or 'it may have reorganised or be behind'}"
                    )
                out[number] = Header(
                    number=number,
                    hash=str(block["hash"]).lower(),
                    parent_hash=str(block["parentHash"]).lower(),
                    timestamp=int(block["timestamp"], 16),
                )
        return out

    def transaction_inputs(self, hashes: Iterable[str]) -> dict[str, str]:
        """The calldata of transactions `hashes` (batched); missing ones are left out.

        Args:
            hashes: transaction hashes.
        """
        wanted = sorted(set(hashes))
        out: dict[str, str] = {}
        for i in range(0, len(wanted), HEADER_BATCH):
            part = wanted[i : i + HEADER_BATCH]
            answers = batch(self.w3, [("eth_getTransactionByHash", [h]) for h in part])
            for tx_hash, answer in zip(part, answers, strict=True):
                tx = answer.get("result")
                if tx:
                    out[tx_hash] = str(tx.get("input") or tx.get("data") or "0x")
        return out

    def has_code(self, address: str, block: int) -> bool:
        """Whether `address` holds code at `block` (needs the node to keep that state).

        Args:
            address: a contract address.
            block: a block number.
        """
        code = self._request("eth_getCode", [address, hex(block)])
        return bool(code) and code not in ("0x", "0x0")
