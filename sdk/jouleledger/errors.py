"""The SDK's exceptions: one root, `JouleLedgerError`, so callers can catch everything we raise.

Subclasses also inherit the matching builtin where that is natural, so
`except ValueError` / `except ConnectionError` / `except TimeoutError` keep working.

Contract reverts are decoded by their 4-byte selector against every ABI shipped in the
package (`jouleledger.artifacts`) into one `ContractRevert` subclass per error name, created
once, so a caller can write::

    try:
        sender.send(token.functions.transfer(to, amount))
    except error_class("ERC20InsufficientBalance") as exc:
        print(exc.args_by_name["balance"], exc.hint)

``contract_errors.ERC20InsufficientBalance`` is the same class, looked up by attribute.
``Error(string)`` decodes to `RevertReason`, ``Panic(uint256)`` to `Panic`, and anything the
SDK's ABIs do not define to `UnknownRevert`.

Each node reports revert data differently; `revert_data_from_exception` reads all of them:

- anvil: ``ContractCustomError`` / ``ContractLogicError`` / ``ContractPanicError`` whose
  ``data`` is the hex revert data, for ``eth_call`` and ``eth_estimateGas`` alike.
- ganache 7: ``eth_estimateGas`` gives ``ContractLogicError`` whose ``data`` is a dict
  ``{"result": "0x...", "reason": ..., "programCounter": ...}``; ``eth_call`` gives
  ``ContractCustomError``/``ContractPanicError`` with hex data, or, for ``Error(string)`` and
  empty reverts, a plain ``Web3RPCError`` whose ``rpc_response["error"]["data"]`` is the hex.
- eth-tester (py-evm): its own ``eth_tester.exceptions.TransactionFailed`` whose message is
  ``"execution reverted: b'...'"`` (a Python bytes literal of the revert data) or, for
  ``Error(string)``, ``"execution reverted: <reason>"``; panics from ``eth_call`` come as
  ``ContractPanicError`` with hex data.
"""

from __future__ import annotations

import ast
import difflib
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Final, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import collapse_if_tuple
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3.exceptions import ContractLogicError, Web3RPCError


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

    Catch a specific error with ``except error_class("ERC20InsufficientBalance")``.

    Attributes:
        name: the error's name (``"ERC20InsufficientBalance"``, ``"Error"``, ``"Panic"``,
            or ``""`` when the data could not be decoded).
        args_by_name: the decoded arguments by their ABI names.
        data: the raw revert data.
        signature: the canonical signature, e.g. ``"ERC2612ExpiredSignature(uint256)"``.
        hint: what to do about it.
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

    @property
    def selector(self) -> bytes:
        """The first 4 bytes of the revert data (empty when there were fewer)."""
        return self.data[:4] if len(self.data) >= 4 else b""

    def __reduce__(self) -> tuple[Any, ...]:
        # Generated classes live in a registry, not in the module: rebuild from the data.
        return (decode_revert, (self.data,))


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


ERROR_STRING_SELECTOR: Final = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR: Final = bytes.fromhex("4e487b71")  # Panic(uint256)

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

