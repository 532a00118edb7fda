"""Revert data -> a typed `ContractRevert`, and one exception class per custom error name.

As ape builds a ``CustomError`` subclass per ABI error, `error_class` makes one
`ContractRevert` subclass per error name, created once, so a caller can write::

    try:
        sender.send(token.functions.transfer(to, amount))
    except error_class("ERC20InsufficientBalance") as exc:
        print(exc.args_by_name["balance"], exc.hint)

``contract_errors.ERC20InsufficientBalance`` is the same class, looked up by attribute.
``Error(string)`` decodes to `RevertReason`, ``Panic(uint256)`` to `Panic`, and anything the
SDK's ABIs do not define to `UnknownRevert`.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address

from ..errors import (
    PANIC_CODES,
    ContractRevert,
    Panic,
    RevertReason,
    UnknownErrorName,
    UnknownRevert,
)
from .hints import GENERIC_HINT, SDK_UNITS, Unit, display, format_hint
from .registry import error_registry

ERROR_STRING_SELECTOR: Final = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR: Final = bytes.fromhex("4e487b71")  # Panic(uint256)
#: The market's wrapper of a batch element's error: ``MarketBatchItemInvalid(index, reason)``.
BATCH_ITEM_ERROR: Final = "MarketBatchItemInvalid"
_DECODE_ERRORS: Final = (DecodingError, ValueError, OverflowError)

_CLASSES: dict[str, type[ContractRevert]] = {
    RevertReason.error_name: RevertReason,
    Panic.error_name: Panic,
}
_CLASSES_LOCK = threading.Lock()


def _reduce(self: ContractRevert) -> tuple[Any, ...]:
    # Generated classes live in a registry, not in a module: rebuild from the data.
    return (decode_revert, (self.data,))


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
        namespace = {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"The contract error {name}, decoded from revert data.",
            "__reduce__": _reduce,
            "error_name": name,
        }
        cls = cast("type[ContractRevert]", type(name, (ContractRevert,), namespace))
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

    Raises:
        ValueError: `data` is neither bytes nor 0x-hex.
    """
    raw = to_bytes(data)
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
    if raw[:4] == ERROR_STRING_SELECTOR:
        return _standard(raw, RevertReason, "string")
    if raw[:4] == PANIC_SELECTOR:
        return _standard(raw, Panic, "uint256")
    return _custom_error(raw)


def revert_hint(revert: ContractRevert, units: Mapping[str, Unit] = SDK_UNITS) -> str | None:
    """The hint of a decoded custom error, its values rendered in `units`.

    The CLI calls it with CPT and UTC units, so it shows the same sentence as the SDK.

    Args:
        revert: a decoded revert.
        units: how amounts, times and states render (`jouleledger.abi.hints`).

    Returns:
        The hint, or None when `revert` is no custom error with a documented hint.
    """
    spec = error_registry().lookup(revert.selector) if revert.selector else None
    if spec is None or not spec.hint or spec.name != revert.name:
        return None
    return format_hint(spec.hint, revert.args_by_name, error_registry(), units)


def to_bytes(value: object) -> bytes | None:
    """`value` as bytes when it is bytes-like or 0x-hex, else None.

    Args:
        value: anything a node may put where revert data goes.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str) and value.startswith(("0x", "0X")):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            return None
    return None


def _standard(raw: bytes, cls: type[RevertReason | Panic], abi_type: str) -> ContractRevert:
    """``Error(string)`` or ``Panic(uint256)``: one argument, a fixed class."""
    signature = f"{cls.error_name}({abi_type})"
    value = _single(raw, abi_type)
    if value is None:
        return _undecodable(raw, signature)
    if cls is Panic:
        meaning = PANIC_CODES.get(value, f"unknown panic code {value:#x}")
        hint = "panics are bugs or broken invariants in the contract: report it with the call"
        message, arg = f"panicked with code {value:#04x} ({meaning}): {hint}", "code"
    else:
        hint = "the message comes from the contract's require/revert"
        message, arg = f"reverted with reason: {value!r}", "reason"
    return cls(
        message,
        data=raw,
        name=cls.error_name,
        args_by_name={arg: value},
        signature=signature,
        hint=hint,
    )


def _single(raw: bytes, abi_type: str) -> Any:
    """The one argument of type `abi_type` after the selector, or None when it does not decode."""
    try:
        (value,) = abi_decode([abi_type], raw[4:])
    except _DECODE_ERRORS:
        return None
    return value


def _custom_error(raw: bytes) -> ContractRevert:
    registry = error_registry()
    selector = raw[:4]
    spec = registry.lookup(selector)
    if spec is None:
        hint = (
            "no ABI in this SDK defines it: update jouleledger, or register the contract's "
            "ABI with jouleledger.abi.register_abi()"
        )
        return UnknownRevert(
            f"reverted with unknown error selector 0x{selector.hex()} (data 0x{raw.hex()}): {hint}",
            data=raw,
            hint=hint,
        )
    try:
        values = abi_decode(spec.types, raw[4:])
    except _DECODE_ERRORS:
        return _undecodable(raw, spec.signature)
    args = {
        str(inp.get("name") or f"arg{i}"): _named(inp, value)
        for i, (inp, value) in enumerate(zip(spec.inputs, values, strict=True))
    }
    if spec.name == BATCH_ITEM_ERROR:
        return _batch_item(raw, spec.signature, args)
    filled = format_hint(spec.hint, args, registry) if spec.hint else None
    if filled is not None:
        hint, headline = filled, spec.name  # the hint names the values
    else:
        hint = GENERIC_HINT.format(signature=spec.signature)
        shown = ", ".join(f"{key}={display(value, registry)}" for key, value in args.items())
        headline = f"{spec.name}({shown})"
    return error_class(spec.name)(
        f"reverted with {headline}: {hint}",
        data=raw,
        name=spec.name,
        args_by_name=args,
        signature=spec.signature,
        hint=hint,
    )


def _batch_item(raw: bytes, signature: str, args: dict[str, Any]) -> ContractRevert:
    """``MarketBatchItemInvalid(index, reason)``: the element's own error, decoded, with
    the element's index in front."""
    inner = decode_revert(bytes(args["reason"]))
    index = int(args["index"])
    hint = f"fix element {index} (counting from 0) and send the batch again: {inner.hint}"
    error = error_class(BATCH_ITEM_ERROR)(
        f"reverted with {BATCH_ITEM_ERROR}: element {index} of the batch was refused, so "
        f"none of it took effect: {inner}",
        data=raw,
        name=BATCH_ITEM_ERROR,
        args_by_name=args,
        signature=signature,
        hint=hint,
    )
    error.inner = inner
    return error


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


def _undecodable(raw: bytes, signature: str) -> UnknownRevert:
    hint = "the contract and the SDK disagree on this error's ABI: update jouleledger"
    return UnknownRevert(
        f"reverted with data that starts like {signature} but does not decode as one "
        f"(0x{raw.hex()}): {hint}",
        data=raw,
        hint=hint,
    )
