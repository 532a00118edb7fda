"""`JobRequest`: what a client posts, and its `postJob` argument tuple."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

from ..errors import JouleLedgerError
from ..priority import NANO  # the market stores job amounts in whole nano-CPT
from .core import ZERO_ADDRESS, class_id

DEFAULT_DEADLINE = 24 * 3600


class MisalignedAmount(JouleLedgerError, ValueError):
    """A job amount or price that is not a whole nano-CPT (1e9 wei)."""


def check_nano(name: str, value: int) -> None:
    """Refuse an amount the market cannot store.

    Args:
        name: what the amount is, for the message.
        value: the amount in wei.

    Raises:
        MisalignedAmount: negative, or not a whole nano-CPT.
    """
    if value < 0 or value % NANO:
        raise MisalignedAmount(
            f"{name} must be a whole nano-CPT (at most 9 decimals of CPT), got {value} wei"
        )


@dataclass(frozen=True)
class JobRequest:
    """What a client posts. Amounts in wei, each a whole nano-CPT (9 decimals of CPT).

    Attributes:
        gpu_class: a class name ("nvidia-h100") or its 4-byte id.
        price_per_gpu_second: the most it pays per GPU-second.
        max_payment: cap on the usage payment (escrowed).
        bid: priority bid (escrowed, paid to whoever runs the job).
        deadline: unix time by which the job must be settled (default: a day from now).
        spec_hash: keccak256 of the job spec the provider will run
            (`jouleledger.eip712.spec_hash`).
        provider: a designated provider, or None for any eligible one.
    """

    gpu_class: str | bytes
    price_per_gpu_second: int
    max_payment: int
    bid: int = 0
    deadline: int | None = None
    spec_hash: bytes = b"\0" * 32
    provider: str | None = None

    @property
    def class_id(self) -> bytes:
        """The 4-byte id of `gpu_class`."""
        return class_id(self.gpu_class)

    @property
    def escrow(self) -> int:
        """What posting escrows: `max_payment + bid`."""
        return self.max_payment + self.bid

    def as_args(self, now: int | None = None) -> tuple[Any, ...]:
        """The market's `JobRequest` struct tuple, for `postJob`.

        Args:
            now: the chain's time, from which the default deadline counts (needed only
                when `deadline` is None).

        Raises:
            MisalignedAmount: an amount that is not a whole nano-CPT.
            ValueError: no `deadline` and no `now`.
        """
        for name in ("price_per_gpu_second", "max_payment", "bid"):
            check_nano(name, getattr(self, name))
        if self.deadline is not None:
            deadline = self.deadline
        elif now is None:
            raise ValueError("a request without a deadline needs the chain's time")
        else:
            deadline = now + DEFAULT_DEADLINE
        provider = Web3.to_checksum_address(self.provider) if self.provider else ZERO_ADDRESS
        return (
            self.spec_hash,
            self.class_id,
            self.price_per_gpu_second,
            self.max_payment,
            self.bid,
            deadline,
            provider,
        )