#: What to do about each error, keyed by name. ``{arg}`` placeholders take the decoded
#: values (addresses checksummed, role hashes named where known).
HINTS: Final[dict[str, str]] = {
    "ERC20InsufficientBalance": (
        "{sender} holds {balance} token base units but needs {needed}: "
        "fund it first (transfer or mint) or move less"
    ),
    "ERC20InsufficientAllowance": (
        "{spender} may spend {allowance} token base units but needs {needed}: "
        "approve the market first or post with a permit"
    ),
    "ERC20InvalidReceiver": "tokens cannot go to {receiver}: check the recipient address",
    "ERC20InvalidSender": "tokens cannot come from {sender}: check the sender address",
    "ERC20InvalidSpender": "{spender} cannot be approved: check the spender address",
    "ERC20InvalidApprover": "{approver} cannot approve: check the owner address",
    "ERC2612ExpiredSignature": (
        "the permit's deadline {deadline} has passed: sign a new permit with a later deadline"
    ),
    "ERC2612InvalidSigner": (
        "the permit recovers to {signer}, not the owner {owner}: sign with the owner's key "
        "over the right chain id, token name and address, and the owner's current "
        "token.nonces(owner)"
    ),
    "InvalidAccountNonce": (
        "{account}'s current nonce is {currentNonce}: sign again with that nonce"
    ),
    "AccessControlUnauthorizedAccount": (
        "{account} lacks the role {neededRole}: send from an account that has it, or have "
        "an admin call grantRole(role, account)"
    ),
    "AccessControlBadConfirmation": "renounceRole must be called by the account itself",
    "ECDSAInvalidSignature": "the signature does not recover to any signer: sign again",
    "ECDSAInvalidSignatureLength": "the signature is {length} bytes, expected 65",
    "ECDSAInvalidSignatureS": "the signature is malleable (high s): sign with a library "
    "that produces low-s signatures",
    "EnforcedPause": "the contract is paused: wait until an admin unpauses it "
    "(withdrawals keep working)",
    "ExpectedPause": "the contract is not paused",
    "ReentrancyGuardReentrantCall": "a call re-entered a protected function",
    "SafeERC20FailedOperation": "the token {token} refused the transfer: check balance and "
    "allowance",
    # JobMarket (states: 1 Open, 2 Claimed, 3 Settled, 4 Disputed, 5 Finalized, 6 Expired,
    # 7 Cancelled)
    "MarketInvalidJobState": "job {jobId} is in state {state} (1 Open, 2 Claimed, 3 Settled, "
    "4 Disputed, 5 Finalized, 6 Expired, 7 Cancelled), where this is not allowed: check "
    "`jl job show {jobId}`",
    "MarketNotJobClient": "only the client that posted job {jobId} may do this, not {caller}",
    "MarketInvalidDeadline": "the deadline {deadline} is not after the chain's time {nowTime}: "
    "give a later deadline",
    "MarketInvalidGpuClass": "the GPU class is empty: name one, e.g. nvidia-h100",
    "MarketZeroPayment": "a job needs a max payment above zero",
    "MarketAmountTooLarge": "{amount} is above the market's limit {max}",
    "MarketAmountNotAligned": "{amount} wei is not a whole nano-CPT (multiple of {unit} wei): "
    "use at most 9 decimals of CPT",
    "MarketOnlyStaking": "only the staking contract may call this, not {caller}",
    "MarketBidNotHigher": "job {jobId}'s bid is already {bid}; a new bid must be higher than "
    "that, got {newBid}",
    "MarketProviderNotRegistered": "{provider} is not a registered provider: stake and "
    "register first (`jl provider register`)",
    "MarketProviderNotEligible": "{provider} cannot take job {jobId}: another GPU class, a "
    "price below its ask, designated to someone else, or past its deadline",
    "MarketHigherPriorityEligible": "job {higherJobId} comes before job {jobId} and this "
    "provider could take it: claim in priority order (claimNext, `jl job claim`)",
    "MarketNoEligibleJob": "no open job of class {gpuClass} that {provider} can take right now",
    "MarketInsufficientStake": "{provider} has {stake} staked but claiming needs {needed} "
    "(its locked stake plus the market's collateral cap, and at least the minimum stake): "
    "stake more or settle claimed jobs first",
    "MarketJobTooLarge": "an escrow of {escrow} would lock more stake than the market's "
    "collateral cap allows (at most {maxEscrow} per job): split the work into smaller jobs",
    "MarketDesignatedClassMismatch": "{provider} serves class {providerClass}, not "
    "{jobClass}: designate a provider of the job's class, or post it to the class queue",
    "MarketMixedTerms": "record {index} (job {jobId}) of the batch was claimed under another "
    "signer or attestor set than the first: settle it in a separate batch",
    "MarketAttestorIsSigner": "{attestor} is the oracle signer of provider {provider}: an "
    "attestor must be independent of every provider",
    "MarketTooManyAttestors": "{count} attestors given, at most {max} are allowed",
    "MarketWiringMismatch": "the contracts are wired to different addresses (expected "
    "{expected}, found {actual}): deploy token, staking, vault and market together",
    "MarketDeadlinePassed": "job {jobId}'s deadline {deadline} has passed: it can only be "
    "expired now",
    "MarketDeadlineNotPassed": "job {jobId} is not past its deadline {deadline} yet",
    "MarketWrongProvider": "the record for job {jobId} names {recordProvider}, but the job "
    "belongs to {jobProvider}",
    "MarketInvalidSigner": "the record's signature recovers to {recovered}, not the "
    "provider's oracle signer {expected}: sign with the bound key, for this market and "
    "chain, over this exact record",
    "MarketInvalidUsage": "the usage record of job {jobId} is not plausible (zero energy, "
    "start after end, or end in the future)",
    "MarketEmptyBatch": "a batch needs at least one record",
    "MarketUnknownAttestor": "{signer} is not one of the market's attestors",
    "MarketDuplicateAttestor": "{signer} signed twice: each attestor counts once",
    "MarketAttestorsUnsorted": "attestor signatures must be sorted by signer address "
    "({previous} came before {next})",
    "MarketAttestorThresholdNotMet": "{signatures} attestor signatures given, the market "
    "needs {threshold}",
    "MarketDisputeWindowClosed": "the dispute window of job {jobId} closed at {windowEnd}",
    "MarketDisputeWindowOpen": "job {jobId}'s payment is held until its dispute window "
    "closes at {windowEnd}: withdraw after that",
    "MarketArbiterTimeoutPassed": "the arbiter's time for job {jobId} ended at "
    "{arbiterDeadline}: anyone can now finalize the dispute (the record stands)",
    "MarketArbiterTimeoutNotPassed": "the arbiter may still decide job {jobId} until "
    "{arbiterDeadline}",
    "MarketNothingToWithdraw": "{account} has nothing to withdraw right now",
    "MarketNotWithdrawable": "{caller} has nothing to take from job {jobId} now (not its "
    "client with a refund, nor its provider after the window)",
    "MarketUnbondingTooShort": "the staking unbonding delay {unbondingDelay} must be at "
    "least {needed} (dispute window + arbiter timeout + 1)",
    "MarketInvalidParameter": "{value} is out of range for {name}: see the bounds in "
    "`jl params show` (MAX_*/MIN_* constants of the market)",
    "MarketZeroAddress": "an address must not be zero",
    # ProviderStaking
    "StakingZeroAmount": "the amount must be above zero",
    "StakingInsufficientStake": "{provider} has {stake} staked, {needed} is needed: stake "
    "more first",
    "StakingInsufficientUnlockedStake": "{provider} can unbond at most {unlocked} now (the "
    "rest backs its jobs), asked for {requested}",
    "StakingNotRegistered": "{provider} is not a registered provider: register first",
    "StakingAlreadyRegistered": "{provider} is already registered: use updateProvider",
    "StakingInvalidSigner": "the oracle signer must be a non-zero address",
    "StakingSignerInUse": "the oracle signer {signer} is already bound to {provider}: use "
    "another key",
    "StakingInvalidGpuClass": "the GPU class is empty: name one, e.g. nvidia-h100",
    "StakingNothingUnbonding": "{provider} has nothing in unbonding: request it first "
    "(`jl unstake`)",
    "StakingUnbondingNotReady": "{provider}'s unbonding becomes withdrawable at {readyAt}",
    "StakingMarketAlreadySet": "the market is already set to {market}",
    "StakingMarketNotSet": "the staking contract has no market yet: an admin must call setMarket",
    "StakingOnlyMarket": "only the market may slash, not {caller}",
    "StakingZeroAddress": "an address must not be zero",
    "StakingInvalidSignerProof": "the signer proof recovers to {recovered}, not {signer}: "
    "sign SignerBinding with the oracle's key for this provider and its current signer "
    "nonce (the SDK's register_provider does it when given the oracle account)",
    "StakingSignerIsAttestor": "{signer} is one of the market's attestors and cannot be a "
    "provider's oracle signer: use the node's own key",
    "StakingWiringMismatch": "the market is wired to other contracts (expected {expected}, "
    "found {actual}): deploy token, staking, vault and market together",
    "StakingInvalidParameter": "{value} is out of range for {name}",
    # HoldingsVault
    "HoldingsZeroAmount": "the amount must be above zero",
    "HoldingsZeroAddress": "an address must not be zero",
    "HoldingsInsufficient": "{holder} has {locked} locked, cannot unlock {requested}",
    "HoldingsBacking": "{holder}'s holdings back boosted jobs until {backedUntil}: unlock "
    "after that (`jl holdings show`)",
    "HoldingsOnlyMarket": "only the market may spend boosts, not {caller}",
    "HoldingsMarketAlreadySet": "the vault's market is already set to {market}",
    "HoldingsWiringMismatch": "the market is wired to other contracts (expected {expected}, "
    "found {actual}): deploy token, staking, vault and market together",
    "HoldingsInvalidParameter": "{value} is out of range for {name}",
    "HoldingsTooLarge": "locking {amount} would exceed the largest holding; at most {max} more",
}

