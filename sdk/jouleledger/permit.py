"""Import path kept for existing code: permits live in `jouleledger.eip712.permit`."""

from .eip712.permit import PERMIT_TYPES, PermitSignature, sign_permit

__all__ = ["PERMIT_TYPES", "PermitSignature", "sign_permit"]
