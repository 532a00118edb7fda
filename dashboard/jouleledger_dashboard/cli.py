"""`jl dashboard`: serve the dashboard for the deployment the CLI session points at.

The SDK's CLI registers the command and imports this module only when it runs, so `jl`
never imports FastAPI otherwise. Configuration comes from the session (``--rpc``, the
running devnet, ``$JL_HOME``) and the command's options, read at this edge.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from jouleledger.cli.errors import CliError, ExitCode
from jouleledger.cli.session import Session
from jouleledger_indexer import default_database_url

from .errors import AssetsMissing
from .server import ServerThread, indexing, open_dashboard
from .workers import BALANCED, ServerProcesses, Source, pool_size

DEFAULT_PORT = 8800  # the oracle node takes 8600


def serve(
    session: Session,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    database: str | None = None,
    workers: int = 1,
    until: threading.Event | None = None,
) -> None:
    """Index the session's deployment in the background and serve the dashboard on it,
    until Ctrl-C (or `until` is set).

    Args:
        session: the CLI invocation (its node, deployment and home folder).
        host: the address to listen on.
        port: the port (0: a free one).
        database: the index's URL (default: a SQLite file under ``$JL_HOME/index/``).
        workers: server processes (1: one thread of this process; more: that many
            processes on one port, while this one indexes: `workers.ServerProcesses`).
        until: stops the server when set (tests); None waits for Ctrl-C.

    Raises:
        CliError: the node or deployment is missing, the port is taken, or the vendored
            scripts are missing.
    """
    deployment = session.deployment  # checks the node answers and the contracts exist
    url = database or default_database_url(session.paths.home, deployment)
    if workers > 1 and not BALANCED:
        raise CliError(
            "--workers needs Linux, whose SO_REUSEPORT spreads visitors over the workers: "
            "leave it out to serve from one process",
            ExitCode.USAGE,
        )
    try:  # in this process either way: a missing script or a bad URL is one error, here
        opened = open_dashboard(session.w3, deployment, url, index=workers == 1)
    except AssetsMissing as exc:
        raise CliError(str(exc), ExitCode.NOT_FOUND) from None
    server: ServerThread | ServerProcesses
    background: AbstractContextManager[object]
    if workers == 1:  # the app indexes in a thread of its own
        server, background = ServerThread(opened.app, host=host, port=port), nullcontext()
    else:  # the workers serve; this process indexes, the index's one writer
        source = Source(session.rpc_url, deployment, url, pool_size=pool_size(workers))
        server = ServerProcesses(source, workers, host=host, port=port)
        background = indexing(opened.indexer)
    stop = until or threading.Event()
    try:  # SIGTERM is taken before the URL is printed: whoever read it may stop us at once
        with background, _stopped_by_sigterm(stop):
            try:
                address = server.start()
            except RuntimeError as exc:
                raise CliError(str(exc)) from None
            _serve_until(session, server, address, url, workers, stop)
    finally:
        opened.dispose()


def _serve_until(
    session: Session,
    server: ServerThread | ServerProcesses,
    address: str,
    url: str,
    workers: int,
    stop: threading.Event,
) -> None:
    """Say where the dashboard is, then serve until Ctrl-C or `stop`, and stop it."""
    deployment = session.deployment
    out = session.out
    out.result(
        {"url": address, "rpc": session.rpc_url, "chain_id": deployment.chain_id, "index": url},
        [
            f"dashboard  {address}",
            f"chain      {deployment.chain_id} at {session.rpc_url}, market {deployment.market}",
            f"index      {url} (indexing in the background)",
            *([f"workers    {workers} processes"] if workers > 1 else []),
            "Ctrl-C stops it.",
        ],
    )
    interrupted = False
    try:
        while not stop.wait(0.5) and server.alive:
            pass
    except KeyboardInterrupt:
        interrupted = True
    finally:
        failure = None if stop.is_set() or interrupted else server.failure
        server.stop()
    if failure:
        raise CliError(f"{failure}; the dashboard stopped", ExitCode.FAILURE)


@contextmanager
def _stopped_by_sigterm(stop: threading.Event) -> Iterator[None]:
    """While in the block, SIGTERM (``kill PID``, a supervisor) sets `stop`, so the server
    and its workers are stopped as on Ctrl-C instead of this process dying under them."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread (tests serve from others)
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