GENERIC_HINT: Final = "see the NatSpec of {signature} in contracts/interfaces for when it is raised"


@dataclass(frozen=True)
class ErrorSpec:
    """One custom error from an ABI.

    Attributes:
        name: e.g. ``"ERC20InsufficientBalance"``.
        signature: canonical, e.g. ``"ERC20InsufficientBalance(address,uint256,uint256)"``.
        selector: first 4 bytes of keccak(signature).
        inputs: the ABI entry's inputs (names, types, struct components).
        sources: the artifacts that define it.
    """

    name: str
    signature: str
    selector: bytes
    inputs: tuple[Mapping[str, Any], ...]
    sources: tuple[str, ...]

    @property
    def types(self) -> list[str]:
        """The canonical ABI types of the arguments."""
        return [collapse_if_tuple(dict(i)) for i in self.inputs]


class ErrorRegistry:
    """Selector -> custom error, built from ABIs. Thread-safe; first definition wins."""

    def __init__(self) -> None:
        self._by_selector: dict[bytes, ErrorSpec] = {}
        self._names: set[str] = set()
        self._roles: dict[bytes, str] = {bytes(32): "DEFAULT_ADMIN_ROLE"}
        self._lock = threading.Lock()

    def add_abi(self, abi: Iterable[Mapping[str, Any]], source: str) -> None:
        """Register every error (and every ``*_ROLE`` constant) of `abi`.

        Args:
            abi: a contract ABI (list of entries).
            source: a name for messages, e.g. the contract name.
        """
        with self._lock:
            for entry in abi:
                if entry.get("type") == "function" and _is_role_constant(entry):
                    name = str(entry["name"])
                    self._roles.setdefault(keccak(text=name), name)
                if entry.get("type") != "error":
                    continue
                inputs = tuple(entry.get("inputs", ()))
                name = str(entry["name"])
                types = ",".join(collapse_if_tuple(dict(i)) for i in inputs)
                signature = f"{name}({types})"
                selector = keccak(text=signature)[:4]
                known = self._by_selector.get(selector)
                if known is None:
                    self._by_selector[selector] = ErrorSpec(
                        name, signature, selector, inputs, (source,)
                    )
                    self._names.add(name)
                elif known.signature == signature and source not in known.sources:
                    self._by_selector[selector] = ErrorSpec(
                        name, signature, selector, known.inputs, (*known.sources, source)
                    )

    def lookup(self, selector: bytes) -> ErrorSpec | None:
        """The error with this selector, or None.

        Args:
            selector: 4 bytes (longer data is cut to its first 4).
        """
        return self._by_selector.get(bytes(selector[:4]))

    def names(self) -> list[str]:
        """Every registered error name, sorted."""
        return sorted(self._names)

    def role_name(self, role: bytes) -> str | None:
        """``"MINTER_ROLE"`` for keccak("MINTER_ROLE") when some ABI has that constant.

        Args:
            role: a 32-byte role id.
        """
        return self._roles.get(bytes(role))

    def __contains__(self, name: object) -> bool:
        return name in self._names


