"""The event part of the client: past and live events, and provider stats summed from them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from web3 import Web3
from web3.types import EventData

from ..types import ProviderStats, Wei
from .core import ClientCore


class HistoryPart(ClientCore):
    """Decoded market and staking events, read from chain history."""

    def events(
        self,
        name: str,
        *,
        from_block: int | None = None,
        to_block: int | str = "latest",
        **filters: Any,
    ) -> list[EventData]:
        """Decoded market (or staking) events `name` in a block range, oldest first.

        Args:
            name: the event's name, e.g. ``"JobSettled"``.
            from_block: the first block (default: the deployment's block).
            to_block: the last block.
            filters: indexed arguments to match, e.g. ``jobId=7``.

        Raises:
            ValueError: neither contract has an event of that name.
        """
        contract = self.market if hasattr(self.market.events, name) else self.staking
        if not hasattr(contract.events, name):
            raise ValueError(f"no event named {name!r} on the market or staking contract")
        event = getattr(contract.events, name)
        start = self.deployment.block if from_block is None else from_block
        logs = event.get_logs(from_block=start, to_block=to_block, argument_filters=filters or None)
        return sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"]))

    def watch(
        self, name: str, *, from_block: int | None = None, poll_interval: float = 1.0
    ) -> Iterator[EventData]:
        """Yield events `name` as they are mined (polling; works on every node).

        Args:
            name: the event's name.
            from_block: the first block (default: the next one).
            poll_interval: seconds between polls when no new block has come.

        Raises:
            ValueError: neither contract has an event of that name.
        """
        next_block = self.w3.eth.block_number + 1 if from_block is None else from_block
        while True:
            head = self.w3.eth.block_number
            if head >= next_block:
                yield from self.events(name, from_block=next_block, to_block=head)
                next_block = head + 1
            else:
                time.sleep(poll_interval)

    def provider_stats(self, address: str, *, from_block: int | None = None) -> ProviderStats:
        """Jobs settled, earnings, energy and tokens per joule of a provider, from events.

        Args:
            address: the provider.
            from_block: the first block to sum from (default: the deployment's block).
        """
        who = Web3.to_checksum_address(address)
        claimed = {
            e["args"]["jobId"]
            for e in self.events("JobClaimed", from_block=from_block, provider=who)
        }
        settled = [
            e
            for e in self.events("JobSettled", from_block=from_block)
            if e["args"]["jobId"] in claimed
        ]
        return ProviderStats(
            address=who,
            jobs_settled=len(settled),
            earned=Wei(sum(e["args"]["payment"] for e in settled)),
            energy_mj=sum(e["args"]["energyMj"] for e in settled),
            ai_tokens=sum(e["args"]["aiTokens"] for e in settled),
        )
