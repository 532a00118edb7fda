"""The SDK's exceptions: one root, `JouleLedgerError`, so callers can catch everything we raise.

Subclasses also inherit the matching builtin where that is natural, so
`except ValueError` / `except ConnectionError` / `except TimeoutError` keep working.

This module holds exception classes only and imports nothing from the package. Contract
reverts are decoded by `jouleledger.abi` into `ContractRevert` subclasses: `RevertReason`
for ``Error(string)``, `Panic` for ``Panic(uint256)``, one class per custom error name
(``jouleledger.abi.error_class("ERC20InsufficientBalance")``), and `UnknownRevert` for data
no shipped ABI defines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final


class JouleLedgerError(Exception):
    """Root of every exception the SDK raises."""


class ArtifactError(JouleLedgerError, FileNotFoundError):
    """A compiled contract is missing from the package (the build step did not run)."""


class DevnetError(JouleLedgerError, RuntimeError):
    """A local chain could not be started, did not answer, or died."""


# --- talking to the node ------------------------------------------------------------------


class DevnetPortInUse(DevnetError):
    """A local chain could not bind its port: something else listens there."""


class RpcError(JouleLedgerError):
    """Talking to the JSON-RPC node failed (as opposed to the node refusing a transaction).

    Attributes:
        url: the node's endpoint, or a description of an in-process chain.
    """

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class NodeUnreachable(RpcError, ConnectionError):
    """No connection to the node: refused, DNS failure, or the connection keeps dropping."""


class RpcTimeout(RpcError, TimeoutError):
    """The node accepted the connection but did not answer in time (after retries).

    Attributes:
        method: the JSON-RPC method that timed out.
    """

    def __init__(self, message: str, *, url: str = "", method: str = "") -> None:
        super().__init__(message, url=url)
        self.method = method


class RpcUnavailable(RpcError):
    """The node kept answering with HTTP 429 (rate limit) or 5xx (server error).

    Attributes:
        status: the last HTTP status code.
    """

    def __init__(self, message: str, *, url: str = "", status: int = 0) -> None:
        super().__init__(message, url=url)
        self.status = status


class WrongChain(JouleLedgerError, ValueError):
    """The node serves another chain than the caller expects.

    Attributes:
        expected: the chain id the caller asked for.
        actual: the chain id the node reports.
    """

    def __init__(self, message: str, *, expected: int = 0, actual: int = 0) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


# --- transactions -------------------------------------------------------------------------


class TransactionRejected(JouleLedgerError):
    """The node refused to accept a transaction; nothing was sent and no nonce was used."""


class InsufficientFunds(TransactionRejected):
    """The sender lacks the ether for gas limit x fee (+ value).

    Attributes:
        address: the sender.
        balance: its ether balance in wei, when known.
        needed: the most the transaction could cost in wei, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        address: str = "",
        balance: int | None = None,
        needed: int | None = None,
    ) -> None:
        super().__init__(message)
        self.address = address
        self.balance = balance
        self.needed = needed


class TransactionFailed(JouleLedgerError):
    """A transaction was mined but reverted.

    Attributes:
        tx_hash: hash of the reverted transaction (0x-hex).
        receipt: its receipt, when known.
        revert: the decoded reason, when replaying the call at its block recovered it.
    """

    def __init__(
        self,
        message: str,
        tx_hash: str | None = None,
        *,
        receipt: Mapping[str, Any] | None = None,
        revert: ContractRevert | None = None,
    ) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash
        self.receipt = receipt
        self.revert = revert


class ReceiptTimeout(JouleLedgerError, TimeoutError):
    """A sent transaction was not mined in time. It may still be mined later.

    Attributes:
        tx_hash: hash of the transaction (0x-hex).
        timeout: seconds waited.
    """

    def __init__(self, message: str, *, tx_hash: str = "", timeout: float = 0.0) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash
        self.timeout = timeout


# --- contract reverts ---------------------------------------------------------------------


class ContractRevert(JouleLedgerError):
    """A contract call reverted; decoded from its revert data.

    Catch a specific error with ``except jouleledger.abi.error_class("ERC20InsufficientBalance")``
    (one class per error name, created once).

    Attributes:
        name: the error's name (``"ERC20InsufficientBalance"``, ``"Error"``, ``"Panic"``,
            or ``""`` when the data could not be decoded).
        args_by_name: the decoded arguments by their ABI names.
        data: the raw revert data.
        signature: the canonical signature, e.g. ``"ERC2612ExpiredSignature(uint256)"``.
        hint: what to do about it (the error's NatSpec notice, filled with the arguments).
        inner: for ``MarketBatchItemInvalid``, the refused element's own error (decoded);
            else None.
    """

    error_name: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        data: bytes = b"",
        name: str = "",
        args_by_name: Mapping[str, Any] | None = None,
        signature: str | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message)
        self.data = bytes(data)
        self.name = name
        self.args_by_name: dict[str, Any] = dict(args_by_name or {})
        self.signature = signature
        self.hint = hint
        self.inner: ContractRevert | None = None

    @property
    def selector(self) -> bytes:
        """The first 4 bytes of the revert data (empty when there were fewer)."""
        return self.data[:4] if len(self.data) >= 4 else b""


class RevertReason(ContractRevert):
    """``revert("...")`` / ``require(cond, "...")``: ``Error(string)``, with its `reason`."""

    error_name = "Error"

    @property
    def reason(self) -> str:
        """The revert string."""
        return str(self.args_by_name.get("reason", ""))


class Panic(ContractRevert):
    """A Solidity panic (``Panic(uint256)``): an assert, overflow, division by zero, ...

    Attributes:
        code: the panic code (``0x11`` overflow, ``0x12`` division by zero, ...).
        meaning: what the code means.
    """

    error_name = "Panic"

    @property
    def code(self) -> int:
        """The panic code."""
        return int(self.args_by_name.get("code", -1))

    @property
    def meaning(self) -> str:
        """What the panic code means."""
        return PANIC_CODES.get(self.code, f"unknown panic code {self.code:#x}")


class UnknownRevert(ContractRevert):
    """Revert data the SDK cannot decode: empty, malformed, or a selector no ABI defines."""


class UnknownErrorName(JouleLedgerError, LookupError):
    """`error_class` was asked for a name that no shipped ABI defines."""


PANIC_CODES: Final[dict[int, str]] = {
    0x00: "generic compiler-inserted panic",
    0x01: "assert() failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "conversion to an enum out of range",
    0x22: "incorrectly encoded storage byte array",
    0x31: "pop() on an empty array",
    0x32: "array index out of bounds",
    0x41: "too much memory allocated or array too large",
    0x51: "call to a zero-initialized internal function variable",
}
