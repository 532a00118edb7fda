"""The fast encoder of the batch calls gives eth-abi's bytes, and refuses what eth-abi refuses."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode
from eth_abi.exceptions import EncodingError
from hypothesis import given, settings
from hypothesis import strategies as st

from jouleledger.tx.fastabi import compile_types

REQUEST = "(bytes32,bytes4,uint256,uint256,uint256,uint32,address)"
RECORD = "(uint256,uint64,uint64,uint64,bytes32,uint64,uint64,uint8,bytes32)"

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
requests = st.tuples(
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=4, max_size=4),
    st.integers(0, 2**256 - 1),
    st.integers(0, 2**256 - 1),
    st.integers(0, 2**256 - 1),
    st.integers(0, 2**32 - 1),
    addresses,
)
u64 = st.integers(0, 2**64 - 1)
records = st.tuples(
    st.integers(0, 2**256 - 1), u64, u64, u64, st.binary(min_size=32, max_size=32), u64, u64,
    st.integers(0, 255), st.binary(min_size=32, max_size=32),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(requests, max_size=20), st.integers(0, 2**256 - 1), st.integers(0, 255))
def test_post_jobs_with_permit_arguments_encode_as_eth_abi_does(
    batch: list[tuple[object, ...]], deadline: int, v: int
) -> None:
    types = [f"{REQUEST}[]", "uint256", "uint8", "bytes32", "bytes32"]
    args = [batch, deadline, v, b"\x01" * 32, b"\x02" * 32]
    fast = compile_types(types)
    assert fast is not None
    assert fast(args) == encode(types, args)


@settings(max_examples=60, deadline=None)
@given(
    addresses,
    st.lists(records, max_size=20),
    st.binary(max_size=70),
    st.lists(st.binary(max_size=70), max_size=4),
)
def test_settle_batch_arguments_encode_as_eth_abi_does(
    provider: str, batch: list[tuple[object, ...]], signature: bytes, extra: list[bytes]
) -> None:
    types = ["address", f"{RECORD}[]", "bytes", "bytes[]"]
    args = [provider, batch, signature, extra]
    fast = compile_types(types)
    assert fast is not None
    assert fast(args) == encode(types, args)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("uint8", 256),
        ("uint256", -1),
        ("uint32", True),
        ("bytes4", b"12345"),
        ("address", "0x12"),
        ("bool", 1),
    ],
)
def test_values_out_of_range_are_refused(kind: str, value: object) -> None:
    fast = compile_types([kind])
    assert fast is not None
    with pytest.raises(EncodingError):
        fast([value])


def test_types_it_does_not_handle_are_left_to_eth_abi() -> None:
    assert compile_types(["string"]) is None
    assert compile_types(["int256"]) is None
    assert compile_types(["(uint256,bytes)"]) is None
