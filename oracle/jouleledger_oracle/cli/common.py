"""The ``jl-oracle`` Typer app and what its commands share: errors as one line with an exit
code scripts can rely on, the password prompt, logging, and where the chain, the keys and
the deployment are when no flag says (the places `jl` uses, `jouleledger.home`)."""

from __future__ import annotations

import getpass
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from jouleledger.deployment import Deployment, DeploymentNotFound, load_deployment
from jouleledger.errors import JouleLedgerError
from jouleledger.home import PASSWORD_VAR, RPC_VAR, Paths

from .. import __version__
from ..errors import ConfigError, OracleError
from ..signer import KeystoreError, read_password

app = typer.Typer(
    name="jl-oracle",
    help="The JouleLedger provider oracle node: meter GPU jobs, sign usage records, settle them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)
out = Console()
logger = logging.getLogger("jouleledger_oracle.cli")

FAILURES = (OracleError, JouleLedgerError, OSError, ValueError)
"""What a command turns into one line and an exit code (anything else is a bug: traceback)."""


class _State:
    debug = False


def fail(exc: BaseException) -> NoReturn:
    """Print `exc` as one line on stderr and exit: 2 for bad configuration, else 1; with
    ``--debug``, raise it instead.

    Args:
        exc: the failure.

    Raises:
        typer.Exit: always, unless ``--debug``.
    """
    if _State.debug:
        raise exc
    message = " ".join(str(exc).split()) or type(exc).__name__
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2 if _config_error(exc) else 1)


def _config_error(exc: BaseException) -> bool:
    """Bad configuration (exit 2) rather than a failure at run time (exit 1)."""
    from jouleledger.deployment import DeploymentNotFound
    from jouleledger.errors import WrongChain

    return isinstance(exc, ConfigError | KeystoreError | WrongChain | DeploymentNotFound) or (
        isinstance(exc, ValueError) and not isinstance(exc, JouleLedgerError | OracleError)
    )


def prompt() -> Callable[[str], str] | None:
    """A password prompt when stdin is a terminal, else None (the password must be in the
    environment)."""
    return getpass.getpass if sys.stdin.isatty() else None


def keystore_password(env_var: str) -> str:
    """A keystore's password: `env_var`, else `jl`'s ``JL_PASSWORD`` (so one export serves
    both tools), else a prompt when stdin is a terminal.

    Args:
        env_var: the node's own variable for this keystore.

    Raises:
        KeystoreError: none of them is set and there is no terminal.
    """
    if env_var not in os.environ and os.environ.get(PASSWORD_VAR):
        env_var = PASSWORD_VAR
    return read_password(env_var, prompt=prompt())


def keystore_file(given: Path, paths: Paths) -> Path:
    """The keystore `given` names: a file, or the name of a `jl account` (``my-oracle`` is
    ``$JL_HOME/keystores/my-oracle.json``), so the node opens the keys `jl` made by name.

    A path that exists, has a folder or ends in ``.json`` is a file; anything else a name.

    Args:
        given: what ``--keystore`` or ``--provider-keystore`` said.
        paths: the home folder's files.

    Raises:
        KeystoreError: a name that no keystore has (says how to create it).
    """
    if given.exists() or len(given.parts) > 1 or given.suffix == ".json":
        return given
    path = paths.keystore(str(given))
    if not path.exists():
        raise KeystoreError(
            f"no keystore named {given} in {paths.keystores} (and no file {given} here): "
            f"create it with `jl account new {given}`, or pass a keystore file's path"
        )
    return path


def rpc_url(given: str | None, paths: Paths) -> str:
    """The node's JSON-RPC URL: `given`, else ``$JL_RPC``, else the devnet `jl devnet up`
    left running, else ``http://127.0.0.1:8545``: the URL `jl` would use.

    Args:
        given: ``--rpc`` (or ``$JL_ORACLE_RPC``), None when not given.
        paths: the home folder's files (where the devnet is recorded).
    """
    from jouleledger.cli.session import default_rpc_url  # web3 and the client: not for `meter`

    return given or os.environ.get(RPC_VAR) or default_rpc_url(paths)


def find_deployment(rpc: str, deployments: Path | None, paths: Paths) -> Deployment:
    """The deployment for the chain `rpc` serves, looked up by its chain id as `jl` does.

    Args:
        rpc: the node's URL.
        deployments: the deployments file given (``--deployments``); None: ``$JL_HOME``'s,
            where `jl devnet up` and `jl deploy` record them.
        paths: the home folder's files.

    Raises:
        NodeUnreachable: nothing answers at `rpc`.
        DeploymentNotFound: the file has no entry for that chain (the message names the
            file, ``$JL_HOME`` and the command that records one).
    """
    from jouleledger.transport import connect

    chain_id = int(connect(rpc).eth.chain_id)
    try:
        return load_deployment(deployments or paths.deployments, chain_id)
    except DeploymentNotFound:
        if deployments is not None:
            raise  # the operator's own file: the SDK's message names it
        raise DeploymentNotFound(
            f"{paths.missing_deployment(chain_id, rpc)}, or pass --deployments FILE"
        ) from None


def setup_logging(level: str) -> None:
    """Log to stderr at `level`.

    Args:
        level: debug, info, warning or error.

    Raises:
        ValueError: not a logging level.
    """
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    _State.debug = debug


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)
