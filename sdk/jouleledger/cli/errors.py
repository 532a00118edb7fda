"""Exit codes, and every failure turned into one line for stderr.

Scripts can rely on the codes (`ExitCode`); people read the line, which says what went
wrong and what to do. Tracebacks only appear with ``--debug``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Final

from .. import transport
from ..abi import SDK_UNITS, Unit, revert_hint
from ..client import MisalignedAmount, NoAccount, UnknownJob
from ..deployment import DeploymentNotFound
from ..errors import (
    ArtifactError,
    ContractRevert,
    DevnetError,
    JouleLedgerError,
    ReceiptTimeout,
    RpcError,
    TransactionFailed,
    TransactionRejected,
    WrongChain,
)
from ..units import InvalidAmount
from .output import cpt, utc


class ExitCode(IntEnum):
    """What `jl` exits with."""

    OK = 0
    #: declined at a prompt, or an unexpected error (rerun with --debug and report it)
    FAILURE = 1
    #: bad command line or input: unknown option, malformed amount or address, no --account
    USAGE = 2
    #: the chain or a contract refused: a decoded revert, a rejected or failed transaction,
    #: too little CPT or ether
    REFUSED = 3
    #: the node cannot be reached or does not answer
    UNREACHABLE = 4
    #: something named does not exist here: no deployment for the chain (or wrong chain),
    #: unknown job, keystore or devnet, chain program not installed
    NOT_FOUND = 5
    #: wrong keystore password
    AUTH = 6
    #: interrupted (Ctrl-C)
    INTERRUPTED = 130


EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 declined at a prompt or unexpected error; 2 bad usage or input; "
    "3 refused by the chain or a contract; 4 node unreachable; 5 not found (deployment, "
    "job, keystore, devnet); 6 wrong password; 130 interrupted."
)


class CliError(JouleLedgerError):
    """A failure the CLI itself detects, with the exit code it maps to.

    Args:
        message: one line: what is wrong and what to do.
        code: the exit code.
    """

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.code = code


class WrongPassword(CliError):
    """The password does not decrypt the keystore."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"wrong password for keystore {name}: try again (or check $JL_PASSWORD)",
            ExitCode.AUTH,
        )


def describe(exc: BaseException) -> tuple[str, ExitCode]:
    """The one-line message and exit code for `exc`.

    Args:
        exc: what a command raised.
    """
    if isinstance(exc, CliError):
        return str(exc), exc.code
    if isinstance(exc, InvalidAmount | MisalignedAmount):
        return str(exc), ExitCode.USAGE
    if isinstance(exc, NoAccount):
        return (
            "this command sends a transaction: pass --account NAME (see `jl account list`) "
            "or --account dev:N on a devnet",
            ExitCode.USAGE,
        )
    if isinstance(exc, DeploymentNotFound | UnknownJob | WrongChain | DevnetError | ArtifactError):
        return str(exc), ExitCode.NOT_FOUND
    if isinstance(exc, ContractRevert):
        return revert_message(exc), ExitCode.REFUSED
    if isinstance(exc, TransactionFailed):
        if exc.revert is None:
            return str(exc), ExitCode.REFUSED
        return f"transaction {exc.tx_hash} reverted: {revert_message(exc.revert)}", ExitCode.REFUSED
    if isinstance(exc, TransactionRejected):  # includes InsufficientFunds (ether for gas)
        return str(exc), ExitCode.REFUSED
    if isinstance(exc, RpcError | ReceiptTimeout):
        return str(exc), ExitCode.UNREACHABLE
    if isinstance(exc, JouleLedgerError):
        return str(exc), ExitCode.FAILURE
    found = transport.classify(exc)  # a raw transport error from a plain contract read
    if found is not None:
        failure, status = found
        url = getattr(exc, "request", None)
        where = str(getattr(url, "url", "") or "the node")
        translated = transport.translate(
            exc, failure, status, url=where, method="a request", tries=1
        )
        return str(translated), ExitCode.UNREACHABLE
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc} ({exc.filename})", ExitCode.FAILURE
    text = str(exc) or "(no message)"
    return (
        f"unexpected error: {type(exc).__name__}: {text} (rerun with --debug for the "
        "traceback, and report it)",
        ExitCode.FAILURE,
    )


def one_line(message: str, *, debug: bool = False) -> str:
    """The first line of `message` (the full text with `debug`), for stderr.

    Args:
        message: the full message.
        debug: keep every line.
    """
    if debug or "\n" not in message:
        return message
    first = message.split("\n", 1)[0].rstrip(" :")
    return f"{first} (rerun with --debug for details)"


#: Amounts in CPT and times in UTC: the same hints as the SDK's, in the CLI's units.
CLI_UNITS: Final[Mapping[str, Unit]] = {
    **SDK_UNITS,
    "cpt": lambda wei: cpt(int(wei)),
    "time": lambda timestamp: utc(int(timestamp)),
}


def revert_message(revert: ContractRevert) -> str:
    """A decoded revert in CLI terms: the error's hint (its NatSpec notice) with amounts in
    CPT and times in UTC.

    Errors without a hint keep the SDK's message (name, values, where to look).

    Args:
        revert: the decoded revert.
    """
    return revert_hint(revert, CLI_UNITS) or str(revert)
