"""Brownie fixtures shared by the contract tests (run with `make test-contracts`).

Every test runs inside brownie's function isolation: the chain is reverted after each test.
The protocol fixtures deploy token, staking and market the way `jouleledger.deployment`
does, register two providers with their own oracle keys, and give helpers to post, claim
and sign usage records. Signing goes through eth-account's generic EIP-712 encoder, not
the SDK's hand-rolled one, so the two implementations check each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

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


# --- the protocol ------------------------------------------------------------------------

ONE = 10**18
NANO = 10**9
ZERO_ADDRESS = "0x" + "00" * 20
H100 = keccak(text="nvidia-h100")[:4]
A100 = keccak(text="nvidia-a100")[:4]
PRICE = ONE // 1000  # 0.001 CPT per GPU-second
MIN_STAKE = 1_000 * ONE
DISPUTE_WINDOW = 3600
ARBITER_TIMEOUT = 3600
UNBONDING_DELAY = 3 * 3600
COLLATERAL_BPS = 5_000
FEE_BPS = 100
DISPUTE_BOND = 10 * ONE
DAY = 86_400

RECORD_FIELDS = [
    {"name": "jobId", "type": "uint256"},
    {"name": "provider", "type": "address"},
    {"name": "gpuMillis", "type": "uint64"},
    {"name": "energyMj", "type": "uint64"},
    {"name": "aiTokens", "type": "uint64"},
    {"name": "resultHash", "type": "bytes32"},
    {"name": "startTime", "type": "uint64"},
    {"name": "endTime", "type": "uint64"},
    {"name": "meterKind", "type": "uint8"},
    {"name": "gpuIdHash", "type": "bytes32"},
]


class Record(dict):  # type: ignore[type-arg]
    """A usage record as an EIP-712 message; `.tuple()` / `.batch_tuple()` for calls."""

    def tuple(self) -> tuple[Any, ...]:
        return tuple(self[f["name"]] for f in RECORD_FIELDS)

    def batch_tuple(self) -> tuple[Any, ...]:
        values = self.tuple()
        return values[:1] + values[2:]


class Protocol:
    """Deployed contracts plus helpers that drive them like the SDK would."""

    def __init__(self, token: Any, staking: Any, market: Any, admin: Any, chain: Any) -> None:
        self.token, self.staking, self.market, self.admin, self.chain = (
            token,
            staking,
            market,
            admin,
            chain,
        )
        self.signer_keys: dict[str, Any] = {}

    def fund(self, account: Any, amount: int = 100_000 * ONE) -> None:
        self.token.transfer(account, amount, {"from": self.admin})
        self.token.approve(self.market, 2**256 - 1, {"from": account})
        self.token.approve(self.staking, 2**256 - 1, {"from": account})

    def add_provider(
        self, account: Any, gpu_class: bytes = H100, ask: int = PRICE, stake: int = 10_000 * ONE
    ) -> Any:
        """Fund, stake and register `account`; returns its oracle signer (a local key)."""
        self.fund(account)
        signer = Account.create()
        self.signer_keys[account.address] = signer
        self.staking.stake(stake, {"from": account})
        self.staking.registerProvider(
            signer.address, gpu_class, ask, "http://gpu.test", {"from": account}
        )
        return signer

    def hint(self, gpu_class: bytes, bid: int, job_id: int | None = None) -> int:
        """The job to insert after: the last one that goes before a job with `bid`."""
        ids, bids = self.market.queue(gpu_class, 0, 1000)
        new_id = job_id if job_id is not None else self.market.jobCount() + 1
        after = 0
        for other, other_bid in zip(ids, bids, strict=True):
            if other == new_id:
                continue
            if other_bid > bid or (other_bid == bid and other < new_id):
                after = other
            else:
                break
        return after

    def request(
        self,
        gpu_class: bytes = H100,
        price: int = PRICE,
        max_payment: int = 10 * ONE,
        bid: int = 0,
        deadline: int | None = None,
        provider: Any = ZERO_ADDRESS,
    ) -> tuple[Any, ...]:
        deadline = deadline if deadline is not None else self.chain.time() + DAY
        return (b"\x11" * 32, gpu_class, price, max_payment, bid, deadline, str(provider))

    def post(self, client: Any, bid: int = 0, gpu_class: bytes = H100, **kwargs: Any) -> int:
        request = self.request(gpu_class=gpu_class, bid=bid, **kwargs)
        tx = self.market.postJob(request, self.hint(gpu_class, bid), {"from": client})
        return int(tx.return_value)

    def funded_local_account(self, accounts: Any, tokens: int) -> Any:
        """A new account with a private key (so it can sign permits), CPT and gas money."""
        who = accounts.add()
        self.token.transfer(who, tokens, {"from": self.admin})
        self.admin.transfer(who, "1 ether")
        return who

    def permit(
        self, owner: Any, spender: Any, value: int, deadline: int
    ) -> tuple[int, bytes, bytes]:
        """An EIP-2612 permit of `owner` (a local account) for `spender`: (v, r, s)."""
        domain = {
            "name": TOKEN_NAME,
            "version": "1",
            "chainId": self.chain.id,
            "verifyingContract": self.token.address,
        }
        message = {
            "owner": owner.address,
            "spender": str(spender),
            "value": value,
            "nonce": self.token.nonces(owner),
            "deadline": deadline,
        }
        signed = Account.sign_typed_data(owner.private_key, domain, PERMIT_TYPES, message)
        return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")

    def record(
        self, job_id: int, provider: Any, gpu_millis: int = 5_000, **overrides: Any
    ) -> Record:
        now = self.chain.time()
        fields = {
            "jobId": job_id,
            "provider": str(provider),
            "gpuMillis": gpu_millis,
            "energyMj": 1_500_000,
            "aiTokens": 3_000,
            "resultHash": keccak(job_id.to_bytes(32, "big")),
            "startTime": now - 10,
            "endTime": now - 1,
            "meterKind": 0,
            "gpuIdHash": keccak(text="GPU-uuid"),
        }
        fields.update(overrides)
        return Record(fields)

    def domain(self, market: Any = None, chain_id: int | None = None) -> dict[str, Any]:
        return {
            "name": "JouleLedger JobMarket",
            "version": "1",
            "chainId": chain_id if chain_id is not None else self.chain.id,
            "verifyingContract": str(market or self.market),
        }

    def sign(self, key: Any, record: Record, **domain: Any) -> bytes:
        message = encode_typed_data(
            full_message={
                "types": {"EIP712Domain": _DOMAIN_FIELDS, "UsageRecord": RECORD_FIELDS},
                "primaryType": "UsageRecord",
                "domain": self.domain(**domain),
                "message": dict(record),
            }
        )
        return bytes(Account.sign_message(message, _key(key)).signature)

    def sign_batch(self, key: Any, records: list[Record], **domain: Any) -> bytes:
        message = encode_typed_data(
            full_message={
                "types": {
                    "EIP712Domain": _DOMAIN_FIELDS,
                    "UsageBatch": [{"name": "records", "type": "UsageRecord[]"}],
                    "UsageRecord": RECORD_FIELDS,
                },
                "primaryType": "UsageBatch",
                "domain": self.domain(**domain),
                "message": {"records": [dict(r) for r in records]},
            }
        )
        return bytes(Account.sign_message(message, _key(key)).signature)

    def settle(self, job_id: int, provider: Any, sender: Any = None, **record: Any) -> Any:
        rec = self.record(job_id, provider, **record)
        signature = self.sign(self.signer_keys[provider.address], rec)
        return self.market.settle(rec.tuple(), signature, [], {"from": sender or provider})

    def settle_batch(self, job_ids: list[int], provider: Any) -> Any:
        records = [self.record(j, provider) for j in job_ids]
        signature = self.sign_batch(self.signer_keys[provider.address], records)
        batch = [r.batch_tuple() for r in records]
        return self.market.settleBatch(provider, batch, signature, [], {"from": provider})


_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _key(key: Any) -> Any:
    return getattr(key, "key", None) or getattr(key, "private_key", key)


@pytest.fixture(scope="module")
def protocol(
    ComputePowerToken: Any, ProviderStaking: Any, JobMarket: Any, accounts: Any, chain: Any
) -> Protocol:
    admin = accounts[0]
    token = ComputePowerToken.deploy(100_000_000 * ONE, {"from": admin})
    staking = ProviderStaking.deploy(token, UNBONDING_DELAY, MIN_STAKE, admin, {"from": admin})
    market = JobMarket.deploy(
        token,
        staking,
        DISPUTE_WINDOW,
        ARBITER_TIMEOUT,
        COLLATERAL_BPS,
        accounts[9],
        admin,
        {"from": admin},
    )
    staking.setMarket(market, {"from": admin})
    market.setFeeBps(FEE_BPS, {"from": admin})
    market.setDisputeBond(DISPUTE_BOND, {"from": admin})
    return Protocol(token, staking, market, admin, chain)


@pytest.fixture(scope="module")
def provider(protocol: Protocol, accounts: Any) -> Any:
    protocol.add_provider(accounts[1])
    return accounts[1]


@pytest.fixture(scope="module")
def provider2(protocol: Protocol, accounts: Any) -> Any:
    protocol.add_provider(accounts[4])
    return accounts[4]


@pytest.fixture(scope="module")
def client(protocol: Protocol, accounts: Any) -> Any:
    protocol.fund(accounts[2])
    return accounts[2]


@pytest.fixture(scope="module")
def client2(protocol: Protocol, accounts: Any) -> Any:
    protocol.fund(accounts[3])
    return accounts[3]


@pytest.fixture(scope="module")
def treasury(accounts: Any) -> Any:
    return accounts[9]


@pytest.fixture
def market(protocol: Protocol) -> Any:
    return protocol.market


@pytest.fixture
def staking(protocol: Protocol) -> Any:
    return protocol.staking
