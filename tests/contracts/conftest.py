"""Brownie fixtures shared by the contract tests (run with `make test-contracts`).

Every test runs inside brownie's module isolation: the chain is reverted after each test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account

TOKEN_NAME = "Compute Power Token"
INITIAL_SUPPLY = 1_000_000 * 10**18

PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def custom_error(name: str, *args: Any) -> str:
    """The revert message brownie shows for a custom error: `Name: arg, arg` (addresses
    lower-case, bytes as Python bytes)."""
    shown = []
    for arg in args:
        if isinstance(arg, str) and arg.startswith("0x") and len(arg) == 42:
            shown.append(arg.lower())
        elif hasattr(arg, "address"):
            shown.append(str(arg.address).lower())
        elif isinstance(arg, bytes | bytearray):
            shown.append(str(bytes(arg)))
        else:
            shown.append(str(arg))
    return f"{name}: {', '.join(shown)}"


@pytest.fixture(scope="session")
def error() -> Callable[..., str]:
    """`error("Name", *args)`: the exact revert message to pass to `brownie.reverts`."""
    return custom_error


@pytest.fixture(autouse=True)
def isolation(fn_isolation: Any) -> None:
    """Revert the chain after every test."""


@pytest.fixture(scope="module")
def deployer(accounts: Any) -> Any:
    return accounts[0]


@pytest.fixture(scope="module")
def token(ComputePowerToken: Any, deployer: Any) -> Any:
    return ComputePowerToken.deploy(INITIAL_SUPPLY, {"from": deployer})


@pytest.fixture
def holder(accounts: Any, token: Any, deployer: Any) -> Any:
    """A local account (with a private key, so it can sign permits) holding 1,000 CPT."""
    account = accounts.add()
    token.transfer(account, 1_000 * 10**18, {"from": deployer})
    deployer.transfer(account, "1 ether")
    return account


@pytest.fixture
def sign_permit(token: Any, chain: Any) -> Callable[..., tuple[int, bytes, bytes]]:
    """Sign an EIP-2612 permit; returns (v, r, s)."""

    def sign(
        owner: Any,
        spender: Any,
        value: int,
        deadline: int,
        nonce: int | None = None,
        key: str | None = None,
    ) -> tuple[int, bytes, bytes]:
        domain = {
            "name": TOKEN_NAME,
            "version": "1",
            "chainId": chain.id,
            "verifyingContract": token.address,
        }
        message = {
            "owner": owner.address,
            "spender": str(spender),
            "value": value,
            "nonce": token.nonces(owner) if nonce is None else nonce,
            "deadline": deadline,
        }
        signed = Account.sign_typed_data(key or owner.private_key, domain, PERMIT_TYPES, message)
        return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")

    return sign
