"""Running the dashboard: the indexer in a background thread, uvicorn in front.

`open_dashboard` wires one deployment's index, live chain reads and app together;
`ServerThread` serves an app on a port from a thread (used by `jl dashboard`, the demo's
screenshots and the browser tests), and `indexing` runs the indexer while the app serves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from web3 import Web3

from jouleledger.client import JouleLedger
from jouleledger.deployment import Deployment
from jouleledger_indexer import Database, Indexer, IndexerConfig

from .app import create_app
from .chain import LiveChain
from .readdb import POOL_SIZE, ReadDatabase
from .service import Dashboard

log = logging.getLogger(__name__)
POLL_INTERVAL_S = 0.25  # the indexer's wait between head checks: new blocks show within 2 s


@contextmanager
def indexing(indexer: Indexer, poll_interval: float = POLL_INTERVAL_S) -> Iterator[Indexer]:
    """Run `indexer` in a background thread until the block ends.

    Args:
        indexer: a ready indexer.
        poll_interval: seconds between checks for a new block.
    """
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                indexer.run_forever(stop, poll_interval=poll_interval)
            except Exception:  # keep serving what is indexed; say why and try again
                log.exception("indexing failed; retrying in 2 s")
                stop.wait(2.0)

    thread = threading.Thread(target=run, name="jl-dashboard-indexer", daemon=True)
    thread.start()
    try:
        yield indexer
    finally:
        stop.set()
        thread.join(timeout=30)


def wait_indexed(app: FastAPI, block: int, timeout: float = 60.0) -> None:
    """Wait until the app's index holds `block` (after a scenario, before screenshots).

    Args:
        app: an app made by `open_dashboard` that indexes in the background.
        block: the block to wait for.
        timeout: seconds.

    Raises:
        TimeoutError: the index did not get there in time.
    """
    dashboard: Dashboard = app.state.dashboard
    deadline = time.monotonic() + timeout
    while dashboard.head().block < block:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the index did not reach block {block} in {timeout:.0f} s")
        time.sleep(0.05)


@dataclass
class Opened:
    """A dashboard wired to one deployment: its app, database and indexer."""

    app: FastAPI
    db: Database
    indexer: Indexer
    reads: ReadDatabase

    def dispose(self) -> None:
        """Close the database connections (after the server stopped)."""
        self.reads.dispose()
        self.db.dispose()


def open_dashboard(
    w3: Web3,
    deployment: Deployment,
    database_url: str,
    *,
    index: bool = True,
    upgrade: bool = True,
    pool_size: int = POOL_SIZE,
) -> Opened:
    """The app for `deployment`, reading the index at `database_url` (created and upgraded
    as needed) and, with `index`, indexing in the background while it serves.

    Args:
        w3: a connection to the deployment's node.
        deployment: the contracts' addresses.
        database_url: where the index lives (SQLite or PostgreSQL URL).
        index: run the indexer alongside the server.
        upgrade: create or upgrade the index's schema first (off in a worker process: the
            process that indexes did it).
        pool_size: read connections to keep to the index (fewer per worker process).

    Raises:
        DatabaseUrlError: a URL the indexer cannot use.
        AssetsMissing: the vendored scripts cannot be found.
    """
    db = Database(database_url)
    if upgrade:
        db.upgrade()
    indexer = Indexer(w3, deployment, db, IndexerConfig())
    dashboard = Dashboard(
        db=ReadDatabase(db, pool_size), chain=LiveChain(JouleLedger(w3, deployment))
    )
    app = create_app(dashboard, (lambda: indexing(indexer)) if index else None)
    return Opened(app=app, db=db, indexer=indexer, reads=dashboard.db)


class ServerThread:
    """Serve an app with uvicorn from a background thread.

    Args:
        app: the ASGI app.
        host: the address to listen on.
        port: the port (0: pick a free one).
    """

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.host = host
        self._thread = threading.Thread(target=self.server.run, name="jl-dashboard", daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL (after `start`)."""
        sockets = [s for server in self.server.servers for s in server.sockets]
        port = sockets[0].getsockname()[1] if sockets else self.server.config.port
        return f"http://{self.host}:{port}"

    @property
    def alive(self) -> bool:
        """Whether the server thread still runs."""
        return self._thread.is_alive()

    @property
    def failure(self) -> str | None:
        """Why the server stopped by itself (None: it runs)."""
        if self._thread.is_alive():
            return None
        return "the dashboard's server stopped (see the messages above)"

    def start(self, timeout: float = 30.0) -> str:
        """Start serving; returns the URL once the server accepts connections.

        Args:
            timeout: seconds to wait for it.

        Raises:
            RuntimeError: it did not start (the port is taken, or startup failed).
        """
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the dashboard did not start on {self.host}:{self.server.config.port} "
                    "(is the port taken? pass another with --port)"
                )
            time.sleep(0.02)
        return self.url

    def stop(self, timeout: float = 30.0) -> None:
        """Stop serving and wait for the thread.

        Args:
            timeout: seconds to wait for it.
        """
        self.server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
