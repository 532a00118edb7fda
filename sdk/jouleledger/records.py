"""Import path kept for existing code: the usage record lives in `jouleledger.eip712.records`."""

from .eip712.domain import DOMAIN_VERSION
from .eip712.keccak import _select_keccak, keccak
from .eip712.records import (
    BATCH_TYPE,
    BATCH_TYPEHASH,
    DOMAIN_NAME,
    EIP712_TYPES,
    RECORD_FIELDS,
    RECORD_TYPE,
    RECORD_TYPEHASH,
    MarketDomain,
    MeterKind,
    RecordField,
    UsageRecord,
    batch_digest,
    batch_struct_hash,
    record_digest,
    typed_digest,
)

__all__ = [
    "BATCH_TYPE",
    "BATCH_TYPEHASH",
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "EIP712_TYPES",
    "RECORD_FIELDS",
    "RECORD_TYPE",
    "RECORD_TYPEHASH",
    "MarketDomain",
    "MeterKind",
    "RecordField",
    "UsageRecord",
    "_select_keccak",
    "batch_digest",
    "batch_struct_hash",
    "keccak",
    "record_digest",
    "typed_digest",
]
