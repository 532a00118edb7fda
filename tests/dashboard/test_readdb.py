"""The dashboard's read connections on both databases: read-only at the database, and on
PostgreSQL, where they are not pinged before use, a connection the server dropped is
replaced without the page failing."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, select, text, update
from sqlalchemy.exc import DBAPIError

from jouleledger_dashboard.queries.jobs import indexed_head
from jouleledger_dashboard.readdb import ReadDatabase
from jouleledger_indexer import Database
from jouleledger_indexer.models import SyncState
from jouleledger_indexer.pgserver import create_database
from tests.indexer.conftest import db, db_url, postgres_server

__all__ = ["db", "db_url", "postgres_server"]  # the indexer suite's fixtures, used here too


def test_reads_cannot_write(db: Database) -> None:
    db.upgrade()
    reads = ReadDatabase(db)
    assert reads.run(indexed_head) == (-1, 0, None)
    with pytest.raises(DBAPIError, match=r"read-only|readonly"):
        reads.run(lambda conn: conn.execute(update(SyncState).values(start_block=1)))
    reads.dispose()


def test_a_connection_the_server_dropped_is_replaced_without_an_error(
    postgres_server: str,
) -> None:
    db = Database(create_database(postgres_server))
    db.upgrade()
    reads = ReadDatabase(db)
    pids = [reads.run(lambda conn: conn.scalar(text("SELECT pg_backend_pid()")))]
    with db.engine.connect() as admin:  # as a server restart would
        admin.execute(select(text("pg_terminate_backend(:pid)")), {"pid": pids[0]})
    tries: list[int] = []

    def read(conn: Connection) -> tuple[int, int, str | None]:
        tries.append(1)
        pids.append(conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        return indexed_head(conn)

    assert reads.run(read) == (-1, 0, None)
    assert len(tries) == 2 and pids[-1] != pids[0]
    reads.dispose()
    db.dispose()
