"""Brownie fixtures shared by the contract tests (run with `make test-contracts`).

Every test runs inside brownie's function isolation: the chain is reverted after each test.
The protocol fixtures deploy token, staking, holdings vault and market (with its extension)
the way `jouleledger.deployment` does, register two providers with their own oracle keys
(bound with a proof of possession), and give helpers to post, claim, lock holdings and sign
usage records and signer bindings. Signing goes through eth-account's generic EIP-712
encoder, not the SDK's hand-rolled one, so the two implementations check each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import brownie
import pytest
from brownie import web3
from eth_account import Account
from market_constants import DISPUTE_BOND, FEE_BPS, INITIAL_SUPPLY, PERMIT_TYPES, TOKEN_NAME
from market_protocol import Protocol, deploy_protocol
from web3.exceptions import TransactionNotFound


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


def patient(lookup: Callable[..., Any], seconds: float = 5.0) -> Callable[..., Any]:
    """`lookup` (a transaction or receipt by hash), asked again for up to `seconds` while the
    node says it does not know the hash."""

    def ask(*args: Any, **kwargs: Any) -> Any:
        give_up = time.monotonic() + seconds
        while True:
            try:
                return lookup(*args, **kwargs)
            except TransactionNotFound:
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.05)

    return ask


@pytest.fixture(scope="session", autouse=True)
def mined_transactions_are_found() -> Iterator[None]:
    """Anvil's automine moves the sender's nonce on a moment before the transaction and its
    receipt can be read by hash. Brownie checks the nonce first, so in that moment it
    declares the transaction "dropped without known replacement" (seen under load, about
    one run in a few). With automine nothing is ever dropped, so the lookups wait out the
    moment instead."""
    eth = web3.eth
    names = ("get_transaction", "get_transaction_receipt")
    originals = {name: getattr(eth, name) for name in names}
    for name, lookup in originals.items():
        setattr(eth, name, patient(lookup))
    yield
    for name, lookup in originals.items():
        setattr(eth, name, lookup)


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


@pytest.fixture(scope="module")
def deploy(
    ComputePowerToken: Any,
    ProviderStaking: Any,
    HoldingsVault: Any,
    JobMarketExtension: Any,
    JobMarket: Any,
    accounts: Any,
    chain: Any,
) -> Callable[..., Protocol]:
    """Deploys a fresh protocol on the contracts' defaults: `deploy(admin=, treasury=)`
    (accounts 0 and 9 unless given)."""

    def fresh(admin: Any = None, treasury: Any = None) -> Protocol:
        return deploy_protocol(
            ComputePowerToken,
            ProviderStaking,
            HoldingsVault,
            JobMarketExtension,
            JobMarket,
            admin or accounts[0],
            treasury or accounts[9],
            chain,
        )

    return fresh


@pytest.fixture(scope="module")
def protocol(deploy: Callable[..., Protocol]) -> Protocol:
    """The protocol with the fee and dispute bond `jouleledger.deployment` sets."""
    p = deploy()
    p.market.setFeeBps(FEE_BPS, {"from": p.admin})
    p.market.setDisputeBond(DISPUTE_BOND, {"from": p.admin})
    return p


def _account(name: str, index: int, make: Callable[[Protocol, Any], object]) -> Any:
    """A module fixture `name`: the chain's account `index`, made a staked and registered
    provider or a funded client by `make` (`Protocol.add_provider` or `Protocol.fund`)."""

    @pytest.fixture(scope="module", name=name)
    def account(protocol: Protocol, accounts: Any) -> Any:
        make(protocol, accounts[index])
        return accounts[index]

    return account


provider = _account("provider", 1, Protocol.add_provider)
provider2 = _account("provider2", 4, Protocol.add_provider)
client = _account("client", 2, Protocol.fund)
client2 = _account("client2", 3, Protocol.fund)


@pytest.fixture(scope="module")
def treasury(accounts: Any) -> Any:
    return accounts[9]


@pytest.fixture
def market(protocol: Protocol) -> Any:
    return protocol.market


@pytest.fixture
def staking(protocol: Protocol) -> Any:
    return protocol.staking


@pytest.fixture
def vault(protocol: Protocol) -> Any:
    return protocol.vault


@pytest.fixture
def served_first(market: Any) -> Callable[[Any, int, int], None]:
    """`served_first(provider, ahead, skipped)`: the priority book keeps `provider` from
    claiming `skipped` while `ahead` waits with a higher priority for it (the revert names
    both), and gives it `ahead` when it claims the next job."""

    def check(provider: Any, ahead: int, skipped: int) -> None:
        with brownie.reverts(custom_error("MarketHigherPriorityEligible", skipped, ahead)):
            market.claimJob(skipped, {"from": provider})
        assert market.claimNext({"from": provider}).return_value == ahead

    return check
