"""Live chain values the index does not hold exactly (balances, stake, credit, holdings,
queue status), cached per block, so twenty visitors of one account cost one read per block.

An account's five values are read in one JSON-RPC batch of pre-encoded ``eth_call`` s
(`AddressView`): through web3's contract objects the same reads took 22 ms on two cores
(30 ms as a ``w3.batch_requests()``), which alone would have broken the page's latency
target under twenty concurrent clients; the batch takes about 2 ms. Chains that cannot
batch (the in-process eth-tester) go through the SDK's read calls instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from eth_abi.abi import decode
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_output_types
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

    def _cached(self, key: tuple[Any, ...], read: Callable[[], T]) -> T:
        return self._answers.get((self.head(), *key), read)

    def class_status(self, gpu_class: bytes) -> ClassStatus:
        """A class's open queue and busy flag now.

        Args:
            gpu_class: the 4-byte class id.
        """
        return self._cached(("class", gpu_class), lambda: self.reader.class_status(gpu_class))

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
        calls = [view.call(address) for view in self._views.values()]
        answers = transport.batch(
            self.reader.w3, [*calls, ("eth_getBlockByNumber", ["latest", False])]
        )
        failed = [a["error"] for a in answers if a.get("error") is not None]
        if failed:
            raise RpcError(f"reading {address} from the node failed: {failed[0]}")
        decoded = {
            name: view.decode(answer["result"])
            for (name, view), answer in zip(self._views.items(), answers, strict=False)
        }
        return decoded, int(answers[-1]["result"]["timestamp"], 16)

    def balances(self, address: str) -> tuple[Balances, int]:
        """Balance, stake, unbonding, credit and holdings of `address` now, and its CPT
        balance in wei.

        Args:
            address: a checksummed address.
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

        return self._cached(("balances", address), read)
