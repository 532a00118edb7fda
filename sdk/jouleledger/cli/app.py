"""The root `jl` command: global options, the command groups, and error handling.

Every failure ends as one line on stderr and an exit code from `ExitCode` (see
`jouleledger.cli.errors`); ``--debug`` adds the traceback. Global options may be given
before or after the command (``jl --json balance`` and ``jl balance --json`` both work).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from .. import __version__
from ..home import RPC_VAR, Paths
from . import accounts, deploy, devnet, holdings, jobs, params, provider, staking, tokens
from .config import ACCOUNT_VAR, password_from_env
from .errors import EXIT_CODES_HELP, CliError, ExitCode, describe, one_line
from .session import Session, Settings, session, stdin_is_terminal

#: The dashboard's port when --port is not given (the oracle node's is JL_ORACLE_PORT).
DASHBOARD_PORT_VAR = "JL_DASHBOARD_PORT"
#: Global flags (no value) and options (one value) that may also follow the command.
GLOBAL_FLAGS = frozenset({"--json", "--yes", "-y", "--debug"})
GLOBAL_OPTIONS = frozenset({"--rpc", "--account"})


class JlGroup(TyperGroup):
    """The root group: one-line errors with exit codes, instead of tracebacks and boxes."""

    def invoke(self, ctx: Any) -> Any:  # a typer.Context; Any keeps the override sound
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except Exception as exc:
            if click_error_kind(exc) is not None:
                raise  # usage errors are reported by `main`
            debug = isinstance(ctx.obj, Session) and ctx.obj.settings.debug
            message, code = describe(exc)
            if debug:
                traceback.print_exception(exc, file=sys.stderr)
            typer.echo(f"error: {one_line(message, debug=debug)}", err=True)
            raise typer.Exit(code) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = hoist_global_options(list(sys.argv[1:] if args is None else args))
        try:
            result = super().main(
                argv,
                prog_name or "jl",
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            )
            code = result if isinstance(result, int) else ExitCode.OK
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            code = ExitCode.FAILURE
        except Exception as exc:
            kind = click_error_kind(exc)
            if kind is None:
                raise
            context = getattr(exc, "ctx", None)
            if kind == "NoArgsIsHelpError" and context is not None:
                typer.echo(context.get_help())
                code = ExitCode.USAGE
            elif kind == "UsageError":
                where = context.command_path if context is not None else "jl"
                typer.echo(f"error: {one_line(_message_of(exc))} (see `{where} --help`)", err=True)
                code = ExitCode.USAGE
            else:
                typer.echo(f"error: {one_line(_message_of(exc))}", err=True)
                code = int(getattr(exc, "exit_code", ExitCode.FAILURE))
        if standalone_mode:
            sys.exit(int(code))
        return code


def click_error_kind(exc: BaseException) -> str | None:
    """``"NoArgsIsHelpError"``, ``"UsageError"`` or ``"ClickException"`` for click's errors.

    Matched by class name: Typer 0.29 vendors click (``typer._click``) while older Typer
    uses the ``click`` package, and neither exports these classes publicly.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    for kind in ("NoArgsIsHelpError", "UsageError", "ClickException"):
        if kind in names:
            return kind
    return None


def _message_of(exc: BaseException) -> str:
    format_message = getattr(exc, "format_message", None)
    return str(format_message()) if callable(format_message) else str(exc)


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options that follow the command to the front, where click expects them.

    ``jl job list --json`` becomes ``jl --json job list``. Nothing after ``--`` moves.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS or (name in GLOBAL_OPTIONS and "=" in arg):
            front.append(arg)
        elif arg in GLOBAL_OPTIONS and i + 1 < len(argv):
            front += [arg, argv[i + 1]]
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


HELP = """JouleLedger: settle GPU compute jobs on an EVM chain from the command line.

Start with `jl devnet up`, then e.g. `jl --account dev:1 stake 1000`.
State lives in $JL_HOME (default ~/.jouleledger).
"""

app = typer.Typer(
    name="jl",
    cls=JlGroup,
    help=HELP,
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jl (jouleledger) {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    rpc: Annotated[
        str | None,
        typer.Option(
            "--rpc",
            envvar=RPC_VAR,
            metavar="URL",
            help="JSON-RPC URL of the node (default: the running devnet's, else "
            "http://127.0.0.1:8545).",
            show_default=False,
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            envvar=ACCOUNT_VAR,
            metavar="NAME",
            help="Keystore name (see `jl account list`), or dev:N for devnet account N.",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout, nothing else.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Skip confirmations.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Read the environment once, here at the edge, and hand it to the commands."""
    ctx.obj = Session(
        Settings(
            rpc=rpc,
            account=account,
            json=json_output,
            yes=yes,
            debug=debug,
            paths=Paths.from_env(),
            password=password_from_env(),
            interactive=stdin_is_terminal(),
        )
    )


AMOUNT = params.AMOUNT_CONTEXT
SETUP, TOKENS, MARKET = "Set up", "Tokens and stake", "Market"
app.add_typer(devnet.app, name="devnet", rich_help_panel=SETUP)
app.command("deploy", rich_help_panel=SETUP)(deploy.deploy)
app.add_typer(accounts.app, name="account", rich_help_panel=SETUP)
app.command("balance", rich_help_panel=TOKENS)(tokens.balance)
app.command("faucet", context_settings=AMOUNT, rich_help_panel=TOKENS)(tokens.faucet)
app.command("stake", context_settings=AMOUNT, rich_help_panel=TOKENS)(staking.stake)
app.command("unstake", context_settings=AMOUNT, rich_help_panel=TOKENS)(staking.unstake)
app.command("withdraw", rich_help_panel=TOKENS)(staking.withdraw)
app.add_typer(provider.app, name="provider", rich_help_panel=MARKET)
app.add_typer(jobs.app, name="job", rich_help_panel=MARKET)
app.add_typer(holdings.app, name="holdings", rich_help_panel=MARKET)


@app.command("dashboard", rich_help_panel=MARKET)
def dashboard(
    ctx: typer.Context,
    port: Annotated[
        int,
        typer.Option("--port", envvar=DASHBOARD_PORT_VAR, min=0, max=65535, help="TCP port."),
    ] = 8800,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            metavar="URL",
            help="The index (default: SQLite under $JL_HOME/index/; or postgresql://...).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=16,
            help="Server processes; one per core serves more visitors at once.",
        ),
    ] = 1,
) -> None:
    """Serve the web dashboard for the deployment at --rpc (default: the running devnet),
    indexing it in the background, and print its URL. Read-only: no keys."""
    try:  # imported here: the SDK must not import FastAPI when `jl` starts
        from jouleledger_dashboard.cli import serve
    except ImportError as exc:
        raise CliError(
            f"the dashboard is not installed ({exc.name} is missing): "
            "pip install 'jouleledger[dashboard]'",
            ExitCode.NOT_FOUND,
        ) from None
    serve(session(ctx), host=host, port=port, database=database, workers=workers)


def main(argv: Sequence[str] | None = None) -> None:
    """The ``jl`` console script."""
    command = typer.main.get_command(app)
    command.main(args=argv, prog_name="jl")
