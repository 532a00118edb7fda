"""The store's schema and rows: run states, migrations, the row types, and the SQL that
reads and moves one row (`OracleStore` wraps them in transactions)."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from ..errors import StoreError

RunState = Literal["claimed", "measured", "signed", "settled"]
"""Where the node's own run of a job stands (its local progress, kept in the store); not the
job's state on chain, which is the SDK's `jouleledger.types.JobState`."""
RUN_STATES: Final[tuple[RunState, ...]] = get_args(RunState)
SCHEMA_VERSION: Final = 1
MAX_JOB_ID: Final = 2**256 - 1
HEX_TEXT: Final = re.compile(r"^(0x)?([0-9a-fA-F]*)$")

# One tuple of statements per schema version; version N is reached by running tuples [0, N).
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE jobs (
            job_id      TEXT PRIMARY KEY,
            state       TEXT NOT NULL CHECK (state IN ('claimed', 'measured', 'signed', 'settled')),
            settle_tx   TEXT,
            created_at  REAL NOT NULL,
            updated_at  REAL NOT NULL,
            CHECK ((state = 'settled') = (settle_tx IS NOT NULL))
        )""",
        "CREATE INDEX jobs_by_state ON jobs (state, updated_at)",
        """CREATE TABLE measurements (
            job_id      TEXT PRIMARY KEY REFERENCES jobs (job_id),
            record      TEXT NOT NULL,
            sha256      TEXT NOT NULL,
            created_at  REAL NOT NULL
        )""",
        """CREATE TABLE signatures (
            job_id      TEXT PRIMARY KEY REFERENCES measurements (job_id),
            digest      TEXT NOT NULL,
            signature   TEXT NOT NULL,
            created_at  REAL NOT NULL
        )""",
        *(
            f"""CREATE TRIGGER {table}_insert_once_{action.lower()} BEFORE {action} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} are insert-once'); END"""
            for table in ("measurements", "signatures")
            for action in ("UPDATE", "DELETE")
        ),
    ),
)


@dataclass(frozen=True)
class MeasurementRow:
    """A stored measurement: the record fields exactly as first saved."""

    job_id: int
    record: dict[str, Any]
    sha256: str
    created_at: float


@dataclass(frozen=True)
class AttestationRow:
    """A stored signature over `digest` (both 0x-hex)."""

    job_id: int
    digest: str
    signature: str
    created_at: float


