"""The oracle signer: keystore handling, and coincurve signatures that eth-account recovers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak as reference_keccak
from eth_typing import ChecksumAddress
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from jouleledger import records
from jouleledger.records import (
    EIP712_TYPES,
    MarketDomain,
    MeterKind,
    UsageRecord,
    batch_digest,
    record_digest,
)
from jouleledger_oracle.signer import (
    KeystoreError,
    OracleSigner,
    decrypt_keystore,
    read_password,
    recover_signer,
)

from .conftest import PASSWORD, write_keystore

SECP256K1_HALF_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 // 2
DOMAIN = MarketDomain(31337, Web3.to_checksum_address("0x" + "cd" * 20))
DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


def make_record(job_id: int, provider: ChecksumAddress, energy: int = 1_234_567) -> UsageRecord:
    return UsageRecord(
        job_id=job_id,
        provider=provider,
        gpu_millis=4_200,
        energy_mj=energy,
        ai_tokens=64,
        result_hash=Web3.keccak(job_id.to_bytes(32, "big")),
        start_time=1_700_000_000,
        end_time=1_700_000_005,
        meter_kind=MeterKind.SIMULATED,
        gpu_id_hash=Web3.keccak(text="SIM-gpu"),
    )


def typed_data(primary: str, message: dict[str, object]) -> dict[str, object]:
    types = {"EIP712Domain": DOMAIN_FIELDS, "UsageRecord": EIP712_TYPES["UsageRecord"]}
    if primary == "UsageBatch":
        types["UsageBatch"] = EIP712_TYPES["UsageBatch"]
    return {"types": types, "primaryType": primary, "domain": DOMAIN.as_dict(), "message": message}


@pytest.fixture(scope="module")
def keystore(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_keystore(tmp_path_factory.mktemp("keys") / "oracle.json", KEY)


@pytest.fixture(scope="module")
def signer(keystore: Path) -> OracleSigner:
    return OracleSigner.from_keystore(keystore, PASSWORD)


def test_keystore_key_signs_for_the_keystore_address(signer: OracleSigner, keystore: Path) -> None:
    expected = Web3.to_checksum_address("0x" + json.loads(keystore.read_text())["address"])
    assert signer.address == expected == Account.from_key(KEY).address
    assert KEY.hex() not in repr(signer)


@settings(max_examples=40, deadline=None)
@given(job_id=st.integers(0, 2**256 - 1), energy=st.integers(0, 2**64 - 1))
def test_record_signature_recovers_to_the_keystore_address_with_eth_account(
    signer: OracleSigner, job_id: int, energy: int
) -> None:
    record = make_record(job_id, signer.address, energy)
    signed = signer.sign_record(DOMAIN, record)
    signable = encode_typed_data(full_message=typed_data("UsageRecord", record.as_message()))
    assert Account.recover_message(signable, signature=signed.signature) == signer.address
    assert Account._recover_hash(signed.digest, signature=signed.signature) == signer.address
    assert signed.digest == record_digest(DOMAIN, record)


def test_signatures_are_canonical_low_s_with_v_27_or_28(signer: OracleSigner) -> None:
    for job_id in range(64):
        signature = signer.sign_record(DOMAIN, make_record(job_id, signer.address)).signature
        assert len(signature) == 65
        assert signature[64] in (27, 28)
        assert int.from_bytes(signature[32:64], "big") <= SECP256K1_HALF_N


def test_signing_is_deterministic_so_a_restart_signs_the_same_bytes(signer: OracleSigner) -> None:
    record = make_record(7, signer.address)
    again = OracleSigner(KEY)
    assert signer.sign_record(DOMAIN, record) == again.sign_record(DOMAIN, record)


def test_batch_signature_recovers_over_batch_digest(signer: OracleSigner) -> None:
    batch = [make_record(job_id, signer.address) for job_id in (3, 1, 2)]
    signed = signer.sign_batch(DOMAIN, batch)
    assert signed.digest == batch_digest(DOMAIN, batch)
    assert Account._recover_hash(signed.digest, signature=signed.signature) == signer.address
    message = {"records": [r.as_message() for r in batch]}
    signable = encode_typed_data(full_message=typed_data("UsageBatch", message))
    assert Account.recover_message(signable, signature=signed.signature) == signer.address
    assert recover_signer(signed.digest, signed.signature) == signer.address


def test_batch_of_nothing_is_refused(signer: OracleSigner) -> None:
    with pytest.raises(ValueError, match="at least one record"):
        signer.sign_batch(DOMAIN, [])


def test_wrong_password_is_a_clear_keystore_error(keystore: Path) -> None:
    with pytest.raises(KeystoreError, match=f"wrong password for keystore {keystore}"):
        OracleSigner.from_keystore(keystore, "not the password")


def test_missing_or_malformed_keystore_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="no keystore file"):
        decrypt_keystore(tmp_path / "absent.json", PASSWORD)
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    with pytest.raises(KeystoreError, match="not a readable keystore JSON"):
        decrypt_keystore(junk, PASSWORD)
    junk.write_text(json.dumps({"address": "00"}))
    with pytest.raises(KeystoreError, match="no 'crypto' section"):
        decrypt_keystore(junk, PASSWORD)


def test_keystore_whose_key_does_not_match_its_address_is_refused(
    keystore: Path, tmp_path: Path
) -> None:
    data = json.loads(keystore.read_text())
    data["address"] = "11" * 20
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data))
    with pytest.raises(KeystoreError, match="the file is corrupt"):
        decrypt_keystore(forged, PASSWORD)


def test_password_comes_from_the_environment_then_the_prompt() -> None:
    assert read_password(environ={"JL_ORACLE_PASSWORD": "pw"}) == "pw"
    assert read_password(environ={}, prompt=lambda text: "typed") == "typed"
    with pytest.raises(KeystoreError, match="set JL_ORACLE_PASSWORD"):
        read_password(environ={}, prompt=None)


def test_invalid_private_key_is_refused() -> None:
    with pytest.raises(KeystoreError, match="not a valid secp256k1"):
        OracleSigner(b"\0" * 32)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=600))
def test_records_keccak_is_keccak256_with_either_backend(data: bytes) -> None:
    assert records.keccak(data) == reference_keccak(data)


def test_records_keccak_falls_back_to_pycryptodome(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sha3", None)  # import sha3 -> ImportError
    fallback = records._select_keccak()
    for data in (b"", b"abc", bytes(range(256)) * 3):
        assert fallback(data) == reference_keccak(data)
