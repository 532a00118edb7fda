"""What a node's refusal of a transaction means, read from its message.

Nodes word their refusals differently (geth, anvil, ganache, hardhat, eth-tester); the
markers below cover the ones seen, grouped by what the sender can do about them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

_FUNDS = ("insufficient funds", "cannot afford", "not have enough balance")
_NONCE = ("nonce", "already known", "already imported", "known transaction", "replacement")
_FEE = (
    "base fee",
    "basefee",
    "underpriced",
    "fee cap",
    "feecap",
    "gas price too low",
    "fee too low",
)


class Refusal(enum.Enum):
    """Why a node refused a transaction."""

    NONCE = "nonce"  # too low, already known, replacement underpriced
    FEE = "fee"  # below the base fee, underpriced
    FUNDS = "funds"
    OTHER = "other"


def classify(message: str) -> Refusal:
    """The kind of refusal a node's error message describes.

    Args:
        message: the node's error message.
    """
    text = message.lower()
    if any(marker in text for marker in _FUNDS):
        return Refusal.FUNDS
    if any(marker in text for marker in _NONCE):
        return Refusal.NONCE
    if any(marker in text for marker in _FEE):
        return Refusal.FEE
    return Refusal.OTHER


def may_be_ours(message: str) -> bool:
    """Whether the refusal could be a node's answer to a transaction it already has.

    "nonce too low", "already known" and "replacement underpriced" come back when the same
    signed bytes reached the node before; the caller then checks the hash.

    Args:
        message: the node's error message.
    """
    return classify(message) in (Refusal.NONCE, Refusal.FEE)


def error_text(error: Any) -> str:
    """The message of a JSON-RPC error object (or its text when it has none).

    Args:
        error: the ``error`` member of a JSON-RPC response.
    """
    if isinstance(error, Mapping):
        return str(error.get("message", error))
    return str(error)


def fee_retry_point(answers: Sequence[str | None]) -> int | None:
    """Where a batch started failing for fees only (every answer from there on), if it did.

    Args:
        answers: per transaction of a batch, None when accepted, else the node's message.
    """
    for position, answer in enumerate(answers):
        if answer is not None and classify(answer) is Refusal.FEE:
            rest = answers[position:]
            if all(a is not None and classify(a) is Refusal.FEE for a in rest):
                return position
            return None
    return None
