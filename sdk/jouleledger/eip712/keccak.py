"""keccak256 with the least overhead per call that this interpreter has.

pysha3 (``safe-pysha3``) is a plain C extension: about 3x less overhead per call than
pycryptodome, whose wrapper allocates a state and three ctypes buffers per hash. Both
compute the same Keccak-256 (tests compare against eth-account's encoder).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def _select_keccak() -> Callable[[bytes], bytes]:
    """pysha3's keccak256 when it is importable, else pycryptodome's (eth-hash's backend)."""
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
