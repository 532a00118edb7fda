"""The protocol as the contract tests drive it: deployment in the order
`jouleledger.deployment` uses (with the constants of `market_constants.py`), and the
`Protocol` helper that posts, claims, locks holdings
and signs usage records and signer bindings through eth-account's generic EIP-712 encoder
(not the SDK's), so that the two implementations check each other. Fixtures that build on it
are in `conftest.py`.
"""

from __future__ import annotations

from typing import Any

from brownie import Contract, web3
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from market_constants import (
    ARBITER_TIMEOUT,
    ASK_INCREASE_DELAY,
    BINDING_FIELDS,
    BOOST_BPS,
    COLLATERAL_BPS,
    COLLATERAL_CAP,
    DAY,
    DISPUTE_WINDOW,
    EPOCH,
    H100,
    HOLDING_PER_JOB,
    MAX_BOOST,
    MAX_JOBS_PER_EPOCH,
    MIN_STAKE,
    ONE,
    PERMIT_TYPES,
    PRICE,
    RECORD_FIELDS,
    TOKEN_NAME,
    UNBONDING_DELAY,
    WARMUP,
    ZERO_ADDRESS,
)


class Record(dict):  # type: ignore[type-arg]
    """A usage record as an EIP-712 message; `.tuple()` / `.batch_tuple()` for calls."""

    def tuple(self) -> tuple[Any, ...]:
        return tuple(self[f["name"]] for f in RECORD_FIELDS)

    def batch_tuple(self) -> tuple[Any, ...]:
        values = self.tuple()
        return values[:1] + values[2:]


def _abi_key(item: dict[str, Any]) -> tuple[Any, ...]:
    inputs = tuple(i["type"] for i in item.get("inputs", []))
    return (item["type"], item.get("name"), inputs)


def market_at(JobMarket: Any, JobMarketExtension: Any, address: Any) -> Any:
    """The market at `address` as one brownie contract that answers both its own functions
    and its extension's (served through the market's fallback); events and errors of both
    decode."""
    known = {_abi_key(item) for item in JobMarket.abi}
    extra = [item for item in JobMarketExtension.abi if _abi_key(item) not in known]
    return Contract.from_abi("JobMarket", str(address), JobMarket.abi + extra)


class SignerKeys:
    """The oracle keys of providers, looked up by the signer that staking has bound now, so
    that what a test rotates is undone with the chain when brownie reverts it."""

    def __init__(self, protocol: Protocol) -> None:
        self._protocol = protocol
        self._by_signer: dict[str, Any] = {}

    def remember(self, key: Any) -> None:
        self._by_signer[key.address] = key

    def __getitem__(self, provider: str) -> Any:
        return self._by_signer[self._protocol.staking.providerInfo(provider)["signer"]]


