"""Signer proofs: an oracle key's consent to be bound to one provider (EIP-712).

`ProviderStaking` binds an oracle signer to a provider only with the signer's signature of
``SignerBinding(address provider, address signer, uint256 nonce)`` over the staking
contract's domain, so nobody can bind another node's address, and a proof is good once (the
provider's nonce moves on with every binding).
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from .domain import eip712_domain

STAKING_DOMAIN_NAME = "JouleLedger ProviderStaking"
BINDING_TYPES = {
    "SignerBinding": [
        {"name": "provider", "type": "address"},
        {"name": "signer", "type": "address"},
        {"name": "nonce", "type": "uint256"},
    ]
}


def sign_signer_binding(
    signer: LocalAccount,
    *,
    provider: str,
    staking: ChecksumAddress,
    chain_id: int,
    nonce: int,
) -> bytes:
    """The 65-byte proof that `signer` agrees to sign usage records for `provider`.

    Args:
        signer: the oracle node's account (its key signs the proof).
        provider: the provider account that will register (or update) with this signer.
        staking: the staking contract's address (the EIP-712 verifying contract).
        chain_id: the chain the staking contract lives on.
        nonce: the provider's current signer nonce (``providerInfo(provider).signerNonce``).
    """
    domain = eip712_domain(STAKING_DOMAIN_NAME, chain_id, staking)
    message = {"provider": provider, "signer": signer.address, "nonce": nonce}
    return bytes(signer.sign_typed_data(domain, BINDING_TYPES, message).signature)
