"""The plumbing every part of the client shares: connection, contracts, sender, reads.

`ClientCore` holds what a `JouleLedger` is built from (a connected `Web3`, the deployment's
addresses, the signing account and its `Sender`) and the helpers the parts use to send a
call, read a struct by its field names and decode an event from a receipt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.types import EventData, TxReceipt

from ..artifacts import load_artifact
from ..deployment import Deployment
from ..eip712.records import MarketDomain
from ..errors import JouleLedgerError
from ..gpu import gpu_class_id
from ..tx import Sender
from .events import receipt_event

ZERO_ADDRESS = "0x" + "00" * 20


class NoAccount(JouleLedgerError, ValueError):
    """A write was asked of a client built without an account."""


class ClientCore:
    """What every part of `JouleLedger` builds on.

    Args:
        w3: a connected `Web3` (any EVM JSON-RPC endpoint, or the embedded chain).
        deployment: the addresses to talk to (see `jouleledger.deployment`).
        account: the local account that signs writes; None for a read-only client.
        sender: a ready `Sender` (advanced: shared nonce managers, fee settings).
    """

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        account: LocalAccount | None = None,
        *,
        sender: Sender | None = None,
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.account = account
        self.token: Contract = _contract(w3, deployment.token, "ComputePowerToken")
        self.staking: Contract = _contract(w3, deployment.staking, "ProviderStaking")
        self.market: Contract = _contract(w3, deployment.market, "JobMarket")
        self.domain = MarketDomain(deployment.chain_id, deployment.market)
        if sender is None and account is not None:
            sender = Sender(w3, account, chain_id=deployment.chain_id)
        self._sender = sender

    @property
    def sender(self) -> Sender:
        """The `Sender` that signs and sends this client's transactions.

        Raises:
            NoAccount: the client is read-only.
        """
        if self._sender is None:
            raise NoAccount("this client is read-only: build it with account=... to send")
        return self._sender

    @property
    def address(self) -> ChecksumAddress:
        """The account this client signs as.

        Raises:
            NoAccount: the client is read-only.
        """
        return self.sender.address

    def _who(self, address: str | None) -> ChecksumAddress:
        """`address` checksummed, or this client's account when None."""
        return Web3.to_checksum_address(address) if address else self.address

    def _send(self, call: Any) -> TxReceipt:
        return self.sender.send(call)

    def _now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _event(self, receipt: TxReceipt, contract: Contract, name: str) -> EventData:
        """The first event `name` of `contract` in `receipt` (see `events.receipt_event`)."""
        return receipt_event(contract, receipt, name)

    def _struct(self, contract: Contract, function: str, *args: Any) -> dict[str, Any]:
        """Call a view that returns one struct; its fields by snake_case name, not position."""
        raw = getattr(contract.functions, function)(*args).call()
        return dict(zip(struct_fields(contract.abi, function), raw, strict=True))


def _contract(w3: Web3, address: ChecksumAddress, artifact: str) -> Contract:
    return w3.eth.contract(address=address, abi=load_artifact(artifact).abi)


def struct_fields(abi: Sequence[Any], function: str) -> tuple[str, ...]:
    """The snake_case field names of the struct a view returns first (else of its outputs).

    Args:
        abi: the contract's ABI.
        function: the view's name.

    Raises:
        ValueError: the ABI has no function of that name.
    """
    for entry in abi:
        if entry.get("type") == "function" and entry.get("name") == function:
            outputs = entry["outputs"]
            fields = outputs[0].get("components") or outputs
            return tuple(_snake(f["name"]) for f in fields)
    raise ValueError(f"the contract has no function named {function!r}")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def class_id(gpu_class: str | bytes) -> bytes:
    """The 4-byte id of a GPU class given by name ("nvidia-h100") or id.

    Args:
        gpu_class: a class name from the catalogue, or its 4-byte id.

    Raises:
        ValueError: an id that is not 4 bytes.
        UnknownGpuClass: a name the catalogue does not know.
    """
    if isinstance(gpu_class, bytes):
        if len(gpu_class) != 4:
            raise ValueError(f"a GPU class id is 4 bytes, got {len(gpu_class)}")
        return gpu_class
    return gpu_class_id(gpu_class)
