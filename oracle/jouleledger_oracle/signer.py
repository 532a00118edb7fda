"""The oracle's signing key: EIP-712 usage records and batches, signed fast with coincurve.

The key comes from an eth-account keystore (V3 JSON, scrypt or pbkdf2), decrypted once when
the node starts; the password comes from an environment variable (``JL_ORACLE_PASSWORD``) or a
prompt, never from the command line. The key then lives only inside this object: it is not
logged, not in ``repr``, and not handed out.

Digests are built by the SDK's `jouleledger.records` (the one EIP-712 builder the contract is
tested against) and signed with libsecp256k1 through coincurve:
``sign_recoverable(digest, hasher=None)`` gives ``r || s || recid`` with a low ``s`` (libsecp256k1
normalises it), which becomes the ``r || s || v`` form (``v`` = 27 or 28) that OpenZeppelin's
``ECDSA.recover`` and eth-account accept.

Batch attestation: one signature over ``UsageBatch(UsageRecord[] records)`` settles many jobs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import coincurve
from eth_account import Account
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from jouleledger.records import MarketDomain, UsageRecord, batch_digest, keccak, record_digest

from .errors import OracleError

PASSWORD_ENV: Final = "JL_ORACLE_PASSWORD"
_SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class KeystoreError(OracleError, ValueError):
    """The keystore is missing, malformed, or the password does not open it."""


@dataclass(frozen=True)
class Signed:
    """A digest and the oracle's 65-byte signature over it (``r || s || v``)."""

    digest: bytes
    signature: bytes


def read_password(
    env_var: str = PASSWORD_ENV,
    *,
    environ: dict[str, str] | None = None,
    prompt: Callable[[str], str] | None = None,
) -> str:
    """The keystore password: from `env_var`, else from `prompt` (e.g. ``getpass.getpass``).

    Args:
        env_var: the environment variable to read.
        environ: the environment (default ``os.environ``); injectable for tests.
        prompt: asks a person; None when the process is not interactive.

    Raises:
        KeystoreError: the variable is unset and there is no prompt.
    """
    env = os.environ if environ is None else environ
    value = env.get(env_var)
    if value is not None:
        return value
    if prompt is None:
        raise KeystoreError(
            f"no keystore password: set {env_var} or run the node in a terminal to type it"
        )
    return prompt("Keystore password: ")


def recover_signer(digest: bytes, signature: bytes) -> ChecksumAddress:
    """The address whose key made `signature` (``r || s || v``) over `digest`.

    Args:
        digest: the 32-byte digest that was signed.
        signature: 65 bytes, ``r || s || v`` with v 27 or 28.

    Raises:
        ValueError: not a 65-byte signature with v in {27, 28}, or it recovers to no key.
    """
    if len(digest) != 32 or len(signature) != 65 or signature[64] not in (27, 28):
        raise ValueError("expected a 32-byte digest and a 65-byte r || s || v signature")
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes((signature[64] - 27,)), digest, hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exception for unrecoverable input
        raise ValueError(f"the signature recovers to no key: {exc}") from exc
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:])


def decrypt_keystore(path: str | os.PathLike[str], password: str) -> bytes:
    """The private key in an eth-account keystore file.

    Args:
        path: the keystore JSON file (``Account.encrypt`` / geth / clef format).
        password: its password.

    Raises:
        KeystoreError: no such file, not a keystore, the wrong password, or a key that does
            not match the address the file names.
    """
    where = Path(path)
    try:
        keyfile: Any = json.loads(where.read_text())
    except FileNotFoundError:
        raise KeystoreError(f"no keystore file at {where}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeystoreError(f"{where} is not a readable keystore JSON file: {exc}") from None
    if not isinstance(keyfile, dict) or not ("crypto" in keyfile or "Crypto" in keyfile):
        raise KeystoreError(f"{where} is not an eth-account keystore (no 'crypto' section)")
    try:
        key = bytes(Account.decrypt(keyfile, password))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise KeystoreError(f"wrong password for keystore {where}") from None
        raise KeystoreError(f"cannot decrypt keystore {where}: {exc}") from None
    except (KeyError, TypeError, NotImplementedError) as exc:
        raise KeystoreError(f"{where} is a malformed keystore: {exc!r}") from None
    expected = keyfile.get("address")
    claimed = expected.removeprefix("0x") if isinstance(expected, str) else ""
    if claimed:
        actual = Account.from_key(key).address
        if to_checksum_address("0x" + claimed) != actual:
            raise KeystoreError(
                f"keystore {where} says address 0x{claimed} but its key belongs to {actual}; "
                "the file is corrupt"
            )
    return key


class OracleSigner:
    """Signs usage records with the oracle key; thread-safe (coincurve holds no state).

    Args:
        private_key: the 32-byte secp256k1 key.

    Raises:
        KeystoreError: the key is not a valid secp256k1 private key.
    """

    def __init__(self, private_key: bytes) -> None:
        if len(private_key) != 32 or not 0 < int.from_bytes(private_key, "big") < _SECP256K1_N:
            raise KeystoreError("the oracle key is not a valid secp256k1 private key")
        self._key = coincurve.PrivateKey(private_key)
        public = self._key.public_key.format(compressed=False)[1:]
        self.address: ChecksumAddress = to_checksum_address(keccak(public)[-20:])

    @classmethod
    def from_keystore(cls, path: str | os.PathLike[str], password: str) -> OracleSigner:
        """Decrypt an eth-account keystore file (once; scrypt takes a moment by design).

        Args:
            path: the keystore JSON file (``Account.encrypt`` / geth / clef format).
            password: its password.

        Raises:
            KeystoreError: no such file, not a keystore, or the wrong password.
        """
        return cls(decrypt_keystore(path, password))

    def __repr__(self) -> str:
        return f"OracleSigner({self.address})"

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest as is (no prefix, no hashing): ``r || s || v``, v in {27, 28}.

        Args:
            digest: an EIP-712 digest.

        Raises:
            ValueError: the digest is not 32 bytes.
        """
        if len(digest) != 32:
            raise ValueError(f"a digest is 32 bytes, got {len(digest)}")
        raw = self._key.sign_recoverable(digest, hasher=None)
        return raw[:64] + bytes((raw[64] + 27,))

    def sign_record(self, domain: MarketDomain, record: UsageRecord) -> Signed:
        """Sign one usage record (the contract's ``recordDigest``).

        Args:
            domain: the market's EIP-712 domain.
            record: the record.
        """
        digest = record_digest(domain, record)
        return Signed(digest, self.sign_digest(digest))

    def sign_batch(self, domain: MarketDomain, records: Sequence[UsageRecord]) -> Signed:
        """Sign many records at once (the contract's ``batchDigest``).

        Args:
            domain: the market's EIP-712 domain.
            records: the records, in the order the batch settles them.

        Raises:
            ValueError: no records.
        """
        digest = batch_digest(domain, records)
        return Signed(digest, self.sign_digest(digest))
