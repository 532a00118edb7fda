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

from collections.abc import Callable, Mapping
from sqlite3 import Connection
from typing import Any, TypeVar

from ..errors import AttestationConflict, StoreError
from .connection import SqliteDatabase
from .rows import (
    RUN_STATES,
    AttestationRow,
    JobRow,
    MeasurementRow,
    RunState,
    advance,
    canonical_json,
    find_attestation,
    find_job,
    find_measurement,
    hex_text,
    integrity_problems,
    job_key,
    job_row,
    sha256_hex,
)

T = TypeVar("T")


class OracleStore(SqliteDatabase):
    """The node's database: job states, insert-once measurements and signatures. Opened
    like `SqliteDatabase` (a path; the clock and busy timeout for tests)."""

    def mark_claimed(self, job_id: int) -> JobRow:
        """Record that the node claimed a job. Idempotent; never moves a job backwards.

        Args:
            job_id: the on-chain job id.

        Raises:
            StoreError: invalid job id.
        """
        key = job_key(job_id)
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
        key = job_key(job_id)
        tx = hex_text(tx_hash, what="settle transaction hash", size=32)
        with self._write() as conn:
            row = find_job(conn, key)
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
        return self._find(job_id, find_job)

    def jobs_in_state(self, state: RunState) -> list[JobRow]:
        """Jobs in `state`, least recently changed first.

        Args:
            state: claimed, measured, signed or settled.

        Raises:
            StoreError: unknown state.
        """
        if state not in RUN_STATES:
            raise StoreError(f"unknown job state {state!r}; states: {', '.join(RUN_STATES)}")
        with self._lock:
            rows = self._conn.execute(
                "SELECT job_id, state, settle_tx, created_at, updated_at FROM jobs "
                "WHERE state = ? ORDER BY updated_at, rowid",
                (state,),
            ).fetchall()
        return [job_row(row) for row in rows]

    def pending_settlement(self) -> list[JobRow]:
        """Signed jobs whose settlement is not recorded yet: the node's to-do list on restart."""
        return self.jobs_in_state("signed")

    # --- measurements -------------------------------------------------------------------------

    def save_measurement(self, job_id: int, record_fields: Mapping[str, Any]) -> MeasurementRow:
        """Store what was measured for a job, once. A second call returns the first, unchanged.

        Args:
            job_id: the job.
            record_fields: the measured record as plain JSON values (e.g.
                ``reading.model_dump(mode="json")``).

        Raises:
            StoreError: invalid job id or fields that are not plain JSON.
        """
        key = job_key(job_id)
        text = canonical_json(record_fields)
        now = self._clock()
        with self._write() as conn:
            existing = find_measurement(conn, key)
            if existing is not None:
                return existing
            advance(conn, key, "measured", now)
            conn.execute(
                "INSERT INTO measurements (job_id, record, sha256, created_at) VALUES (?, ?, ?, ?)",
                (key, text, sha256_hex(text), now),
            )
            found = find_measurement(conn, key)
            assert found is not None
            return found

    def get_measurement(self, job_id: int) -> MeasurementRow | None:
        """The stored measurement, or None.

        Args:
            job_id: the job.

        Raises:
            StoreError: invalid job id, or the stored record does not match its checksum.
        """
        return self._find(job_id, find_measurement)

    # --- signatures -----------------------------------------------------------------------------

    def save_signature(
        self, job_id: int, digest: bytes | str, signature: bytes | str
    ) -> AttestationRow:
        """Store the signature over a job's record digest, once.

        Args:
            job_id: the job; it must have a measurement (the oracle signs only what it measured).
            digest: the 32-byte digest that was signed (EIP-712 hash of the record).
            signature: the signature bytes.

        Raises:
            AttestationConflict: the job already has a signature over a different digest.
            StoreError: no measurement for the job, or malformed digest/signature.
        """
        key = job_key(job_id)
        digest_hex = hex_text(digest, what="digest", size=32)
        signature_hex = hex_text(signature, what="signature")
        with self._write() as conn:
            existing = self._existing_attestation(conn, key, digest_hex)
            if existing is not None:
                return existing
            return self._insert_attestation(conn, key, digest_hex, signature_hex)

    def sign_once(
        self, job_id: int, digest: bytes | str, sign: Callable[[bytes], bytes]
    ) -> AttestationRow:
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
        key = job_key(job_id)
        digest_hex = hex_text(digest, what="digest", size=32)
        with self._write() as conn:
            existing = self._existing_attestation(conn, key, digest_hex)
            if existing is not None:
                return existing
            signature_hex = hex_text(sign(bytes.fromhex(digest_hex[2:])), what="signature")
            return self._insert_attestation(conn, key, digest_hex, signature_hex)

    def get_attestation(self, job_id: int) -> AttestationRow | None:
        """The job's stored signature (the same one every time), or None.

        Args:
            job_id: the job.

        Raises:
            StoreError: invalid job id.
        """
        return self._find(job_id, find_attestation)

    # --- checks ---------------------------------------------------------------------------------

    def check_integrity(self) -> None:
        """Check SQLite's structure, every record's checksum and the state of every job.

        Raises:
            StoreError: listing every problem found.
        """
        with self._read() as conn:
            problems = integrity_problems(conn)
        if problems:
            raise StoreError(f"{self.path} is inconsistent: " + "; ".join(problems))

    def _find(self, job_id: int, find: Callable[[Connection, str], T]) -> T:
        """`find` (one of the ``find_*`` row readers) on `job_id`'s key, under the lock."""
        key = job_key(job_id)
        with self._lock:
            return find(self._conn, key)

    def _existing_attestation(
        self, conn: Connection, key: str, digest_hex: str
    ) -> AttestationRow | None:
        existing = find_attestation(conn, key)
        if existing is None:
            if find_measurement(conn, key) is None:
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
        self, conn: Connection, key: str, digest_hex: str, signature_hex: str
    ) -> AttestationRow:
        now = self._clock()
        conn.execute(
            "INSERT INTO signatures (job_id, digest, signature, created_at) VALUES (?, ?, ?, ?)",
            (key, digest_hex, signature_hex, now),
        )
        advance(conn, key, "signed", now)
        return AttestationRow(int(key), digest_hex, signature_hex, now)

    def _job(self, conn: Connection, key: str) -> JobRow:
        row = find_job(conn, key)
        if row is None:  # pragma: no cover - written in the same transaction
            raise StoreError(f"job {key} vanished")
        return row
