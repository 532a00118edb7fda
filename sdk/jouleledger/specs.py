"""Import path kept for existing code: job specs live in `jouleledger.eip712.spec`."""

from .eip712.spec import (
    EXAMPLE,
    SPEC_KEYS,
    InvalidSpec,
    canonical_spec,
    canonical_spec_bytes,
    parse_spec,
    spec_hash,
)

__all__ = [
    "EXAMPLE",
    "SPEC_KEYS",
    "InvalidSpec",
    "canonical_spec",
    "canonical_spec_bytes",
    "parse_spec",
    "spec_hash",
]
