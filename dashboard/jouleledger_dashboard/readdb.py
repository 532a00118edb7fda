"""The dashboard's own read-only connections to the index.

The indexer's `Database` is made for one writer; the dashboard serves twenty readers at a
time. Its pool here holds a connection per server thread (so none is opened and closed per
request: on SQLite that costs the connection's statement cache and schema read each time),
and every connection is read-only at the database (SQLite ``query_only``, PostgreSQL
``default_transaction_read_only``): a page cannot write, whatever a bug asks for.

On PostgreSQL every statement is its own transaction (autocommit) and a pooled connection
is not pinged before use: a page's reads were otherwise wrapped in ``BEGIN`` / ``ROLLBACK``
and preceded by a ping, six round trips to the server besides the page's five queries.
Each statement saw a snapshot of its own before too (``READ COMMITTED``), so nothing a page
shows changes. A connection the server dropped (a restart) is found when a read fails: the
pool is then emptied and the read runs once more on a new connection (`ReadDatabase.run`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.exc import DBAPIError

from jouleledger_indexer import Database

T = TypeVar("T")
POOL_SIZE = 24  # above the server's concurrent requests, below PostgreSQL's default 100


class ReadDatabase:
    """Read-only connections to the index that `db` writes.

    Args:
        db: the indexer's database (its URL is reused; its engine is not).
        pool_size: connections kept open (a third as many more opened when all are busy).
    """

    def __init__(self, db: Database, pool_size: int = POOL_SIZE) -> None:
        self.url = db.url
        self.dialect = db.dialect
        kwargs: dict[str, Any] = {"pool_size": pool_size, "max_overflow": pool_size // 3}
        if db.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            pragma = "PRAGMA query_only = ON"
        else:
            kwargs["isolation_level"] = "AUTOCOMMIT"
            pragma = "SET default_transaction_read_only = on"
        self.engine = create_engine(self.url, **kwargs)

        def read_only(dbapi_conn: Any, _record: object) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute(pragma)
            cursor.close()
            if db.dialect != "sqlite":
                dbapi_conn.commit()

        event.listen(self.engine, "connect", read_only)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read-only connection from the pool (returned at the end of the block).

        A Core connection, not an ORM session: the pages select columns, not objects, and
        a session's bookkeeping cost more than the queries of an account page.
        """
        with self.engine.connect() as conn:
            yield conn

    def run(self, read: Callable[[Connection], T]) -> T:
        """`read` on a pooled connection; once more on a new one if that one was dead.

        Args:
            read: the reads, given a connection.

        Raises:
            DBAPIError: the database failed otherwise, or again on a new connection.
        """
        try:
            with self.connect() as conn:
                return read(conn)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self.connect() as conn:  # the pool was emptied: this one is new
            return read(conn)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
