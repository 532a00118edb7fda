"""Parsing what people type: token amounts, addresses, hashes.

Amounts are CPT with decimals (``1.5``), never rounded: more decimals than the token has
(18), or than the market keeps for job amounts (9, whole nano-CPT), is an error, as are
negative numbers and, where it means nothing, zero.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

import typer
from eth_typing import ChecksumAddress
from web3 import Web3

from ..client import NANO
from ..units import InvalidAmount, parse_amount
from .errors import CliError

#: Context settings for commands with an AMOUNT argument: "-1" is taken as the amount (and
#: refused as negative with a clear message) instead of as an unknown option.
AMOUNT_CONTEXT: Final[dict[str, Any]] = {"ignore_unknown_options": True}

#: An optional ADDRESS argument: an address, a keystore name or dev:N (default: --account).
Who = Annotated[
    str | None,
    typer.Argument(
        metavar="ADDRESS",
        help="Address, keystore name or dev:N (default: --account).",
        show_default=False,
    ),
]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH = re.compile(r"^(0[xX])?[0-9a-fA-F]{64}$")


def amount(text: str, *, what: str = "amount", allow_zero: bool = False, job: bool = False) -> int:
    """CPT text to wei.

    Args:
        text: e.g. ``"1.5"`` or ``"1_000"``.
        what: the name used in messages (``"--max-payment"``).
        allow_zero: whether 0 is meaningful here.
        job: a market amount, which must be a whole nano-CPT (at most 9 decimals).

    Raises:
        InvalidAmount: not a number, negative, zero where meaningless, or too precise.
    """
    if text.strip().startswith("-"):
        raise InvalidAmount(f"{what} must not be negative, got {text}")
    try:
        wei = parse_amount(text)
    except InvalidAmount as exc:
        raise InvalidAmount(f"{what}: {exc}") from None
    if wei == 0 and not allow_zero:
        raise InvalidAmount(f"{what} must be more than 0, got {text}")
    if job and wei % NANO:
        raise InvalidAmount(
            f"{what}: {text} has more than 9 decimals; the market works in whole nano-CPT"
        )
    return wei


def address(text: str, *, what: str = "address") -> ChecksumAddress:
    """A 0x-address, checksummed; mixed-case input must carry a valid checksum.

    Raises:
        CliError: not an address (exit code 2).
    """
    cleaned = text.strip()
    if not _ADDRESS.match(cleaned):
        raise CliError(f"{what}: {text!r} is not an address (0x followed by 40 hex digits)")
    lower, upper = cleaned[2:].lower(), cleaned[2:].upper()
    if cleaned[2:] not in (lower, upper) and not Web3.is_checksum_address(cleaned):
        raise CliError(f"{what}: {text} has a wrong checksum (a typo?); check the address")
    return Web3.to_checksum_address(cleaned)


def bytes32(text: str, *, what: str) -> bytes:
    """A 32-byte hex value (``0x`` optional).

    Raises:
        CliError: not 64 hex digits (exit code 2).
    """
    cleaned = text.strip()
    if not _HASH.match(cleaned):
        raise CliError(f"{what}: {text!r} is not a 32-byte hash (64 hex digits)")
    return bytes.fromhex(cleaned[-64:])


def private_key(text: str) -> bytes:
    """A secp256k1 private key in hex (``0x`` optional).

    Raises:
        CliError: not 64 hex digits (the key itself is never echoed).
    """
    cleaned = text.strip()
    if not _HASH.match(cleaned):
        raise CliError("that is not a private key: expected 64 hex digits (0x optional)")
    return bytes.fromhex(cleaned[-64:])


def hex_bytes(text: str, *, what: str) -> bytes:
    """0x-prefixed (or bare) hex as bytes.

    Raises:
        CliError: not hex (exit code 2).
    """
    cleaned = text.strip().removeprefix("0x").removeprefix("0X")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise CliError(f"{what}: {text!r} is not hex (0x followed by hex digits)") from None
