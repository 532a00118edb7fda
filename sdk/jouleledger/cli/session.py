"""The state of one `jl` invocation: global options, output, connection, account.

Commands get it from the Typer context (`session(ctx)`). Everything is lazy: a command
that only reads never asks for a password, and ``--help`` never touches the network.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import typer
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from .. import transport
from ..client import JouleLedger
from ..deployment import Deployment, DeploymentNotFound, load_deployment
from ..home import DEFAULT_RPC, Paths, load_devnet
from ..transport import DEVNET_CHAIN_IDS, dev_accounts, is_devnet_chain_id
from . import keystore, params
from .devnet_process import is_running
from .errors import CliError, ExitCode
from .output import Output

_DEV = re.compile(r"^dev:(\d{1,3})$")


@dataclass(frozen=True)
class Settings:
    """The global options, after reading the environment.

    Attributes:
        rpc: ``--rpc`` / ``$JL_RPC``; None: the running devnet's URL, else `DEFAULT_RPC`.
        account: ``--account`` / ``$JL_ACCOUNT``: a keystore name or ``dev:N``.
        json: ``--json``.
        yes: ``--yes``.
        debug: ``--debug``.
        paths: the files under ``$JL_HOME``.
        password: ``$JL_PASSWORD``.
        interactive: whether stdin is a terminal (prompts are possible).
    """

    rpc: str | None
    account: str | None
    json: bool
    yes: bool
    debug: bool
    paths: Paths
    password: str | None
    interactive: bool


class ReportingProvider(HTTPProvider):
    """An `HTTPProvider` that tells the output the hash of every transaction the node
    accepts, so it can be shown while its receipt is awaited.

    It sits at the provider, below web3's middleware, because the SDK sends raw
    transactions straight through the provider (`jouleledger.transport`).
    """

    def __init__(self, url: str, out: Output, *, timeout: float) -> None:
        # Retries are the SDK's (`jouleledger.transport`), as in `transport.connect`.
        super().__init__(
            url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
        )
        self._out = out

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        response = super().make_request(method, params)
        if method == "eth_sendRawTransaction":
            result = response.get("result")
            if isinstance(result, str):
                self._out.tx_sent(result)
        return response


def connect(url: str, out: Output, *, chain_id: int | None = None, timeout: float = 30.0) -> Web3:
    """Like `jouleledger.transport.connect`, through a `ReportingProvider`.

    Args:
        url: the node's JSON-RPC URL.
        out: where sent transactions are reported.
        chain_id: the chain the node must serve (None: any, but it must answer).
        timeout: seconds per request.

    Raises:
        NodeUnreachable: nothing answers at `url`.
        WrongChain: the node serves another chain than `chain_id`.
    """
    w3 = Web3(ReportingProvider(url, out, timeout=timeout))
    if chain_id is None:
        transport.call(w3, lambda: w3.eth.chain_id, method="eth_chainId")
    else:
        transport.check_chain(w3, chain_id)
    return w3


class Session:
    """One invocation's settings, output and lazily made connection and account."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.paths = settings.paths
        self.out = Output(json_mode=settings.json)

    # --- node -----------------------------------------------------------------------

    @cached_property
    def rpc_url(self) -> str:
        """``--rpc``, else the URL of the devnet `jl devnet up` left running, else the default."""
        if self.settings.rpc:
            url = self.settings.rpc.strip()
            if not url.startswith(("http://", "https://")):
                raise CliError(f"--rpc: {url!r} is not an http(s) URL, e.g. {DEFAULT_RPC}")
            return url
        return default_rpc_url(self.paths)

    @cached_property
    def w3(self) -> Web3:
        """A connection to the node (checked: it answers).

        Raises:
            NodeUnreachable: nothing answers at the URL.
        """
        return connect(self.rpc_url, self.out)

    @cached_property
    def chain_id(self) -> int:
        return int(transport.call(self.w3, lambda: self.w3.eth.chain_id, method="eth_chainId"))

    @property
    def on_devnet(self) -> bool:
        """Whether the node serves a local development chain id (anvil's or ganache's)."""
        return is_devnet_chain_id(self.chain_id)

    def now(self) -> int:
        """The latest block's timestamp: the time the contracts see."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    # --- deployment and clients -------------------------------------------------------

    @cached_property
    def deployment(self) -> Deployment:
        """The deployment recorded for the node's chain, checked to have code.

        Raises:
            CliError: none recorded, or nothing deployed at its addresses (exit code 5).
        """
        chain_id = self.chain_id
        try:
            deployment = load_deployment(self.paths.deployments, chain_id)
        except DeploymentNotFound:
            raise CliError(
                self.paths.missing_deployment(chain_id, self.rpc_url), ExitCode.NOT_FOUND
            ) from None
        if not self.w3.eth.get_code(deployment.market):
            raise CliError(
                f"no contract at the market address {deployment.market} recorded for chain "
                f"{chain_id} (was the chain restarted?): run `jl deploy` or `jl devnet up`",
                ExitCode.NOT_FOUND,
            )
        return deployment

    @cached_property
    def reader(self) -> JouleLedger:
        """A read-only client of the deployment."""
        return JouleLedger(self.w3, self.deployment)

    @cached_property
    def client(self) -> JouleLedger:
        """A client that signs with ``--account``."""
        return self.client_for(self.account)

    def client_for(self, account: LocalAccount) -> JouleLedger:
        """A client of the deployment that signs with `account`."""
        return JouleLedger(self.w3, self.deployment, account)

    # --- accounts ---------------------------------------------------------------------

    @cached_property
    def account(self) -> LocalAccount:
        """The ``--account`` key, unlocked.

        Raises:
            CliError: no --account, an unknown one, or a dev key on a non-devnet chain.
            WrongPassword: the keystore password is wrong.
        """
        name = self.settings.account
        if not name:
            raise CliError(
                "this command sends a transaction: pass --account NAME (see `jl account "
                "list`) or --account dev:N on a devnet"
            )
        return self._unlock(name, "--account")

    def signer_key(self, who: str) -> LocalAccount | None:
        """The oracle key named by `who` (``dev:N`` or a keystore name), unlocked; None for a
        0x-address, whose proof must then come from where its key lives.

        Raises:
            CliError: an unknown name, or a dev key on a non-devnet chain.
            WrongPassword: the keystore password is wrong.
        """
        if who.strip().lower().startswith("0x"):
            params.address(who, what="--signer")
            raise CliError(
                f"--signer {who.strip()} is an address: binding it needs the key's proof. Pass "
                "--signer NAME (a keystore here) or --signer-proof HEX from "
                "`jl-oracle signer-proof --provider <your address>` where the key lives"
            )
        return self._unlock(who, "--signer")

    def _unlock(self, name: str, option: str) -> LocalAccount:
        """The key `name` (given as `option`) names: ``dev:N`` on a devnet only, or a
        keystore, unlocked with its password."""
        dev = _DEV.match(name)
        if dev:
            self.require_devnet(f"{option} {name}")
            return dev_account(int(dev.group(1)))
        password = self.password(f"password for keystore {name}")
        return keystore.unlock(self.paths.keystores, name, password)

    def address_of(self, who: str | None) -> ChecksumAddress:
        """An address from a 0x-address, ``dev:N``, a keystore name, or (None) --account.

        Raises:
            CliError: nothing given and no --account, or an unknown name.
        """
        if who is None:
            who = self.settings.account
            if not who:
                raise CliError("pass an ADDRESS, or --account NAME to use that account's")
        if who.strip().lower().startswith("0x"):
            return params.address(who)
        dev = _DEV.match(who)
        if dev:
            return dev_account(int(dev.group(1))).address
        return keystore.address_of(self.paths.keystores, who)

    def password(self, prompt: str, *, confirm: bool = False) -> str:
        """``$JL_PASSWORD``, else a hidden prompt on the terminal.

        Raises:
            CliError: neither is available.
        """
        if self.settings.password is not None:
            return self.settings.password
        if not self.settings.interactive:
            raise CliError(
                f"{prompt} needed: set JL_PASSWORD, or run in a terminal to be asked "
                "(passwords are never taken as options)"
            )
        return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True))

    def require_devnet(self, what: str) -> None:
        """Refuse `what` unless the node serves a devnet chain id.

        Raises:
            CliError: on any other chain (exit code 3).
        """
        if not self.on_devnet:
            known = " or ".join(str(c) for c in sorted(DEVNET_CHAIN_IDS))
            raise CliError(
                f"{what} works on a local devnet only (chain id {known}), but {self.rpc_url} "
                f"serves chain id {self.chain_id}",
                ExitCode.REFUSED,
            )

    def confirm(self, question: str) -> None:
        """Ask before doing something costly, unless ``--yes``.

        Raises:
            CliError: declined (exit code 1), or no terminal to ask on without ``--yes``.
        """
        if self.settings.yes:
            return
        if not self.settings.interactive:
            raise CliError(f"{question} Pass --yes to confirm when not in a terminal.")
        if not typer.confirm(question, default=False, err=True):
            raise CliError("declined: nothing was sent", ExitCode.FAILURE)


def default_rpc_url(paths: Paths) -> str:
    """The node a tool talks to when no URL is given: the devnet `jl devnet up` left running
    (recorded under `paths`, and still running), else ``http://127.0.0.1:8545``.

    `jl`, `jl-oracle` and the indexer all default to it, so they meet on the same chain.

    Args:
        paths: the home folder's files.
    """
    record = load_devnet(paths.devnet)
    if record is not None and is_running(record):
        return record.rpc_url
    return DEFAULT_RPC


def dev_account(index: int) -> LocalAccount:
    """Account `index` of the development mnemonic (the keys every devnet funds)."""
    return dev_accounts(index + 1)[index]


def session(ctx: typer.Context) -> Session:
    """The session the root command stored in the context."""
    root = ctx.find_root()
    if not isinstance(root.obj, Session):
        raise RuntimeError("the jl root command did not run")
    return root.obj


def stdin_is_terminal() -> bool:
    """Whether prompts can be shown (stdin is a terminal)."""
    try:
        return os.isatty(sys.stdin.fileno())
    except (AttributeError, ValueError, OSError):
        return False
