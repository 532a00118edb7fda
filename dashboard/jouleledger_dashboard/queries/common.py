"""Conversions every query shares: class names, states, amounts, meters, efficiency."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from eth_utils.address import to_checksum_address

from jouleledger.efficiency import tokens_per_joule
from jouleledger.eip712.records import MeterKind
from jouleledger.gpu import gpu_class_name
from jouleledger.types import JobState
from jouleledger.units import format_amount

SQL_INT_MAX = 2**63 - 1  # the largest id a database integer column can hold
TPJ_DIGITS = 3


def class_name(stored: str | None) -> str:
    """A GPU class's catalogue name from its stored ``0x1234abcd`` form (hex if unknown).

    Args:
        stored: the indexer's 10-character hex, or None.
    """
    if not stored:
        return "-"
    try:
        return gpu_class_name(bytes.fromhex(stored.removeprefix("0x")))
    except ValueError:
        return stored


def state_name(state: int) -> str:
    """A job state's lower-case name (``open``, ``settled``, ...).

    Args:
        state: a `JobState` value.
    """
    try:
        return JobState(state).name.lower()
    except ValueError:
        return f"state-{state}"


def meter_name(kind: int | None) -> str:
    """A meter kind's label (``simulated``, ``nvml``).

    Args:
        kind: a `MeterKind` value, or None when unknown.
    """
    if kind is None:
        return "unknown"
    try:
        return MeterKind(kind).label
    except ValueError:
        return f"meter-{kind}"


def cpt(wei: int | None) -> str:
    """Wei as an exact CPT decimal string (None as ``"0"``).

    Args:
        wei: an amount in base units.
    """
    return format_amount(int(wei or 0))


def cpt_sum(amounts: Iterable[int | None]) -> int:
    """The sum of amounts that may be missing (None counts as 0).

    Args:
        amounts: wei amounts.
    """
    return sum(int(a or 0) for a in amounts)


def tpj(ai_tokens: int | None, energy_mj: int | None) -> float:
    """Tokens per joule, rounded for display (the SDK's formula).

    Args:
        ai_tokens: AI tokens produced.
        energy_mj: energy in millijoules.
    """
    return round(tokens_per_joule(int(ai_tokens or 0), int(energy_mj or 0)), TPJ_DIGITS)


def joules(energy_mj: int | None) -> float:
    """Millijoules as joules, rounded to the millijoule.

    Args:
        energy_mj: energy in millijoules.
    """
    return round(int(energy_mj or 0) / 1000, 3)


def hex_or_dash(value: str | bytes | None) -> str:
    """A stored hash as 0x-hex (``-`` when missing).

    Args:
        value: hex text or bytes.
    """
    if value is None:
        return "-"
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


@lru_cache(maxsize=65_536)  # a history page shows the same few counterparties many times
def checksum(stored: str | None) -> str | None:
    """A stored lower-case address in checksum form (None stays None).

    Args:
        stored: 0x-hex as the index holds it.
    """
    return None if not stored else str(to_checksum_address(stored))
