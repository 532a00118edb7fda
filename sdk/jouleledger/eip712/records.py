"""EIP-712 usage records: one definition, built and hashed in one place for SDK and oracle.

A usage record is what an oracle node measured for one job. The market checks a signature
over its EIP-712 digest (domain: "JouleLedger JobMarket", version "1", chain id, market
address), so a record is bound to one job of one market on one chain. A batch is signed
once: ``UsageBatch(UsageRecord[] records)``.

The field layout is written once, as the `UsageRecord` dataclass whose fields carry their
Solidity types; everything else is derived from it: the EIP-712 type string and typehash,
eth-account's type table, the contract's struct and batch tuples, the EIP-712 message, its
JSON form and the range checks. `tests/sdk/test_records.py` checks the hashing against
eth-account's generic EIP-712 encoder and against the contract's own `recordDigest` /
`batchDigest`; `tests/contracts/conftest.py` keeps an independent encoder on purpose.

Hashing is done here by hand (fixed-width fields, no dynamic types) because it is on the
oracle's hot path: keccak is called directly (`jouleledger.eip712.keccak`), a domain's
separator is computed once per (chain id, market), and address words are cached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum
from functools import lru_cache
from operator import attrgetter
from typing import Any, Final, cast

from eth_typing import ChecksumAddress
from eth_utils.address import to_canonical_address, to_checksum_address

from .domain import DOMAIN_VERSION, eip712_domain
from .keccak import keccak

DOMAIN_NAME: Final = "JouleLedger JobMarket"
_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


@lru_cache(maxsize=4096)
def _checksum(address: str) -> ChecksumAddress:
    return to_checksum_address(address)


@lru_cache(maxsize=4096)
def _address_word(address: str) -> bytes:
    """An address as its 32-byte ABI word (left-padded with zeros)."""
    return to_canonical_address(address).rjust(32, b"\0")


class MeterKind(IntEnum):
    """How the energy and time in a record were measured; a ``uint8`` on chain.

    Every real kind reads a hardware energy counter that is per device, not per process:
    the oracle runs one job per device at a time, so the counter's delta over the job's
    window is that job's energy. The numbers are fixed forever (they are signed into
    records); new kinds only ever get new numbers.

    - ``SIMULATED`` (0): a power model, on a machine without the device. Never measured.
    - ``NVML`` (1): an NVIDIA GPU's NVML energy counter (mJ since driver load).
    - ``AMD_SMI`` (2): an AMD GPU's AMD SMI energy accumulator times its resolution.
    - ``RAPL`` (3): a CPU's Linux RAPL powercap counter (package + DRAM), wrap-around undone.
    """

    SIMULATED = 0
    NVML = 1
    AMD_SMI = 2
    RAPL = 3

    @classmethod
    def from_label(cls, label: str) -> MeterKind:
        """The kind an oracle reading names in lower case (``"nvml"``, ``"amd-smi"``).

        Args:
            label: the reading's ``meter_kind``.

        Raises:
            ValueError: no such meter kind.
        """
        try:
            return cls[label.strip().upper().replace("-", "_")]
        except KeyError:
            known = ", ".join(kind.label for kind in cls)
            raise ValueError(f"unknown meter kind {label!r}; known: {known}") from None

    @property
    def label(self) -> str:
        """The lower-case name an oracle reading uses (``amd-smi`` for ``AMD_SMI``)."""
        return self.name.lower().replace("_", "-")

    @property
    def measured(self) -> bool:
        """Whether the kind reads real hardware (everything but ``SIMULATED``)."""
        return self is not MeterKind.SIMULATED


ABI_TYPE: Final = "abi_type"
"""The key of a record field's metadata that holds its Solidity type."""


