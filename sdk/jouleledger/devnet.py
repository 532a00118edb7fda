"""Local chains for development and tests.

Three kinds run the same contract bytecode (compiled for `shanghai`):

- ``anvil`` (default): Foundry's node, a child process; the fastest.
- ``ganache``: ganache 7.9, a child process (``node .../ganache/dist/node/cli.js``).
- ``embedded``: py-evm in this process through eth-tester; no server, no port.

Child processes are stopped when the `Devnet` is stopped or leaves its ``with`` block, when
the interpreter exits (also after Ctrl-C), and, on Linux, when the parent process dies, even
by ``kill -9`` (``PR_SET_PDEATHSIG``). Linux delivers that signal when the *thread* that
started the child ends, so start devnets from a thread that outlives them.

Every kind funds the same accounts: the first ``accounts`` keys of the well-known
development mnemonic (anvil's and hardhat's), so a key that works on one works on all.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import TracebackType

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3

from .errors import DevnetError, DevnetPortInUse

DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEFAULT_ACCOUNTS = 10
DEFAULT_BALANCE_ETH = 10_000
HOST = "127.0.0.1"


class ChainKind(StrEnum):
    """The local chains the launcher can start."""

    ANVIL = "anvil"
    GANACHE = "ganache"
    EMBEDDED = "embedded"


CHAIN_IDS: dict[ChainKind, int] = {ChainKind.ANVIL: 31337, ChainKind.GANACHE: 1337}


@cache
def dev_accounts(
    count: int = DEFAULT_ACCOUNTS, mnemonic: str = DEV_MNEMONIC
) -> tuple[LocalAccount, ...]:
    """The first `count` accounts of `mnemonic` (BIP-44 path m/44'/60'/0'/0/i)."""
    Account.enable_unaudited_hdwallet_features()
    return tuple(
        Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)
    )


@dataclass(eq=False)
class Devnet:
    """A running local chain. Stop it with `stop()` or use it as a context manager.

    Attributes:
        kind: which chain this is.
        w3: a connected `Web3`.
        accounts: funded local accounts (they sign locally; keys never go to the node).
        rpc_url: the JSON-RPC URL, or None for the embedded chain.
    """

    kind: ChainKind
    w3: Web3
    accounts: tuple[LocalAccount, ...]
    rpc_url: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    log_path: Path | None = None

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is None or self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the chain's process (and anything it started); safe to call twice."""
        _RUNNING.discard(self)
        if self.process is None:
            return
        _terminate(self.process, timeout)

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


def find_program(kind: ChainKind, search_from: Path | None = None) -> list[str]:
    """The command that starts `kind`, from ``node_modules`` (pinned) or else PATH.

    Raises:
        DevnetError: not installed.
    """
    roots = _node_modules_dirs(search_from)
    if kind is ChainKind.ANVIL:
        suffix = _platform_suffix()
        for nm in roots:
            binary = nm / "@foundry-rs" / f"anvil-{suffix}" / "bin" / "anvil"
            if binary.is_file() and os.access(binary, os.X_OK):
                return [str(binary)]
        found = shutil.which("anvil")
        if found:
            return [found]
        raise DevnetError(
            "anvil was not found: run `npm ci` in the JouleLedger checkout (it installs "
            "@foundry-rs/anvil), put anvil on PATH, or pass command=[path]"
        )
    if kind is ChainKind.GANACHE:
        node = shutil.which("node")
        for nm in roots:
            cli = nm / "ganache" / "dist" / "node" / "cli.js"
            if cli.is_file() and node:
                return [node, str(cli)]
        found = shutil.which("ganache")
        if found:
            return [found]
        raise DevnetError(
            "ganache was not found: install Node.js 20+, run `npm ci` in the JouleLedger "
            "checkout, or pass command=[path]"
        )
    raise ValueError(f"{kind} does not run as a separate program")


