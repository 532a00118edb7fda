"""EIP-712 usage records: built and hashed in one place, for the SDK and the oracle node.

A usage record is what an oracle node measured for one job. The market checks a signature
over its EIP-712 digest (domain: "JouleLedger JobMarket", version "1", chain id, market
address), so a record is bound to one job of one market on one chain. A batch is signed
once: ``UsageBatch(UsageRecord[] records)``.

Hashing is done here by hand (fixed-width fields, no dynamic types) because it is on the
oracle's hot path; `tests/sdk/test_records.py` checks it against eth-account's generic
EIP-712 encoder and against the contract's own `recordDigest` / `batchDigest`. The hot path
avoids per-call overhead: keccak is called directly (pysha3's C implementation when it is
importable, else pycryptodome's, the backend eth-hash uses), a domain's separator is computed
once per (chain id, market), and address checksums and 32-byte address words are cached.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils.address import to_canonical_address, to_checksum_address


def _select_keccak() -> Callable[[bytes], bytes]:
    """keccak256 with the least overhead per call that this interpreter has.

    pysha3 (``safe-pysha3``) is a plain C extension: about 3x less overhead per call than
    pycryptodome, whose wrapper allocates a state and three ctypes buffers per hash. Both
    compute the same Keccak-256 (tests compare against eth-account's encoder).
    """
    try:
        keccak_256 = importlib.import_module("sha3").keccak_256  # optional, untyped
    except (ImportError, AttributeError):
        from Crypto.Hash import keccak as _pycryptodome_keccak

        new = _pycryptodome_keccak.new

        def pycryptodome_keccak(data: bytes) -> bytes:
            return new(data=data, digest_bits=256).digest()

        return pycryptodome_keccak

    def pysha3_keccak(data: bytes) -> bytes:
        return bytes(keccak_256(data).digest())

    return pysha3_keccak


keccak: Callable[[bytes], bytes] = _select_keccak()
"""keccak256 of `data` (what Solidity's ``keccak256`` computes)."""

DOMAIN_NAME = "JouleLedger JobMarket"
DOMAIN_VERSION = "1"

RECORD_TYPE = (
    "UsageRecord(uint256 jobId,address provider,uint64 gpuMillis,uint64 energyMj,uint64 aiTokens,"
    "bytes32 resultHash,uint64 startTime,uint64 endTime,uint8 meterKind,bytes32 gpuIdHash)"
)
BATCH_TYPE = "UsageBatch(UsageRecord[] records)" + RECORD_TYPE
RECORD_TYPEHASH = keccak(RECORD_TYPE.encode())
BATCH_TYPEHASH = keccak(BATCH_TYPE.encode())
_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)

EIP712_TYPES: dict[str, list[dict[str, str]]] = {
    "UsageRecord": [
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
    ],
    "UsageBatch": [{"name": "records", "type": "UsageRecord[]"}],
}

_UINT64 = 2**64
_UINT256 = 2**256
_UINT64_FIELDS = ("gpu_millis", "energy_mj", "ai_tokens", "start_time", "end_time")


@lru_cache(maxsize=4096)
def _checksum(address: str) -> ChecksumAddress:
    return to_checksum_address(address)


@lru_cache(maxsize=4096)
def _address_word(address: str) -> bytes:
    """An address as its 32-byte ABI word (left-padded with zeros)."""
    return to_canonical_address(address).rjust(32, b"\0")


class MeterKind(IntEnum):
    """How the energy and time in a record were measured."""

    SIMULATED = 0
    NVML = 1


@dataclass(frozen=True)
class UsageRecord:
    """One job's measured usage, as the market's `UsageRecord` struct.

    Attributes:
        gpu_millis: GPU-milliseconds (GPU-seconds x 1000).
        energy_mj: energy in millijoules (the NVML counter's delta over the job window).
        ai_tokens: AI tokens produced (or another work unit).
        meter_kind: MeterKind.NVML or MeterKind.SIMULATED; a simulated meter says so.
    """

    job_id: int
    provider: ChecksumAddress
    gpu_millis: int
    energy_mj: int
    ai_tokens: int
    result_hash: bytes
    start_time: int
    end_time: int
    meter_kind: MeterKind
    gpu_id_hash: bytes

    def __post_init__(self) -> None:
        for name in _UINT64_FIELDS:
            value = getattr(self, name)
            if not 0 <= value < _UINT64:
                raise ValueError(f"{name} must fit in uint64, got {value}")
        if not 0 <= self.job_id < _UINT256:
            raise ValueError(f"job_id out of range: {self.job_id}")
        if len(self.result_hash) != 32:
            raise ValueError("result_hash must be 32 bytes")
        if len(self.gpu_id_hash) != 32:
            raise ValueError("gpu_id_hash must be 32 bytes")
        object.__setattr__(self, "provider", _checksum(self.provider))
        object.__setattr__(self, "meter_kind", MeterKind(self.meter_kind))

    def as_tuple(self) -> tuple[Any, ...]:
        """The record as the contract's struct tuple (for web3 calls)."""
        return astuple(self)

    def as_batch_tuple(self) -> tuple[Any, ...]:
        """The record as the contract's `BatchRecord` tuple (the batch names the provider)."""
        fields = astuple(self)
        return fields[:1] + fields[2:]

    def as_message(self) -> dict[str, Any]:
        """The record as an EIP-712 message (camelCase field names)."""
        return {
            "jobId": self.job_id,
            "provider": self.provider,
            "gpuMillis": self.gpu_millis,
            "energyMj": self.energy_mj,
            "aiTokens": self.ai_tokens,
            "resultHash": self.result_hash,
            "startTime": self.start_time,
            "endTime": self.end_time,
            "meterKind": int(self.meter_kind),
            "gpuIdHash": self.gpu_id_hash,
        }

    def struct_hash(self) -> bytes:
        """hashStruct(record) as EIP-712 defines it."""
        return keccak(
            b"".join(
                (
                    RECORD_TYPEHASH,
                    self.job_id.to_bytes(32, "big"),
                    _address_word(self.provider),
                    self.gpu_millis.to_bytes(32, "big"),
                    self.energy_mj.to_bytes(32, "big"),
                    self.ai_tokens.to_bytes(32, "big"),
                    self.result_hash,
                    self.start_time.to_bytes(32, "big"),
                    self.end_time.to_bytes(32, "big"),
                    int(self.meter_kind).to_bytes(32, "big"),
                    self.gpu_id_hash,
                )
            )
        )


@dataclass(frozen=True)
class MarketDomain:
    """The EIP-712 domain of one market deployment on one chain."""

    chain_id: int
    market: ChecksumAddress

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.market,
        }

    def separator(self) -> bytes:
        """The EIP-712 domain separator (computed once per chain id and market)."""
        return _separator(self.chain_id, self.market)


@lru_cache(maxsize=256)
def _separator(chain_id: int, market: str) -> bytes:
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(DOMAIN_NAME.encode())
        + keccak(DOMAIN_VERSION.encode())
        + chain_id.to_bytes(32, "big")
        + _address_word(market)
    )


def batch_struct_hash(records: Sequence[UsageRecord]) -> bytes:
    """hashStruct(UsageBatch{records})."""
    if not records:
        raise ValueError("a batch needs at least one record")
    return keccak(BATCH_TYPEHASH + keccak(b"".join([r.struct_hash() for r in records])))


def typed_digest(domain: MarketDomain, struct_hash: bytes) -> bytes:
    """The EIP-712 digest: keccak256("\\x19\\x01" || domainSeparator || structHash)."""
    return keccak(b"\x19\x01" + domain.separator() + struct_hash)


def record_digest(domain: MarketDomain, record: UsageRecord) -> bytes:
    """What the oracle signs for one record (the contract's `recordDigest`)."""
    return typed_digest(domain, record.struct_hash())


def batch_digest(domain: MarketDomain, records: Sequence[UsageRecord]) -> bytes:
    """What the oracle signs for a batch (the contract's `batchDigest`)."""
    return typed_digest(domain, batch_struct_hash(records))
