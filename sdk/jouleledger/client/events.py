"""Decoding a contract's events from a receipt: the one helper the SDK, CLI and node use."""

from __future__ import annotations

from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from ..errors import JouleLedgerError


class MissingEvent(JouleLedgerError, LookupError):
    """A mined transaction did not emit the event its function always emits."""


def receipt_events(contract: Contract, receipt: TxReceipt, name: str) -> list[EventData]:
    """Every event `name` that `contract` emitted in the transaction of `receipt`.

    Logs of other contracts, or that do not decode as `name`, are skipped.

    Args:
        contract: the contract whose ABI names the event.
        receipt: a mined transaction's receipt.
        name: the event's name, e.g. ``"JobPosted"``.

    Raises:
        ABIEventNotFound: the contract has no event of that name.
    """
    event = getattr(contract.events, name)()
    return list(event.process_receipt(receipt, errors=DISCARD))


def receipt_event(contract: Contract, receipt: TxReceipt, name: str) -> EventData:
    """The first event `name` that `contract` emitted in the transaction of `receipt`.

    Args:
        contract: the contract whose ABI names the event.
        receipt: a mined transaction's receipt.
        name: the event's name, e.g. ``"JobPosted"``.

    Raises:
        MissingEvent: the transaction emitted no such event.
    """
    found = receipt_events(contract, receipt, name)
    if not found:
        raise MissingEvent(f"the transaction succeeded but emitted no {name} event")
    return found[0]
