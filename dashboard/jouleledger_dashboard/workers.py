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
does not listen (it receives nothing); port 0 picks the port all workers share. Each worker
has a pipe to the calling process: ``ready`` goes up it, and the worker stops when
anything comes down it or its other end closes, as the kernel does when the calling
process is killed, so no worker outlives the dashboard.

Anchors: uvicorn's ``--workers`` (``uvicorn._subprocess``: spawned children that each run
``Server.run(sockets=...)``); Linux ``socket(7)`` on ``SO_REUSEPORT`` load balancing.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import multiprocessing
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess
from typing import cast

import uvicorn

from jouleledger.deployment import Deployment

from .readdb import POOL_SIZE

log = logging.getLogger(__name__)
SPAWN = multiprocessing.get_context("spawn")  # no fork of a process with threads running
BACKLOG = 2048  # uvicorn's default
MAX_WORKERS = 16  # their database connections together stay under PostgreSQL's 100
START_S = 30.0  # to wait for the workers to start, plus `START_S_PER_WORKER` each
START_S_PER_WORKER = 10.0  # a worker takes about 4 CPU-seconds to import and open
BALANCED = sys.platform == "linux"  # SO_REUSEPORT spreads connections only on Linux


@dataclass(frozen=True)
class Source:
    """What a worker needs to open the dashboard itself (it is pickled to the worker).

    Attributes:
        rpc_url: the deployment's node.
        deployment: the contracts' addresses.
        database_url: the index, already created and upgraded by the calling process.
        pool_size: the read connections each worker keeps to the index.
    """

    rpc_url: str
    deployment: Deployment
    database_url: str
    pool_size: int = POOL_SIZE


