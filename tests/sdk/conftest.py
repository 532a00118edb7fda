"""Fixtures for the SDK tests: a token and a contract that reverts with any data, per chain;
and `permit_call`, a signed `permit` call on that token."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from jouleledger import Devnet, load_artifact, sign_permit
from jouleledger.client.token import TOKEN_NAME
from jouleledger.tx import Sender

ONE = 10**18
SUPPLY = 10**9 * ONE

# Runtime code CALLDATASIZE RETURNDATASIZE RETURNDATASIZE CALLDATACOPY CALLDATASIZE
# RETURNDATASIZE REVERT: reverts with exactly its calldata. Init code copies it and returns it.
ECHO_REVERT_RUNTIME = "363d3d37363dfd"
ECHO_REVERT_INIT = "0x6007600c60003960076000f3" + ECHO_REVERT_RUNTIME


def fresh_address() -> ChecksumAddress:
    """An address nobody has used, so balances in a test start at zero."""
    return Web3.to_checksum_address("0x" + secrets.token_hex(20))


def permit_call(
    token: Contract,
    signer: LocalAccount,
    owner: LocalAccount,
    spender: LocalAccount,
    deadline: int,
    value: int = ONE,
) -> Any:
    """``token.permit`` of `value` from `owner` to `spender`, signed by `signer`'s key (the
    owner's, or an intruder's), for the owner's permit nonce now."""
    permit = sign_permit(
        signer,
        token=token.address,
        token_name=TOKEN_NAME,
        chain_id=int(token.w3.eth.chain_id),
        spender=spender.address,
        value=value,
        nonce=token.functions.nonces(owner.address).call(),
        deadline=deadline,
    )
    return token.functions.permit(
        owner.address, spender.address, value, deadline, permit.v, permit.r, permit.s
    )


@pytest.fixture(scope="module")
def token(devnet: Devnet) -> Contract:
    """ComputePowerToken deployed by accounts[0], which holds the whole supply."""
    return Sender(devnet.w3, devnet.accounts[0]).deploy(load_artifact("ComputePowerToken"), SUPPLY)


@pytest.fixture(scope="module")
def echo_revert(devnet: Devnet) -> ChecksumAddress:
    """A contract that reverts with whatever calldata it gets."""
    receipt = Sender(devnet.w3, devnet.accounts[0]).send({"data": ECHO_REVERT_INIT}, gas=100_000)
    address = receipt["contractAddress"]
    assert address is not None
    return address
