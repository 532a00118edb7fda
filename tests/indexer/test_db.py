"""The database side: URLs, the default file under the CLI home, exact uint256 columns,
and the Alembic migrations (idempotent, and equal to the models)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from jouleledger.deployment import Deployment
from jouleledger_indexer import (
    Database,
    DatabaseUrlError,
    Uint256,
    address_key,
    default_database_url,
    parse_database_url,
)
from jouleledger_indexer.models import Base, Transfer
from jouleledger_indexer.writer import BULK_FROM, insert_rows

MARKET = "0x" + "Ab" * 20


def test_default_database_is_a_sqlite_file_per_deployment_under_the_home(tmp_path: Path) -> None:
    deployment = Deployment(31337, MARKET, MARKET, MARKET)  # type: ignore[arg-type]
    url = default_database_url(tmp_path, deployment)
    assert url == f"sqlite:///{tmp_path}/index/31337-{MARKET.lower()}.sqlite"
    Database(url).upgrade()
    assert (tmp_path / "index" / f"31337-{MARKET.lower()}.sqlite").is_file()


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("mysql://root@localhost/x", "SQLite or PostgreSQL, not 'mysql'"),
        ("not a url", "is not a database URL"),
    ],
)
def test_unusable_urls_are_refused_with_what_to_use(url: str, hint: str) -> None:
    with pytest.raises(DatabaseUrlError, match=hint) as caught:
        Database(url)
    assert "postgresql://user@host:port/database" in str(caught.value)


def test_postgresql_urls_use_the_psycopg_3_driver() -> None:
    assert parse_database_url("postgresql://jl@db:5432/x").drivername == "postgresql+psycopg"


def test_addresses_are_stored_lowercase_and_bad_ones_say_what_is_expected() -> None:
    assert address_key(MARKET) == MARKET.lower()
    assert address_key(bytes(20)) == "0x" + "00" * 20
    with pytest.raises(ValueError, match="expected 0x and 40 hex digits"):
        address_key("0x1234")


def test_uint256_is_exact_and_sorts_numerically(db: Database) -> None:
    table = Table(
        "numbers", MetaData(), Column("id", Integer, primary_key=True), Column("n", Uint256())
    )
    values = [2**256 - 1, 0, 10**18, 2**63, 9, 10**30]
    with db.engine.begin() as conn:
        table.create(conn)
        conn.execute(insert(table), [{"id": i, "n": v} for i, v in enumerate(values)])
        ordered = conn.scalars(select(table.c.n).order_by(table.c.n)).all()
        bigger = conn.scalars(select(table.c.n).where(table.c.n > 10**18)).all()
    assert ordered == sorted(values)
    assert sorted(bigger) == [2**63, 10**30, 2**256 - 1]
    with pytest.raises(Exception, match="is not a uint256"), db.engine.begin() as conn:
        conn.execute(insert(table), [{"id": 99, "n": -1}])


def test_migrations_run_twice_and_build_exactly_the_models(db: Database) -> None:
    db.upgrade()
    db.upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_bulk_inserts_store_the_same_values_as_single_ones(db: Database) -> None:
    db.upgrade()
    rows = [
        {
            "block_number": n,
            "log_index": 0,
            "tx_hash": "0x" + f"{n:064x}",
            "from_address": "0x" + "00" * 20,
            "to_address": MARKET.lower(),
            "value": 2**256 - 1 - n,
            "block_time": 1_700_000_000 + n,
        }
        for n in range(BULK_FROM + 5)
    ]
    with db.engine.begin() as conn:
        insert_rows(conn, Transfer, rows)  # to the driver directly
        insert_rows(conn, Transfer, [rows[0] | {"block_number": 10**6}])  # through SQLAlchemy
    with db.session() as s:
        stored = s.scalars(select(Transfer).order_by(Transfer.block_number)).all()
    assert [(t.block_number, t.value) for t in stored[:-1]] == [
        (r["block_number"], r["value"]) for r in rows
    ]
    assert stored[-1].value == 2**256 - 1


def test_a_read_only_database_refuses_writes(db_url: str) -> None:
    Database(db_url).upgrade()
    reader = Database(db_url, read_only=True)
    with reader.session() as s:
        assert s.scalars(select(Transfer)).all() == []
    with pytest.raises(Exception, match=r"(?i)read.?only"), reader.engine.begin() as conn:
        conn.execute(insert(Transfer), [{"block_number": 1, "log_index": 0, "tx_hash": "0x",
                                        "from_address": "0x", "to_address": "0x", "value": 1,
                                        "block_time": 0}])  # fmt: skip
    reader.dispose()
