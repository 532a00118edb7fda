"""Where the CLI keeps its state, and the configuration it reads at its edge.

Everything lives under ``$JL_HOME`` (default ``~/.jouleledger``)::

    keystores/<name>.json   encrypted keys (Web3 Secret Storage, as geth writes them)
    deployments.json        deployed addresses per chain id (`jouleledger.deployment`)
    devnet.json             the background devnet started by `jl devnet up`
    devnet.log              that devnet's output

Environment variables are read here and in the root command only; the SDK never sees them:
``JL_HOME``, ``JL_RPC`` (default of ``--rpc``), ``JL_ACCOUNT`` (default of ``--account``)
and ``JL_PASSWORD`` (keystore password, instead of a prompt).
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
DEFAULT_RPC = "http://127.0.0.1:8545"
HOME_VAR = "JL_HOME"
RPC_VAR = "JL_RPC"
ACCOUNT_VAR = "JL_ACCOUNT"
PASSWORD_VAR = "JL_PASSWORD"


@dataclass(frozen=True)
class Paths:
    """The files under one CLI home folder."""

    home: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Paths:
        """The home named by ``$JL_HOME``, else ``~/.jouleledger``."""
        env = os.environ if environ is None else environ
        return cls(Path(env.get(HOME_VAR) or DEFAULT_HOME).expanduser())

    @property
    def keystores(self) -> Path:
        return self.home / "keystores"

    @property
    def deployments(self) -> Path:
        return self.home / "deployments.json"

    @property
    def devnet(self) -> Path:
        return self.home / "devnet.json"

    @property
    def devnet_log(self) -> Path:
        return self.home / "devnet.log"


def password_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """``$JL_PASSWORD``, or None when unset (an empty value counts as unset)."""
    env = os.environ if environ is None else environ
    return env.get(PASSWORD_VAR) or None


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
