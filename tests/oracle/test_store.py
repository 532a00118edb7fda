"""The node's SQLite store: insert-once records, one signature per job, and kill -9 safety."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jouleledger_oracle.errors import AttestationConflict, StoreError
from jouleledger_oracle.store import SCHEMA_VERSION, AttestationRow, MeasurementRow, OracleStore

from .conftest import FakeClock
from .crash_writer import digest_for, record_for, sign

WRITER = Path(__file__).with_name("crash_writer.py")
DIGEST_A = "0x" + "aa" * 32
DIGEST_B = "0x" + "bb" * 32
SIG_A = b"\x01" * 65
SIG_B = b"\x02" * 65
TX = "0x" + "cd" * 32


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[OracleStore]:
    with OracleStore(tmp_path / "oracle.db", clock=clock) as opened:
        yield opened


def test_database_uses_wal_full_sync_and_a_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "oracle.db"
    with OracleStore(path) as store:
        synchronous = store._conn.execute("PRAGMA synchronous").fetchone()[0]  # per connection
        assert synchronous == 2  # FULL
        assert store.schema_version == SCHEMA_VERSION == 1

    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    raw.close()


def test_in_memory_database_is_refused() -> None:
    with pytest.raises(StoreError, match="WAL"):
        OracleStore(":memory:")


def test_database_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "oracle.db"
    OracleStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()

    with pytest.raises(StoreError, match="schema version 99, newer"):
        OracleStore(path)


def test_reopening_keeps_the_schema_and_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "oracle.db"
    with OracleStore(path) as store:
        store.save_measurement(1, {"energy_mj": 5})
    with OracleStore(path) as store:
        stored = store.get_measurement(1)
    assert stored is not None and stored.record == {"energy_mj": 5}


# --- measurements ------------------------------------------------------------------------------


def test_save_measurement_is_insert_once(store: OracleStore, clock: FakeClock) -> None:
    first = store.save_measurement(7, {"energy_mj": 100, "tokens": 64})
    clock.advance(60)

    again = store.save_measurement(7, {"energy_mj": 999, "tokens": 1})

    assert again == first
    assert again.record == {"energy_mj": 100, "tokens": 64}
    assert store.get_measurement(7) == first


def test_measurements_cannot_be_rewritten_even_with_raw_sql(store: OracleStore) -> None:
    store.save_measurement(7, {"energy_mj": 100})
    raw = sqlite3.connect(store.path)

    with pytest.raises(sqlite3.IntegrityError, match="insert-once"):
        raw.execute("UPDATE measurements SET record = '{}' WHERE job_id = '7'")
    with pytest.raises(sqlite3.IntegrityError, match="insert-once"):
        raw.execute("DELETE FROM measurements")
    raw.close()


def test_a_tampered_record_is_detected_by_its_checksum(store: OracleStore) -> None:
    store.save_measurement(7, {"energy_mj": 100})
    raw = sqlite3.connect(store.path)
    raw.execute("DROP TRIGGER measurements_insert_once_update")
    raw.execute("""UPDATE measurements SET record = '{"energy_mj":1}'""")
    raw.commit()
    raw.close()

    with pytest.raises(StoreError, match="checksum"):
        store.get_measurement(7)
    with pytest.raises(StoreError, match="job 7: measurement does not match"):
        store.check_integrity()


def test_record_fields_must_be_plain_json(store: OracleStore) -> None:
    with pytest.raises(StoreError, match="hex-encode bytes"):
        store.save_measurement(1, {"output": b"\x00"})
    with pytest.raises(StoreError):
        store.save_measurement(1, {"energy": float("nan")})
    assert store.get_job(1) is None


def test_uint256_job_ids_round_trip(store: OracleStore) -> None:
    biggest = 2**256 - 1

    store.save_measurement(biggest, {"energy_mj": 1})

    stored = store.get_measurement(biggest)
    assert stored is not None and stored.job_id == biggest
    with pytest.raises(StoreError, match="uint256"):
        store.get_job(2**256)
    with pytest.raises(StoreError, match="uint256"):
        store.get_job(-1)


# --- signatures --------------------------------------------------------------------------------


def test_signature_needs_a_stored_measurement(store: OracleStore) -> None:
    with pytest.raises(StoreError, match="signs only what it measured"):
        store.save_signature(3, DIGEST_A, SIG_A)


def test_same_digest_returns_the_stored_signature(store: OracleStore, clock: FakeClock) -> None:
    store.save_measurement(3, {"energy_mj": 1})
    first = store.save_signature(3, DIGEST_A, SIG_A)
    clock.advance(5)

    again = store.save_signature(3, bytes.fromhex(DIGEST_A[2:]), SIG_B)

    assert again == first
    assert again.signature == "0x" + SIG_A.hex()


def test_a_different_digest_for_a_signed_job_is_refused(store: OracleStore) -> None:
    store.save_measurement(3, {"energy_mj": 1})
    first = store.save_signature(3, DIGEST_A, SIG_A)

    with pytest.raises(AttestationConflict, match="already signed over digest"):
        store.save_signature(3, DIGEST_B, SIG_B)

    assert store.get_attestation(3) == first
    assert isinstance(AttestationConflict("x"), StoreError)


def test_get_attestation_returns_the_same_signature_every_time(tmp_path: Path) -> None:
    path = tmp_path / "oracle.db"
    with OracleStore(path) as store:
        store.save_measurement(3, {"energy_mj": 1})
        signed = store.save_signature(3, DIGEST_A, SIG_A)
        assert store.get_attestation(3) == store.get_attestation(3) == signed
    with OracleStore(path) as reopened:
        assert reopened.get_attestation(3) == signed
        assert reopened.get_attestation(4) is None


def test_sign_once_calls_the_signer_once(store: OracleStore) -> None:
    store.save_measurement(3, {"energy_mj": 1})
    calls: list[bytes] = []

    def signer(digest: bytes) -> bytes:
        calls.append(digest)
        return SIG_A

    first = store.sign_once(3, DIGEST_A, signer)
    second = store.sign_once(3, DIGEST_A, signer)
    with pytest.raises(AttestationConflict):
        store.sign_once(3, DIGEST_B, signer)

    assert first == second
    assert calls == [bytes.fromhex(DIGEST_A[2:])]


def test_a_signer_that_fails_leaves_nothing_stored(store: OracleStore) -> None:
    store.save_measurement(3, {"energy_mj": 1})

    def broken(digest: bytes) -> bytes:
        raise OSError("key unavailable")

    with pytest.raises(OSError, match="key unavailable"):
        store.sign_once(3, DIGEST_A, broken)

    assert store.get_attestation(3) is None
    job = store.get_job(3)
    assert job is not None and job.state == "measured"


def test_malformed_digest_or_signature_is_refused(store: OracleStore) -> None:
    store.save_measurement(3, {"energy_mj": 1})

    with pytest.raises(StoreError, match="32 bytes"):
        store.save_signature(3, "0x1234", SIG_A)
    with pytest.raises(StoreError, match="0x-hex"):
        store.save_signature(3, "0xzz" + "00" * 31, SIG_A)
    with pytest.raises(StoreError, match="non-empty"):
        store.save_signature(3, DIGEST_A, b"")


def test_racing_threads_store_exactly_one_signature(store: OracleStore) -> None:
    store.save_measurement(3, {"energy_mj": 1})
    digests = ["0x" + f"{i:02x}" * 32 for i in range(8)]
    barrier = threading.Barrier(len(digests))
    outcomes: list[AttestationRow | Exception] = []

    def attempt(digest: str) -> None:
        barrier.wait()
        try:
            outcomes.append(store.save_signature(3, digest, SIG_A))
        except AttestationConflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt, args=(d,)) for d in digests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [o for o in outcomes if isinstance(o, AttestationRow)]
    assert len(winners) == 1
    assert store.get_attestation(3) == winners[0]


# --- job states --------------------------------------------------------------------------------


def test_jobs_move_from_claimed_to_settled_and_never_back(store: OracleStore) -> None:
    assert store.mark_claimed(5).state == "claimed"
    store.save_measurement(5, {"energy_mj": 1})
    assert store.mark_claimed(5).state == "measured"  # no step back
    store.save_signature(5, DIGEST_A, SIG_A)
    job = store.mark_settled(5, TX)

    assert job.state == "settled"
    assert job.settle_tx == TX
    assert store.mark_settled(5, bytes.fromhex(TX[2:])) == job  # idempotent
    assert store.mark_claimed(5).state == "settled"


def test_a_job_settles_once(store: OracleStore) -> None:
    store.save_measurement(5, {"energy_mj": 1})
    with pytest.raises(StoreError, match="only a signed job can be settled"):
        store.mark_settled(5, TX)
    store.save_signature(5, DIGEST_A, SIG_A)
    store.mark_settled(5, TX)

    with pytest.raises(StoreError, match="already settled by"):
        store.mark_settled(5, "0x" + "ef" * 32)


def test_jobs_are_listed_by_state_and_pending_settlement(
    store: OracleStore, clock: FakeClock
) -> None:
    store.mark_claimed(1)
    for job in (2, 3, 4):
        clock.advance(1)
        store.save_measurement(job, {"job": job})
    for job in (3, 4):
        clock.advance(1)
        store.save_signature(job, DIGEST_A, SIG_A)
    store.mark_settled(4, TX)

    def ids(state: Any) -> list[int]:
        return [row.job_id for row in store.jobs_in_state(state)]

    assert ids("claimed") == [1]
    assert ids("measured") == [2]
    assert ids("signed") == [3]
    assert ids("settled") == [4]
    assert [row.job_id for row in store.pending_settlement()] == [3]
    with pytest.raises(StoreError, match="unknown job state"):
        store.jobs_in_state("lost")  # type: ignore[arg-type]
    store.check_integrity()


# --- kill -9 -------------------------------------------------------------------------------------


def _committed(lines: list[str]) -> tuple[set[int], set[int]]:
    measured = {int(line[2:]) for line in lines if line.startswith("M ")}
    signed = {int(line[2:]) for line in lines if line.startswith("S ")}
    return measured, signed


def test_store_survives_kill_9_at_random_moments(tmp_path: Path) -> None:
    """A writer is SIGKILLed mid-loop, restarted with different measurements, killed again...

    After every kill: everything it reported committed is there, every row matches its
    checksum, no record or signature ever changes, and each signature is over its own job's
    stored record.
    """
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    db = tmp_path / "oracle.db"
    jobs = 300
    measured: set[int] = set()
    signed: set[int] = set()
    records: dict[int, MeasurementRow] = {}
    attestations: dict[int, AttestationRow] = {}
    for run in range(6):
        writer = subprocess.Popen(
            [sys.executable, str(WRITER), str(db), str(run), str(jobs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None and writer.stderr is not None
        kill_after = 2 * len(measured) + rng.randint(1, 60)
        lines = []
        for _ in range(kill_after):
            line = writer.stdout.readline().strip()
            if not line:
                break
            lines.append(line)
        time.sleep(rng.uniform(0, 0.002))  # jitter: land anywhere in the next transaction
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        lines += writer.stdout.read().splitlines()  # printed before it died: committed too
        errors = writer.stderr.read()
        writer.stdout.close()
        writer.stderr.close()
        finished = lines[-1:] == ["DONE"]
        assert writer.returncode == -signal.SIGKILL or finished, f"writer failed: {errors}"
        new_measured, new_signed = _committed(lines)
        measured |= new_measured
        signed |= new_signed

        context = f"(seed {seed}, run {run}, killed after {kill_after} lines)"
        with OracleStore(db) as store:
            store.check_integrity()
            for job in range(jobs):
                stored = store.get_measurement(job)
                attestation = store.get_attestation(job)
                state = store.get_job(job)
                if job in measured:
                    assert stored is not None, f"lost measurement of job {job} {context}"
                if job in signed:
                    assert attestation is not None, f"lost signature of job {job} {context}"
                if stored is not None:
                    assert stored.record in [record_for(job, r) for r in range(run + 1)], context
                    assert records.setdefault(job, stored) == stored, f"job {job} changed {context}"
                if attestation is not None:
                    assert stored is not None, f"job {job} signed but not measured {context}"
                    digest = digest_for(stored.record)
                    assert attestation.digest == "0x" + digest.hex(), context
                    assert attestation.signature == "0x" + sign(digest).hex(), context
                    assert attestations.setdefault(job, attestation) == attestation, context
                    assert state is not None and state.state == "signed", context
                elif stored is not None:
                    assert state is not None and state.state == "measured", context
    assert len(records) > 0
