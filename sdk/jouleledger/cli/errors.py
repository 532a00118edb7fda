"""Exit codes, and every failure turned into one line for stderr.

Scripts can rely on the codes (`ExitCode`); people read the line, which says what went
wrong and what to do. Tracebacks only appear with ``--debug``.
"""

from __future__ import annotations

from enum import IntEnum

from web3 import Web3

from .. import rpc
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
from ..types import JobState
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
    """The one-line message and exit code for `exc`."""
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
    found = rpc.classify(exc)  # a raw transport error from a plain contract read
    if found is not None:
        failure, status = found
        url = getattr(exc, "request", None)
        where = str(getattr(url, "url", "") or "the node")
        translated = rpc.translate(exc, failure, status, url=where, method="a request", tries=1)
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
    """The first line of `message` (the full text with `debug`), for stderr."""
    if debug or "\n" not in message:
        return message
    first = message.split("\n", 1)[0].rstrip(" :")
    return f"{first} (rerun with --debug for details)"


def revert_message(revert: ContractRevert) -> str:
    """A decoded revert in CLI terms: amounts in CPT, times in UTC, the command to run next.

    Errors without a CLI-specific wording keep the SDK's message (name, values, hint).
    """
    a = revert.args_by_name
    name = revert.name
    try:
        text = _friendly(name, a)
    except (KeyError, TypeError, ValueError):
        text = None
    return text if text is not None else str(revert)


def _friendly(name: str, a: dict[str, object]) -> str | None:
    def amount(key: str) -> str:
        return cpt(int(str(a[key])))

    def address(key: str) -> str:
        return str(Web3.to_checksum_address(str(a[key])))

    def time_of(key: str) -> str:
        return utc(int(str(a[key])))

    job = a.get("jobId")
    match name:
        case "ERC20InsufficientBalance":
            return (
                f"insufficient CPT balance: {address('sender')} holds {amount('balance')} but "
                f"needs {amount('needed')}; get tokens first (on a devnet: "
                f"`jl faucet {address('sender')} AMOUNT`)"
            )
        case "ERC20InsufficientAllowance":
            return (
                f"insufficient CPT allowance: {address('spender')} may spend "
                f"{amount('allowance')} but needs {amount('needed')}; approve it first, or post "
                "with a permit (the default of `jl job post`)"
            )
        case "StakingInsufficientStake" | "MarketInsufficientStake":
            short = int(str(a["needed"])) - int(str(a["stake"]))
            return (
                f"{address('provider')} has {amount('stake')} staked but needs at least "
                f"{amount('needed')}: stake {cpt(max(short, 0))} more with `jl stake`"
            )
        case "StakingInsufficientUnlockedStake":
            return (
                f"{address('provider')} can unbond at most {amount('unlocked')} (its stake less "
                f"what backs claimed jobs), not {amount('requested')}"
            )
        case "StakingNothingUnbonding":
            return (
                f"nothing is unbonding for {address('provider')}: request it first with "
                "`jl unstake AMOUNT`"
            )
        case "StakingUnbondingNotReady":
            return (
                f"the unbonding stake of {address('provider')} becomes withdrawable at "
                f"{time_of('readyAt')}: try again then"
            )
        case "StakingAlreadyRegistered":
            return (
                f"{address('provider')} is already a registered provider: change its terms with "
                "`jl provider update`"
            )
        case "StakingNotRegistered" | "MarketProviderNotRegistered":
            return (
                f"{address('provider')} is not a registered provider: register it first with "
                "`jl provider register`"
            )
        case "StakingSignerInUse":
            return (
                f"oracle signer {address('signer')} already signs for provider "
                f"{address('provider')}: give each provider its own oracle key"
            )
        case "StakingInvalidSigner" | "StakingZeroAddress":
            return "the oracle signer must be a non-zero address other than the provider's own"
        case "StakingZeroAmount" | "MarketZeroPayment":
            return "the amount must be more than 0"
        case "MarketInvalidJobState":
            state = JobState(int(str(a["state"])))
            if state is JobState.NONE:
                return f"job {job} does not exist on this market"
            return f"job {job} is {state.name.lower()}, which does not allow that"
        case "MarketNotJobClient":
            return f"only the client that posted job {job} can do that, not {address('caller')}"
        case "MarketBidNotHigher":
            return (
                f"job {job}'s bid is already {amount('bid')}: the new bid must be higher "
                f"than that (you offered {amount('newBid')})"
            )
        case "MarketInvalidDeadline":
            return (
                f"the deadline {time_of('deadline')} is not after the chain's time "
                f"{time_of('nowTime')}: give a later --deadline-in"
            )
        case "MarketDeadlineNotPassed":
            return (
                f"job {job}'s deadline {time_of('deadline')} has not passed: it cannot expire yet"
            )
        case "MarketDeadlinePassed":
            return f"job {job}'s deadline {time_of('deadline')} has passed"
        case "MarketDisputeWindowClosed":
            return f"the dispute window of job {job} closed at {time_of('windowEnd')}"
        case "MarketDisputeWindowOpen":
            return (
                f"job {job}'s payment can be withdrawn once its dispute window closes at "
                f"{time_of('windowEnd')}"
            )
        case "MarketNothingToWithdraw":
            return f"the market owes {address('account')} nothing right now"
        case "MarketNotWithdrawable":
            return f"job {job} owes {address('caller')} nothing to withdraw (now)"
        case "MarketAmountNotAligned":
            return f"{cpt(int(str(a['amount'])))} is not a whole nano-CPT (at most 9 decimals)"
    return None
