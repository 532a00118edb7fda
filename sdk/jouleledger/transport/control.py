"""One devnet-control interface, one implementation per backend (ApeWorX ape's
``TestProviderAPI`` is the model): mine, move the clock, snapshot and revert, set a balance.

``control(w3)`` picks the implementation for the node behind `w3`: anvil, ganache and
hardhat take the ``evm_*`` JSON-RPC methods (and each its own for balances); the embedded
py-evm chain is driven through eth-tester's Python API. Every other caller (the sender's
stalled-receipt nudge, the node's, tests, scripts) goes through this module.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import RPCEndpoint

from ..errors import DevnetError
from .nodes import mining_lock, node_kind
from .provider import inproc_lock
from .retry import call

SnapshotId = Any


class DevnetControl(abc.ABC):
    """Controls a local development chain. Get one with `control`.

    Attributes:
        w3: the connection to the devnet.
    """

    kind: ClassVar[str]

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    @abc.abstractmethod
    def mine(self, blocks: int = 1) -> None:
        """Mine `blocks` blocks now.

        Args:
            blocks: how many.

        Raises:
            RpcError: transport failure.
        """

    @abc.abstractmethod
    def advance_time(self, seconds: int) -> None:
        """Move the chain's clock forward by `seconds` and mine one block stamped then.

        Args:
            seconds: how far; not negative.

        Raises:
            ValueError: `seconds` is negative.
            DevnetError: the node refused.
        """

    @abc.abstractmethod
    def snapshot(self) -> SnapshotId:
        """Record the chain's state; `revert` goes back to it.

        Raises:
            DevnetError: the node refused.
        """

    @abc.abstractmethod
    def revert(self, snapshot: SnapshotId) -> None:
        """Go back to the state recorded by `snapshot` (which is used up, as on anvil).

        Args:
            snapshot: what `snapshot` returned.

        Raises:
            DevnetError: the snapshot is unknown or the node refused.
        """

    def set_balance(self, address: str, wei: int) -> None:
        """Give `address` exactly `wei` of ether.

        Args:
            address: the account.
            wei: its new balance.

        Raises:
            DevnetError: this chain cannot set balances.
        """
        raise DevnetError(f"{self.kind} cannot set balances")

    @staticmethod
    def _check_forward(seconds: int) -> None:
        if seconds < 0:
            raise ValueError(f"time only moves forward, got {seconds} s")


class JsonRpcControl(DevnetControl):
    """A devnet behind JSON-RPC that takes ``evm_mine``, ``evm_increaseTime``,
    ``evm_snapshot`` and ``evm_revert``."""

    kind = "json-rpc"
    set_balance_method: ClassVar[str | None] = None

    def request(self, method: str, params: list[Any]) -> Any:
        """Send a control request; the node's ``result``.

        Args:
            method: e.g. ``"evm_mine"``.
            params: its JSON-RPC params.

        Raises:
            DevnetError: the node answered with an error.
            RpcError: transport failure (retried first, as control requests are idempotent
                enough: a second ``evm_mine`` only mines one more block).
        """
        provider = self.w3.provider
        answer = call(
            self.w3, lambda: provider.make_request(RPCEndpoint(method), params), method=method
        )
        if answer.get("error") is not None:
            raise DevnetError(f"{self.kind} refused {method}: {answer['error']}")
        return answer.get("result")

    def mine(self, blocks: int = 1) -> None:
        """``evm_mine`` once per block, under the node's mining lock."""
        with mining_lock(self.w3):
            for _ in range(blocks):
                self.request("evm_mine", [])

    def advance_time(self, seconds: int) -> None:
        """``evm_increaseTime``, then one ``evm_mine``."""
        self._check_forward(seconds)
        self.request("evm_increaseTime", [seconds])
        self.mine()

    def snapshot(self) -> SnapshotId:
        """``evm_snapshot``: the id the node gives."""
        return self.request("evm_snapshot", [])

    def revert(self, snapshot: SnapshotId) -> None:
        """``evm_revert``; the node answers false for an unknown id."""
        if self.request("evm_revert", [snapshot]) is False:
            raise DevnetError(f"{self.kind} knows no snapshot {snapshot!r}")

    def set_balance(self, address: str, wei: int) -> None:
        """The backend's own method (`set_balance_method`), or `DevnetError` without one."""
        if self.set_balance_method is None:
            super().set_balance(address, wei)
            return
        self.request(self.set_balance_method, [Web3.to_checksum_address(address), hex(wei)])


