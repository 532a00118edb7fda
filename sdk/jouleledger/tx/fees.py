"""Fee quoting: EIP-1559 caps where the node has a base fee, a legacy gas price otherwise."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from web3 import Web3

from ..errors import RpcError, TransactionRejected

FeeMode = Literal["auto", "eip1559", "legacy"]
DEFAULT_PRIORITY_FEE = 10**9  # 1 gwei, when the node cannot suggest one
#: The transaction fields that carry fees.
FEE_FIELDS = ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas")

T = TypeVar("T")
#: Runs one read request with retries: ``(request, json-rpc method name) -> result``.
Reader = Callable[[Callable[[], T], str], T]


@dataclass(frozen=True)
class FeeQuote:
    """Fee fields for a transaction: EIP-1559 caps, or a legacy gas price.

    Attributes:
        max_fee_per_gas: EIP-1559 cap on base fee + tip, or None for legacy.
        max_priority_fee_per_gas: EIP-1559 tip, or None for legacy.
        gas_price: legacy price, or None for EIP-1559.
    """

    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    gas_price: int | None = None

    @property
    def dynamic(self) -> bool:
        """True for EIP-1559 fees."""
        return self.max_fee_per_gas is not None

    @property
    def max_price(self) -> int:
        """The most one unit of gas can cost."""
        if self.max_fee_per_gas is not None:
            return self.max_fee_per_gas
        return self.gas_price or 0

    def params(self) -> dict[str, int]:
        """The transaction fields."""
        if self.dynamic:
            assert self.max_priority_fee_per_gas is not None
            return {
                "maxFeePerGas": int(self.max_fee_per_gas or 0),
                "maxPriorityFeePerGas": self.max_priority_fee_per_gas,
            }
        return {"gasPrice": int(self.gas_price or 0)}


def has_fees(tx: Mapping[str, Any]) -> bool:
    """Whether `tx` already names its fees.

    Args:
        tx: transaction fields.
    """
    return "gasPrice" in tx or "maxFeePerGas" in tx


class FeeQuoter:
    """Quotes fees from one node and reuses a quote for `ttl` seconds; thread-safe."""

    def __init__(self, w3: Web3, read: Reader[Any], url: str, mode: FeeMode, ttl: float) -> None:
        """No request is made until the first quote.

        Args:
            w3: the connection.
            read: runs a read request with retries (``Sender``'s policy).
            url: the node's endpoint, for messages.
            mode: ``"auto"`` (EIP-1559 when the latest block has a base fee), ``"eip1559"``
                or ``"legacy"``.
            ttl: seconds a quote is reused.
        """
        self.w3 = w3
        self.mode: FeeMode = mode
        self.ttl = ttl
        self._read = read
        self._url = url
        self._lock = threading.Lock()
        self._cached: tuple[float, FeeQuote] | None = None

    def quote(self, *, fresh: bool = False) -> FeeQuote:
        """Fees for a transaction now (cached for `ttl` seconds).

        EIP-1559: ``maxFeePerGas = 2 x base fee + tip``, which stays valid through several
        full blocks; the tip is the node's ``eth_maxPriorityFeePerGas`` (1 gwei if it has
        none). Legacy: the node's ``eth_gasPrice``.

        Args:
            fresh: ignore the cache.

        Raises:
            TransactionRejected: mode ``"eip1559"`` on a node without a base fee.
            RpcError: transport failure.
        """
        now = time.monotonic()
        with self._lock:
            if not fresh and self._cached is not None and now - self._cached[0] < self.ttl:
                return self._cached[1]
        quote = self._ask()
        with self._lock:
            self._cached = (now, quote)
        return quote

    def _ask(self) -> FeeQuote:
        base_fee: int | None = None
        if self.mode != "legacy":
            block = self._read(lambda: self.w3.eth.get_block("latest"), "eth_getBlockByNumber")
            raw = block.get("baseFeePerGas")
            base_fee = int(raw) if raw is not None else None
            if base_fee is None and self.mode == "eip1559":
                raise TransactionRejected(
                    f"the node at {self._url} has no base fee (a pre-London chain): "
                    "use fee_mode='legacy'"
                )
        if base_fee is None:
            price = int(self._read(lambda: self.w3.eth.gas_price, "eth_gasPrice"))
            return FeeQuote(gas_price=price)
        try:
            tip = int(self._read(lambda: self.w3.eth.max_priority_fee, "eth_maxPriorityFeePerGas"))
        except RpcError:
            raise
        except Exception:
            tip = DEFAULT_PRIORITY_FEE
        return FeeQuote(max_fee_per_gas=2 * base_fee + tip, max_priority_fee_per_gas=tip)
