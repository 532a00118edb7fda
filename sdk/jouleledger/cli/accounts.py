"""``jl account new|import|list|address``: encrypted keystores under ``$JL_HOME/keystores``.

Passwords come from a hidden prompt or ``$JL_PASSWORD``, never from an option (options
end up in shell history and process lists). ``import`` reads the private key from a
hidden prompt, or from stdin when stdin is not a terminal (``cat key | jl account import``).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from eth_account import Account
from rich.table import Table

from ..transport import DEFAULT_ACCOUNTS
from . import keystore, params
from .errors import CliError
from .session import Session, session

app = typer.Typer(help="Create, import and list encrypted accounts (keystores).")

NewName = Annotated[
    str, typer.Argument(metavar="NAME", help="Name to refer to it by (--account NAME).")
]


def _session_for_new(ctx: typer.Context, name: str) -> Session:
    """The session of a command that stores a new keystore as `name`.

    Raises:
        CliError: an invalid name, or one a keystore already has.
    """
    s = session(ctx)
    keystore.check_name(name)
    if keystore.path_of(s.paths.keystores, name).exists():
        raise CliError(f"a keystore named {name} already exists: pick another name")
    return s


LightKdf = Annotated[
    bool,
    typer.Option(
        "--light-kdf",
        help="Cheaper scrypt (N=4096, like geth --lightkdf): fast to unlock, weaker against "
        "guessing. For throwaway devnet keys only.",
    ),
]


@app.command()
def new(ctx: typer.Context, name: NewName, light_kdf: LightKdf = False) -> None:
    """Create a new random key and store it encrypted as NAME."""
    s = _session_for_new(ctx, name)
    password = s.password(f"password for the new keystore {name}", confirm=True)
    key = bytes(Account.create().key)
    _store(s, name, key, password, light_kdf, "created")


@app.command("import")
def import_(ctx: typer.Context, name: NewName, light_kdf: LightKdf = False) -> None:
    """Import a private key (hidden prompt, or stdin when piped) and store it encrypted."""
    s = _session_for_new(ctx, name)
    if s.settings.interactive:
        text = str(typer.prompt("private key (hex)", hide_input=True, err=True))
    else:
        text = sys.stdin.readline()
        if not text.strip():
            raise CliError("no private key on stdin: pipe it in, or run in a terminal")
        if s.settings.password is None:
            raise CliError(
                "set JL_PASSWORD: the key came from stdin, so there is no terminal to ask for "
                "the password"
            )
    key = params.private_key(text)
    try:
        Account.from_key(key)
    except (ValueError, TypeError):
        raise CliError("that is not a valid secp256k1 private key") from None
    password = s.password(f"password for the new keystore {name}", confirm=True)
    _store(s, name, key, password, light_kdf, "imported")


@app.command()
def address(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="A keystore name, or dev:N.")],
) -> None:
    """Print an account's address alone (no password needed), for scripts, e.g.
    curl .../api/providers/$(jl account address NAME)."""
    s = session(ctx)
    found = s.address_of(name)
    s.out.result({"name": name, "address": found}, found)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the keystores (no password needed) and the devnet accounts."""
    s = session(ctx)
    found = keystore.entries(s.paths.keystores)
    if s.out.json_mode:
        s.out.json(
            {
                "keystores": [
                    {"name": n, "address": a, "path": str(keystore.path_of(s.paths.keystores, n))}
                    for n, a in found
                ]
            }
        )
        return
    if not found:
        s.out.line(f"no keystores in {s.paths.keystores}: create one with `jl account new NAME`")
    else:
        table = Table(title=f"keystores in {s.paths.keystores}")
        table.add_column("name")
        table.add_column("address", no_wrap=True)
        for name, address in found:
            table.add_row(name, address)
        s.out.table(table)
    s.out.note(
        f"on a devnet, --account dev:0 .. dev:{DEFAULT_ACCOUNTS - 1} are the funded "
        "development accounts"
    )


def _store(s: Session, name: str, key: bytes, password: str, light: bool, verb: str) -> None:
    with s.out.activity("encrypting the key"):
        address = keystore.create(s.paths.keystores, name, key, password, light=light)
    path = keystore.path_of(s.paths.keystores, name)
    s.out.result(
        {"name": name, "address": address, "path": str(path)},
        [f"{verb} account {name}: {address}", f"keystore {path}"],
    )
