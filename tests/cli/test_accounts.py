"""`jl account new|import|list`: encrypted keystores, passwords from JL_PASSWORD."""

from __future__ import annotations

import json
import stat

from jouleledger.cli import ExitCode

from .conftest import Jl, error_line, fresh_key

PASSWORD = {"JL_PASSWORD": "correct horse"}


def test_new_import_and_list_keystores(jl: Jl) -> None:
    created = jl.json("account", "new", "alice", "--light-kdf", env=PASSWORD)
    key, address = fresh_key()
    imported = jl.json("account", "import", "bob", "--light-kdf", input=key + "\n", env=PASSWORD)
    assert imported["address"] == address

    listed = jl.json("account", "list")["keystores"]
    assert [(k["name"], k["address"]) for k in listed] == [
        ("alice", created["address"]),
        ("bob", address),
    ]
    table = jl.ok("account", "list")
    assert "alice" in table and created["address"] in table

    path = jl.home / "keystores" / "bob.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keyfile = json.loads(path.read_text())
    assert keyfile["crypto"]["kdf"] == "scrypt"
    assert key.removeprefix("0x") not in path.read_text()  # encrypted, not stored in clear


def test_a_keystore_account_signs_with_its_password(jl: Jl) -> None:
    created = jl.json("account", "new", "carol", "--light-kdf", env=PASSWORD)
    jl.ok("faucet", "carol", "50")  # by name; also sends ether for gas
    out = jl.ok("--account", "carol", "stake", "20", env=PASSWORD)
    assert "staked 20 CPT; stake now 20 CPT" in out
    assert jl.json("--account", "carol", "balance")["address"] == created["address"]

    wrong = jl("--account", "carol", "stake", "1", env={"JL_PASSWORD": "wrong"})
    assert wrong.exit_code == ExitCode.AUTH
    assert error_line(wrong).startswith("error: wrong password for keystore carol")

    no_password = jl("--account", "carol", "stake", "1")
    assert no_password.exit_code == ExitCode.USAGE
    assert "set JL_PASSWORD, or run in a terminal" in error_line(no_password)


def test_account_errors(jl: Jl) -> None:
    jl.ok("account", "new", "dave", "--light-kdf", env=PASSWORD)
    again = jl("account", "new", "dave", env=PASSWORD)
    assert again.exit_code == ExitCode.USAGE
    assert error_line(again) == "error: a keystore named dave already exists: pick another name"

    bad_key = jl("account", "import", "eve", input="not-a-key\n", env=PASSWORD)
    assert bad_key.exit_code == ExitCode.USAGE
    assert error_line(bad_key) == (
        "error: that is not a private key: expected 64 hex digits (0x optional)"
    )
    assert "not-a-key" not in bad_key.output  # never echoed

    piped_no_password = jl("account", "import", "eve", input=fresh_key()[0] + "\n")
    assert piped_no_password.exit_code == ExitCode.USAGE
    assert "set JL_PASSWORD" in error_line(piped_no_password)

    unknown = jl("--account", "mallory", "stake", "1", env=PASSWORD)
    assert unknown.exit_code == ExitCode.NOT_FOUND
    assert error_line(unknown).startswith("error: no keystore named mallory")

    bad_name = jl("account", "new", "../x", env=PASSWORD)
    assert bad_name.exit_code == ExitCode.USAGE
    assert "is not a valid account name" in error_line(bad_name)
