"""Column types and the stored forms of chain values, decided once for both databases.

- `Uint256`: exact unsigned 256-bit integers. PostgreSQL keeps them as ``NUMERIC(78, 0)``;
  SQLite has no such type (its INTEGER stops at 2**63 and REAL rounds), so they are stored
  as 78-digit zero-padded text, which still compares and sorts in numeric order.
- Addresses are stored as lowercase 0x-hex (`address_key`), hashes and ids as lowercase hex.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Dialect, String
from sqlalchemy.dialects.postgresql import NUMERIC
from sqlalchemy.types import TypeDecorator, TypeEngine

from .errors import IndexerError

UINT256_DIGITS = 78  # len(str(2**256 - 1))
MAX_UINT256 = 2**256 - 1
MAX_INT64 = 2**63 - 1


class Uint256(TypeDecorator[int]):
    """An unsigned 256-bit integer, exact on every database; Python `int` in and out."""

    impl = String(UINT256_DIGITS)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """``NUMERIC(78, 0)`` on PostgreSQL, zero-padded text elsewhere.

        Args:
            dialect: the database's dialect.
        """
        if dialect.name == "postgresql":
            return dialect.type_descriptor(NUMERIC(UINT256_DIGITS, 0))
        return dialect.type_descriptor(String(UINT256_DIGITS))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """The stored form of `value`.

        Args:
            value: an int in 0 .. 2**256 - 1, or None.
            dialect: the database's dialect.

        Raises:
            IndexerError: the value is negative or too large.
        """
        if value is None:
            return None
        number = int(value)
        if not 0 <= number <= MAX_UINT256:
            raise IndexerError(f"{number} is not a uint256 (0 .. 2**256 - 1)")
        if dialect.name == "postgresql":
            return Decimal(number)
        return f"{number:0{UINT256_DIGITS}d}"

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        """The stored value as an int.

        Args:
            value: what the database returned.
            dialect: the database's dialect.
        """
        return None if value is None else int(value)


def address_key(address: str | bytes) -> str:
    """The stored form of an address: lowercase 0x-hex, 42 characters.

    Args:
        address: a hex address (any case, with or without 0x) or 20 raw bytes.

    Raises:
        ValueError: not 20 bytes of hex.
    """
    if isinstance(address, bytes):
        if len(address) != 20:
            raise ValueError(f"an address has 20 bytes, not {len(address)}")
        return "0x" + address.hex()
    text = address.strip().lower()
    body = text[2:] if text.startswith("0x") else text
    if len(body) != 40 or any(c not in "0123456789abcdef" for c in body):
        raise ValueError(f"{address!r} is not an address: expected 0x and 40 hex digits")
    return "0x" + body


def clamp_int64(value: int) -> int:
    """`value` capped at the largest signed 64-bit integer (for SQL-summable counters).

    Args:
        value: a non-negative counter from a record (uint64 on chain).
    """
    return value if value <= MAX_INT64 else MAX_INT64
