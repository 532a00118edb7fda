"""Local chains for development and tests: `start_devnet` and the `Devnet` it returns.

Three kinds run the same contract bytecode (compiled for `shanghai`):

- ``anvil`` (default): Foundry's node, a child process; the fastest.
- ``ganache``: ganache 7.9, a child process (``node .../ganache/dist/node/cli.js``).
- ``embedded``: py-evm in this process through eth-tester; no server, no port.

Child processes are stopped when the `Devnet` is stopped or leaves its ``with`` block, when
the interpreter exits (also after Ctrl-C), and, on Linux, when the parent process dies, even
by ``kill -9`` (``PR_SET_PDEATHSIG``). Linux delivers that signal when the *thread* that
started the child ends, so start devnets from a thread that outlives them.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from eth_account.signers.local import LocalAccount
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_exponential
from web3 import HTTPProvider, Web3

from ..errors import DevnetError, DevnetPortInUse
from .chains import (
    DEFAULT_ACCOUNTS,
    DEFAULT_BALANCE_ETH,
    DEV_MNEMONIC,
    ChainKind,
    dev_accounts,
    find_program,
    node_args,
)
from .control import DevnetControl, control
from .jsonrpc import http_provider
from .processes import HOST, free_port, log_tail, spawn_logged, stop_process_group


@dataclass(eq=False)
class Devnet:
    """A running local chain. Stop it with `stop()` or use it as a context manager.

    Attributes:
        kind: which chain this is.
        w3: a connected `Web3`.
        accounts: funded local accounts (they sign locally; keys never go to the node).
        rpc_url: the JSON-RPC URL, or None for the embedded chain.
        process: the chain's process, or None for the embedded chain.
        log_path: where the chain's output goes.
    """

    kind: ChainKind
    w3: Web3
    accounts: tuple[LocalAccount, ...]
    rpc_url: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_path: Path | None = None

    @property
    def chain_id(self) -> int:
        """The chain id the node serves."""
        return int(self.w3.eth.chain_id)

    @property
    def pid(self) -> int | None:
        """The chain process's id, or None for the embedded chain."""
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        """Whether the chain's process still runs (the embedded chain always does)."""
        return self.process is None or self.process.poll() is None

    @property
    def control(self) -> DevnetControl:
        """Mining, time travel, snapshots and balances for this chain."""
        return control(self.w3)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the chain's process (and anything it started); safe to call twice.

        Args:
            timeout: seconds to wait after SIGTERM before SIGKILL.
        """
        with _RUNNING_LOCK:
            _RUNNING.discard(self)
        if self.process is not None:
            stop_process_group(self.process, timeout)

    def __enter__(self) -> Devnet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_RUNNING: set[Devnet] = set()
_RUNNING_LOCK = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for devnet in running:
        devnet.stop()


def start_devnet(
    kind: ChainKind | str = ChainKind.ANVIL,
    *,
    port: int | None = None,
    accounts: int = DEFAULT_ACCOUNTS,
    balance_eth: int = DEFAULT_BALANCE_ETH,
    command: Sequence[str] | None = None,
    search_from: Path | None = None,
    startup_timeout: float = 30.0,
    log_path: Path | None = None,
) -> Devnet:
    """Start a local chain and wait until it answers.

    Args:
        kind: ``"anvil"``, ``"ganache"`` or ``"embedded"``.
        port: TCP port on 127.0.0.1; a free one when None.
        accounts: how many accounts of the development mnemonic to fund.
        balance_eth: the ether each of them starts with.
        command: the program to run instead of the one found in ``node_modules`` or on
            PATH, e.g. ``["/opt/foundry/anvil"]``.
        search_from: folder where the search for ``node_modules`` starts (default: the
            working directory; the folders above it and above this package are searched too).
        startup_timeout: seconds to wait for the first answer.
        log_path: where the node's output goes (default: a temporary file).

    Raises:
        DevnetError: the program is missing, exits early, or does not answer in time.
        ValueError: an unknown kind or a bad argument.
    """
    try:
        kind = ChainKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in ChainKind)
        raise ValueError(f"unknown chain kind {kind!r}; choose one of: {known}") from None
    if accounts < 1:
        raise ValueError(f"accounts must be at least 1, got {accounts}")
    if kind is ChainKind.EMBEDDED:
        return _start_embedded(accounts, balance_eth)
    program = list(command) if command else find_program(kind, search_from)
    attempts = 1 if port else 3  # a port picked by us may be taken before the node binds it
    for attempt in range(attempts):
        chosen = port or free_port()
        args = program + node_args(kind, chosen, accounts, balance_eth)
        try:
            return _spawn(kind, args, chosen, accounts, startup_timeout, log_path)
        except DevnetPortInUse:
            if attempt == attempts - 1:
                raise DevnetError(
                    f"{kind} could not bind port {chosen}: it is in use; pick another --port"
                ) from None
    raise AssertionError("unreachable")


def _spawn(
    kind: ChainKind,
    args: list[str],
    port: int,
    accounts: int,
    startup_timeout: float,
    log_path: Path | None,
) -> Devnet:
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix=f"jouleledger-{kind}-", suffix=".log")
        os.close(fd)
        log_path = Path(name)
    try:
        # Its own session: Ctrl-C reaches us, and we stop it in order.
        process = spawn_logged(args, log_path, die_with_parent=True)
    except OSError as exc:
        raise DevnetError(f"could not start {kind} ({args[0]}): {exc}") from exc
    url = f"http://{HOST}:{port}"
    w3 = Web3(http_provider(url, timeout=30, web3_retries=True))
    devnet = Devnet(kind, w3, dev_accounts(accounts), url, process, log_path)
    with _RUNNING_LOCK:
        _RUNNING.add(devnet)
    try:
        wait_until_ready(process, url, startup_timeout, log_path)
    except DevnetError as exc:
        devnet.stop()
        if isinstance(exc, DevnetPortInUse):
            raise
        raise DevnetError(f"{kind}: {exc}") from None
    except BaseException:
        devnet.stop()
        raise
    return devnet


def wait_until_ready(
    process: subprocess.Popen[bytes], url: str, timeout: float, log_path: Path | None
) -> None:
    """Wait until the chain `process` answers JSON-RPC at `url`.

    Args:
        process: the chain's process.
        url: its JSON-RPC URL.
        timeout: seconds to wait for the first answer.
        log_path: its output, quoted in errors.

    Raises:
        DevnetPortInUse: it exited because its port was taken.
        DevnetError: it exited for another reason, or did not answer within `timeout` s;
            the message carries its last output.
    """
    probe = Web3(HTTPProvider(url, request_kwargs={"timeout": 1}))

    def answers() -> bool:
        if process.poll() is not None:
            tail = log_tail(log_path)
            if "address already in use" in tail.lower() or "eaddrinuse" in tail.lower():
                raise DevnetPortInUse(f"the chain could not bind {url}: the port is in use")
            raise DevnetError(
                f"the chain exited with code {process.returncode} before answering; "
                f"its last output:\n{tail}"
            )
        with contextlib.suppress(Exception):
            return probe.is_connected()
        return False

    poll = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_exponential(multiplier=0.02, max=0.25),
        retry=retry_if_result(lambda ok: not ok),
        retry_error_callback=lambda state: False,
    )
    if not poll(answers):
        raise DevnetError(
            f"the chain did not answer at {url} within {timeout:.0f} s; "
            f"its last output:\n{log_tail(log_path)}"
        )


def _start_embedded(accounts: int, balance_eth: int) -> Devnet:
    try:
        from eth_tester import EthereumTester, PyEVMBackend
        from web3.providers.eth_tester import EthereumTesterProvider
    except ImportError:
        raise DevnetError(
            "the embedded chain needs eth-tester with py-evm: pip install 'jouleledger[embedded]'"
        ) from None
    backend = PyEVMBackend.from_mnemonic(
        DEV_MNEMONIC,
        num_accounts=accounts,
        hd_path="m/44'/60'/0'/0",  # eth-tester's default stops a level short of BIP-44's
        genesis_state_overrides={"balance": Web3.to_wei(balance_eth, "ether")},
    )
    w3 = Web3(EthereumTesterProvider(EthereumTester(backend)))
    return Devnet(ChainKind.EMBEDDED, w3, dev_accounts(accounts))
