"""One batch of blocks written in one database transaction, and rollback to a fork.

`BatchWriter` holds the current-state rows a batch touches (loaded once, edited in memory,
written back at the end) and the append-only rows it adds. In the revertible window it
saves, for each state row and each block that changes it, the row as it was before that
block: rolling back to a fork block F puts back, for each row, the saved row of the
smallest block >= F (nothing changed it between F and that block), and deletes the
append-only rows of blocks >= F.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_

from .models import LOG_TABLES, STATE_TABLES, Base, Block, UndoEntry, table_of

Key = tuple[Any, ...]
Row = dict[str, Any]
CHUNK = 500
BULK_FROM = 50  # rows from which inserts go to the driver directly (`insert_rows`)
_BY_NAME = {m.__tablename__: m for m in STATE_TABLES}


def _pk(model: type[Base]) -> list[Any]:
    return list(table_of(model).primary_key.columns)


def _where_keys(model: type[Base], keys: Sequence[Key]) -> Any:
    cols = _pk(model)
    if len(cols) == 1:
        return cols[0].in_([k[0] for k in keys])
    return tuple_(*cols).in_(keys)


class BatchWriter:
    """The rows one batch writes, kept in memory until `flush`.

    Args:
        conn: the connection of the batch's transaction.
        record_undo: save replaced rows (the batch reaches into the revertible window).
    """

    def __init__(self, conn: Connection, *, record_undo: bool) -> None:
        self.conn = conn
        self.record_undo = record_undo
        self._rows: dict[type[Base], dict[Key, Row | None]] = defaultdict(dict)
        self._before: dict[tuple[type[Base], Key, int], Row | None] = {}
        self._dirty: dict[type[Base], set[Key]] = defaultdict(set)
        self._appended: dict[type[Base], list[Row]] = defaultdict(list)

    def prefetch(self, model: type[Base], keys: Iterable[Key]) -> None:
        """Load the rows of `keys` in a few queries (rows not found are remembered as absent).

        Args:
            model: a current-state table.
            keys: primary keys, as tuples.
        """
        cache = self._rows[model]
        todo = [k for k in set(keys) if k not in cache]
        names = [c.name for c in _pk(model)]
        for i in range(0, len(todo), CHUNK):
            part = todo[i : i + CHUNK]
            for k in part:
                cache[k] = None
            found = self.conn.execute(select(table_of(model)).where(_where_keys(model, part)))
            for mapping in found.mappings():
                row = dict(mapping)
                cache[tuple(row[n] for n in names)] = row

    def get(self, model: type[Base], key: Key) -> Row | None:
        """The row of `key` as the batch has it so far (None: no such row). Do not edit it.

        Args:
            model: a current-state table.
            key: the primary key, as a tuple.
        """
        if key not in self._rows[model]:
            self.prefetch(model, [key])
        return self._rows[model][key]

    def edit(
        self, model: type[Base], key: Key, block: int, default: Row | None = None
    ) -> Row | None:
        """The row of `key`, to be changed in place by the caller; written back at `flush`.

        Args:
            model: a current-state table.
            key: the primary key, as a tuple.
            block: the block of the change (for rollback).
            default: the new row to start from when there is none (None: return None).
        """
        row = self.get(model, key)
        marker = (model, key, block)
        if self.record_undo and marker not in self._before:
            self._before[marker] = dict(row) if row is not None else None
        if row is None:
            if default is None:
                return None
            row = dict(default)
            self._rows[model][key] = row
        self._dirty[model].add(key)
        return row

    def append(self, model: type[Base], row: Row) -> None:
        """Add an append-only row.

        Args:
            model: an append-only table (`LOG_TABLES` or `Block`).
            row: its columns.
        """
        self._appended[model].append(row)

    def flush(self) -> None:
        """Write the batch's rows (state rows replace their stored versions)."""
        for model, keys in self._dirty.items():
            ordered = sorted(keys)
            for i in range(0, len(ordered), CHUNK):
                part = ordered[i : i + CHUNK]
                self.conn.execute(delete(table_of(model)).where(_where_keys(model, part)))
            rows = [r for k in ordered if (r := self._rows[model][k]) is not None]
            insert_rows(self.conn, model, rows)
        for model, rows in self._appended.items():
            insert_rows(self.conn, model, rows)
        undo = [
            {
                "block_number": block,
                "table_name": model.__tablename__,
                "key": json.dumps(list(key)),
                "old_row": None if old is None else json.dumps(old),
            }
            for (model, key, block), old in self._before.items()
        ]
        if undo:
            insert_rows(self.conn, UndoEntry, undo)


