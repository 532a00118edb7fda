"""The staking part of the client: stake, provider registration, signer proofs, unbonding."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import TxReceipt

from ..eip712.binding import sign_signer_binding
from ..types import ProviderInfo, Wei
from .core import ZERO_ADDRESS, class_id
from .token import TokenPart


class StakingPart(TokenPart):
    """A provider's stake and registration on `ProviderStaking`."""

    def stake(self, amount: int) -> TxReceipt:
        """Stake `amount` wei of CPT (approves the staking contract as needed).

        Args:
            amount: wei of CPT to add to this account's stake.

        Raises:
            NoAccount: the client is read-only.
            ContractRevert: e.g. the balance is short; decoded.
        """
        call = self.staking.functions.stake(amount)
        return self._send_spending(self.deployment.staking, amount, call)

    def signer_proof(self, signer: LocalAccount, provider: str | None = None) -> bytes:
        """`signer`'s proof that it agrees to sign records for `provider`, for the provider's
        current signer nonce.

        Args:
            signer: the oracle node's account.
            provider: the provider it will sign for (default: this account).

        Raises:
            NoAccount: no `provider` and the client is read-only.
        """
        who = self._who(provider)
        return sign_signer_binding(
            signer,
            provider=who,
            staking=self.deployment.staking,
            chain_id=self.deployment.chain_id,
            nonce=self.provider(who).signer_nonce,
        )

    def register_provider(
        self,
        signer: LocalAccount | str,
        gpu_class: str | bytes,
        ask_price_per_gpu_second: int,
        endpoint: str,
        *,
        signer_proof: bytes | None = None,
    ) -> TxReceipt:
        """Register this account as a provider whose oracle node signs with `signer`.

        Args:
            signer: the oracle node's account (its key signs the binding proof here), or its
                address together with `signer_proof` made where the key lives
                (`jl-oracle signer-proof`).
            gpu_class: the class of GPU it offers, by name or 4-byte id.
            ask_price_per_gpu_second: the least it takes per GPU-second, in wei.
            endpoint: the URL of its oracle node.
            signer_proof: the proof, when `signer` is an address.

        Raises:
            ValueError: `signer` is an address and no `signer_proof` is given.
            ContractRevert: e.g. StakingInvalidSignerProof, StakingSignerInUse.
        """
        terms = (gpu_class, ask_price_per_gpu_second, endpoint)
        return self._send_terms("registerProvider", signer, signer_proof, terms, changing=True)

    def update_provider(
        self,
        signer: LocalAccount | str,
        gpu_class: str | bytes,
        ask_price_per_gpu_second: int,
        endpoint: str,
        *,
        signer_proof: bytes | None = None,
    ) -> TxReceipt:
        """Change this provider's signer, class, ask or endpoint. A lower ask applies at
        once, a higher one after the staking contract's ASK_INCREASE_DELAY.

        Args:
            signer: as for `register_provider`; a new signer needs its proof.
            gpu_class: as for `register_provider`.
            ask_price_per_gpu_second: as for `register_provider`.
            endpoint: as for `register_provider`.
            signer_proof: the proof, when `signer` is a new address.

        Raises:
            ValueError: a new signer given as an address without `signer_proof`.
            ContractRevert: e.g. StakingNotRegistered; decoded.
        """
        current = self.provider().signer
        changing = current is None or current.lower() != _address_of(signer).lower()
        terms = (gpu_class, ask_price_per_gpu_second, endpoint)
        return self._send_terms("updateProvider", signer, signer_proof, terms, changing=changing)

    def _send_terms(
        self,
        function: str,
        signer: LocalAccount | str,
        signer_proof: bytes | None,
        terms: tuple[str | bytes, int, str],
        *,
        changing: bool,
    ) -> TxReceipt:
        """Send `function` (``registerProvider`` or ``updateProvider``), which take the same
        arguments: the signer, its proof, then the class, ask and endpoint in `terms`."""
        gpu_class, ask, endpoint = terms
        address, proof = self._signer_and_proof(signer, signer_proof, changing=changing)
        call = self.staking.functions[function](address, proof, class_id(gpu_class), ask, endpoint)
        return self._send(call)

    def _signer_and_proof(
        self, signer: LocalAccount | str, proof: bytes | None, *, changing: bool
    ) -> tuple[ChecksumAddress, bytes]:
        address = Web3.to_checksum_address(_address_of(signer))
        if proof is not None or not changing:
            return address, proof or b""
        if isinstance(signer, str):
            raise ValueError(
                f"binding the oracle signer {address} needs its proof: pass the signer's "
                "account, or signer_proof= made with its key (`jl-oracle signer-proof`)"
            )
        return address, self.signer_proof(signer)

    def request_unbond(self, amount: int) -> TxReceipt:
        """Start unbonding `amount` wei of stake (withdrawable after the unbonding delay).

        Args:
            amount: wei of unlocked stake.

        Raises:
            ContractRevert: e.g. the unlocked stake is short; decoded.
        """
        return self._send(self.staking.functions.requestUnbond(amount))

    def withdraw_unbonded(self) -> Wei:
        """Withdraw the stake whose unbonding delay has passed; returns the amount.

        Raises:
            ContractRevert: nothing is ready yet; decoded.
        """
        receipt = self._send(self.staking.functions.withdrawUnbonded())
        return Wei(self._event(receipt, self.staking, "UnbondedWithdrawn")["args"]["amount"])

    def provider(self, address: str | None = None) -> ProviderInfo:
        """A provider's stake, terms and signer.

        Args:
            address: the provider (default: this account).

        Raises:
            NoAccount: no `address` and the client is read-only.
        """
        who = self._who(address)
        fields = self._struct(self.staking, "providerInfo", who)
        signer = fields.pop("signer")
        return ProviderInfo(
            address=who,
            signer=None if signer == ZERO_ADDRESS else signer,
            gpu_class=bytes(fields.pop("gpu_class")),
            **fields,
        )


def _address_of(signer: LocalAccount | str) -> str:
    return signer if isinstance(signer, str) else signer.address
