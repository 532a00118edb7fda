"""Serving from several processes: `jl dashboard --workers N`.

One process serves at most one core: a page is Python under the GIL. `ServerProcesses`
starts `workers` processes on one port, each with its own app, caches and read-only
connections to the index. The index has one writer: the indexer stays in the calling
process (`jouleledger_dashboard.cli.serve`), and the workers only read what it wrote.

Each worker listens on a socket of its own with ``SO_REUSEPORT``, so the kernel spreads new
connections over the workers by a hash of their addresses. One socket shared by all (what
uvicorn's own ``--workers`` does) is accepted by whichever worker wakes first, and asyncio
accepts up to a hundred connections per wake-up: twenty clients connecting at once landed
20/0, 18/2 and 19/1 on two workers, which then served nearly everything from one core. The
calling process binds the port first without sharing it, which fails where any socket
holds the port (another `jl dashboard --workers` included, whose sharing sockets would
otherwise split the port's visitors with these), then holds it with a sharing socket that
does not listen (it receives nothing); port 0 picks the port all workers share.

Anchors: uvicorn's ``--workers`` (``uvicorn._subprocess``: spawned children that each run
``Server.run(sockets=...)``); Linux ``socket(7)`` on ``SO_REUSEPORT`` load balancing.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event

import uvicorn

from jouleledger.deployment import Deployment

log = logging.getLogger(__name__)
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


def _serve_worker(source: Source, host: str, port: int, ready: Event) -> None:
    """A worker process: the dashboard over `source` on a socket of its own at `host`:`port`,
    until SIGTERM or Ctrl-C; sets `ready` once it accepts connections."""
    from jouleledger.transport import connect

    from .server import open_dashboard

    opened = open_dashboard(
        connect(source.rpc_url), source.deployment, source.database_url,
        index=False, upgrade=False,
    )  # fmt: skip
    try:
        sock = bind(host, port, listen=True)
        server = uvicorn.Server(uvicorn.Config(opened.app, log_level="warning", lifespan="on"))
        threading.Thread(target=_when_started, args=(server, ready), daemon=True).start()
        server.run(sockets=[sock])
    finally:
        opened.dispose()


def _when_started(server: uvicorn.Server, ready: Event) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.02)
    if server.started:
        ready.set()


def bind(host: str, port: int, *, listen: bool = False, share: bool = True) -> socket.socket:
    """A TCP socket on `host`:`port` (0: a free port).

    Args:
        host: the address to listen on.
        port: the port.
        listen: listen on it (a worker); without, it only holds the port (the parent).
        share: share the port with the other workers' sockets (``SO_REUSEPORT``); without,
            binding fails where any socket holds the port, a sharing one included.

    Raises:
        RuntimeError: the address cannot be bound (the port is taken).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RuntimeError(
            f"the dashboard cannot listen on {host}:{port} ({exc.strerror}): "
            "is the port taken? pass another with --port"
        ) from None
    if listen:
        sock.listen(BACKLOG)
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
        """Hold the port, start the workers and return the URL once every one accepts.

        Args:
            timeout: seconds to wait for the workers.

        Raises:
            RuntimeError: the port is taken, or a worker stopped or did not start in time
                (what it printed is on stderr).
        """
        # First without sharing: another program's sharing socket (a second `jl dashboard
        # --workers` on this port) would otherwise let both serve the port, unnoticed.
        with bind(self.host, self.port, share=False) as probe:
            port = probe.getsockname()[1]
        self._sock = bind(self.host, port)
        ready = []
        for n in range(self.workers):
            ready.append(SPAWN.Event())
            process = SPAWN.Process(
                target=_serve_worker, args=(self.source, self.host, port, ready[-1]),
                name=f"jl-dashboard-{n + 1}", daemon=True,
            )  # fmt: skip
            process.start()
            self._processes.append(process)
        try:
            self._wait_ready(ready, timeout)
        except RuntimeError:
            self.stop()
            raise
        return self.url

    def _wait_ready(self, ready: list[Event], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not all(r.is_set() for r in ready):
            if not self.alive:
                raise RuntimeError("a dashboard worker stopped while starting (see above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard workers did not start in {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers (SIGTERM: uvicorn finishes the requests in flight) and let the
        port go.

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
