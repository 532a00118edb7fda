"""The node's durable memory: measurements, signatures and job states in SQLite.

Guarantee: after ``kill -9`` (or power loss) at any moment, a restarted node neither loses a
measurement it recorded nor signs a different record for the same job. How:

- WAL journal with ``synchronous=FULL``: a transaction is on disk when its COMMIT returns, and
  an interrupted one is rolled back as a whole on the next open. Each write method is one
  transaction (``BEGIN IMMEDIATE``), so no half-written row or half-made state change exists.
- Measurements and signatures are **insert-once**. `save_measurement` returns the stored row
  when the job already has one; `save_signature` returns the stored signature for the same
  digest and raises `AttestationConflict` for a different one. Triggers refuse UPDATE and
  DELETE on both tables, so not even a bug elsewhere can rewrite them.
- Each measurement carries a SHA-256 of its canonical JSON, checked on every read.

What the caller must do to get the guarantee (the signer's contract):

1. Save the measurement **before** building the record to sign, and build the record from what
   `save_measurement` returns (after a crash that is the stored record, not the new reading).
2. Sign through `sign_once` (or save with `save_signature`) **before** the signature leaves the
   process (HTTP answer, settle transaction). A signature lost in a crash was never seen by
   anyone; the restarted node signs the same stored record again.

Job ids are uint256 on chain, so they are stored as decimal text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Literal, Self, get_args

from .errors import AttestationConflict, StoreError

JobState = Literal["claimed", "measured", "signed", "settled"]
JOB_STATES: Final[tuple[JobState, ...]] = get_args(JobState)
SCHEMA_VERSION: Final = 1
_MAX_JOB_ID: Final = 2**256 - 1
_HEX: Final = re.compile(r"^(0x)?([0-9a-fA-F]*)$")

# One tuple of statements per schema version; version N is reached by running tuples [0, N).
_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
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
class Measurement:
    """A stored measurement: the record fields exactly as first saved."""

    job_id: int
    record: dict[str, Any]
    sha256: str
    created_at: float


@dataclass(frozen=True)
class Attestation:
    """A stored signature over `digest` (both 0x-hex)."""

    job_id: int
    digest: str
    signature: str
    created_at: float


@dataclass(frozen=True)
class JobRow:
    """A job's state; `settle_tx` is set once it is settled."""

    job_id: int
    state: JobState
    settle_tx: str | None
    created_at: float
    updated_at: float