def _is_role_constant(entry: Mapping[str, Any]) -> bool:
    outputs = entry.get("outputs") or []
    return (
        str(entry.get("name", "")).endswith("_ROLE")
        and not entry.get("inputs")
        and len(outputs) == 1
        and outputs[0].get("type") == "bytes32"
    )


@cache
def error_registry() -> ErrorRegistry:
    """The registry of every error in the ABIs shipped with the SDK (built once)."""
    from .artifacts import available_artifacts, load_artifact  # artifacts imports us

    registry = ErrorRegistry()
    for name in available_artifacts():
        registry.add_abi(load_artifact(name).abi, source=name)
    return registry


def register_abi(abi: Iterable[Mapping[str, Any]], *, source: str) -> None:
    """Teach the decoder the errors of a contract the SDK does not ship (a mock, a bridge).

    Args:
        abi: the contract's ABI.
        source: a name for it in messages.
    """
    error_registry().add_abi(abi, source)


_CLASSES: dict[str, type[ContractRevert]] = {
    RevertReason.error_name: RevertReason,
    Panic.error_name: Panic,
}
_CLASSES_LOCK = threading.Lock()


def error_class(name: str) -> type[ContractRevert]:
    """The exception class raised for the contract error `name` (the same class every time).

    Args:
        name: an error name from a shipped ABI, or ``"Error"`` / ``"Panic"``.

    Raises:
        UnknownErrorName: no shipped ABI defines `name` (the message suggests close names).
    """
    with _CLASSES_LOCK:
        cls = _CLASSES.get(name)
        if cls is not None:
            return cls
        registry = error_registry()
        if name not in registry:
            close = difflib.get_close_matches(name, registry.names(), n=3)
            suggestion = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownErrorName(
                f"no contract in this SDK defines an error named {name!r}{suggestion}"
            )
        cls = cast(
            "type[ContractRevert]",
            type(
                name,
                (ContractRevert,),
                {
                    "__module__": __name__,
                    "__qualname__": name,
                    "__doc__": f"The contract error {name}, decoded from revert data.",
                    "error_name": name,
                },
            ),
        )
        _CLASSES[name] = cls
        return cls


