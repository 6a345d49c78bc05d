"""Columns added to the app's SQLite tables after their first release, added in place to an older database.

A database written by an earlier version keeps every row: each missing column is added with ``ALTER TABLE``
and filled by its default (or by an ``UPDATE`` that derives it from the old columns). Two processes opening the
same old database at once may both try; the loser's "duplicate column" is the work already done.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class AddedColumn:
    name: str
    declaration: str  # e.g. "TEXT NOT NULL DEFAULT 'none'"
    backfill: str = ""  # an UPDATE run once, when the column is added


def add_missing_columns(connection: sqlite3.Connection, table: str, columns: tuple[AddedColumn, ...]) -> list[str]:
    """Add the ``columns`` that ``table`` lacks; returns the names added."""
    present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
    added = []
    for column in columns:
        if column.name in present:
            continue
        try:
            # One transaction for the column and its backfill (Python's sqlite3 would commit the ALTER alone):
            # a failure between them must not leave the column filled with the default for good.
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(f"ALTER TABLE {table} ADD COLUMN {column.name} {column.declaration}")
                if column.backfill:
                    connection.execute(column.backfill)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise
            continue
        added.append(column.name)
    return added
