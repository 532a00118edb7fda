"""Fixtures of the indexer tests: one anvil per module, and each test's database on SQLite
and on a real PostgreSQL 15 server that this session starts on loopback
(`jouleledger_indexer.pgserver`, as TOOLCHAIN.md says)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jouleledger import Devnet, start_devnet
from jouleledger_indexer import Database
from jouleledger_indexer.pgserver import PG_BIN, available, create_database, local_postgres
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def anvil() -> Iterator[Devnet]:
    """A real anvil for the module's tests."""
    with start_devnet("anvil", accounts=6, search_from=ROOT) as net:
        yield net


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The base URL (no database) of a PostgreSQL 15 server started for this session."""
    if not available():
        pytest.skip(f"PostgreSQL 15 server binaries not found in {PG_BIN}")
    with local_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind for one test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'index.sqlite'}"
    return create_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """The test's database, opened (and closed at the end)."""
    database = Database(db_url)
    yield database
    database.dispose()
