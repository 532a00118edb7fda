"""The spec registry, the database binding and the registration check: the node's edges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address

from jouleledger.records import MarketDomain
from jouleledger.specs import spec_hash
from jouleledger_oracle.binding import bind_store, binding_path
from jouleledger_oracle.chain import check_registration
from jouleledger_oracle.errors import ConfigError, InvalidJobSpec, OracleError
from jouleledger_oracle.specs import DEFAULT_SPEC, RegistryFull, SpecRegistry
from jouleledger_oracle.workloads import JobSpec

from .fake_chain import FakeChain

SPEC = JobSpec(workload="token-generation", inputs={"max_new_tokens": 9, "device": "cpu"})


def test_registered_specs_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "specs.json"
    spec_hash = SpecRegistry(path).add(SPEC)
    again = SpecRegistry(path)
    assert again.get(spec_hash) == SPEC
    assert again.spec_for(bytes.fromhex(spec_hash[2:])) == (SPEC, "registry")
    assert spec_hash == SPEC.spec_hash()


def test_a_spec_file_written_by_hand_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "specs.json"
    path.write_text(json.dumps([SPEC.model_dump(mode="json")]))
    assert SpecRegistry(path).get(SPEC.spec_hash()) == SPEC


def test_specs_can_be_given_as_objects_or_parsed_json() -> None:
    other = {"workload": "token-generation", "inputs": {"seed": 7}}
    registry = SpecRegistry(specs=[SPEC, other])
    assert len(registry) == 2
    assert registry.get(JobSpec.model_validate(other).spec_hash()) is not None


def test_the_node_hashes_a_spec_by_the_sdks_rule() -> None:
    written = (
        '{"inputs": {"device": "cpu",  "max_new_tokens": 9},\n "workload": "token-generation"}'
    )
    assert SPEC.spec_hash() == "0x" + spec_hash(written.encode()).hex()
    assert SpecRegistry(specs=[SPEC]).spec_for(spec_hash(written.encode()))[1] == "registry"
    bare = {"workload": "token-generation"}  # no inputs: empty inputs, on both sides
    assert JobSpec.model_validate(bare).spec_hash() == "0x" + spec_hash(bare).hex()


def test_unknown_spec_hash_gets_the_default_spec_or_a_clear_refusal() -> None:
    assert SpecRegistry().spec_for(b"\1" * 32) == (DEFAULT_SPEC, "default")
    with pytest.raises(InvalidJobSpec, match="not registered on this node"):
        SpecRegistry(default=None).spec_for(b"\1" * 32)


def test_only_allowed_workloads_can_be_registered(tmp_path: Path) -> None:
    shell = {"workload": "shell", "inputs": {"command": ["true"]}}
    with pytest.raises(InvalidJobSpec, match="not allowed"):
        SpecRegistry().add(shell)
    assert SpecRegistry(allowed_workloads={"shell"}).add(shell).startswith("0x")
    bad_file = tmp_path / "specs.json"
    bad_file.write_text(json.dumps({"specs": [shell]}))
    with pytest.raises(InvalidJobSpec, match="not allowed"):
        SpecRegistry(bad_file)


def test_registry_refuses_more_than_its_limit_and_unreadable_files(tmp_path: Path) -> None:
    registry = SpecRegistry(max_specs=1)
    registry.add(SPEC)
    registry.add(SPEC)  # the same spec again is fine
    with pytest.raises(RegistryFull):
        registry.add(JobSpec(workload="token-generation", inputs={"seed": 1}))
    broken = tmp_path / "specs.json"
    broken.write_text("{")
    with pytest.raises(OracleError, match="cannot read the spec registry"):
        SpecRegistry(broken)


def test_a_database_is_bound_to_one_market_chain_and_provider(tmp_path: Path) -> None:
    db = tmp_path / "node.sqlite"
    market = to_checksum_address("0x" + "ab" * 20)
    provider = Account.create().address
    bind_store(db, MarketDomain(31337, market), provider)
    bind_store(db, MarketDomain(31337, market), provider)  # the same again
    assert binding_path(db).exists()
    with pytest.raises(ConfigError, match="use a database of its own"):
        bind_store(db, MarketDomain(1, market), provider)
    with pytest.raises(ConfigError, match="use a database of its own"):
        bind_store(db, MarketDomain(31337, market), Account.create().address)


def test_registration_check_names_the_signer_to_fix() -> None:
    provider, signer, other = (Account.create().address for _ in range(3))
    chain = FakeChain(provider, signer)
    assert check_registration(chain, signer).registered
    with pytest.raises(ConfigError, match=f"registered with oracle signer {signer}"):
        check_registration(chain, other)
