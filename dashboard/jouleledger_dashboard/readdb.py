"""The dashboard's own read-only connections to the index.

The indexer's `Database` is made for one writer; the dashboard serves twenty readers at a
time. Its pool here holds a connection per server thread (so none is opened and closed per
request: on SQLite that costs the connection's statement cache and schema read each time),
and every connection is read-only at the database (SQLite ``query_only``, PostgreSQL
``default_transaction_read_only``): a page cannot write, whatever a bug asks for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from jouleledger_indexer import Database

POOL_SIZE = 24  # above the server's concurrent requests, below PostgreSQL's default 100


class ReadDatabase:
    """Read-only sessions on the index that `db` writes.

    Args:
        db: the indexer's database (its URL is reused; its engine is not).
    """

    def __init__(self, db: Database) -> None:
        self.url = db.url
        kwargs: dict[str, Any] = {"pool_size": POOL_SIZE, "max_overflow": 8}
        if db.dialect == "sqlite":
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            pragma = "PRAGMA query_only = ON"
        else:
            kwargs["pool_pre_ping"] = True
            pragma = "SET default_transaction_read_only = on"
        self.engine = create_engine(self.url, **kwargs)

        def read_only(dbapi_conn: Any, _record: object) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute(pragma)
            cursor.close()
            if db.dialect != "sqlite":
                dbapi_conn.commit()

        event.listen(self.engine, "connect", read_only)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-only session (closed at the end of the block)."""
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
