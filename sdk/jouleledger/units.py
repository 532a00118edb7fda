"""Token amounts: whole-token decimals for people, integer base units (wei) for the chain."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .errors import JouleLedgerError

DECIMALS = 18


class InvalidAmount(JouleLedgerError, ValueError):
    """An amount that is not a non-negative number with at most 18 decimals."""


def parse_amount(text: str | int | Decimal, decimals: int = DECIMALS) -> int:
    """Turn ``"1.5"`` (token units) into base units, refusing anything it would have to round.

    Raises:
        InvalidAmount: not a number, negative, or more decimals than the token has.
    """
    try:
        value = Decimal(str(text).strip().replace("_", ""))
    except InvalidOperation:
        raise InvalidAmount(f"{text!r} is not a number; write e.g. 1.5") from None
    if not value.is_finite():
        raise InvalidAmount(f"{text!r} is not a finite number")
    if value < 0:
        raise InvalidAmount(f"amount must not be negative, got {text}")
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(f"{text} has more than {decimals} decimals; it would be rounded")
    return int(scaled)


def format_amount(base_units: int, decimals: int = DECIMALS) -> str:
    """Base units to a plain decimal string without trailing zeros (``1500...0`` -> ``"1.5"``)."""
    text = format(Decimal(base_units).scaleb(-decimals), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