def pool_size(workers: int) -> int:
    """Read connections per worker: `POOL_SIZE` shared out, at least three (a worker runs
    at most two page threads and its error pages' head read).

    Args:
        workers: how many processes share the database.
    """
    return max(3, POOL_SIZE // workers)


def _serve_worker(source: Source, host: str, port: int, parent: Connection) -> None:
    """A worker process: the dashboard over `source` on a socket of its own at `host`:`port`;
    says ``ready`` on `parent` once it accepts, and stops when `parent` says anything or
    closes (the parent stopped it, or died), or on Ctrl-C."""
    from jouleledger.transport import connect

    from .server import open_dashboard

    opened = open_dashboard(
        connect(source.rpc_url), source.deployment, source.database_url,
        index=False, upgrade=False, pool_size=source.pool_size,
    )  # fmt: skip
    try:
        sock = bind(host, port, listen=True)
        server = uvicorn.Server(uvicorn.Config(opened.app, log_level="warning", lifespan="on"))
        threading.Thread(target=_watch, args=(server, parent), daemon=True).start()
        # uvicorn raises the Ctrl-C it caught again once it has shut down: done, not failed.
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        opened.dispose()


def _watch(server: uvicorn.Server, parent: Connection) -> None:
    """Say ``ready`` once `server` accepts; shut it down when the parent says anything or
    its end closes. A pipe rather than a shared `multiprocessing.Event`: the kernel closes
    a killed parent's end (a worker that went on serving an index nobody updates would
    hold the port), and a killed worker cannot leave a lock taken that the others wait on."""
    while not server.started and not server.should_exit:
        if parent.poll(0.02):
            break
    else:
        if server.started:
            with contextlib.suppress(OSError):
                parent.send("ready")
            parent.poll(None)
    server.should_exit = True


def _said(pipe: Connection) -> object:
    """What the other end sent, or None where it closed."""
    try:
        return pipe.recv()
    except (EOFError, OSError):
        return None


def _bind_advice(host: str, port: int, exc: OSError) -> str:
    """What to do when `host`:`port` cannot be bound, by the error's kind."""
    if exc.errno == errno.EADDRINUSE:
        return "is the port taken? pass another with --port"
    if exc.errno == errno.EACCES:
        return f"port {port} needs root here: pass --port with a port above 1023"
    return f"is {host!r} an address of this machine? e.g. --host 127.0.0.1 or 0.0.0.0"


def bind(host: str, port: int, *, listen: bool = False, share: bool = True) -> socket.socket:
    """A TCP socket on `host`:`port` (0: a free port).

    Args:
        host: the address to listen on.
        port: the port.
        listen: listen on it (a worker); without, it only holds the port (the parent).
        share: share the port with the other workers' sockets (``SO_REUSEPORT`` alone);
            without (``SO_REUSEADDR`` alone), binding fails where any socket holds the
            port, a sharing one included, listening or not.

    Raises:
        RuntimeError: the address cannot be bound; the message says what to change.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    option = socket.SO_REUSEPORT if share else socket.SO_REUSEADDR
    sock.setsockopt(socket.SOL_SOCKET, option, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise RuntimeError(
            f"the dashboard cannot listen on {host}:{port} ({exc.strerror}): "
            + _bind_advice(host, port, exc)
        ) from None
    if listen:
        sock.listen(BACKLOG)
    return sock


@dataclass
class ServerProcesses:
    """Serve the dashboard over `source` from `workers` processes on one port.

    The same surface as `ServerThread` (`start`, `url`, `alive`, `failure`, `stop`), so `jl
    dashboard` runs either.

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
    _pipes: list[Connection] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ValueError(f"workers must be 1 to {MAX_WORKERS}, not {self.workers}")

    @property
    def url(self) -> str:
        """The server's base URL (after `start`)."""
        port = self._sock.getsockname()[1] if self._sock else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    @property
    def alive(self) -> bool:
        """Whether every worker still runs."""
        return bool(self._processes) and all(p.is_alive() for p in self._processes)

    @property
    def failure(self) -> str | None:
        """Which worker failed and how (None: none did). A worker that exited 0 was asked to
        stop (Ctrl-C reaches every process of the terminal's group): not a failure."""
        for p in self._processes:
            if not p.is_alive() and p.exitcode != 0:
                return (
                    f"dashboard worker {p.name} (pid {p.pid}) stopped with exit code "
                    f"{p.exitcode} (see the messages above)"
                )
        return None

    def start(self) -> str:
        """Hold the port, start the workers and return the URL once every one accepts.

        Raises:
            RuntimeError: the port cannot be had, or a worker stopped or did not start in
                time (what it printed is on stderr).
        """
        # First without sharing: another program's sharing socket (a second `jl dashboard
        # --workers` on this port) would otherwise let both serve the port, unnoticed.
        with bind(self.host, self.port, share=False) as probe:
            port = probe.getsockname()[1]
        self._sock = bind(self.host, port)
        try:
            for n in range(self.workers):
                self._spawn(n, port)
            self._wait_ready(START_S + START_S_PER_WORKER * self.workers)
        except BaseException:  # Ctrl-C while starting too: no worker left behind
            self.stop()
            raise
        return self.url

    def _spawn(self, n: int, port: int) -> None:
        mine, theirs = SPAWN.Pipe()
        process = SPAWN.Process(
            target=_serve_worker, args=(self.source, self.host, port, theirs),
            name=f"jl-dashboard-{n + 1}", daemon=True,
        )  # fmt: skip
        self._processes.append(process)
        self._pipes.append(mine)
        process.start()
        theirs.close()  # the worker has its own copy: a dead worker's end now reads as EOF

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(self._pipes)
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    f"the dashboard's {self.workers} workers did not start in {timeout:.0f} s: "
                    "is the machine busy? try fewer --workers"
                )
            for pipe in cast(list[Connection], wait(waiting, left)):
                if _said(pipe) != "ready":  # its end closed: the worker died
                    self._processes[self._pipes.index(pipe)].join(5)  # for its exit code
                    raise RuntimeError(
                        f"{self.failure or 'a dashboard worker stopped'} while starting"
                    )
                waiting.remove(pipe)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the workers (each finishes the requests in flight) and let the port go.

        Args:
            timeout: seconds to wait for each worker before terminating it.
        """
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send("stop")
            pipe.close()
        for process in self._processes:
            if process.pid is None:
                continue  # never started
            process.join(timeout)
            if process.is_alive():
                log.warning("dashboard worker %s did not stop: terminating it", process.pid)
                process.terminate()
                process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
        self._processes, self._pipes = [], []
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> ServerProcesses:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
