"""A fast ABI encoder for the shapes the market's batch calls take.

eth-abi encodes a `postJobs` call of 256 requests in about 40 ms, most of it in generic
per-value dispatch; the batch paths encode one such call per 256 jobs. `compile_types`
turns a signature's types into plain functions once, for the types these calls use:
unsigned integers, `bytesN`, `address`, `bool`, `bytes`, static tuples of those, and
dynamic arrays of any of them (`T[]`). Values are range-checked as eth-abi checks them
(and raise its `EncodingError`); any other type makes `compile_types` return None, and the
caller uses eth-abi. A test compares the bytes with eth-abi's on random values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from eth_abi.exceptions import EncodingError

Encoder = Callable[[Any], bytes]


class _Type:
    """One compiled ABI type: whether it is static, and how to encode a value."""

    __slots__ = ("encode", "static")

    def __init__(self, static: bool, encode: Encoder) -> None:
        self.static = static
        self.encode = encode


_UINT = re.compile(r"uint(\d+)$")
_BYTES_N = re.compile(r"bytes(\d+)$")


def compile_types(types: Sequence[str]) -> Callable[[Sequence[Any]], bytes] | None:
    """An encoder of argument lists of `types` (as ``abi.encode``), or None when a type is
    outside what this module handles.

    Args:
        types: canonical ABI types, e.g. ``["(bytes32,bytes4,uint256)[]", "uint256"]``.
    """
    compiled = [_compile(t) for t in types]
    if any(c is None for c in compiled):
        return None
    encode = _tuple_encoder([c for c in compiled if c is not None])
    return lambda args: encode(tuple(args))


def _compile(kind: str) -> _Type | None:
    if kind.endswith("[]"):
        inner = _compile(kind[:-2])
        return None if inner is None else _Type(False, _array_encoder(inner))
    if kind.startswith("(") and kind.endswith(")"):
        parts = [_compile(p) for p in _split(kind[1:-1])]
        if any(p is None or not p.static for p in parts):
            return None  # dynamic tuples are left to eth-abi
        return _Type(True, _tuple_encoder([p for p in parts if p is not None]))
    if kind == "bytes":
        return _Type(False, _encode_bytes)
    if kind == "address":
        return _Type(True, _encode_address)
    if kind == "bool":
        return _Type(True, _encode_bool)
    match = _UINT.match(kind)
    if match:
        return _Type(True, _uint_encoder(int(match.group(1))))
    match = _BYTES_N.match(kind)
    if match:
        return _Type(True, _bytes_n_encoder(int(match.group(1))))
    return None


def _split(inner: str) -> list[str]:
    """The top-level comma-separated parts of a tuple's type list."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(inner):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return parts


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _uint_encoder(bits: int) -> Encoder:
    limit = 1 << bits

    def encode(value: Any) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int):
            raise EncodingError(f"uint{bits} needs an int, got {value!r}")
        if not 0 <= value < limit:
            raise EncodingError(f"{value} does not fit in uint{bits}")
        return value.to_bytes(32, "big")

    return encode


def _bytes_n_encoder(size: int) -> Encoder:
    def encode(value: Any) -> bytes:
        if not isinstance(value, bytes | bytearray) or len(value) > size:
            raise EncodingError(f"bytes{size} needs at most {size} bytes, got {value!r}")
        return bytes(value).ljust(32, b"\0")

    return encode


def _encode_address(value: Any) -> bytes:
    if isinstance(value, str) and len(value) == 42 and value[:2] in ("0x", "0X"):
        try:
            return bytes.fromhex(value[2:]).rjust(32, b"\0")
        except ValueError:
            pass
    elif isinstance(value, bytes | bytearray) and len(value) == 20:
        return bytes(value).rjust(32, b"\0")
    raise EncodingError(f"not an address: {value!r}")


def _encode_bool(value: Any) -> bytes:
    if not isinstance(value, bool):
        raise EncodingError(f"bool needs True or False, got {value!r}")
    return _word(int(value))


def _encode_bytes(value: Any) -> bytes:
    if not isinstance(value, bytes | bytearray):
        raise EncodingError(f"bytes needs bytes, got {value!r}")
    data = bytes(value)
    padding = -len(data) % 32
    return _word(len(data)) + data + b"\0" * padding


def _tuple_encoder(parts: Sequence[_Type]) -> Encoder:
    """Head/tail encoding of a tuple (or an argument list) of `parts`."""
    encoders = [p.encode for p in parts]
    statics = [p.static for p in parts]
    count = len(parts)

    def encode_static(value: Any) -> bytes:
        if len(value) != count:
            raise EncodingError(f"expected {count} values, got {len(value)}")
        return b"".join(e(v) for e, v in zip(encoders, value, strict=True))

    def encode_mixed(value: Any) -> bytes:
        if len(value) != count:
            raise EncodingError(f"expected {count} values, got {len(value)}")
        encoded = [e(v) for e, v in zip(encoders, value, strict=True)]
        offset = sum(len(x) if static else 32 for x, static in zip(encoded, statics, strict=True))
        heads, tails = [], []
        for x, static in zip(encoded, statics, strict=True):
            if static:
                heads.append(x)
            else:
                heads.append(_word(offset))
                tails.append(x)
                offset += len(x)
        return b"".join(heads) + b"".join(tails)

    return encode_static if all(statics) else encode_mixed


def _array_encoder(inner: _Type) -> Encoder:
    """A dynamic array `T[]`: its length, then its items as a tuple of that many `T`."""

    def encode(value: Any) -> bytes:
        if not isinstance(value, list | tuple):
            raise EncodingError(f"an array needs a list, got {type(value).__name__}")
        items = list(value)
        if inner.static:
            return _word(len(items)) + b"".join(inner.encode(item) for item in items)
        encoded = [inner.encode(item) for item in items]
        heads, offset = [], 32 * len(items)
        for item in encoded:
            heads.append(_word(offset))
            offset += len(item)
        return _word(len(items)) + b"".join(heads) + b"".join(encoded)

    return encode
