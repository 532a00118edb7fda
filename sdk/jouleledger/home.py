"""Where JouleLedger's tools keep their state: one home folder, decided here only.

`jl`, `jl-oracle`, `jl dashboard` and ``python -m jouleledger_indexer`` all find their files
through `Paths`, so a deployment that `jl devnet up` or `jl deploy` records is the one the
node and the dashboard use, with no flag. The home is ``$JL_HOME``, else ``~/.jouleledger``::

    deployments.json        deployed addresses per chain id (`jouleledger.deployment`)
    keystores/<name>.json   encrypted keys (Web3 Secret Storage, as geth writes them)
    devnet.json             the background devnet started by `jl devnet up` (`DevnetRecord`)
    devnet.log              that devnet's output
    index/                  the indexer's SQLite databases, one per deployment

The library itself never reads the environment (it takes paths as arguments); the tools
call `Paths.from_env` once, at their edge, and so may a script. See ``docs/home.md``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

DEFAULT_HOME = "~/.jouleledger"
HOME_VAR = "JL_HOME"
#: The other variables every tool reads the same way: the node's URL when none is given
#: (before the running devnet's, then `DEFAULT_RPC`), and the keystore password.
RPC_VAR = "JL_RPC"
DEFAULT_RPC = "http://127.0.0.1:8545"
PASSWORD_VAR = "JL_PASSWORD"


@dataclass(frozen=True)
class Paths:
    """The files under one home folder.

    Attributes:
        home: the folder (``$JL_HOME``, else ``~/.jouleledger``).
    """

    home: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Paths:
        """The home named by ``$JL_HOME``, else ``~/.jouleledger`` (an empty value is unset).

        Args:
            environ: the environment (default ``os.environ``).
        """
        env = os.environ if environ is None else environ
        return cls(Path(env.get(HOME_VAR) or DEFAULT_HOME).expanduser())

    @property
    def deployments(self) -> Path:
        """Deployed addresses per chain id: `jl deploy` and `jl devnet up` write it."""
        return self.home / "deployments.json"

    @property
    def keystores(self) -> Path:
        """The folder of `jl account`'s keystores."""
        return self.home / "keystores"

    def keystore(self, name: str) -> Path:
        """The keystore file of account `name` (``jl account new NAME`` writes it)."""
        return self.keystores / f"{name}.json"

    @property
    def devnet(self) -> Path:
        """The record of the devnet `jl devnet up` left running (`DevnetRecord`)."""
        return self.home / "devnet.json"

    @property
    def devnet_log(self) -> Path:
        """That devnet's output."""
        return self.home / "devnet.log"

    @property
    def index(self) -> Path:
        """The indexer's SQLite databases (`jouleledger_indexer.default_database_url`)."""
        return self.home / "index"

    def missing_deployment(self, chain_id: int, rpc_url: str) -> str:
        """What every tool says when the deployments file has nothing for `chain_id`.

        Args:
            chain_id: the chain the node at `rpc_url` serves.
            rpc_url: that node's URL.
        """
        return (
            f"no deployment on chain {chain_id} (at {rpc_url}) in {self.deployments}, the "
            f"deployments file under ${HOME_VAR}: run `jl deploy` or `jl devnet up`"
        )


class DevnetRecord(BaseModel):
    """What `jl devnet up` records about the chain it left running in the background."""

    pid: int
    port: int
    chain: str
    chain_id: int
    rpc_url: str
    log_path: str
    started_at: float
    token: str | None = None
    staking: str | None = None
    market: str | None = None


def load_devnet(path: Path) -> DevnetRecord | None:
    """The recorded devnet, or None when there is none (or the record is unreadable)."""
    try:
        return DevnetRecord.model_validate_json(path.read_text())
    except (FileNotFoundError, ValidationError, ValueError):
        return None


def save_devnet(path: Path, record: DevnetRecord) -> None:
    """Write the devnet record atomically."""
    _write_atomically(path, record.model_dump_json(indent=2) + "\n")


def remove_devnet(path: Path) -> None:
    """Forget the devnet record (no error when there is none)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def forget_deployment(path: Path, chain_id: int, market: str) -> bool:
    """Drop the deployments entry of `chain_id` if it is the one whose market is `market`.

    Used when a devnet stops: its contracts are gone with it, and a stale entry would
    send the next devnet's commands to empty addresses. Returns whether it was dropped.
    """
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return False
    entry = data.get(str(chain_id))
    if not isinstance(entry, dict) or str(entry.get("market", "")).lower() != market.lower():
        return False
    del data[str(chain_id)]
    _write_atomically(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return True


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


__all__ = [
    "DEFAULT_HOME",
    "DEFAULT_RPC",
    "HOME_VAR",
    "PASSWORD_VAR",
    "RPC_VAR",
    "DevnetRecord",
    "Paths",
    "forget_deployment",
    "load_devnet",
    "remove_devnet",
    "save_devnet",
]
