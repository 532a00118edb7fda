"""Typed data the protocol signs or hashes: usage records, permits, signer bindings, specs.

- `records`: the usage record (the layout's one definition) and its EIP-712 digests.
- `permit`: EIP-2612 permits for the token.
- `binding`: an oracle signer's proof that it agrees to sign for a provider.
- `spec`: the job spec and the rule that turns it into the ``specHash`` a job names.
- `domain`, `keccak`: the EIP-712 domain shape and the fast keccak256 they share.

The names most code needs are exported here; the type strings and typehashes are in
`records`.
"""

from .binding import sign_signer_binding
from .domain import eip712_domain
from .keccak import keccak
from .permit import PermitSignature, sign_permit
from .records import MarketDomain, MeterKind, UsageRecord, batch_digest, record_digest
from .spec import InvalidSpec, spec_hash

__all__ = [
    "InvalidSpec",
    "MarketDomain",
    "MeterKind",
    "PermitSignature",
    "UsageRecord",
    "batch_digest",
    "eip712_domain",
    "keccak",
    "record_digest",
    "sign_permit",
    "sign_signer_binding",
    "spec_hash",
]
