"""Hints: each custom error's NatSpec notice, filled with the error's decoded arguments.

The notices are written once, above each ``error`` in ``contracts/interfaces/`` (and, for
OpenZeppelin's errors, in ``IOpenZeppelinErrors.sol``), and shipped in the artifacts'
userdoc. A notice names the error's parameters in braces, optionally with a unit:

- ``{provider}``: the value as is (addresses checksummed, role ids named, ``bytes32``
  names as text);
- ``{stake:cpt}``: a token amount in wei;
- ``{readyAt:time}``: a unix time;
- ``{state:state}``: a job state.

The SDK renders units plainly (`SDK_UNITS`); the CLI passes its own (CPT, UTC), so both show
the same sentence.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from eth_utils.address import to_checksum_address

from ..types import JobState

#: How a unit renders a value.
Unit = Callable[[Any], str]


class RoleNames(Protocol):
    """What rendering needs from the registry: a role id's name."""

    def role_name(self, role: bytes) -> str | None:
        """``"MINTER_ROLE"`` for keccak("MINTER_ROLE"), when known.

        Args:
            role: a 32-byte role id.
        """


def job_state(value: Any) -> str:
    """A job state as a word: ``1`` -> ``"open"``.

    Args:
        value: the state's number.
    """
    try:
        state = JobState(int(value))
    except ValueError:
        return f"in unknown state {value}"
    if state is JobState.NONE:
        return "not on this market (no such job)"
    return state.name.lower()


SDK_UNITS: Final[Mapping[str, Unit]] = {
    "cpt": lambda value: f"{value} token base units",
    "time": str,
    "state": job_state,
}

GENERIC_HINT: Final = "see the NatSpec of {signature} in contracts/interfaces for when it is raised"


def placeholders(template: str) -> list[tuple[str, str]]:
    """The ``(name, unit)`` pairs a hint template uses (unit ``""`` when none).

    Args:
        template: a NatSpec notice.

    Raises:
        ValueError: the braces do not pair up.
    """
    return [
        (name, spec or "")
        for _, name, spec, _ in string.Formatter().parse(template)
        if name is not None
    ]


def format_hint(
    template: str,
    args: Mapping[str, Any],
    roles: RoleNames,
    units: Mapping[str, Unit] = SDK_UNITS,
) -> str | None:
    """`template` with its placeholders replaced by `args`; None when they do not fit.

    Args:
        template: the error's NatSpec notice.
        args: the decoded arguments by name.
        roles: names role ids (the error registry).
        units: how each unit renders.

    Returns:
        The hint, or None when the template names an argument the error lacks or a unit
        `units` does not know (another contract's error of the same name, say).
    """
    values = {key: _Arg(value, display(value, roles), units) for key, value in args.items()}
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError, TypeError, OverflowError):
        return None


class _Arg:
    """One argument; ``format(arg, unit)`` renders it in that unit."""

    __slots__ = ("shown", "units", "value")

    def __init__(self, value: Any, shown: str, units: Mapping[str, Unit]) -> None:
        self.value = value
        self.shown = shown
        self.units = units

    def __format__(self, spec: str) -> str:
        if not spec:
            return self.shown
        unit = self.units.get(spec)
        if unit is None:
            raise ValueError(f"unknown unit {spec!r} in a hint")
        return unit(self.value)


def display(value: Any, roles: RoleNames) -> str:
    """A decoded argument as text: role ids named, ``bytes32`` names as text, addresses
    checksummed, strings quoted.

    Args:
        value: a decoded (and `named`) argument.
        roles: names role ids (the error registry).
    """
    if isinstance(value, bytes):
        role = roles.role_name(value) if len(value) == 32 else None
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