class AnvilControl(JsonRpcControl):
    """Foundry's anvil."""

    kind = "anvil"
    set_balance_method = "anvil_setBalance"


class HardhatControl(JsonRpcControl):
    """Hardhat Network."""

    kind = "hardhat"
    set_balance_method = "hardhat_setBalance"


class GanacheControl(JsonRpcControl):
    """ganache 7."""

    kind = "ganache"
    set_balance_method = "evm_setAccountBalance"


class EthTesterControl(DevnetControl):
    """The embedded py-evm chain, through eth-tester's Python API."""

    kind = "eth-tester"

    @property
    def tester(self) -> Any:
        """The provider's `EthereumTester`."""
        return self.w3.provider.ethereum_tester  # type: ignore[attr-defined]

    def mine(self, blocks: int = 1) -> None:
        """eth-tester's ``mine_blocks``."""
        with inproc_lock(self.w3):
            self.tester.mine_blocks(blocks)

    def advance_time(self, seconds: int) -> None:
        """eth-tester's absolute ``time_travel``, which mines the block itself."""
        self._check_forward(seconds)
        with inproc_lock(self.w3):
            now = int(self.tester.get_block_by_number("latest")["timestamp"])
            # eth-tester's time travel mines the block itself, stamped one second before the
            # target (seen with eth-tester 0.13), hence the +1.
            self.tester.time_travel(now + seconds + 1)

    def snapshot(self) -> SnapshotId:
        """eth-tester's ``take_snapshot``."""
        with inproc_lock(self.w3):
            return self.tester.take_snapshot()

    def revert(self, snapshot: SnapshotId) -> None:
        """eth-tester's ``revert_to_snapshot``."""
        with inproc_lock(self.w3):
            try:
                self.tester.revert_to_snapshot(snapshot)
            except Exception as exc:  # eth-tester's SnapshotNotFound, ValidationError
                raise DevnetError(f"eth-tester knows no snapshot {snapshot!r}") from exc


_CONTROLS: dict[str, type[DevnetControl]] = {
    c.kind: c for c in (AnvilControl, GanacheControl, HardhatControl, EthTesterControl)
}


def control(w3: Web3) -> DevnetControl:
    """The control interface for the devnet behind `w3`.

    Args:
        w3: a connection to anvil, ganache, hardhat or the embedded chain.

    Raises:
        DevnetError: the node is not a development chain.
    """
    kind = node_kind(w3)
    found = _CONTROLS.get(kind)
    if found is None:
        raise DevnetError(
            f"this node ({kind}) is not a development chain: it cannot mine on request, "
            "move its clock or take snapshots"
        )
    return found(w3)


def mine(w3: Web3, blocks: int = 1) -> None:
    """Ask a devnet to mine `blocks` blocks now (``evm_mine``).

    Args:
        w3: the connection to a devnet.
        blocks: how many.

    Raises:
        DevnetError: the node is not a development chain.
        RpcError: transport failure.
    """
    control(w3).mine(blocks)


def advance_time(w3: Web3, seconds: int) -> None:
    """Move a devnet's clock forward by `seconds` and mine a block.

    Args:
        w3: the connection to a devnet.
        seconds: how far; not negative.

    Raises:
        ValueError: `seconds` is negative.
        DevnetError: the node is not a development chain, or refused.
    """
    control(w3).advance_time(seconds)


def set_balance(w3: Web3, address: ChecksumAddress | str, wei: int) -> None:
    """Give `address` exactly `wei` of ether on a devnet.

    Args:
        w3: the connection to a devnet.
        address: the account.
        wei: its new balance.

    Raises:
        DevnetError: the node is not a development chain or cannot set balances.
    """
    control(w3).set_balance(address, wei)