class Protocol:
    """Deployed contracts plus helpers that drive them like the SDK would."""

    def __init__(
        self,
        token: Any,
        staking: Any,
        vault: Any,
        market: Any,
        admin: Any,
        chain: Any,
        treasury: Any = None,
    ) -> None:
        self.token, self.staking, self.vault, self.market = token, staking, vault, market
        self.admin, self.chain, self.treasury = admin, chain, treasury
        self.signer_keys = SignerKeys(self)

    # --- accounts ----------------------------------------------------------------------

    def wealth(self, *accounts: Any) -> int:
        """Everything the accounts hold in the protocol: tokens, stake, unbonding, credit."""
        total = 0
        for account in accounts:
            info = self.staking.providerInfo(account)
            total += self.token.balanceOf(account) + info["stake"] + info["unbonding"]
            total += self.market.credit(account)
        return total

    def fund(self, account: Any, amount: int = 100_000 * ONE) -> None:
        self.token.transfer(account, amount, {"from": self.admin})
        for spender in (self.market, self.staking, self.vault):
            self.token.approve(spender, 2**256 - 1, {"from": account})

    def funded_local_account(self, accounts: Any, tokens: int) -> Any:
        """A new account with a private key (so it can sign permits), CPT and gas money."""
        who = accounts.add()
        self.token.transfer(who, tokens, {"from": self.admin})
        self.admin.transfer(who, "1 ether")
        return who

    # --- providers ---------------------------------------------------------------------

    def sign_binding(
        self, key: Any, provider: Any, signer: Any = None, nonce: int | None = None
    ) -> bytes:
        """`key`'s EIP-712 signature of SignerBinding(provider, signer, nonce) for staking:
        the proof of possession that binding `signer` (default: key's own address) needs.
        `nonce` defaults to the provider's current signerNonce."""
        signer_address = str(signer) if signer is not None else Account.from_key(_key(key)).address
        if nonce is None:
            nonce = self.staking.providerInfo(provider)["signerNonce"]
        message = encode_typed_data(
            full_message={
                "types": {"EIP712Domain": _DOMAIN_FIELDS, "SignerBinding": BINDING_FIELDS},
                "primaryType": "SignerBinding",
                "domain": {
                    "name": "JouleLedger ProviderStaking",
                    "version": "1",
                    "chainId": self.chain.id,
                    "verifyingContract": str(self.staking),
                },
                "message": {"provider": str(provider), "signer": signer_address, "nonce": nonce},
            }
        )
        return bytes(Account.sign_message(message, _key(key)).signature)

    def add_provider(
        self,
        account: Any,
        gpu_class: bytes = H100,
        ask: int = PRICE,
        stake: int = 10_000 * ONE,
        signer: Any = None,
    ) -> Any:
        """Fund, stake and register `account`; returns its oracle signer (a local key)."""
        self.fund(account)
        signer = signer or Account.create()
        self.signer_keys.remember(signer)
        self.staking.stake(stake, {"from": account})
        self.staking.registerProvider(
            signer.address,
            self.sign_binding(signer, account),
            gpu_class,
            ask,
            "http://gpu.test",
            {"from": account},
        )
        return signer

    def update_provider(
        self,
        account: Any,
        signer: Any = None,
        gpu_class: bytes = H100,
        ask: int = PRICE,
        endpoint: str = "http://gpu.test",
    ) -> Any:
        """updateProvider; a new `signer` (a local key) is bound with a fresh proof, else
        the current one stays (empty proof)."""
        if signer is None:
            address, proof = self.staking.providerInfo(account)["signer"], b""
        else:
            address, proof = signer.address, self.sign_binding(signer, account)
            self.signer_keys.remember(signer)
        return self.staking.updateProvider(
            address, proof, gpu_class, ask, endpoint, {"from": account}
        )

    # --- clients -----------------------------------------------------------------------

    def request(
        self,
        gpu_class: bytes = H100,
        price: int = PRICE,
        max_payment: int = 10 * ONE,
        bid: int = 0,
        deadline: int | None = None,
        provider: Any = ZERO_ADDRESS,
    ) -> tuple[Any, ...]:
        deadline = deadline if deadline is not None else self.now() + DAY
        return (b"\x11" * 32, gpu_class, price, max_payment, bid, deadline, str(provider))

    def post_tx(self, client: Any, bid: int = 0, gpu_class: bytes = H100, **kwargs: Any) -> Any:
        request = self.request(gpu_class=gpu_class, bid=bid, **kwargs)
        return self.market.postJob(request, {"from": client})

    def post(self, client: Any, bid: int = 0, gpu_class: bytes = H100, **kwargs: Any) -> int:
        """Posts a job (no hint: postJob takes none) and returns its id."""
        tx = self.post_tx(client, bid=bid, gpu_class=gpu_class, **kwargs)
        return int(tx.events["JobPosted"]["jobId"])

    def queue(self, gpu_class: bytes = H100, limit: int = 1000) -> list[int]:
        return [int(j) for j in self.market.queue(gpu_class, 0, limit)[0]]

    def permit(
        self, owner: Any, spender: Any, value: int, lifetime: int = 600
    ) -> tuple[int, int, bytes, bytes]:
        """An EIP-2612 permit of `owner` (a local account) for `spender`, valid for `lifetime`
        seconds from the latest block: (deadline, v, r, s), the arguments of the ``...WithPermit``
        functions."""
        deadline = self.now() + lifetime
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
        return deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")

    # --- holdings ----------------------------------------------------------------------

    def lock(self, holder: Any, amount: int) -> Any:
        return self.vault.lock(amount, {"from": holder})

    def lock_warm(self, holder: Any, amount: int) -> None:
        """Locks `amount` for `holder` and lets the warm-up pass."""
        self.lock(holder, amount)
        self.sleep(WARMUP + 1)

    def make_busy(self, filler: Any, gpu_class: bytes = H100) -> list[int]:
        """Posts zero-bid jobs of `gpu_class` until the class counts as busy."""
        jobs = []
        while not self.market.classStatus(gpu_class)[1]:
            jobs.append(self.post(filler, gpu_class=gpu_class, max_payment=ONE))
        return jobs

    # --- time --------------------------------------------------------------------------

    def now(self) -> int:
        """The latest block's timestamp: what the next transaction's block.timestamp is at
        least (brownie's chain.time() follows the wall clock, and anvil's blocks run ahead
        of it when many are mined in a second)."""
        return int(self.chain[-1].timestamp)

    def sleep(self, seconds: int) -> None:
        """Moves the clock on by `seconds` and mines a block there."""
        self.chain.sleep(seconds)
        self.chain.mine()

    def start_of_epoch(self, margin: int = 10) -> None:
        """Moves the clock to `margin` seconds into the next holdings epoch, so that the
        transactions that follow (within the hour) fall in one epoch."""
        now = self.now()
        self.sleep(EPOCH - now % EPOCH + margin)

    # --- usage records -----------------------------------------------------------------

    def record(
        self, job_id: int, provider: Any, gpu_millis: int = 5_000, **overrides: Any
    ) -> Record:
        now = self.now()
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

    def oracle_signed(self, job_id: int, provider: Any, **record: Any) -> tuple[Record, bytes]:
        """A record of `job_id` and its signature by `provider`'s current oracle key: what the
        provider's node sends, for tests that tamper with the call or send it twice."""
        rec = self.record(job_id, provider, **record)
        return rec, self.sign(self.signer_keys[provider.address], rec)

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

    def settle(
        self,
        job_id: int,
        provider: Any,
        sender: Any = None,
        key: Any = None,
        attestors: tuple[Any, ...] = (),
        **record: Any,
    ) -> Any:
        """Settles `job_id` with a record signed by `key` (default: the provider's current
        oracle key) and co-signed by `attestors` (sorted here by address)."""
        rec = self.record(job_id, provider, **record)
        signature = self.sign(key or self.signer_keys[provider.address], rec)
        ordered = sorted(attestors, key=lambda a: int(a.address, 16))
        cosigned = [self.sign(a, rec) for a in ordered]
        return self.market.settle(rec.tuple(), signature, cosigned, {"from": sender or provider})

    def settle_batch(self, job_ids: list[int], provider: Any) -> Any:
        records = [self.record(j, provider) for j in job_ids]
        signature = self.sign_batch(self.signer_keys[provider.address], records)
        batch = [r.batch_tuple() for r in records]
        return self.market.settleBatch(provider, batch, signature, [], {"from": provider})

    def claimed(self, client: Any, provider: Any, **post: Any) -> int:
        """Posts a job and has `provider` claim it (it must be the best it can take)."""
        job = self.post(client, **post)
        self.market.claimJob(job, {"from": provider})
        return job

    def settled(self, client: Any, provider: Any, bid: int = ONE, **post: Any) -> int:
        """A settled job: 4,000 GPU-s at 0.001 CPT plus `bid` paid, the rest refundable."""
        job = self.claimed(client, provider, bid=bid, **post)
        self.settle(job, provider, gpu_millis=4_000_000)
        return job


