"""The SQLite file under the store: WAL journaling, migrations, and transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Self

from ..errors import StoreError
from .rows import MIGRATIONS, SCHEMA_VERSION


class SqliteDatabase:
    """A SQLite file in WAL mode with ``synchronous=FULL``, migrated to `SCHEMA_VERSION`, with
    one lock for every thread; `OracleStore` adds the node's rows.

    Args:
        path: the database file (created if missing). ``:memory:`` is refused: not durable.
        clock: unix time for the ``created_at`` columns; injectable for tests.
        busy_timeout_s: how long to wait for another process's write lock.

    Raises:
        StoreError: the file cannot be opened in WAL mode, or was written by a newer schema.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.path = os.fspath(path)
        self._clock = clock
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the oracle database {self.path}: {exc}") from exc
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"{self.path} cannot use WAL journaling (got {mode!r}); put the database on "
                    "a local disk, not in memory or on a network file system"
                )
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    # --- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database (a WAL checkpoint happens on the last close)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The ``user_version`` of the open database."""
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._write() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {version}, newer than this oracle's "
                    f"{SCHEMA_VERSION}; upgrade jouleledger-oracle instead of downgrading"
                )
            for target in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[target]:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with the write lock up front (no upgrade deadlocks)."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot start a write on {self.path}: {exc}") from exc
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"write to {self.path} failed: {exc}") from exc
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")
