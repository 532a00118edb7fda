"""The configuration `jl` reads at its edge, and where it keeps its state.

The state lives under ``$JL_HOME`` (default ``~/.jouleledger``): the files there, and the
devnet record, are decided once in `jouleledger.home` for `jl`, `jl-oracle`, the indexer and
the dashboard alike, and re-exported here for the CLI's modules.

Environment variables are read in the root command only (through this module and
`jouleledger.home`); the SDK's library code never sees them: ``JL_HOME``, ``JL_RPC``
(default of ``--rpc``), ``JL_ACCOUNT`` (default of ``--account``) and ``JL_PASSWORD``
(keystore password, instead of a prompt; `jl-oracle` falls back to it too).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..home import PASSWORD_VAR

# The devnet record's format and files are `jouleledger.home`'s; `devnet` and
# `devnet_process` find them here.
from ..home import DevnetRecord as DevnetRecord
from ..home import forget_deployment as forget_deployment
from ..home import load_devnet as load_devnet
from ..home import remove_devnet as remove_devnet
from ..home import save_devnet as save_devnet

ACCOUNT_VAR = "JL_ACCOUNT"


def password_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """``$JL_PASSWORD``, or None when unset (an empty value counts as unset)."""
    env = os.environ if environ is None else environ
    return env.get(PASSWORD_VAR) or None
