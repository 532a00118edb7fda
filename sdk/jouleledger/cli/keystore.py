"""Encrypted key files under ``$JL_HOME/keystores``: one ``<name>.json`` per account.

The files are Web3 Secret Storage v3 (what geth and eth-account write), made with
`Account.encrypt` (scrypt) and readable by any wallet that imports keystores. The address
is stored in the clear, so listing accounts and reading balances need no password.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3

from .errors import CliError, ExitCode, WrongPassword

#: scrypt cost of ``--light-kdf`` keystores (geth's ``--lightkdf`` uses the same N): fast to
#: unlock, for throwaway devnet keys; the default is eth-account's N = 2**18.
LIGHT_SCRYPT_N = 4096
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: str) -> str:
    """A keystore name: letters, digits, ``_.-``, up to 64 characters.

    Raises:
        CliError: anything else (``dev:N`` is reserved for the devnet accounts).
    """
    if not _NAME.match(name):
        raise CliError(
            f"{name!r} is not a valid account name: use letters, digits, '_', '.', '-' "
            "(up to 64, not starting with a symbol)"
        )
    return name


def path_of(directory: Path, name: str) -> Path:
    return directory / f"{check_name(name)}.json"


def create(
    directory: Path, name: str, key: bytes, password: str, *, light: bool = False
) -> ChecksumAddress:
    """Encrypt `key` with `password` into a new keystore `name`; returns its address.

    Raises:
        CliError: the name is taken or invalid.
    """
    path = path_of(directory, name)
    if path.exists():
        raise CliError(f"a keystore named {name} already exists ({path}): pick another name")
    if not password:
        raise CliError("the password must not be empty")
    keyfile = Account.encrypt(
        key, password, kdf="scrypt", iterations=LIGHT_SCRYPT_N if light else None
    )
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"a keystore named {name} already exists ({path})") from None
    with os.fdopen(fd, "w") as handle:
        json.dump(keyfile, handle, indent=2)
        handle.write("\n")
    return Web3.to_checksum_address("0x" + str(keyfile["address"]).removeprefix("0x"))


def address_of(directory: Path, name: str) -> ChecksumAddress:
    """The address of keystore `name`, read without decrypting.

    Raises:
        CliError: no such keystore (exit code 5), or the file is not a keystore.
    """
    data = _read(directory, name)
    raw = str(data.get("address", ""))
    try:
        return Web3.to_checksum_address("0x" + raw.removeprefix("0x"))
    except ValueError:
        raise CliError(f"keystore {name} has no valid address field", ExitCode.NOT_FOUND) from None


def unlock(directory: Path, name: str, password: str) -> LocalAccount:
    """Decrypt keystore `name`.

    Raises:
        WrongPassword: the password does not open it (exit code 6).
        CliError: no such keystore.
    """
    data = _read(directory, name)
    try:
        key = Account.decrypt(data, password)
    except ValueError:
        raise WrongPassword(name) from None
    account: LocalAccount = Account.from_key(key)
    return account


def entries(directory: Path) -> list[tuple[str, ChecksumAddress]]:
    """(name, address) of every keystore, sorted by name."""
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            found.append((path.stem, address_of(directory, path.stem)))
        except CliError:
            continue
    return found


def _read(directory: Path, name: str) -> dict[str, object]:
    path = path_of(directory, name)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        known = ", ".join(n for n, _ in entries(directory)) or "none yet"
        raise CliError(
            f"no keystore named {name} in {directory} (known: {known}); create one with "
            "`jl account new` or `jl account import`",
            ExitCode.NOT_FOUND,
        ) from None
    except ValueError:
        raise CliError(f"{path} is not a JSON keystore", ExitCode.NOT_FOUND) from None
    if not isinstance(data, dict):
        raise CliError(f"{path} is not a JSON keystore", ExitCode.NOT_FOUND)
    return data
