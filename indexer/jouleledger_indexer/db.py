"""Opening the index database: the URL, the engine, sessions, and schema upgrades.

SQLite is the default (one file under the CLI's home, ``$JL_HOME/index/``); PostgreSQL is
for deployments that outgrow one file (``postgresql://user@host:port/db``; the psycopg 3
driver is used). The schema is Alembic's: `Database.upgrade` runs the migration scripts
shipped in this package up to the newest, and the indexer calls it at start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from jouleledger.deployment import Deployment
from jouleledger.home import Paths

from .errors import DatabaseUrlError

MIGRATIONS = Path(__file__).parent / "migrations"
#: Any fixed number: serialises concurrent schema upgrades on one PostgreSQL database.
_UPGRADE_LOCK = 0x4A4C_4958  # "JLIX"


def default_database_url(home: Path, deployment: Deployment) -> str:
    """The SQLite file for `deployment` in the index folder of the home `home`.

    The tools decide the home (``$JL_HOME``, else ``~/.jouleledger``; see
    `jouleledger.home.Paths`, which also names its index folder) and pass it in: this
    package reads no environment.

    Args:
        home: the home folder.
        deployment: the deployment the index is of (chain id and market name the file).
    """
    name = f"{deployment.chain_id}-{deployment.market.lower()}.sqlite"
    return f"sqlite:///{(Paths(home.expanduser()).index / name).resolve()}"


def parse_database_url(url: str) -> URL:
    """`url` as SQLAlchemy reads it, with PostgreSQL pointed at the psycopg 3 driver.

    Args:
        url: ``sqlite:///path``, ``sqlite://`` (in memory) or ``postgresql://...``.

    Raises:
        DatabaseUrlError: not a URL, or a database other than SQLite and PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"{url!r} is not a database URL: use sqlite:///path/to/file.sqlite or "
            "postgresql://user@host:port/database"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if "+" not in parsed.drivername:  # no driver named: psycopg 3, the one installed
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    if backend != "sqlite":
        raise DatabaseUrlError(
            f"the indexer stores into SQLite or PostgreSQL, not {backend!r} ({url}): use "
            "sqlite:///path/to/file.sqlite or postgresql://user@host:port/database"
        )
    return parsed


class Database:
    """An engine and a session factory over one index database.

    Args:
        url: a database URL (see `parse_database_url`).
        echo: log every SQL statement (debugging).
        read_only: refuse every write on its connections (for readers such as the
            dashboard; `upgrade` then fails).

    Raises:
        DatabaseUrlError: the URL cannot be used, or the SQLite file's folder cannot be made.
    """

    def __init__(self, url: str, *, echo: bool = False, read_only: bool = False) -> None:
        self.url = parse_database_url(url)
        self.dialect = self.url.get_backend_name()
        self.read_only = read_only
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            _make_parent(self.url)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            if self.url.database in (None, "", ":memory:"):  # one shared in-memory database
                kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if read_only:
            event.listen(self.engine, "connect", _read_only)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for reading (closed at the end of the block)."""
        with self._sessions() as session:
            yield session

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration (safe to call every start)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"


def _make_parent(url: URL) -> None:
    path = url.database
    if not path or path == ":memory:":
        return
    try:
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUrlError(
            f"cannot create the folder of the index database {path}: {exc.strerror}; "
            "pick another path or fix its permissions"
        ) from None


def _read_only(dbapi_conn: Any, _record: object) -> None:
    cursor = dbapi_conn.cursor()
    if isinstance(dbapi_conn, sqlite3.Connection):
        cursor.execute("PRAGMA query_only = ON")
    else:
        cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        dbapi_conn.commit()
    cursor.close()


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # WAL: readers (the dashboard) never block the writer; NORMAL loses nothing when a
    # process is killed (only an OS crash may lose the last commits, never corrupt).
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