def node_args(
    kind: ChainKind,
    port: int,
    accounts: int = DEFAULT_ACCOUNTS,
    balance_eth: int = DEFAULT_BALANCE_ETH,
) -> list[str]:
    """Arguments that make anvil or ganache serve the development accounts on `port`."""
    if kind is ChainKind.ANVIL:
        return [
            "--host", HOST, "--port", str(port), "--chain-id", str(CHAIN_IDS[kind]),
            "--mnemonic", DEV_MNEMONIC, "--accounts", str(accounts),
            "--balance", str(balance_eth),
        ]  # fmt: skip
    return [
        "--server.host", HOST, "--server.port", str(port),
        "--chain.chainId", str(CHAIN_IDS[kind]), "--chain.hardfork", "shanghai",
        "--wallet.mnemonic", DEV_MNEMONIC, "--wallet.totalAccounts", str(accounts),
        "--wallet.defaultBalance", str(balance_eth), "--miner.blockGasLimit", "30000000",
    ]  # fmt: skip


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
    with open(log_path, "wb") as log:
        try:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
                preexec_fn=_die_with_parent(os.getpid()) if sys.platform == "linux" else None,
            )
        except OSError as exc:
            raise DevnetError(f"could not start {kind} ({args[0]}): {exc}") from exc
    url = f"http://{HOST}:{port}"
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
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

    Raises:
        DevnetPortInUse: it exited because its port was taken.
        DevnetError: it exited for another reason, or did not answer within `timeout` s;
            the message carries its last output.
    """
    probe = Web3(HTTPProvider(url, request_kwargs={"timeout": 1}))
    deadline = time.monotonic() + timeout
    delay = 0.02
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_tail(log_path)
            if "address already in use" in tail.lower() or "eaddrinuse" in tail.lower():
                raise DevnetPortInUse(f"the chain could not bind {url}: the port is in use")
            raise DevnetError(
                f"the chain exited with code {process.returncode} before answering; "
                f"its last output:\n{tail}"
            )
        with contextlib.suppress(Exception):
            if probe.is_connected():
                return
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
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


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A preexec_fn that makes the child get SIGTERM when its parent dies (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def preexec() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (it may be taken by the time it
    is used: callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _platform_suffix() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, "")
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    return f"{system}-{arch.get(machine, machine)}"


def _node_modules_dirs(search_from: Path | None) -> Iterator[Path]:
    seen: set[Path] = set()
    for start in (Path(search_from or Path.cwd()).resolve(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            nm = folder / "node_modules"
            if nm not in seen and nm.is_dir():
                seen.add(nm)
                yield nm


def log_tail(path: Path | None, lines: int = 15) -> str:
    """The last `lines` lines of a chain's log file, for error messages."""
    if path is None or not path.exists():
        return "(no output captured)"
    data = path.read_bytes()[-8192:].decode("utf-8", "replace")
    return "\n".join(data.splitlines()[-lines:]) or "(no output)"


def advance_time(w3: Web3, seconds: int) -> None:
    """Move a devnet's clock forward by `seconds` and mine a block (anvil, ganache, and the
    embedded eth-tester chain, which only knows absolute time travel).

    Raises:
        DevnetError: the node is not a development chain.
    """
    if seconds < 0:
        raise ValueError(f"time only moves forward, got {seconds} s")
    provider = w3.provider
    if type(provider).__name__ == "EthereumTesterProvider":
        now = int(w3.eth.get_block("latest")["timestamp"])
        # eth-tester's time travel mines the block itself, stamped one second before the
        # target (seen with eth-tester 0.13), hence the +1.
        provider.ethereum_tester.time_travel(now + seconds + 1)  # type: ignore[attr-defined]
        return
    answer = provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    if "error" in answer:
        raise DevnetError(f"this node cannot move its clock: {answer['error']}")
    provider.make_request("evm_mine", [])  # type: ignore[arg-type]
