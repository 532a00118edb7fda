"""Serving from several processes: `jl dashboard --workers N`.

One process serves at most one core: a page is Python under the GIL. With twenty visitors at
a time on two cores, the account page waited 86 ms (p50) in one process's queue and 62 ms
with two (bench/results/dashboard.json). `ServerProcesses` binds the port once, in the
calling process, so a taken port is reported there, and starts `workers` processes that
accept on that one socket, each with its own app, caches and read-only connections to the
index. The index has one writer: the indexer stays in the calling process
(`jouleledger_dashboard.cli.serve`), and the workers only read what it wrote.

Anchors: uvicorn's own ``--workers`` (a socket bound by the parent, handed to spawned
children, ``uvicorn._subprocess``), which needs the app as an import string; here each
worker builds its app from a picklable `Source` instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import time
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess

import httpx
import uvicorn

from jouleledger.deployment import Deployment

log = logging.getLogger(__name__)
multiprocessing.allow_connection_pickling()  # a listening socket travels to the workers
SPAWN = multiprocessing.get_context("spawn")  # no fork of a process with threads running
BACKLOG = 2048  # uvicorn's default


@dataclass(frozen=True)
class Source:
    """What a worker needs to open the dashboard itself (it is pickled to the worker).

    Attributes:
        rpc_url: the deployment's node.
        deployment: the contracts' addresses.
        database_url: the index, already created and upgraded by the calling process.
    """

    rpc_url: str
    deployment: Deployment
    database_url: str


def _serve_worker(source: Source, sock: socket.socket) -> None:
    """A worker process: the dashboard over `source`, accepting on `sock` until SIGTERM or
    Ctrl-C."""
    from jouleledger.transport import connect

    from .server import open_dashboard

    opened = open_dashboard(
        connect(source.rpc_url), source.deployment, source.database_url,
        index=False, upgrade=False,
    )  # fmt: skip
    try:
        config = uvicorn.Config(opened.app, log_level="warning", lifespan="on")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        opened.dispose()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host`:`port` (0: a free port).

    Args:
        host: the address to listen on.
        port: the port.

    Raises:
        RuntimeError: the address cannot be bound (the port is taken).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RuntimeError(
            f"the dashboard cannot listen on {host}:{port} ({exc.strerror}): "
            "is the port taken? pass another with --port"
        ) from None
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


@dataclass
class ServerProcesses:
    """Serve the dashboard over `source` from `workers` processes on one port.

    The same surface as `ServerThread` (`start`, `url`, `alive`, `stop`), so `jl dashboard`
    runs either.

    Attributes:
        source: the node, deployment and index each worker opens.
        workers: how many processes (one per core is the useful most).
        host: the address to listen on.
        port: the port (0: pick a free one).
    """

    source: Source
    workers: int
    host: str = "127.0.0.1"
    port: int = 0
    _sock: socket.socket | None = field(default=None, init=False, repr=False)
    _processes: list[SpawnProcess] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")

    @property
    def url(self) -> str:
        """The server's base URL (after `start`)."""
        port = self._sock.getsockname()[1] if self._sock else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    @property
    def pids(self) -> list[int]:
        """The workers' process ids."""
        return [p.pid for p in self._processes if p.pid is not None]

    @property
    def alive(self) -> bool:
        """Whether every worker still runs."""
        return bool(self._processes) and all(p.is_alive() for p in self._processes)

    def start(self, timeout: float = 60.0) -> str:
        """Bind the port, start the workers and return the URL once they answer.

        Args:
            timeout: seconds to wait for the workers to answer.

        Raises:
            RuntimeError: the port is taken, or a worker stopped or did not answer in time
                (what it printed is on stderr).
        """
        self._sock = bind(self.host, self.port)
        for n in range(self.workers):
            process = SPAWN.Process(
                target=_serve_worker, args=(self.source, self._sock),
                name=f"jl-dashboard-{n + 1}", daemon=True,
            )  # fmt: skip
            process.start()
            self._processes.append(process)
        try:
            self._wait_up(timeout)
        except RuntimeError:
            self.stop()
            raise
        return self.url

    def _wait_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = self.url.replace("0.0.0.0", "127.0.0.1").replace("[::]", "[::1]")
        while True:
            if not self.alive:
                raise RuntimeError("a dashboard worker stopped while starting (see above)")
            try:
                if httpx.get(probe + "/api/head", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard workers did not answer in {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers (SIGTERM: uvicorn finishes the requests in flight) and close
        the port.

        Args:
            timeout: seconds to wait for each worker before killing it.
        """
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(timeout)
            if process.is_alive():
                log.warning("dashboard worker %s did not stop: killing it", process.pid)
                process.kill()
                process.join()
        self._processes = []
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> ServerProcesses:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