def canonical_json(fields: Mapping[str, Any]) -> str:
    """The one JSON text of `fields`: sorted keys, no spaces, ASCII only, no NaN.

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


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _job_key(job_id: int) -> str:
    if isinstance(job_id, bool) or not isinstance(job_id, int) or not 0 <= job_id <= _MAX_JOB_ID:
        raise StoreError(f"job id must be a uint256 integer, got {job_id!r}")
    return str(job_id)


def _hex(value: bytes | str, *, what: str, size: int | None = None) -> str:
    """Normalise bytes or hex text to lowercase 0x-hex, checking the length."""
    if isinstance(value, bytes):
        raw = value.hex()
    else:
        match = _HEX.match(value)
        if match is None or len(match.group(2)) % 2:
            raise StoreError(f"{what} must be bytes or 0x-hex, got {value!r}")
        raw = match.group(2).lower()
    if not raw or (size is not None and len(raw) != 2 * size):
        expected = f"{size} bytes" if size is not None else "non-empty"
        raise StoreError(f"{what} must be {expected}, got {len(raw) // 2} bytes")
    return "0x" + raw


class OracleStore:
    """The node's SQLite database (WAL, ``synchronous=FULL``); safe to share between threads.

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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
                for statement in _MIGRATIONS[target]:
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

    # --- jobs -----------------------------------------------------------------------------------

    def mark_claimed(self, job_id: int) -> JobRow:
        """Record that the node claimed a job. Idempotent; never moves a job backwards.

        Args:
            job_id: the on-chain job id.

        Raises:
            StoreError: invalid job id.
        """
        key = _job_key(job_id)
        now = self._clock()
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO jobs (job_id, state, created_at, updated_at) "
                "VALUES (?, 'claimed', ?, ?)",
                (key, now, now),
            )
            return self._job(conn, key)

    def mark_settled(self, job_id: int, tx_hash: bytes | str) -> JobRow:
        """Record the transaction that settled a signed job. Idempotent for the same hash.

        Args:
            job_id: the job.
            tx_hash: the settle transaction's hash (32 bytes).

        Raises:
            StoreError: the job is not signed yet, or was settled by another transaction.
        """
        key = _job_key(job_id)
        tx = _hex(tx_hash, what="settle transaction hash", size=32)
        with self._write() as conn:
            row = self._find_job(conn, key)
            if row is None or row.state not in ("signed", "settled"):
                state = row.state if row else "unknown"
                raise StoreError(f"job {job_id} is {state}; only a signed job can be settled")
            if row.state == "settled":
                if row.settle_tx != tx:
                    raise StoreError(
                        f"job {job_id} was already settled by {row.settle_tx}, not {tx}"
                    )
                return row
            conn.execute(
                "UPDATE jobs SET state = 'settled', settle_tx = ?, updated_at = ? WHERE job_id = ?",
                (tx, self._clock(), key),
            )
            return self._job(conn, key)

    def get_job(self, job_id: int) -> JobRow | None:
        """The job's state, or None if the node never saw it.

        Args:
            job_id: the job.

        Raises:
            StoreError: invalid job id.
        """
        key = _job_key(job_id)
        with self._lock:
            return self._find_job(self._conn, key)

    def jobs_in_state(self, state: JobState) -> list[JobRow]:
        """Jobs in `state`, least recently changed first.

        Args:
            state: claimed, measured, signed or settled.

        Raises:
            StoreError: unknown state.
        """
        if state not in JOB_STATES:
            raise StoreError(f"unknown job state {state!r}; states: {', '.join(JOB_STATES)}")
        with self._lock:
            rows = self._conn.execute(
                "SELECT job_id, state, settle_tx, created_at, updated_at FROM jobs "
                "WHERE state = ? ORDER BY updated_at, rowid",
                (state,),
            ).fetchall()
        return [_job_row(row) for row in rows]

    def pending_settlement(self) -> list[JobRow]:
        """Signed jobs whose settlement is not recorded yet: the node's to-do list on restart."""
        return self.jobs_in_state("signed")

    # --- measurements -------------------------------------------------------------------------

    def save_measurement(self, job_id: int, record_fields: Mapping[str, Any]) -> Measurement:
        """Store what was measured for a job, once. A second call returns the first, unchanged.

        Args:
            job_id: the job.
            record_fields: the measured record as plain JSON values (e.g.
                ``reading.model_dump(mode="json")``).

        Raises:
            StoreError: invalid job id or fields that are not plain JSON.
        """
        key = _job_key(job_id)
        text = canonical_json(record_fields)
        now = self._clock()
        with self._write() as conn:
            existing = self._find_measurement(conn, key)
            if existing is not None:
                return existing
            self._advance(conn, key, "measured", now)
            conn.execute(
                "INSERT INTO measurements (job_id, record, sha256, created_at) VALUES (?, ?, ?, ?)",
                (key, text, _sha256(text), now),
            )
            found = self._find_measurement(conn, key)
            assert found is not None
            return found

    def get_measurement(self, job_id: int) -> Measurement | None:
        """The stored measurement, or None.

        Args:
            job_id: the job.

        Raises:
            StoreError: invalid job id, or the stored record does not match its checksum.
        """
        key = _job_key(job_id)
        with self._lock:
            return self._find_measurement(self._conn, key)

    # --- signatures -----------------------------------------------------------------------------

    def save_signature(
        self, job_id: int, digest: bytes | str, signature: bytes | str
    ) -> Attestation:
        """Store the signature over a job's record digest, once.

        Args:
            job_id: the job; it must have a measurement (the oracle signs only what it measured).
            digest: the 32-byte digest that was signed (EIP-712 hash of the record).
            signature: the signature bytes.

        Raises:
            AttestationConflict: the job already has a signature over a different digest.
            StoreError: no measurement for the job, or malformed digest/signature.
        """
        key = _job_key(job_id)
        digest_hex = _hex(digest, what="digest", size=32)
        signature_hex = _hex(signature, what="signature")
        with self._write() as conn:
            existing = self._existing_attestation(conn, key, digest_hex)
            if existing is not None:
                return existing
            return self._insert_attestation(conn, key, digest_hex, signature_hex)

    def sign_once(
        self, job_id: int, digest: bytes | str, sign: Callable[[bytes], bytes]
    ) -> Attestation:
        """Return the job's stored signature over `digest`, or sign it and store it atomically.

        `sign` runs inside the write transaction, so two threads or processes cannot both sign
        the job; if the process dies after signing and before the commit, nothing was stored
        and nothing was released, and the restarted node signs the same digest again.

        Args:
            job_id: the job; it must have a measurement.
            digest: the 32-byte digest to sign.
            sign: produces the signature over the digest.

        Raises:
            AttestationConflict: the job already has a signature over a different digest.
            StoreError: no measurement for the job, or malformed digest/signature.
        """
        key = _job_key(job_id)
        digest_hex = _hex(digest, what="digest", size=32)
        with self._write() as conn:
            existing = self._existing_attestation(conn, key, digest_hex)
            if existing is not None:
                return existing
            signature_hex = _hex(sign(bytes.fromhex(digest_hex[2:])), what="signature")
            return self._insert_attestation(conn, key, digest_hex, signature_hex)

    def get_attestation(self, job_id: int) -> Attestation | None:
        """The job's stored signature (the same one every time), or None.

        Args:
            job_id: the job.

        Raises:
            StoreError: invalid job id.
        """
        key = _job_key(job_id)
        with self._lock:
            return self._find_attestation(self._conn, key)

    # --- checks ---------------------------------------------------------------------------------

    def check_integrity(self) -> None:
        """Check SQLite's structure, every record's checksum and the state of every job.

        Raises:
            StoreError: listing every problem found.
        """
        problems: list[str] = []
        with self._read() as conn:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            if result != [("ok",)]:
                problems.append(f"sqlite integrity_check: {result}")
            for key, text, digest in conn.execute(
                "SELECT job_id, record, sha256 FROM measurements"
            ):
                if _sha256(text) != digest:
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
        if problems:
            raise StoreError(f"{self.path} is inconsistent: " + "; ".join(problems))

    # --- rows -----------------------------------------------------------------------------------

    def _advance(self, conn: sqlite3.Connection, key: str, state: JobState, now: float) -> None:
        """Move a job forward to `state` (creating it if new); never backwards."""
        conn.execute(
            "INSERT INTO jobs (job_id, state, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (job_id) DO UPDATE "
            "SET state = excluded.state, updated_at = excluded.updated_at "
            "WHERE CASE jobs.state WHEN 'claimed' THEN 0 WHEN 'measured' THEN 1 "
            "WHEN 'signed' THEN 2 ELSE 3 END < ?",
            (key, state, now, now, JOB_STATES.index(state)),
        )

    def _existing_attestation(
        self, conn: sqlite3.Connection, key: str, digest_hex: str
    ) -> Attestation | None:
        existing = self._find_attestation(conn, key)
        if existing is None:
            if self._find_measurement(conn, key) is None:
                raise StoreError(
                    f"job {key} has no stored measurement; the oracle signs only what it "
                    "measured and saved"
                )
            return None
        if existing.digest != digest_hex:
            raise AttestationConflict(
                f"job {key} is already signed over digest {existing.digest}; refusing to sign "
                f"{digest_hex}. Build the record from the stored measurement "
                "(save_measurement's return value) so a restart signs the same one"
            )
        return existing

    def _insert_attestation(
        self, conn: sqlite3.Connection, key: str, digest_hex: str, signature_hex: str
    ) -> Attestation:
        now = self._clock()
        conn.execute(
            "INSERT INTO signatures (job_id, digest, signature, created_at) VALUES (?, ?, ?, ?)",
            (key, digest_hex, signature_hex, now),
        )
        self._advance(conn, key, "signed", now)
        return Attestation(int(key), digest_hex, signature_hex, now)

    @staticmethod
    def _find_job(conn: sqlite3.Connection, key: str) -> JobRow | None:
        row = conn.execute(
            "SELECT job_id, state, settle_tx, created_at, updated_at FROM jobs WHERE job_id = ?",
            (key,),
        ).fetchone()
        return None if row is None else _job_row(row)

    def _job(self, conn: sqlite3.Connection, key: str) -> JobRow:
        row = self._find_job(conn, key)
        if row is None:  # pragma: no cover - written in the same transaction
            raise StoreError(f"job {key} vanished")
        return row

    @staticmethod
    def _find_measurement(conn: sqlite3.Connection, key: str) -> Measurement | None:
        row = conn.execute(
            "SELECT record, sha256, created_at FROM measurements WHERE job_id = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        text, digest, created_at = row
        if _sha256(text) != digest:
            raise StoreError(f"job {key}: stored measurement does not match its checksum")
        return Measurement(int(key), json.loads(text), digest, created_at)

    @staticmethod
    def _find_attestation(conn: sqlite3.Connection, key: str) -> Attestation | None:
        row = conn.execute(
            "SELECT digest, signature, created_at FROM signatures WHERE job_id = ?", (key,)
        ).fetchone()
        return None if row is None else Attestation(int(key), row[0], row[1], row[2])


def _job_row(row: tuple[Any, ...]) -> JobRow:
    key, state, settle_tx, created_at, updated_at = row
    return JobRow(int(key), state, settle_tx, created_at, updated_at)
