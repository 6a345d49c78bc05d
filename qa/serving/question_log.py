"""What visitors ask: every answered question, kept in the app's database for the editors' Questions page.

A row holds the time, the question, its language, whether it was answered, the answer, its confidence, the top
citation's document and cited sentence, and the visitor's like or dislike when one comes. Never who asked: no
client address, cookie or user agent reaches this module.

Writes go through a queue to one writer thread, so that a slow, locked, full or unreachable database (a SQLite
file, or PostgreSQL shared by replicas: :mod:`qa.persistence`) never delays or fails an answer: a failed write
is dropped, and the failure logged once (until a write succeeds again). Rows older than the retention are
deleted at the first write and then once an hour (by whichever replica writes).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from qa.config import Settings
from qa.errors import QAError
from qa.persistence import Database, DatabaseUnavailable, database_target, is_postgres, open_database
from qa.persistence.database import redact
from qa.types import ANSWERED, NONE, UNSURE

log = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # UTC; sorts as text
VERDICTS = ("like", "dislike")
_PRUNE_EVERY_SECONDS = 3600.0
_QUEUE_SIZE = 10_000  # pending writes beyond this are dropped (and the drop logged once)


@dataclass(frozen=True)
class LoggedQuestion:
    """One asked question and what the app answered (``answer`` None when it abstained)."""

    time: str
    question: str
    language: str
    answered: bool
    answer: str | None
    confidence: float
    doc_id: str | None
    sentence: str | None
    feedback: str | None = None
    outcome: str = "none"

    @classmethod
    def from_answer(cls, answer: dict[str, Any], language: str) -> "LoggedQuestion":
        """From an ``Answer.to_dict()``, asked now. An unsure outcome keeps the lead's document and sentence."""
        citations = answer.get("citations") or []
        answered = not answer.get("no_answer") and bool(citations)
        lead = None if answered else answer.get("lead")
        cited = citations[0] if citations else (lead or {}).get("citation")
        return cls(
            time=now_text(), question=str(answer.get("question") or ""), language=language, answered=answered,
            answer=answer.get("answer") if answered else None, confidence=float(answer.get("confidence") or 0.0),
            doc_id=cited.get("doc_id") if cited else None,
            sentence=answer.get("sentence") if answered else (lead or {}).get("sentence"),
            outcome=ANSWERED if answered else (UNSURE if lead else NONE),
        )


_COLUMNS = tuple(f.name for f in fields(LoggedQuestion))


def _column_value(value: Any) -> Any:
    """Booleans as the 0/1 of the INTEGER columns (PostgreSQL does not cast them)."""
    return int(value) if isinstance(value, bool) else value


def now_text() -> str:
    return time.strftime(TIME_FORMAT, time.gmtime())


def cutoff_text(days: float) -> str:
    """The time ``days`` ago, in the log's format."""
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime(TIME_FORMAT)


class QuestionLog:
    """Appends questions and their feedback in a background thread; ``flush`` waits for the pending writes."""

    def __init__(self, database: Database | Path | str, retention_days: int) -> None:
        if retention_days < 1:
            raise ValueError("question_log_days must be at least 1")
        # A SQLite file is opened at the first write, so that a log that is never written leaves no file.
        self._target = database
        self._database = database if isinstance(database, Database) else None
        self.retention_days = retention_days
        self._queue: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue(_QUEUE_SIZE)
        self._failing = False
        self._pruned_at: float | None = None  # when old rows were last deleted (monotonic seconds)
        self._thread = threading.Thread(target=self._write_forever, name="question-log", daemon=True)
        self._thread.start()

    @property
    def target(self) -> str:
        return self._database.target if self._database is not None else redact(str(self._target))

    def record(self, entry: LoggedQuestion) -> str:
        """Queue a question for writing; returns its reference (for :meth:`set_feedback`)."""
        ref = uuid.uuid4().hex
        self._submit("INSERT INTO questions (ref, " + ", ".join(_COLUMNS) + ") VALUES (?" + ", ?" * len(_COLUMNS) + ")",
                     (ref, *(_column_value(getattr(entry, name)) for name in _COLUMNS)))
        return ref

    def set_feedback(self, ref: str, verdict: str) -> None:
        """The visitor's like or dislike of the answer logged as ``ref`` (a later one replaces it)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}")
        self._submit("UPDATE questions SET feedback = ? WHERE ref = ?", (verdict, ref))

    def flush(self) -> None:
        self._queue.join()

    def drain(self, timeout_seconds: float = 5.0) -> bool:
        """Wait up to ``timeout_seconds`` for the pending writes (at shutdown); True when none is left."""
        deadline = time.monotonic() + timeout_seconds
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queue.unfinished_tasks

    def _submit(self, statement: str, parameters: tuple[Any, ...]) -> None:
        try:
            self._queue.put_nowait((statement, parameters))
        except queue.Full:
            self._report(f"the question log is {_QUEUE_SIZE} writes behind; dropping this one")

    def _write_forever(self) -> None:
        while True:
            statement, parameters = self._queue.get()
            try:
                database = self._database or self._open()
                with database.transaction() as session:
                    session.execute(statement, parameters)
                if self._pruned_at is None or time.monotonic() - self._pruned_at > _PRUNE_EVERY_SECONDS:
                    self._prune(database)
                if self._failing:
                    log.warning("question log %s: writing again", self.target)
                    self._failing = False
            except (DatabaseUnavailable, OSError) as exc:  # locked, disk full, server down: the answer is served
                self._report(f"could not write to {exc}; questions are not logged until it works")
            except Exception:  # a bug must not stop the writer (flush would then wait for ever)
                log.exception("question log: write failed")
            finally:
                self._queue.task_done()

    def _open(self) -> Database:
        self._database = open_database(self._target)
        return self._database

    def _prune(self, database: Database) -> None:
        with database.transaction() as session:
            deleted = session.execute("DELETE FROM questions WHERE time < ?", (cutoff_text(self.retention_days),)).rowcount
        self._pruned_at = time.monotonic()
        if deleted:
            log.info("question log: deleted %d questions older than %d days", deleted, self.retention_days)

    def _report(self, message: str) -> None:
        if not self._failing:
            log.warning("question log: %s", message)
            self._failing = True


def open_question_log(settings: Settings, database: Database | None = None) -> QuestionLog | None:
    """The app's question log (in ``database``, default :func:`database_target`), or None when it is off."""
    if not settings.question_log:
        return None
    return QuestionLog(database or database_target(settings), settings.question_log_days)


def read_questions(target: Database | Path | str, days: int) -> list[LoggedQuestion]:
    """The questions asked in the last ``days`` days, oldest first. An error when there is no SQLite file."""
    if not isinstance(target, Database) and not is_postgres(target) and not Path(target).is_file():
        raise QAError(f"no question log at {target} (set QA_FEEDBACK_DB to the app's database)")
    database = target if isinstance(target, Database) else open_database(target)
    try:
        with database.transaction() as session:
            rows = session.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM questions WHERE time >= ? ORDER BY time", (cutoff_text(days),)
            ).fetchall()
    finally:
        if database is not target:
            database.close()
    return [LoggedQuestion(*row[:3], bool(row[3]), *row[4:]) for row in rows]
