"""Decoding with the artifacts' ABIs: every event of every indexed contract round-trips
(the one-word fast path agrees with eth_abi), unknown topics are kept, and settlement
calldata gives the usage records of both settle forms."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.abi import collapse_if_tuple, event_abi_to_log_topic
from web3 import Web3

from jouleledger import MeterKind, load_artifact
from jouleledger.records import UsageRecord
from jouleledger_indexer.decoding import ARTIFACTS, UNKNOWN_EVENT, EventDecoder, UsageDecoder

ADDRESSES = {role: "0x" + f"{i + 1:040x}" for i, role in enumerate(ARTIFACTS)}
SAMPLES: dict[str, Any] = {
    "address": "0x" + "12" * 20,
    "bool": True,
    "string": "<script>alert(1)</script>",
    "bytes": b"\x01\x02",
}


def _sample(typ: str) -> Any:
    if typ.endswith("[]"):
        return [_sample(typ[:-2])] * 2
    if typ in SAMPLES:
        return SAMPLES[typ]
    if typ.startswith(("uint", "int")):
        return 2 ** (int(typ.lstrip("uint") or 256) - 1) - 3
    if typ.startswith("bytes"):
        return bytes(range(int(typ[5:])))
    raise AssertionError(f"no sample for {typ}")


def _stored(typ: str, value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list):
        return [_stored(typ[:-2], v) for v in value]
    return value


def _events() -> list[tuple[str, dict[str, Any]]]:
    return [
        (role, entry)
        for role, names in ARTIFACTS.items()
        for name in names
        for entry in load_artifact(name).abi
        if entry["type"] == "event"
    ]


@pytest.mark.parametrize(
    ("role", "abi"), _events(), ids=lambda x: x if isinstance(x, str) else x["name"]
)
def test_every_event_of_the_artifacts_decodes_to_what_was_encoded(
    role: str, abi: dict[str, Any]
) -> None:
    inputs = abi["inputs"]
    values = {i["name"]: _sample(collapse_if_tuple(i)) for i in inputs}
    topics = ["0x" + event_abi_to_log_topic(abi).hex()]  # type: ignore[arg-type]
    for i in (i for i in inputs if i["indexed"]):
        topics.append("0x" + encode([i["type"]], [values[i["name"]]]).hex())
    data = [i for i in inputs if not i["indexed"]]
    log = {
        "address": ADDRESSES[role],
        "topics": topics,
        "data": "0x" + encode([i["type"] for i in data], [values[i["name"]] for i in data]).hex(),
        "blockNumber": "0x10",
        "blockHash": "0x" + "ab" * 32,
        "logIndex": "0x2",
        "transactionHash": "0x" + "cd" * 32,
    }
    decoded = EventDecoder(ADDRESSES).decode(log)
    assert (decoded.contract, decoded.name, decoded.block_number) == (role, abi["name"], 16)
    expected = {i["name"]: _stored(i["type"], values[i["name"]]) for i in inputs}
    assert decoded.args == expected


def test_a_log_no_abi_declares_is_kept_raw() -> None:
    log = {
        "address": ADDRESSES["market"],
        "topics": ["0x" + "ee" * 32],
        "data": "0x1234",
        "blockNumber": "0x1",
        "blockHash": "0x" + "ab" * 32,
        "logIndex": "0x0",
        "transactionHash": "0x" + "cd" * 32,
    }
    decoded = EventDecoder(ADDRESSES).decode(log)
    assert decoded.name == UNKNOWN_EVENT
    assert decoded.args == {"topics": ["0x" + "ee" * 32], "data": "0x1234"}


def test_usage_records_come_out_of_both_settle_forms() -> None:
    provider = Web3.to_checksum_address("0x" + "77" * 20)
    records = [
        UsageRecord(
            j, provider, 4000 + j, 1_000_000, 900, bytes(32), 1, 2, MeterKind(1), b"\x09" * 32
        )
        for j in (5, 6)
    ]
    market = Web3().eth.contract(abi=load_artifact("JobMarket").abi)
    single = market.encode_abi("settle", [records[0].as_tuple(), b"", []])
    batch = market.encode_abi(
        "settleBatch", [provider, [r.as_batch_tuple() for r in records], b"", []]
    )
    usage = UsageDecoder()
    assert usage.records(single)[5]["gpuMillis"] == 4005
    found = usage.records(batch)
    assert sorted(found) == [5, 6]
    assert found[6]["provider"] == provider.lower() and found[6]["meterKind"] == 1
    assert found[6]["gpuIdHash"] == "0x" + "09" * 32
    assert usage.records(market.encode_abi("claimJob", [5])) == {}