def insert_rows(conn: Connection, model: type[Base], rows: Sequence[Row]) -> None:
    """Insert `rows` into `model`'s table, fast on each database.

    Many rows skip SQLAlchemy's per-row statement machinery (a third of the indexer's time
    in the benchmark): they go to the driver directly, through ``COPY`` on PostgreSQL and
    one ``executemany`` on SQLite, with the columns' own bind processors applied.

    Args:
        conn: a connection inside a transaction.
        model: the table.
        rows: its rows (Python values; ``Uint256`` columns as ints).
    """
    if not rows:
        return
    if len(rows) < BULK_FROM:
        conn.execute(insert(table_of(model)), list(rows))
        return
    table = table_of(model)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    processors = [
        (i, f)
        for i, c in enumerate(columns)
        if (f := table.c[c].type.bind_processor(conn.dialect)) is not None
    ]
    if all(len(row) == len(columns) for row in rows):
        get = itemgetter(*columns)  # every row has every column: fetch them in C
        values = [list(get(row)) if len(columns) > 1 else [get(row)] for row in rows]
    else:
        values = [[row.get(c) for c in columns] for row in rows]
    for value in values:
        for i, process in processors:
            if value[i] is not None:
                value[i] = process(value[i])
    names = ", ".join(f'"{c}"' for c in columns)
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for value in values:
                copy.write_row(value)
    else:
        marks = ", ".join("?" for _ in columns)
        cursor = raw.cursor()
        try:
            cursor.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', values)
        finally:
            cursor.close()


def roll_back(conn: Connection, fork: int) -> int:
    """Undo every block from `fork` on; returns how many state rows were put back.

    Args:
        conn: a connection inside the rollback's transaction.
        fork: the first block that is no longer on the chain.
    """
    entries = conn.execute(
        select(UndoEntry.table_name, UndoEntry.key, UndoEntry.old_row)
        .where(UndoEntry.block_number >= fork)
        .order_by(UndoEntry.block_number, UndoEntry.id)
    ).all()
    first: dict[tuple[str, str], str | None] = {}
    for table_name, key, old_row in entries:
        first.setdefault((table_name, key), old_row)
    restore: dict[type[Base], dict[Key, Row | None]] = defaultdict(dict)
    for (table_name, key), old_row in first.items():
        model = _BY_NAME[table_name]
        restore[model][tuple(json.loads(key))] = None if old_row is None else json.loads(old_row)
    for model, rows in restore.items():
        _replace(conn, model, rows)
    conn.execute(delete(table_of(UndoEntry)).where(UndoEntry.block_number >= fork))
    log_models: tuple[type[Base], ...] = (*LOG_TABLES, Block)
    for log_model in log_models:
        column = Block.number if log_model is Block else table_of(log_model).c.block_number
        conn.execute(delete(table_of(log_model)).where(column >= fork))
    return len(first)


def _replace(conn: Connection, model: type[Base], rows: Mapping[Key, Row | None]) -> None:
    keys = list(rows)
    for i in range(0, len(keys), CHUNK):
        conn.execute(delete(table_of(model)).where(_where_keys(model, keys[i : i + CHUNK])))
    insert_rows(conn, model, [r for r in rows.values() if r is not None])


def prune_undo(conn: Connection, below: int) -> None:
    """Forget the saved rows of blocks below `below` (they can no longer be rolled back).

    Args:
        conn: a connection inside a transaction.
        below: the lowest block that stays revertible.
    """
    conn.execute(delete(table_of(UndoEntry)).where(UndoEntry.block_number < below))
