"""Bind a node database to one market, chain and provider.

The store keys jobs by job id only, and job ids restart at 1 on every market. A database
reused against another deployment would hand the node measurements and signatures of other
jobs with the same ids, so the node records what its database belongs to in a small JSON
file beside it (``<db>.binding.json``) and refuses to start against anything else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jouleledger.records import MarketDomain

from .errors import ConfigError


def binding_path(db_path: str | os.PathLike[str]) -> Path:
    """Where the binding of the database at `db_path` is recorded."""
    return Path(f"{os.fspath(db_path)}.binding.json")


def bind_store(db_path: str | os.PathLike[str], domain: MarketDomain, provider: str) -> None:
    """Record the database's market, chain and provider on first use; check them after.

    Args:
        db_path: the node's SQLite file.
        domain: the market and chain the node settles on.
        provider: the provider account the node works for.

    Raises:
        ConfigError: the database belongs to another market, chain or provider, or the
            binding file is unreadable.
    """
    path = binding_path(db_path)
    wanted = {
        "chain_id": domain.chain_id,
        "market": domain.market.lower(),
        "provider": provider.lower(),
    }
    if path.exists():
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        if found != wanted:
            raise ConfigError(
                f"the database {os.fspath(db_path)} belongs to {found}, not to {wanted}: use a "
                "database of its own for every market, chain and provider (--db)"
            )
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as handle:
        json.dump(wanted, handle, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
