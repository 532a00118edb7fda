"""The SDK's client: `JouleLedger` (a facade over token, staking, market, dispute, holdings
and history parts) and `JobRequest`, what a client posts."""

from ..priority import NANO
from .core import ZERO_ADDRESS, NoAccount, class_id
from .events import MissingEvent, receipt_event, receipt_events
from .ledger import JouleLedger
from .reads import UnknownJob
from .request import DEFAULT_DEADLINE, JobRequest, MisalignedAmount
from .token import TOKEN_NAME

__all__ = [
    "DEFAULT_DEADLINE",
    "NANO",
    "TOKEN_NAME",
    "ZERO_ADDRESS",
    "JobRequest",
    "JouleLedger",
    "MisalignedAmount",
    "MissingEvent",
    "NoAccount",
    "UnknownJob",
    "class_id",
    "receipt_event",
    "receipt_events",
]
