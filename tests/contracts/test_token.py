"""ComputePowerToken: ERC-20, EIP-2612 permit and the minter role."""

from __future__ import annotations

from typing import Any

import brownie
from web3 import Web3

ONE = 10**18
MINTER_ROLE = Web3.keccak(text="MINTER_ROLE")


def test_metadata_and_initial_supply_go_to_the_deployer(token: Any, deployer: Any) -> None:
    assert token.name() == "Compute Power Token"
    assert token.symbol() == "CPT"
    assert token.decimals() == 18
    assert token.totalSupply() == 1_000_000 * ONE
    assert token.balanceOf(deployer) == 1_000_000 * ONE


def test_transfer_moves_balance_and_emits(token: Any, deployer: Any, accounts: Any) -> None:
    tx = token.transfer(accounts[1], 5 * ONE, {"from": deployer})
    assert token.balanceOf(accounts[1]) == 5 * ONE
    assert token.balanceOf(deployer) == 999_995 * ONE
    assert tx.events["Transfer"]["value"] == 5 * ONE


def test_transfer_reverts_when_balance_is_insufficient(
    token: Any, accounts: Any, error: Any
) -> None:
    with brownie.reverts(error("ERC20InsufficientBalance", accounts[1], 0, ONE)):
        token.transfer(accounts[2], ONE, {"from": accounts[1]})


def test_approve_then_transfer_from_spends_the_allowance(
    token: Any, deployer: Any, accounts: Any
) -> None:
    spender, receiver = accounts[1], accounts[2]
    token.approve(spender, 10 * ONE, {"from": deployer})
    token.transferFrom(deployer, receiver, 4 * ONE, {"from": spender})
    assert token.balanceOf(receiver) == 4 * ONE
    assert token.allowance(deployer, spender) == 6 * ONE


def test_transfer_from_reverts_beyond_the_allowance(
    token: Any, deployer: Any, accounts: Any, error: Any
) -> None:
    spender = accounts[1]
    token.approve(spender, ONE, {"from": deployer})
    with brownie.reverts(error("ERC20InsufficientAllowance", spender, ONE, 2 * ONE)):
        token.transferFrom(deployer, accounts[2], 2 * ONE, {"from": spender})


def test_permit_sets_allowance_without_a_transaction_from_the_owner(
    token: Any, holder: Any, accounts: Any, chain: Any, sign_permit: Any
) -> None:
    spender = accounts[3]
    deadline = chain.time() + 3600
    v, r, s = sign_permit(holder, spender, 7 * ONE, deadline)
    token.permit(holder, spender, 7 * ONE, deadline, v, r, s, {"from": spender})
    assert token.allowance(holder, spender) == 7 * ONE
    assert token.nonces(holder) == 1
    token.transferFrom(holder, spender, 7 * ONE, {"from": spender})
    assert token.balanceOf(spender) == 7 * ONE


def test_permit_reverts_when_the_deadline_has_passed(
    token: Any, holder: Any, accounts: Any, chain: Any, sign_permit: Any, error: Any
) -> None:
    deadline = chain.time() - 1
    v, r, s = sign_permit(holder, accounts[3], ONE, deadline)
    with brownie.reverts(error("ERC2612ExpiredSignature", deadline)):
        token.permit(holder, accounts[3], ONE, deadline, v, r, s, {"from": accounts[3]})


def test_permit_reverts_when_signed_by_someone_else(
    token: Any, holder: Any, accounts: Any, chain: Any, sign_permit: Any, error: Any
) -> None:
    intruder = Web3().eth.account.create()
    deadline = chain.time() + 3600
    v, r, s = sign_permit(holder, accounts[3], ONE, deadline, key=intruder.key)
    with brownie.reverts(error("ERC2612InvalidSigner", intruder.address, holder)):
        token.permit(holder, accounts[3], ONE, deadline, v, r, s, {"from": accounts[3]})


def test_permit_reverts_when_its_nonce_was_already_used(
    token: Any, holder: Any, accounts: Any, chain: Any, sign_permit: Any
) -> None:
    spender = accounts[3]
    deadline = chain.time() + 3600
    v, r, s = sign_permit(holder, spender, ONE, deadline)
    token.permit(holder, spender, ONE, deadline, v, r, s, {"from": spender})
    # The same signature again: the contract now expects nonce 1, so the recovered signer
    # of (nonce 1, same signature) is some unrelated address.
    pattern = rf"ERC2612InvalidSigner: 0x[0-9a-f]{{40}}, {holder.address.lower()}"
    with brownie.reverts(revert_pattern=pattern):
        token.permit(holder, spender, ONE, deadline, v, r, s, {"from": spender})


def test_mint_is_allowed_for_the_minter_role(token: Any, deployer: Any, accounts: Any) -> None:
    token.mint(accounts[4], 3 * ONE, {"from": deployer})
    assert token.balanceOf(accounts[4]) == 3 * ONE
    assert token.totalSupply() == 1_000_003 * ONE


def test_mint_reverts_without_the_minter_role(token: Any, accounts: Any, error: Any) -> None:
    with brownie.reverts(error("AccessControlUnauthorizedAccount", accounts[4], MINTER_ROLE)):
        token.mint(accounts[4], ONE, {"from": accounts[4]})


def test_admin_can_grant_the_minter_role(token: Any, deployer: Any, accounts: Any) -> None:
    token.grantRole(MINTER_ROLE, accounts[5], {"from": deployer})
    token.mint(accounts[5], ONE, {"from": accounts[5]})
    assert token.balanceOf(accounts[5]) == ONE
