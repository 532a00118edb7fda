"""EIP-2612 permits: approve a spender with a signature instead of a transaction."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from .domain import eip712_domain

PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


@dataclass(frozen=True)
class PermitSignature:
    """A signed permit, ready for ``token.permit(owner, spender, value, deadline, v, r, s)``."""

    owner: ChecksumAddress
    spender: ChecksumAddress
    value: int
    deadline: int
    v: int
    r: bytes
    s: bytes


def sign_permit(
    owner: LocalAccount,
    *,
    token: ChecksumAddress,
    token_name: str,
    chain_id: int,
    spender: ChecksumAddress,
    value: int,
    nonce: int,
    deadline: int,
) -> PermitSignature:
    """Sign an EIP-2612 permit for `token` (domain version "1", as OpenZeppelin's ERC20Permit).

    Args:
        owner: the account whose tokens the spender may pull.
        token: the token's address (the EIP-712 verifying contract).
        token_name: the token's ERC-20 name (its EIP-712 domain name).
        chain_id: the chain the token lives on.
        spender: who may pull the tokens.
        value: how many wei it may pull.
        nonce: the owner's current ``token.nonces(owner)``.
        deadline: unix time after which the permit is void.
    """
    message = {
        "owner": owner.address,
        "spender": spender,
        "value": value,
        "nonce": nonce,
        "deadline": deadline,
    }
    domain = eip712_domain(token_name, chain_id, token)
    signed = owner.sign_typed_data(domain, PERMIT_TYPES, message)
    return PermitSignature(
        owner=owner.address,
        spender=spender,
        value=value,
        deadline=deadline,
        v=signed.v,
        r=signed.r.to_bytes(32, "big"),
        s=signed.s.to_bytes(32, "big"),
    )
