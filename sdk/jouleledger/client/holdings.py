"""The holdings part of the client: lock CPT in the vault to boost jobs in busy periods."""

from __future__ import annotations

from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from ..artifacts import load_artifact
from ..types import Holding
from .token import TokenPart


class HoldingsPart(TokenPart):
    """Locked holdings on `HoldingsVault` (see docs/priority.md)."""

    _vault: Contract | None = None

    @property
    def vault(self) -> Contract:
        """The holdings vault the market takes boosts from (read from the market once)."""
        if self._vault is None:
            address = self.market.functions.VAULT().call()
            self._vault = self.w3.eth.contract(
                address=address, abi=load_artifact("HoldingsVault").abi
            )
        return self._vault

    def lock_holdings(self, amount: int, *, use_permit: bool = True) -> TxReceipt:
        """Lock `amount` wei of CPT in the holdings vault: after its warm-up it boosts this
        account's jobs in busy periods.

        Args:
            amount: wei of CPT to lock.
            use_permit: approve by permit rather than by an `approve` first.

        Raises:
            NoAccount: the client is read-only.
            ContractRevert: e.g. the balance is short; decoded.
        """
        vault = Web3.to_checksum_address(self.vault.address)
        if use_permit:
            return self._send_with_permit(
                vault,
                amount,
                lambda deadline, v, r, s: self.vault.functions.lockWithPermit(
                    amount, deadline, v, r, s
                ),
            )
        return self._send_spending(vault, amount, self.vault.functions.lock(amount))

    def unlock_holdings(self, amount: int) -> TxReceipt:
        """Take `amount` of locked CPT back (once no boosted job it backs is still due).

        Args:
            amount: wei of locked CPT.

        Raises:
            HoldingsBacking: boosted jobs are still before their deadline (the message says
                until when).
        """
        return self._send(self.vault.functions.unlock(amount))

    def holding(self, address: str | None = None) -> Holding:
        """What `address` has locked and the priority it buys.

        Args:
            address: the holder (default: this account).

        Raises:
            NoAccount: no `address` and the client is read-only.
        """
        who = self._who(address)
        return Holding(address=who, **self._struct(self.vault, "holding", who))
