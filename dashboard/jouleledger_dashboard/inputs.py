"""Parsing what a request names (an address, a job id, a transaction hash, a time) into
checked values, or a `BadInput` that says what was wrong and what a good value looks like.

Everything a visitor types is untrusted; nothing reaches a query unparsed, so a SQL-looking
string is just a malformed address here, and a number too big for a uint256 is refused
before it reaches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from eth_utils.address import to_checksum_address

from .errors import BadInput

UINT256_MAX = 2**256 - 1
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_DIGITS = re.compile(r"^[0-9]{1,80}$")
_SHOWN = 48  # characters of a bad value echoed back (escaped by the templates)


def _shown(value: str) -> str:
    return value if len(value) <= _SHOWN else value[:_SHOWN] + "..."


def _matched(value: str, pattern: re.Pattern[str], what: str) -> str:
    """`value` stripped, or BadInput saying it is not `what` (which names the form)."""
    text = value.strip()
    if not pattern.match(text):
        raise BadInput(f"{_shown(text)!r} is not {what}")
    return text


@lru_cache(maxsize=4096)  # a page parses its address twice; the checksum is a keccak
def address(value: str) -> str:
    """A 0x-address, checksummed.

    Args:
        value: what the visitor gave.

    Raises:
        BadInput: not 0x followed by 40 hex digits.
    """
    example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    what = f"an address: expected 0x followed by 40 hex digits, e.g. {example}"
    return str(to_checksum_address(_matched(value, _ADDRESS, what)))


def job_id(value: str | int) -> int:
    """A job id: a whole number from 1 to 2**256 - 1.

    Args:
        value: what the visitor gave.

    Raises:
        BadInput: not a whole number, 0, or too big for a uint256.
    """
    text = str(value).strip()
    if not _DIGITS.match(text):
        raise BadInput(f"{_shown(text)!r} is not a job id: expected a whole number such as 7")
    number = int(text)
    if number < 1 or number > UINT256_MAX:
        raise BadInput(f"job id {_shown(text)} is out of range: job ids run from 1 up")
    return number


def tx_hash(value: str) -> str:
    """A transaction hash in lower-case 0x-hex.

    Args:
        value: what the visitor gave.

    Raises:
        BadInput: not 0x followed by 64 hex digits.
    """
    what = "a transaction hash: expected 0x + 64 hex digits"
    return _matched(value, _HASH, what).lower()


def timestamp(value: str | None, what: str) -> int | None:
    """A time filter: unix seconds or an ISO date/time (UTC unless it says otherwise).

    Args:
        value: what the visitor gave; empty or None means no filter.
        what: the parameter's name, for the message.

    Raises:
        BadInput: neither form, or out of range.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DIGITS.match(text):
        number = int(text)
        if number > 2**40:
            raise BadInput(f"{what}={_shown(text)} is too far in the future (unix seconds)")
        return number
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"{what}={_shown(text)!r} is not a time: use unix seconds or a date such as "
            "2026-12-07 or 2026-12-07T16:00"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


SearchKind = Literal["account", "job", "tx"]


@dataclass(frozen=True)
class SearchTarget:
    """What a search box entry names."""

    kind: SearchKind
    value: str


def search(query: str) -> SearchTarget:
    """Tell an address, a job id and a transaction hash apart.

    Args:
        query: the search box's text.

    Raises:
        BadInput: none of the three.
    """
    text = query.strip().removeprefix("#")
    if _ADDRESS.match(text):
        return SearchTarget("account", address(text))
    if _HASH.match(text):
        return SearchTarget("tx", tx_hash(text))
    if _DIGITS.match(text):
        return SearchTarget("job", str(job_id(text)))
    raise BadInput(
        f"nothing to look up for {_shown(text)!r}: search for an address (0x + 40 hex digits), "
        "a job id (a number) or a transaction hash (0x + 64 hex digits)"
    )
