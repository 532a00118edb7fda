"""The spec-hash rule: one canonical JSON form of a job spec, one keccak256, shared by the
`jl` CLI (which posts it) and the oracle node (which looks specs up by it; its side is
tested in tests/oracle/test_specs.py)."""

from __future__ import annotations

import json

import pytest
from eth_hash.auto import keccak

from jouleledger.errors import JouleLedgerError
from jouleledger.specs import InvalidSpec, canonical_spec_bytes, spec_hash

SPEC = {"workload": "token-generation", "inputs": {"seed": 7, "max_new_tokens": 9}}


def test_canonical_bytes_sort_keys_and_drop_whitespace() -> None:
    assert canonical_spec_bytes(SPEC) == (
        b'{"inputs":{"max_new_tokens":9,"seed":7},"workload":"token-generation"}'
    )


def test_whitespace_and_key_order_do_not_change_the_hash() -> None:
    pretty = json.dumps(dict(reversed(list(SPEC.items()))), indent=4).encode()
    assert spec_hash(pretty) == spec_hash(SPEC) == keccak(canonical_spec_bytes(SPEC))


def test_a_spec_without_inputs_means_empty_inputs() -> None:
    assert spec_hash({"workload": "w"}) == spec_hash({"workload": "w", "inputs": {}})


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "a JSON object"),
        (b'{"inputs": {}}', '"workload"'),
        (b'{"workload": ""}', '"workload"'),
        (b'{"workload": "w", "inputs": [1]}', '"inputs"'),
        (b'{"workload": "w", "model": "llama"}', "model"),
        (b'{"workload": "w", "inputs": {"x": NaN}}', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_a_document_that_is_not_a_job_spec_is_refused_with_a_reason(
    document: bytes, says: str
) -> None:
    with pytest.raises(InvalidSpec, match=says) as raised:
        spec_hash(document)
    assert isinstance(raised.value, JouleLedgerError) and isinstance(raised.value, ValueError)
    assert "\n" not in str(raised.value)
