"""The node's durable memory in SQLite: `OracleStore` (`oracle_store`) over the file and its
transactions (`connection`), with the schema and row types in `rows`."""

from .connection import SqliteDatabase
from .oracle_store import OracleStore
from .rows import (
    RUN_STATES,
    SCHEMA_VERSION,
    AttestationRow,
    JobRow,
    MeasurementRow,
    RunState,
    canonical_json,
)

__all__ = [
    "RUN_STATES",
    "SCHEMA_VERSION",
    "AttestationRow",
    "JobRow",
    "MeasurementRow",
    "OracleStore",
    "RunState",
    "SqliteDatabase",
    "canonical_json",
]