class _ContractErrors:
    """``contract_errors.ERC20InsufficientBalance`` is ``error_class("ERC20Insuff...")``."""

    def __getattr__(self, name: str) -> type[ContractRevert]:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return error_class(name)
        except UnknownErrorName as exc:
            raise AttributeError(str(exc)) from None

    def __dir__(self) -> list[str]:
        return [*error_registry().names(), "Error", "Panic"]


contract_errors: Final = _ContractErrors()


def decode_revert(data: bytes | str) -> ContractRevert:
    """Decode revert data into the matching `ContractRevert` subclass (never raises it).

    Args:
        data: the raw revert data, as bytes or 0x-hex.

    Returns:
        `RevertReason` for ``Error(string)``, `Panic` for ``Panic(uint256)``, the class of
        `error_class(name)` for a known custom error, else `UnknownRevert`.
    """
    raw = _to_bytes(data)
    if raw is None:
        raise ValueError(f"revert data must be bytes or 0x-hex, got {data!r}")
    if len(raw) < 4:
        what = "without data" if not raw else f"with {len(raw)} bytes of data 0x{raw.hex()}"
        return UnknownRevert(
            f"reverted {what}: a require() without a message, a failed call to a "
            "non-contract or missing function, or an out-of-gas subcall",
            data=raw,
            hint="replay the call with a tracer (e.g. cast run) to see where it stopped",
        )
    selector, payload = raw[:4], raw[4:]
    if selector == ERROR_STRING_SELECTOR:
        try:
            (reason,) = abi_decode(["string"], payload)
        except (DecodingError, ValueError, OverflowError):
            return _undecodable(raw, "Error(string)")
        return RevertReason(
            f"reverted with reason: {reason!r}",
            data=raw,
            name="Error",
            args_by_name={"reason": reason},
            signature="Error(string)",
            hint="the message comes from the contract's require/revert",
        )
    if selector == PANIC_SELECTOR:
        try:
            (code,) = abi_decode(["uint256"], payload)
        except (DecodingError, ValueError, OverflowError):
            return _undecodable(raw, "Panic(uint256)")
        meaning = PANIC_CODES.get(code, f"unknown panic code {code:#x}")
        hint = "panics are bugs or broken invariants in the contract: report it with the call"
        return Panic(
            f"panicked with code {code:#04x} ({meaning}): {hint}",
            data=raw,
            name="Panic",
            args_by_name={"code": code},
            signature="Panic(uint256)",
            hint=hint,
        )
    registry = error_registry()
    spec = registry.lookup(selector)
    if spec is None:
        hint = (
            "no ABI in this SDK defines it: update jouleledger, or register the contract's "
            "ABI with jouleledger.errors.register_abi()"
        )
        return UnknownRevert(
            f"reverted with unknown error selector 0x{selector.hex()} (data 0x{raw.hex()}): {hint}",
            data=raw,
            hint=hint,
        )
    try:
        values = abi_decode(spec.types, payload)
    except (DecodingError, ValueError, OverflowError):
        return _undecodable(raw, spec.signature)
    args = {
        str(inp.get("name") or f"arg{i}"): _named(inp, value)
        for i, (inp, value) in enumerate(zip(spec.inputs, values, strict=True))
    }
    shown = {key: _display(value, registry) for key, value in args.items()}
    hint = _hint(spec, shown)
    if spec.name in HINTS and hint != GENERIC_HINT.format(signature=spec.signature):
        headline = spec.name  # the hint names the values
    else:
        headline = f"{spec.name}({', '.join(f'{k}={v}' for k, v in shown.items())})"
    return error_class(spec.name)(
        f"reverted with {headline}: {hint}",
        data=raw,
        name=spec.name,
        args_by_name=args,
        signature=spec.signature,
        hint=hint,
    )