@dataclass(frozen=True)
class JobRow:
    """A job's state; `settle_tx` is set once it is settled."""

    job_id: int
    state: RunState
    settle_tx: str | None
    created_at: float
    updated_at: float


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The one JSON text of `fields`: sorted keys, no spaces, ASCII only, no NaN.

    Args:
        fields: plain JSON values.

    Raises:
        StoreError: a value JSON cannot hold (bytes, NaN, objects).
    """
    try:
        return json.dumps(
            fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"record fields must be plain JSON values (hex-encode bytes): {exc}"
        ) from exc


def sha256_hex(text: str) -> str:
    """SHA-256 of `text` (UTF-8), as hex: the checksum stored with each measurement.

    Args:
        text: the canonical JSON of a record.
    """
    return hashlib.sha256(text.encode()).hexdigest()


def job_key(job_id: int) -> str:
    """The stored key of a job id (uint256 as decimal text).

    Args:
        job_id: the job.

    Raises:
        StoreError: not a uint256 integer.
    """
    if isinstance(job_id, bool) or not isinstance(job_id, int) or not 0 <= job_id <= MAX_JOB_ID:
        raise StoreError(f"job id must be a uint256 integer, got {job_id!r}")
    return str(job_id)


def hex_text(value: bytes | str, *, what: str, size: int | None = None) -> str:
    """Normalise bytes or hex text to lowercase 0x-hex, checking the length.

    Args:
        value: bytes, or hex text with or without 0x.
        what: names the value in errors.
        size: the byte length it must have, if any.

    Raises:
        StoreError: not hex, or the wrong length.
    """
    if isinstance(value, bytes):
        raw = value.hex()
    else:
        match = HEX_TEXT.match(value)
        if match is None or len(match.group(2)) % 2:
            raise StoreError(f"{what} must be bytes or 0x-hex, got {value!r}")
        raw = match.group(2).lower()
    if not raw or (size is not None and len(raw) != 2 * size):
        expected = f"{size} bytes" if size is not None else "non-empty"
        raise StoreError(f"{what} must be {expected}, got {len(raw) // 2} bytes")
    return "0x" + raw


def find_job(conn: sqlite3.Connection, key: str) -> JobRow | None:
    """The job's row, or None.

    Args:
        conn: the open database.
        key: the job's key (`job_key`).
    """
    row = conn.execute(
        "SELECT job_id, state, settle_tx, created_at, updated_at FROM jobs WHERE job_id = ?",
        (key,),
    ).fetchone()
    return None if row is None else job_row(row)


def job_row(row: tuple[Any, ...]) -> JobRow:
    """A `JobRow` from the columns ``job_id, state, settle_tx, created_at, updated_at``.

    Args:
        row: the selected columns.
    """
    key, state, settle_tx, created_at, updated_at = row
    return JobRow(int(key), state, settle_tx, created_at, updated_at)


def find_measurement(conn: sqlite3.Connection, key: str) -> MeasurementRow | None:
    """The job's stored measurement, checked against its checksum, or None.

    Args:
        conn: the open database.
        key: the job's key (`job_key`).

    Raises:
        StoreError: the record does not match its checksum.
    """
    row = conn.execute(
        "SELECT record, sha256, created_at FROM measurements WHERE job_id = ?", (key,)
    ).fetchone()
    if row is None:
        return None
    text, digest, created_at = row
    if sha256_hex(text) != digest:
        raise StoreError(f"job {key}: stored measurement does not match its checksum")
    return MeasurementRow(int(key), json.loads(text), digest, created_at)


def find_attestation(conn: sqlite3.Connection, key: str) -> AttestationRow | None:
    """The job's stored signature, or None.

    Args:
        conn: the open database.
        key: the job's key (`job_key`).
    """
    row = conn.execute(
        "SELECT digest, signature, created_at FROM signatures WHERE job_id = ?", (key,)
    ).fetchone()
    return None if row is None else AttestationRow(int(key), row[0], row[1], row[2])


def advance(conn: sqlite3.Connection, key: str, state: RunState, now: float) -> None:
    """Move a job forward to `state` (creating it if new); never backwards.

    Args:
        conn: the open database, in a write transaction.
        key: the job's key (`job_key`).
        state: the state to reach.
        now: unix time, for ``updated_at``.
    """
    conn.execute(
        "INSERT INTO jobs (job_id, state, created_at, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (job_id) DO UPDATE "
        "SET state = excluded.state, updated_at = excluded.updated_at "
        "WHERE CASE jobs.state WHEN 'claimed' THEN 0 WHEN 'measured' THEN 1 "
        "WHEN 'signed' THEN 2 ELSE 3 END < ?",
        (key, state, now, now, RUN_STATES.index(state)),
    )


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """Every problem with SQLite's structure, a record's checksum or a job's state.

    Args:
        conn: the open database, in a read snapshot.
    """
    problems: list[str] = []
    result = conn.execute("PRAGMA integrity_check").fetchall()
    if result != [("ok",)]:
        problems.append(f"sqlite integrity_check: {result}")
    for key, text, digest in conn.execute("SELECT job_id, record, sha256 FROM measurements"):
        if sha256_hex(text) != digest:
            problems.append(f"job {key}: measurement does not match its checksum")
    expected = (
        "CASE WHEN s.job_id IS NOT NULL THEN 'signed' "
        "WHEN m.job_id IS NOT NULL THEN 'measured' ELSE 'claimed' END"
    )
    rows = conn.execute(
        f"SELECT j.job_id, j.state, {expected} FROM jobs j "
        "LEFT JOIN measurements m ON m.job_id = j.job_id "
        "LEFT JOIN signatures s ON s.job_id = j.job_id"
    ).fetchall()
    for key, state, least in rows:
        if state != least and not (state == "settled" and least == "signed"):
            problems.append(f"job {key}: state {state} but its rows say {least}")
    return problems
