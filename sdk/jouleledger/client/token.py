"""The token part of the client: balances, transfers, allowances and permits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import TxReceipt

from ..eip712.permit import sign_permit
from ..types import Wei
from .core import ClientCore, NoAccount

TOKEN_NAME = "Compute Power Token"
PERMIT_LIFETIME = 3600  # seconds a permit signed for one transaction stays valid
_SPEND_LOCKS: dict[tuple[int, str], threading.RLock] = {}
_SPEND_LOCKS_GUARD = threading.Lock()

PermitCall = Callable[[int, int, bytes, bytes], Any]
"""Builds the call that spends a permit from its ``(deadline, v, r, s)``."""


def _spend_lock(chain_id: int, owner: str) -> threading.RLock:
    """One lock per account and chain, shared by every client in this process, held from a
    permit's signature or an allowance top-up until the transaction that spends it is mined:
    otherwise two threads read the same permit nonce, or one `approve` overwrites the
    allowance another thread's transaction was about to spend."""
    with _SPEND_LOCKS_GUARD:
        return _SPEND_LOCKS.setdefault((chain_id, owner), threading.RLock())


class TokenPart(ClientCore):
    """CPT balances and transfers, and the approvals the other parts spend through."""

    def balance(self, address: str | None = None) -> Wei:
        """CPT balance of `address`.

        Args:
            address: whose balance (default: this client's account).

        Raises:
            NoAccount: no `address` and the client is read-only.
        """
        return Wei(self.token.functions.balanceOf(self._who(address)).call())

    def allowance(self, owner: str, spender: str) -> Wei:
        """How much `spender` may still pull from `owner`.

        Args:
            owner: the token holder.
            spender: the approved account or contract.
        """
        return Wei(self.token.functions.allowance(owner, spender).call())

    def transfer(self, to: str, amount: int) -> TxReceipt:
        """Send `amount` wei of CPT to `to`.

        Args:
            to: the recipient.
            amount: wei of CPT.

        Raises:
            NoAccount: the client is read-only.
            ContractRevert: e.g. the balance is short; decoded.
        """
        return self._send_to("transfer", to, amount)

    def approve(self, spender: str, amount: int) -> TxReceipt:
        """Let `spender` pull up to `amount` wei of CPT from this account.

        Args:
            spender: the account or contract approved.
            amount: the new allowance in wei.

        Raises:
            NoAccount: the client is read-only.
        """
        return self._send_to("approve", spender, amount)

    def mint(self, to: str, amount: int) -> TxReceipt:
        """Devnet faucet: needs the token's minter role.

        Args:
            to: who receives the new CPT.
            amount: wei of CPT to mint.

        Raises:
            NoAccount: the client is read-only.
            ContractRevert: this account lacks the minter role.
        """
        return self._send_to("mint", to, amount)

    def _send_to(self, function: str, account: str, amount: int) -> TxReceipt:
        """Send the token's `function` (``transfer``, ``approve``, ``mint``) of `amount` wei
        for `account`."""
        call = self.token.functions[function](Web3.to_checksum_address(account), amount)
        return self._send(call)

    def _spend_lock(self) -> threading.RLock:
        return _spend_lock(self.deployment.chain_id, self.address)

    def _ensure_allowance(self, spender: str, amount: int) -> None:
        if amount and self.allowance(self.address, spender) < amount:
            self.approve(spender, amount)

    def _send_spending(self, spender: str, amount: int, call: Any) -> TxReceipt:
        """Send `call`, which pulls `amount` from this account for `spender`, approving
        first if the allowance is short; safe from several threads of one account."""
        with self._spend_lock():
            self._ensure_allowance(spender, amount)
            return self._send(call)

    def _send_with_permit(
        self, spender: ChecksumAddress, value: int, make_call: PermitCall
    ) -> TxReceipt:
        """Send `make_call(deadline, v, r, s)` with a fresh permit for `value`."""
        with self._spend_lock():
            deadline, v, r, s = self._permit(spender, value)
            return self._send(make_call(deadline, v, r, s))

    def _permit(
        self, spender: ChecksumAddress, value: int, *, nonce_offset: int = 0
    ) -> tuple[int, int, bytes, bytes]:
        """A permit for `value`, signed with the account's permit nonce plus `nonce_offset`
        (the permits of calls sent together follow each other)."""
        if self.account is None:
            raise NoAccount("this client is read-only: build it with account=... to sign")
        deadline = self._now() + PERMIT_LIFETIME
        permit = sign_permit(
            self.account,
            token=self.deployment.token,
            token_name=TOKEN_NAME,
            chain_id=self.deployment.chain_id,
            spender=spender,
            value=value,
            nonce=self.token.functions.nonces(self.address).call() + nonce_offset,
            deadline=deadline,
        )
        return deadline, permit.v, permit.r, permit.s
