"""The database's schema, as numbered migrations applied in order and recorded in ``schema_migrations``.

A database keeps every row through a migration: tables are created if missing, columns added in place (with a
backfill derived from the old columns). A SQLite file from before the numbered migrations (tables made by
``CREATE TABLE IF NOT EXISTS``, columns added on open) is recognised column by column, so nothing is applied
twice. Two processes migrating the same database at once queue on a lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: a transaction-level advisory lock), and the second finds the work done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from qa.persistence.database import Session

# pg_advisory_xact_lock's key for migrations: any constant that no other code of the database uses.
_MIGRATION_LOCK_KEY = 0x5E3A_0001


@dataclass(frozen=True)
class AddedColumn:
    table: str
    name: str
    declaration: str  # e.g. "TEXT NOT NULL DEFAULT 'none'"
    backfill: str = ""  # an UPDATE run once, when the column is added


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...] = ()  # with the dialect's types as {id}, {blob}, {real}
    columns: tuple[AddedColumn, ...] = ()


MIGRATIONS = (
    Migration(1, "feedback and the question log", (
        """CREATE TABLE IF NOT EXISTS feedback (
            id {id},
            time TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT,
            no_answer INTEGER NOT NULL,
            confidence {real} NOT NULL,
            citations TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('like', 'dislike'))
        )""",
        """CREATE TABLE IF NOT EXISTS questions (
            ref TEXT PRIMARY KEY,
            time TEXT NOT NULL,
            question TEXT NOT NULL,
            language TEXT NOT NULL,
            answered INTEGER NOT NULL,
            answer TEXT,
            confidence {real} NOT NULL,
            doc_id TEXT,
            sentence TEXT,
            feedback TEXT CHECK (feedback IN ('like', 'dislike'))
        )""",
        "CREATE INDEX IF NOT EXISTS questions_time ON questions (time)",
    )),
    # answered, unsure (a lead shown) or none; the lead shown, so that feedback on it keeps its passage.
    Migration(2, "outcomes and leads", columns=(
        AddedColumn("feedback", "outcome", "TEXT NOT NULL DEFAULT 'none'",
                    "UPDATE feedback SET outcome = CASE WHEN no_answer <> 0 THEN 'none' ELSE 'answered' END"),
        AddedColumn("feedback", "lead", "TEXT"),
        AddedColumn("questions", "outcome", "TEXT NOT NULL DEFAULT 'none'",
                    "UPDATE questions SET outcome = CASE WHEN answered <> 0 THEN 'answered' ELSE 'none' END"),
    )),
    # The corpus changes made through the app, in order (qa.persistence.corpus_events): every replica applies
    # them to its own index. An upload keeps the file itself.
    Migration(3, "corpus changes", (
        """CREATE TABLE IF NOT EXISTS corpus_events (
            seq {id},
            time TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('add', 'remove')),
            name TEXT NOT NULL,
            content {blob},
            sha256 TEXT,
            size INTEGER,
            origin TEXT NOT NULL
        )""",
    )),
)

LATEST = MIGRATIONS[-1].version


def migrate(session: Session) -> list[int]:
    """Apply the migrations ``session``'s database lacks, in this transaction; returns their versions."""
    if session.dialect.name == "postgresql":
        session.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK_KEY,))
    session.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL)")
    done = {row[0] for row in session.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        types = {"id": session.dialect.id, "blob": session.dialect.blob, "real": session.dialect.real}
        for statement in migration.statements:
            session.execute(statement.format(**types))
        for column in migration.columns:
            _add_column(session, column)
        session.execute(
            "INSERT INTO schema_migrations (version, description, applied) VALUES (?, ?, ?)",
            (migration.version, migration.description, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
        )
        applied.append(migration.version)
    return applied


def schema_version(session: Session) -> int:
    row = session.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def _add_column(session: Session, column: AddedColumn) -> None:
    if column.name in _columns(session, column.table):  # added on open by a version before the migrations
        return
    session.execute(f"ALTER TABLE {column.table} ADD COLUMN {column.name} {column.declaration}")
    if column.backfill:
        session.execute(column.backfill)


def _columns(session: Session, table: str) -> set[str]:
    if session.dialect.name == "sqlite":
        return {row[1] for row in session.execute(f"PRAGMA table_info({table})").fetchall()}
    rows = session.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?",
        (table,),
    ).fetchall()
    return {row[0] for row in rows}
