"""The local chains the launcher knows: their kinds, chain ids, funded accounts, and the
program and arguments that start each one.

Every kind funds the same accounts: the first ``accounts`` keys of the well-known
development mnemonic (anvil's and hardhat's), so a key that works on one works on all.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from collections.abc import Iterator
from enum import StrEnum
from functools import cache
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ..errors import DevnetError
from .nodes import ANVIL_CHAIN_ID, GANACHE_CHAIN_ID
from .processes import HOST

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEFAULT_ACCOUNTS = 10
DEFAULT_BALANCE_ETH = 10_000


class ChainKind(StrEnum):
    """The local chains the launcher can start."""

    ANVIL = "anvil"
    GANACHE = "ganache"
    EMBEDDED = "embedded"


CHAIN_IDS: dict[ChainKind, int] = {
    ChainKind.ANVIL: ANVIL_CHAIN_ID,
    ChainKind.GANACHE: GANACHE_CHAIN_ID,
}


@cache
def dev_accounts(
    count: int = DEFAULT_ACCOUNTS, mnemonic: str = DEV_MNEMONIC
) -> tuple[LocalAccount, ...]:
    """The first `count` accounts of `mnemonic` (BIP-44 path m/44'/60'/0'/0/i).

    Args:
        count: how many accounts.
        mnemonic: the BIP-39 phrase.
    """
    Account.enable_unaudited_hdwallet_features()
    return tuple(
        Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)
    )


def find_program(kind: ChainKind, search_from: Path | None = None) -> list[str]:
    """The command that starts `kind`, from ``node_modules`` (pinned) or else PATH.

    Args:
        kind: anvil or ganache.
        search_from: folder where the search for ``node_modules`` starts (default: the
            working directory; the folders above it and above this package are searched too).

    Raises:
        DevnetError: not installed.
        ValueError: `kind` does not run as a separate program.
    """
    roots = _node_modules_dirs(search_from)
    if kind is ChainKind.ANVIL:
        suffix = _platform_suffix()
        for nm in roots:
            binary = nm / "@foundry-rs" / f"anvil-{suffix}" / "bin" / "anvil"
            if binary.is_file() and os.access(binary, os.X_OK):
                return [str(binary)]
        found = shutil.which("anvil")
        if found:
            return [found]
        raise DevnetError(
            "anvil was not found: run `npm ci` in the JouleLedger checkout (it installs "
            "@foundry-rs/anvil), put anvil on PATH, or pass command=[path]"
        )
    if kind is ChainKind.GANACHE:
        node = shutil.which("node")
        for nm in roots:
            cli = nm / "ganache" / "dist" / "node" / "cli.js"
            if cli.is_file() and node:
                return [node, str(cli)]
        found = shutil.which("ganache")
        if found:
            return [found]
        raise DevnetError(
            "ganache was not found: install Node.js 20+, run `npm ci` in the JouleLedger "
            "checkout, or pass command=[path]"
        )
    raise ValueError(f"{kind} does not run as a separate program")


def node_args(
    kind: ChainKind,
    port: int,
    accounts: int = DEFAULT_ACCOUNTS,
    balance_eth: int = DEFAULT_BALANCE_ETH,
) -> list[str]:
    """Arguments that make anvil or ganache serve the development accounts on `port`.

    Args:
        kind: anvil or ganache.
        port: TCP port on 127.0.0.1.
        accounts: how many accounts of the development mnemonic to fund.
        balance_eth: the ether each of them starts with.
    """
    if kind is ChainKind.ANVIL:
        return [
            "--host", HOST, "--port", str(port), "--chain-id", str(CHAIN_IDS[kind]),
            "--mnemonic", DEV_MNEMONIC, "--accounts", str(accounts),
            "--balance", str(balance_eth),
        ]  # fmt: skip
    return [
        "--server.host", HOST, "--server.port", str(port),
        "--chain.chainId", str(CHAIN_IDS[kind]), "--chain.hardfork", "shanghai",
        "--wallet.mnemonic", DEV_MNEMONIC, "--wallet.totalAccounts", str(accounts),
        "--wallet.defaultBalance", str(balance_eth), "--miner.blockGasLimit", "30000000",
    ]  # fmt: skip


def _platform_suffix() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, "")
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    return f"{system}-{arch.get(machine, machine)}"


def _node_modules_dirs(search_from: Path | None) -> Iterator[Path]:
    seen: set[Path] = set()
    for start in (Path(search_from or Path.cwd()).resolve(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            nm = folder / "node_modules"
            if nm not in seen and nm.is_dir():
                seen.add(nm)
                yield nm
