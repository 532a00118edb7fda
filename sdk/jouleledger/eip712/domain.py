"""EIP-712 domains: the one shape every JouleLedger signature is bound by.

Each contract that checks a typed signature (the market's usage records, the staking
contract's signer bindings, the token's permits) uses OpenZeppelin's `EIP712` with version
"1", so a domain is its name, the chain id and the contract address.
"""

from __future__ import annotations

from typing import Any, Final

DOMAIN_VERSION: Final = "1"


def eip712_domain(name: str, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The EIP-712 domain of a contract, as eth-account's ``sign_typed_data`` takes it.

    Args:
        name: the contract's EIP-712 name (its `EIP712` constructor argument).
        chain_id: the chain the contract lives on.
        verifying_contract: the contract's address.
    """
    return {
        "name": name,
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": verifying_contract,
    }
