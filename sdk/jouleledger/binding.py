"""Import path kept for existing code: signer proofs live in `jouleledger.eip712.binding`."""

from .eip712.binding import BINDING_TYPES, STAKING_DOMAIN_NAME, sign_signer_binding

__all__ = ["BINDING_TYPES", "STAKING_DOMAIN_NAME", "sign_signer_binding"]