_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _key(key: Any) -> Any:
    return getattr(key, "key", None) or getattr(key, "private_key", key)


def deploy_protocol(
    ComputePowerToken: Any,
    ProviderStaking: Any,
    HoldingsVault: Any,
    JobMarketExtension: Any,
    JobMarket: Any,
    admin: Any,
    treasury: Any,
    chain: Any,
    supply: int = 100_000_000 * ONE,
) -> Protocol:
    """Deploys and wires a protocol in the order `jouleledger.deployment` uses, with the
    market's defaults for every terms setting."""
    sender = {"from": admin}
    token = ComputePowerToken.deploy(supply, sender)
    staking = ProviderStaking.deploy(
        token, UNBONDING_DELAY, MIN_STAKE, ASK_INCREASE_DELAY, admin, sender
    )
    vault = HoldingsVault.deploy(
        token,
        WARMUP,
        EPOCH,
        (BOOST_BPS, MAX_BOOST, HOLDING_PER_JOB, MAX_JOBS_PER_EPOCH),
        admin,
        sender,
    )
    extension = JobMarketExtension.deploy(sender)
    market = JobMarket.deploy(
        token,
        staking,
        vault,
        extension,
        DISPUTE_WINDOW,
        ARBITER_TIMEOUT,
        COLLATERAL_BPS,
        COLLATERAL_CAP,
        treasury,
        admin,
        sender,
    )
    staking.setMarket(market, sender)
    vault.setMarket(market, sender)
    market = market_at(JobMarket, JobMarketExtension, market.address)
    return Protocol(token, staking, vault, market, admin, chain, treasury)


def send_raw(
    sender: Any,
    contract: Any,
    function: str,
    *args: Any,
    gas: int = 600_000,
    nonce: int | None = None,
) -> str:
    """Sends a call from an unlocked node account straight through web3, without brownie's
    receipt machinery (much faster for bulk set-up); returns the transaction hash."""
    data = getattr(contract, function).encode_input(*args)
    tx = {"from": str(sender), "to": str(contract), "data": data, "gas": gas, "gasPrice": 0}
    if nonce is not None:
        tx["nonce"] = nonce
    return web3.eth.send_transaction(tx).hex()


def receipt_of(tx_hash: str) -> Any:
    return web3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
