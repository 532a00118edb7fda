"""EIP-2612 permits: approve a spender with a signature instead of a transaction."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

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
        nonce: the owner's current ``token.nonces(owner)``.
        deadline: unix time after which the permit is void.
    """
    domain = {"name": token_name, "version": "1", "chainId": chain_id, "verifyingContract": token}
    message = {
        "owner": owner.address,
        "spender": spender,
        "value": value,
        "nonce": nonce,
        "deadline": deadline,
    }
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
