"""Visitors' like/dislike feedback on answers, kept for the team to review.

In the app's database (:mod:`qa.persistence`): a SQLite file on one machine, PostgreSQL shared by replicas. A
database that cannot be reached loses that one verdict, with one logged warning until writing works again: the
visitor's click never fails.
"""

from __future__ import annotations

import csv
import json
import logging
import threading
import time
from pathlib import Path
from typing import IO, Any, Iterator

from qa.persistence import Database, DatabaseUnavailable, open_database

log = logging.getLogger(__name__)

VERDICTS = ("like", "dislike")
# outcome: answered, unsure or none; lead: the lead shown when unsure (JSON), so that a like or dislike of a
# lead is kept with the passage it was about.
COLUMNS = ("id", "time", "question", "answer", "no_answer", "confidence", "citations", "verdict", "outcome", "lead")


class FeedbackStore:
    """Appends feedback records to the app's database."""

    def __init__(self, database: Database | Path | str) -> None:
        self.database = database if isinstance(database, Database) else open_database(database)
        self._failing = threading.Event()

    def record(self, answer: dict[str, Any], verdict: str) -> int | None:
        """Store a verdict on an answer (the ``Answer.to_dict()`` shape). Returns the record's id, or None when the
        database cannot be reached (the verdict is dropped and the failure logged once)."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}")
        row = (
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            str(answer.get("question", "")),
            answer.get("answer"),
            int(bool(answer.get("no_answer"))),
            float(answer.get("confidence") or 0.0),
            json.dumps(answer.get("citations", []), ensure_ascii=False),
            verdict,
            str(answer.get("outcome") or ("none" if answer.get("no_answer") else "answered")),
            json.dumps(answer["lead"], ensure_ascii=False) if answer.get("lead") else None,
        )
        try:
            with self.database.transaction() as session:
                stored = session.execute(
                    f"INSERT INTO feedback ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * len(COLUMNS[1:]))}) RETURNING id",
                    row,
                ).fetchone()
        except DatabaseUnavailable as exc:
            if not self._failing.is_set():
                log.warning("feedback not stored until the database is back: %s", exc)
                self._failing.set()
            return None
        if self._failing.is_set():
            log.warning("feedback: storing again in %s", self.database.target)
            self._failing.clear()
        return int(stored[0])

    def rows(self) -> Iterator[tuple[Any, ...]]:
        with self.database.transaction() as session:
            rows = session.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id").fetchall()
        yield from (tuple(row) for row in rows)

    def export_csv(self, out: IO[str]) -> int:
        """Write every record as CSV (with a header line). Returns the number of records."""
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        count = 0
        for row in self.rows():
            writer.writerow(row)
            count += 1
        return count

    def close(self) -> None:
        self.database.close()
