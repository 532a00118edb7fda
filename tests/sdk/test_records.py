"""The SDK's hand-rolled EIP-712 hashing equals eth-account's and the contract's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from jouleledger import Devnet, load_artifact
from jouleledger.deployment import Deployment, deploy_protocol
from jouleledger.records import (
    EIP712_TYPES,
    RECORD_FIELDS,
    RECORD_TYPE,
    MarketDomain,
    MeterKind,
    UsageRecord,
    batch_digest,
    record_digest,
)

DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
PROVIDER = Web3.to_checksum_address("0x" + "ab" * 20)
#: Values for each Solidity type a record field has (``uint8`` is only the meter kind).
BY_ABI_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "uint256": st.integers(0, 2**256 - 1),
    "uint64": st.integers(0, 2**64 - 1),
    "uint8": st.sampled_from(list(MeterKind)),
    "address": st.just(PROVIDER),
    "bytes32": st.binary(min_size=32, max_size=32),
}
#: Records built field by field from `RECORD_FIELDS`, the one definition of the layout.
records = st.builds(UsageRecord, **{f.attr: BY_ABI_TYPE[f.abi_type] for f in RECORD_FIELDS})
DOMAIN = MarketDomain(chain_id=31337, market=Web3.to_checksum_address("0x" + "cd" * 20))


def eth_account_digest(domain: MarketDomain, primary: str, message: dict[str, object]) -> bytes:
    types = {"EIP712Domain": DOMAIN_FIELDS, "UsageRecord": EIP712_TYPES["UsageRecord"]}
    if primary == "UsageBatch":
        types["UsageBatch"] = EIP712_TYPES["UsageBatch"]
    signable = encode_typed_data(
        full_message={
            "types": types,
            "primaryType": primary,
            "domain": domain.as_dict(),
            "message": message,
        }
    )
    return Web3.keccak(b"\x19" + signable.version + signable.header + signable.body)


@settings(max_examples=60, deadline=None)
@given(records)
def test_record_digest_equals_eth_accounts_eip712(record: UsageRecord) -> None:
    assert record_digest(DOMAIN, record) == eth_account_digest(
        DOMAIN, "UsageRecord", record.as_message()
    )


@settings(max_examples=25, deadline=None)
@given(st.lists(records, min_size=1, max_size=5))
def test_batch_digest_equals_eth_accounts_eip712(batch: list[UsageRecord]) -> None:
    message = {"records": [r.as_message() for r in batch]}
    assert batch_digest(DOMAIN, batch) == eth_account_digest(DOMAIN, "UsageBatch", message)


def test_record_rejects_out_of_range_fields() -> None:
    with pytest.raises(ValueError, match="gpu_millis must fit in uint64"):
        UsageRecord(1, PROVIDER, 2**64, 1, 1, b"\0" * 32, 0, 0, MeterKind.NVML, b"\0" * 32)
    with pytest.raises(ValueError, match="result_hash must be 32 bytes"):
        UsageRecord(1, PROVIDER, 1, 1, 1, b"\0", 0, 0, MeterKind.NVML, b"\0" * 32)


@pytest.fixture(scope="module")
def deployment(devnet: Devnet) -> Iterator[Deployment]:
    yield deploy_protocol(devnet.w3, devnet.accounts[0])


def test_sdk_digests_equal_the_contracts_on_every_chain(
    devnet: Devnet, deployment: Deployment
) -> None:
    market = devnet.w3.eth.contract(address=deployment.market, abi=load_artifact("JobMarket").abi)
    domain = MarketDomain(devnet.chain_id, deployment.market)
    gpu = Web3.keccak(text="gpu")
    batch = [
        UsageRecord(j, PROVIDER, 1000 * j, 7000 + j, 300, Web3.keccak(j), 10, 20, MeterKind(1), gpu)
        for j in (1, 2, 3)
    ]
    assert market.functions.recordDigest(batch[0].as_tuple()).call() == record_digest(
        domain, batch[0]
    )
    on_chain = market.functions.batchDigest(PROVIDER, [r.as_batch_tuple() for r in batch]).call()
    assert on_chain == batch_digest(domain, batch)
    signature = Account.unsafe_sign_hash(
        batch_digest(domain, batch), Account.create().key
    ).signature
    assert len(signature) == 65


def test_the_record_layout_is_the_contracts_struct() -> None:
    abi = {e.get("name"): e for e in load_artifact("JobMarket").abi}
    struct = abi["recordDigest"]["inputs"][0]["components"]
    assert [(c["name"], c["type"]) for c in struct] == [
        (f["name"], f["type"]) for f in EIP712_TYPES["UsageRecord"]
    ]
    batch = abi["settleBatch"]["inputs"][1]["components"]
    assert [c["name"] for c in batch] == [c["name"] for c in struct if c["name"] != "provider"]
    members = ",".join(f"{c['type']} {c['name']}" for c in struct)
    assert f"UsageRecord({members})" == RECORD_TYPE
