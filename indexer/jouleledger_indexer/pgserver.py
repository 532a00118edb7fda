"""A throwaway PostgreSQL server on loopback, for tests and benchmarks (not for production).

Debian's PostgreSQL 15 keeps its server programs in ``/usr/lib/postgresql/15/bin``.
``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user, in
a temporary folder that user owns, on a free port (TOOLCHAIN.md, "Browser tests and
databases"). Trust authentication, loopback only, ``fsync=off``: data is thrown away.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jouleledger.transport.processes import free_port

from .errors import IndexerError

PG_BIN = Path("/usr/lib/postgresql/15/bin")
USER = "jl"
_names = itertools.count()


def available(bin_dir: Path = PG_BIN) -> bool:
    """Whether the server programs are installed.

    Args:
        bin_dir: where ``initdb`` and ``pg_ctl`` live.
    """
    return (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file()


@contextmanager
def local_postgres(bin_dir: Path = PG_BIN) -> Iterator[str]:
    """Start a server; yield its base URL (``postgresql+psycopg://jl@127.0.0.1:PORT``);
    stop it and delete its files at the end.

    Args:
        bin_dir: where ``initdb`` and ``pg_ctl`` live.

    Raises:
        IndexerError: the programs are missing, or the server did not start (the message
            holds its log).
    """
    if not available(bin_dir):
        raise IndexerError(f"PostgreSQL server programs not found in {bin_dir}")
    folder = Path(tempfile.mkdtemp(prefix="jl-pg-"))
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(folder, "postgres", "postgres")
    data, port, log = folder / "data", free_port(), folder / "server.log"
    ctl = [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data)]
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        _run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER])
        _run([*ctl, "-o", options, "-l", str(log), "-w", "start"], log)
        yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}"
    finally:
        subprocess.run([*ctl, "-m", "fast", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(base_url: str, name: str | None = None) -> str:
    """Create an empty database on the server at `base_url`; its URL.

    Args:
        base_url: what `local_postgres` yielded.
        name: the database's name (default: a new unique one).
    """
    import psycopg

    name = name or f"jl_{os.getpid()}_{next(_names)}"
    admin = base_url.replace("+psycopg", "") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


def _run(command: list[str], log: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = log.read_text()[-2000:] if log is not None and log.exists() else ""
        program = next(Path(c).name for c in command if c.startswith(str(PG_BIN.parent)))
        raise IndexerError(
            f"{program} failed: {done.stderr.strip() or done.stdout.strip()} {tail}".strip()
        )