@dataclass(frozen=True)
class UsageRecord:
    """One job's measured usage, as the market's `UsageRecord` struct (field order matters).

    Attributes:
        gpu_millis: GPU-milliseconds (GPU-seconds x 1000).
        energy_mj: energy in millijoules: the device energy counter's delta over the job
            window. The counter is per device (GPU or CPU package), not per process, so the
            oracle never runs two jobs on one device at once.
        ai_tokens: AI tokens produced (or another work unit).
        meter_kind: the `MeterKind` that measured it; a simulated meter says so.
    """

    job_id: int = field(metadata={ABI_TYPE: "uint256"})
    provider: ChecksumAddress = field(metadata={ABI_TYPE: "address"})
    gpu_millis: int = field(metadata={ABI_TYPE: "uint64"})
    energy_mj: int = field(metadata={ABI_TYPE: "uint64"})
    ai_tokens: int = field(metadata={ABI_TYPE: "uint64"})
    result_hash: bytes = field(metadata={ABI_TYPE: "bytes32"})
    start_time: int = field(metadata={ABI_TYPE: "uint64"})
    end_time: int = field(metadata={ABI_TYPE: "uint64"})
    meter_kind: MeterKind = field(metadata={ABI_TYPE: "uint8"})
    gpu_id_hash: bytes = field(metadata={ABI_TYPE: "bytes32"})

    def __post_init__(self) -> None:
        """Check every field against its Solidity type.

        Raises:
            ValueError: a number that does not fit its type, a hash that is not 32 bytes,
                or an unknown meter kind.
        """
        if not _fits(self):
            raise _out_of_range(self)
        object.__setattr__(self, "provider", _checksum(self.provider))
        object.__setattr__(self, "meter_kind", MeterKind(self.meter_kind))

    @classmethod
    def from_fields(cls, values: Mapping[str, Any]) -> UsageRecord:
        """A record from snake_case fields as stored as JSON: hashes as 0x-hex, the meter
        kind as its label (``"nvml"``) or number. Other keys are ignored.

        Args:
            values: at least every field of the record.

        Raises:
            KeyError: a field is missing.
            ValueError: a field does not fit its type.
        """
        args: dict[str, Any] = {}
        for f in RECORD_FIELDS:
            value = values[f.attr]
            if f.abi_type == "bytes32" and isinstance(value, str):
                value = bytes.fromhex(value.removeprefix("0x"))
            elif f.attr == "meter_kind" and isinstance(value, str):
                value = MeterKind.from_label(value)
            args[f.attr] = value
        return cls(**args)

    def as_tuple(self) -> tuple[Any, ...]:
        """The record as the contract's struct tuple (for web3 calls)."""
        return _VALUES(self)

    def as_batch_tuple(self) -> tuple[Any, ...]:
        """The record as the contract's `BatchRecord` tuple (the batch names the provider)."""
        return _BATCH_VALUES(self)

    def as_message(self) -> dict[str, Any]:
        """The record as an EIP-712 message (camelCase field names)."""
        return {
            f.name: int(value) if f.abi_type.startswith("uint") else value
            for f, value in zip(RECORD_FIELDS, _VALUES(self), strict=True)
        }

    def as_json(self) -> dict[str, Any]:
        """The EIP-712 message with bytes as 0x-hex: what the oracle shows and stores."""
        return {
            key: "0x" + value.hex() if isinstance(value, bytes) else value
            for key, value in self.as_message().items()
        }

    def struct_hash(self) -> bytes:
        """hashStruct(record) as EIP-712 defines it."""
        return _struct_hash(self)


@dataclass(frozen=True)
class RecordField:
    """One field of the usage record: its Python attribute, EIP-712 name and Solidity type."""

    attr: str
    name: str
    abi_type: str


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)


RECORD_FIELDS: Final = tuple(
    RecordField(f.name, _camel(f.name), f.metadata[ABI_TYPE]) for f in fields(UsageRecord)
)
"""The record's fields in struct order, derived from `UsageRecord`."""

_MEMBERS = ",".join(f"{f.abi_type} {f.name}" for f in RECORD_FIELDS)
RECORD_TYPE: Final = f"UsageRecord({_MEMBERS})"
BATCH_TYPE: Final = "UsageBatch(UsageRecord[] records)" + RECORD_TYPE
RECORD_TYPEHASH: Final = keccak(RECORD_TYPE.encode())
BATCH_TYPEHASH: Final = keccak(BATCH_TYPE.encode())
EIP712_TYPES: Final[dict[str, list[dict[str, str]]]] = {
    "UsageRecord": [{"name": f.name, "type": f.abi_type} for f in RECORD_FIELDS],
    "UsageBatch": [{"name": "records", "type": "UsageRecord[]"}],
}


