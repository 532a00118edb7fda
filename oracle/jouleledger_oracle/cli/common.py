"""The ``jl-oracle`` Typer app and what its commands share: errors as one line with an exit
code scripts can rely on, the password prompt, logging."""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Callable
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from jouleledger.errors import JouleLedgerError

from .. import __version__
from ..errors import ConfigError, OracleError
from ..signer import KeystoreError

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
