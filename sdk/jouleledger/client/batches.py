"""Many jobs per transaction: the market's batch calls, split to fit its limits and a block.

`postJobs`, `claimNextJobs` and `withdraw` take at most the market's ``MAX_BATCH`` jobs per
call, and a call must fit in a block: `chunks` cuts a list by count, and `fit_chunks` halves
a chunk whose gas estimate would take more than a share of the block's gas limit. A batch is
all or nothing: a refused element reverts its whole call with
``MarketBatchItemInvalid(index, reason)``; `shifted` renumbers that index from the chunk to the
whole list, so an error always names the caller's own position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Final, TypeVar

from eth_abi.abi import encode
from eth_utils.crypto import keccak
from web3.types import TxReceipt

from ..abi.decode import BATCH_ITEM_ERROR, decode_revert
from ..errors import ContractRevert

T = TypeVar("T")

#: The most jobs one batch call takes (the market's ``MAX_BATCH``; `batch_limit` reads it).
MAX_BATCH: Final = 256
#: A chunk's gas estimate may use at most this share of the block's gas limit, so that
#: other transactions still fit beside it.
BLOCK_SHARE: Final = 0.5

_POSTED: Final = keccak(
    text="JobPosted(uint256,address,bytes4,bytes32,uint256,uint256,uint256,uint256,uint32,address)"
)
_CLAIMED: Final = keccak(text="JobClaimed(uint256,address,uint256)")
_SETTLED: Final = keccak(text="JobSettled(uint256,uint256,uint256,uint256,uint256)")
_WITHDRAWN: Final = keccak(text="Withdrawn(address,uint256)")


def chunks(items: Sequence[T], size: int) -> Iterator[tuple[int, Sequence[T]]]:
    """`items` in consecutive slices of at most `size`, each with its offset.

    Args:
        items: what to split.
        size: the most items per slice (at least 1).

    Raises:
        ValueError: `size` is below 1.
    """
    if size < 1:
        raise ValueError(f"a chunk needs room for at least one item, got size {size}")
    for start in range(0, len(items), size):
        yield start, items[start : start + size]


def fit_chunks(
    items: Sequence[T],
    size: int,
    estimate: Callable[[int, Sequence[T]], int],
    gas_cap: int,
) -> list[tuple[int, Sequence[T], int]]:
    """Slices of `items` (with offsets and gas estimates) whose estimates stay under `gas_cap`.

    Each slice of `size` is estimated; one over the cap is halved until it fits.

    Args:
        items: the batch's elements, in order.
        size: the most elements per call.
        estimate: the gas estimate of one call over the slice at an offset (raises what the
            node says).
        gas_cap: the most gas one call may take.

    Raises:
        ContractRevert: a slice reverts; a batch element's error names its index in `items`.
        ValueError: one element alone needs more than `gas_cap`.
    """
    out: list[tuple[int, Sequence[T], int]] = []
    pending = list(chunks(items, size))
    while pending:
        offset, part = pending.pop(0)
        try:
            gas = estimate(offset, part)
        except ContractRevert as exc:
            raise shifted(exc, offset) from exc
        if gas <= gas_cap:
            out.append((offset, part, gas))
            continue
        if len(part) == 1:
            raise ValueError(f"element {offset} alone needs {gas} gas, above the cap {gas_cap}")
        half = (len(part) + 1) // 2
        pending[:0] = [(offset, part[:half]), (offset + half, part[half:])]
    return out


def shifted(error: ContractRevert, offset: int) -> ContractRevert:
    """`error` with a batch element's index counted from the start of the whole list.

    Args:
        error: a decoded revert of one chunk.
        offset: where the chunk starts in the whole list.
    """
    if error.name != BATCH_ITEM_ERROR or offset == 0:
        return error
    index = int(error.args_by_name["index"]) + offset
    # Re-encode so that the message, hint and arguments all name the new index.
    reason = bytes(error.args_by_name["reason"])
    return decode_revert(error.data[:4] + encode(["uint256", "bytes"], [index, reason]))


def logged_ids(receipt: TxReceipt, market: str, topic: bytes) -> list[int]:
    """The job ids (first indexed argument) of the market's events `topic` in `receipt`."""
    address = market.lower()
    return [
        int.from_bytes(bytes(log["topics"][1]), "big")
        for log in receipt["logs"]
        if str(log["address"]).lower() == address and bytes(log["topics"][0]) == topic
    ]


def posted_ids(receipt: TxReceipt, market: str) -> list[int]:
    """The ids of the jobs a `postJobs` receipt posted, in order."""
    return logged_ids(receipt, market, _POSTED)


def claimed_ids(receipt: TxReceipt, market: str) -> list[int]:
    """The ids of the jobs a claim receipt claimed, in order."""
    return logged_ids(receipt, market, _CLAIMED)


def settled_ids(receipt: TxReceipt, market: str) -> list[int]:
    """The ids of the jobs a settlement receipt settled, in order."""
    return logged_ids(receipt, market, _SETTLED)


def withdrawn_amount(receipt: TxReceipt, market: str) -> int:
    """The amount (wei) of the market's ``Withdrawn`` event in a `withdraw` receipt."""
    address = market.lower()
    for log in receipt["logs"]:
        if str(log["address"]).lower() == address and bytes(log["topics"][0]) == _WITHDRAWN:
            return int.from_bytes(bytes(log["data"])[-32:], "big")
    raise ValueError("the receipt has no Withdrawn event of the market")


def gas_cap(block_gas_limit: int, share: float = BLOCK_SHARE) -> int:
    """The most gas one batch call may take in a block of `block_gas_limit`."""
    return int(block_gas_limit * share)