def _compile(name: str, body: str) -> Callable[[UsageRecord], Any]:
    """A function of one record `r` returning `body`, written out field by field.

    The hot paths (checking a new record, hashing it) are generated from `RECORD_FIELDS`
    the way `dataclasses` writes ``__init__``: as fast as hand-unrolled code (a generic
    loop over the fields costs twice as much), yet derived from the one definition.
    """
    namespace: dict[str, Any] = {
        "keccak": keccak,
        "RECORD_TYPEHASH": RECORD_TYPEHASH,
        "_address_word": _address_word,
    }
    exec(f"def {name}(r):\n    return {body}\n", namespace)
    return cast(Callable[[UsageRecord], Any], namespace[name])


def _word(f: RecordField) -> str:
    """Source of field `f`'s 32-byte EIP-712 word."""
    if f.abi_type == "address":
        return f"_address_word(r.{f.attr})"
    if f.abi_type == "bytes32":
        return f"r.{f.attr}"
    return f"r.{f.attr}.to_bytes(32, 'big')"


def _out_of_range(record: UsageRecord) -> ValueError:
    """The error for the first field of `record` that does not fit its Solidity type."""
    for f in _UINTS:
        value = getattr(record, f.attr)
        bound = 2 ** int(f.abi_type[4:])
        if not 0 <= value < bound:
            return ValueError(f"{f.attr} must fit in {f.abi_type}, got {value}")
    bad = next(name for name in _BYTES32_NAMES if len(getattr(record, name)) != 32)
    return ValueError(f"{bad} must be 32 bytes")


_VALUES = attrgetter(*(f.attr for f in RECORD_FIELDS))
_BATCH_VALUES = attrgetter(*(f.attr for f in RECORD_FIELDS if f.attr != "provider"))
_UINTS = [f for f in RECORD_FIELDS if f.abi_type.startswith("uint") and f.attr != "meter_kind"]
_BYTES32_NAMES = tuple(f.attr for f in RECORD_FIELDS if f.abi_type == "bytes32")
_fits: Callable[[UsageRecord], bool] = _compile(
    "fits",
    " and ".join(
        [f"0 <= r.{f.attr} < {2 ** int(f.abi_type[4:])}" for f in _UINTS]
        + [f"len(r.{name}) == 32" for name in _BYTES32_NAMES]
    ),
)
_WORDS = ", ".join(_word(f) for f in RECORD_FIELDS)
_struct_hash: Callable[[UsageRecord], bytes] = _compile(
    "struct_hash", f"keccak(b''.join((RECORD_TYPEHASH, {_WORDS})))"
)


@dataclass(frozen=True)
class MarketDomain:
    """The EIP-712 domain of one market deployment on one chain."""

    chain_id: int
    market: ChecksumAddress

    def as_dict(self) -> dict[str, Any]:
        """The domain as eth-account's ``sign_typed_data`` takes it."""
        return eip712_domain(DOMAIN_NAME, self.chain_id, self.market)

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
    """hashStruct(UsageBatch{records}).

    Args:
        records: the batch, in the order the contract receives it.

    Raises:
        ValueError: no records.
    """
    if not records:
        raise ValueError("a batch needs at least one record")
    return keccak(BATCH_TYPEHASH + keccak(b"".join([r.struct_hash() for r in records])))


def typed_digest(domain: MarketDomain, struct_hash: bytes) -> bytes:
    """The EIP-712 digest: keccak256("\\x19\\x01" || domainSeparator || structHash).

    Args:
        domain: the market's domain.
        struct_hash: hashStruct of the signed message.
    """
    return keccak(b"\x19\x01" + domain.separator() + struct_hash)


def record_digest(domain: MarketDomain, record: UsageRecord) -> bytes:
    """What the oracle signs for one record (the contract's `recordDigest`).

    Args:
        domain: the market's domain.
        record: the record to sign.
    """
    return typed_digest(domain, record.struct_hash())


def batch_digest(domain: MarketDomain, records: Sequence[UsageRecord]) -> bytes:
    """What the oracle signs for a batch (the contract's `batchDigest`).

    Args:
        domain: the market's domain.
        records: the batch, in the order the contract receives it.

    Raises:
        ValueError: no records.
    """
    return typed_digest(domain, batch_struct_hash(records))