def revert_data_from_exception(exc: BaseException) -> bytes | None:
    """The revert data carried by an exception from web3.py, a node, or eth-tester.

    Looks through the exception, its ``__cause__`` and ``__context__``.

    Args:
        exc: what ``estimate_gas``, ``call`` or ``send_raw_transaction`` raised.

    Returns:
        The raw revert data (possibly empty), or None when `exc` is not a revert.
    """
    for err in _chain(exc):
        if isinstance(err, ContractRevert):
            return err.data
        if isinstance(err, ContractLogicError):
            found = _data_from_payload(err.data)
            if found is not None:
                return found
            reason = _reason_after(str(err.message or ""), "execution reverted:")
            return _error_string(reason) if reason else b""
        if isinstance(err, Web3RPCError) and isinstance(err.rpc_response, Mapping):
            found = _revert_from_rpc_error(err.rpc_response.get("error"))
            if found is not None:
                return found
        if isinstance(err, ValueError) and err.args and isinstance(err.args[0], Mapping):
            found = _revert_from_rpc_error(err.args[0])  # web3 < 7 style payloads
            if found is not None:
                return found
        if type(err).__name__ == "TransactionFailed" and type(err).__module__.startswith(
            "eth_tester"
        ):
            return _revert_from_eth_tester(err)
    return None


def revert_from_exception(exc: BaseException) -> ContractRevert | None:
    """`decode_revert` of `revert_data_from_exception`; None when `exc` is not a revert.

    Args:
        exc: what a contract call, gas estimate or send raised.
    """
    data = revert_data_from_exception(exc)
    return None if data is None else decode_revert(data)


# --- helpers --------------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _to_bytes(value: object) -> bytes | None:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            return None
    return None


