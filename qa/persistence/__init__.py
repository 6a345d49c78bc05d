"""Where the app keeps what changes: feedback, the question log and the corpus changes made through it.

A SQLite file on one machine (the default), or PostgreSQL shared by several replicas (``QA_DATABASE_URL``):
one interface (:mod:`~qa.persistence.database`), one schema kept by numbered migrations
(:mod:`~qa.persistence.migrations`), and the ordered corpus changes every replica applies
(:mod:`~qa.persistence.corpus_events`).
"""

from __future__ import annotations

from pathlib import Path

from qa.config import Settings
from qa.persistence.database import Database, DatabaseUnavailable, PostgresDatabase, SqliteDatabase, is_postgres
from qa.persistence.migrations import migrate

__all__ = ["Database", "DatabaseUnavailable", "open_database", "open_app_database", "database_target", "is_postgres"]


def open_database(target: str | Path, pool_size: int = 4, timeout_seconds: float = 2.0) -> Database:
    """A PostgreSQL URL (``postgresql://user:password@host:port/name``) or the path of a SQLite file, its schema
    brought up to date at the first transaction."""
    if is_postgres(target):
        return PostgresDatabase(str(target), migrate, pool_size, timeout_seconds)
    return SqliteDatabase(Path(target), migrate, busy_timeout_seconds=max(timeout_seconds, 1.0))


def database_target(settings: Settings) -> str | Path:
    """The app's database: ``settings.database_url`` (PostgreSQL) when set, else the SQLite file ``feedback_db``."""
    return settings.database_url or settings.feedback_db


def open_app_database(settings: Settings) -> Database:
    return open_database(database_target(settings), settings.database_pool_size, settings.database_timeout_seconds)
