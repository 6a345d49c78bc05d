"""Visitors' like/dislike feedback on answers, kept in SQLite for the team to review.

SQLite in WAL mode: readers never block the writer, and a write interrupted by a crash is rolled back on the
next open, so a kill mid-write loses at most that one record and never the database.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import IO, Any, Iterator

from qa.serving.sqlite_schema import AddedColumn, add_missing_columns

VERDICTS = ("like", "dislike")
# outcome: answered, unsure or none; lead: the lead shown when unsure (JSON), so that a like or dislike of a
# lead is kept with the passage it was about.
COLUMNS = ("id", "time", "question", "answer", "no_answer", "confidence", "citations", "verdict", "outcome", "lead")
_ADDED = (
    AddedColumn("outcome", "TEXT NOT NULL DEFAULT 'none'",
                "UPDATE feedback SET outcome = CASE WHEN no_answer THEN 'none' ELSE 'answered' END"),
    AddedColumn("lead", "TEXT"),
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT,
    no_answer INTEGER NOT NULL,
    confidence REAL NOT NULL,
    citations TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('like', 'dislike'))
)
"""


class FeedbackStore:
    """Appends feedback records; one connection per store, writes serialised by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute(_SCHEMA)
        self._connection.commit()
        add_missing_columns(self._connection, "feedback", _ADDED)

    def record(self, answer: dict[str, Any], verdict: str) -> int:
        """Store a verdict on an answer (the ``Answer.to_dict()`` shape). Returns the record's id."""
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
        with self._lock, self._connection:
            cursor = self._connection.execute(
                f"INSERT INTO feedback ({', '.join(COLUMNS[1:])}) VALUES ({', '.join('?' * len(COLUMNS[1:]))})", row
            )
            return int(cursor.lastrowid or 0)

    def rows(self) -> Iterator[tuple[Any, ...]]:
        with self._lock:
            rows = self._connection.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id").fetchall()
        yield from rows

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
        with self._lock:
            self._connection.close()