def _data_from_payload(payload: object, depth: int = 0) -> bytes | None:
    """Hex revert data from an RPC ``error.data`` of any node's shape."""
    if depth > 4:
        return None
    direct = _to_bytes(payload)
    if direct is not None:
        return direct
    if isinstance(payload, Mapping):
        # ganache: {"result": "0x..", "reason": ..}; hardhat: {"data": "0x.."}; some
        # proxies nest the node's error: {"originalError": {"data": ..}}.
        for key in ("data", "result", "originalError", "error"):
            if key in payload:
                found = _data_from_payload(payload[key], depth + 1)
                if found is not None:
                    return found
    return None


def _revert_from_rpc_error(error: object) -> bytes | None:
    if not isinstance(error, Mapping):
        return None
    message = str(error.get("message", ""))
    found = _data_from_payload(error.get("data"))
    if found is not None and ("revert" in message.lower() or error.get("code") == 3):
        return found
    if "revert" not in message.lower():
        return None
    if found is not None:
        return found
    # ganache without data: "VM Exception while processing transaction: revert <reason>"
    reason = _reason_after(message, "revert ")
    return _error_string(reason) if reason else b""


def _revert_from_eth_tester(err: BaseException) -> bytes:
    first = err.args[0] if err.args else ""
    if isinstance(first, bytes | bytearray):
        return bytes(first)
    text = str(first)
    rest = text.split("execution reverted:", 1)[1].strip() if "execution reverted:" in text else ""
    if rest.startswith(("b'", 'b"')):
        try:
            literal = ast.literal_eval(rest)
        except (ValueError, SyntaxError):
            literal = None
        if isinstance(literal, bytes):
            return literal
    # eth-tester decoded Error(string) for us; encode it back so every chain decodes alike.
    return _error_string(rest) if rest else b""


def _reason_after(message: str, marker: str) -> str:
    index = message.find(marker)
    return message[index + len(marker) :].strip() if index >= 0 else ""


def _error_string(reason: str) -> bytes:
    return ERROR_STRING_SELECTOR + abi_encode(["string"], [reason])


def _named(inp: Mapping[str, Any], value: Any) -> Any:
    """Checksum addresses and give struct (tuple) arguments their component names."""
    components: Sequence[Mapping[str, Any]] | None = inp.get("components")
    kind = str(inp.get("type", ""))
    if kind.startswith("address"):
        return _checksummed(value)
    if not components:
        return value
    if kind == "tuple":
        return {
            str(c.get("name") or f"field{i}"): _named(c, v)
            for i, (c, v) in enumerate(zip(components, value, strict=True))
        }
    if kind.startswith("tuple["):
        inner = {**inp, "type": kind[: kind.rindex("[")]}
        return [_named(inner, item) for item in value]
    return value


def _checksummed(value: Any) -> Any:
    if isinstance(value, str):
        return to_checksum_address(value)
    if isinstance(value, list | tuple):
        return [_checksummed(item) for item in value]
    return value


def _display(value: Any, registry: ErrorRegistry) -> str:
    if isinstance(value, bytes):
        role = registry.role_name(value) if len(value) == 32 else None
        if role:
            return f"{role} (0x{value.hex()})"
        text = value.rstrip(b"\0")
        if len(value) == 32 and text and text.isascii() and text.decode().isidentifier():
            return text.decode()  # a bytes32 name such as a parameter's ("feeBps")
        return f"0x{value.hex()}"
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        try:
            return str(to_checksum_address(value))
        except ValueError:
            return repr(value)
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _hint(spec: ErrorSpec, shown: Mapping[str, str]) -> str:
    template = HINTS.get(spec.name)
    if template is not None:
        try:
            return template.format_map(shown)
        except (KeyError, IndexError, ValueError):
            pass  # another contract's error of the same name with other arguments
    return GENERIC_HINT.format(signature=spec.signature)


def _undecodable(raw: bytes, signature: str) -> UnknownRevert:
    hint = "the contract and the SDK disagree on this error's ABI: update jouleledger"
    return UnknownRevert(
        f"reverted with data that starts like {signature} but does not decode as one "
        f"(0x{raw.hex()}): {hint}",
        data=raw,
        hint=hint,
    )
