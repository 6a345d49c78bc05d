"""The corpus changes made through the app, kept in the database in the order they were made.

An editor's upload or removal on any replica is appended here first (an upload with the file itself); every
replica then applies the events it has not applied yet, in order, to its own index
(:mod:`qa.serving.replication`). The last event's number is the corpus version the replicas converge on.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from qa.persistence.database import Database

ADD, REMOVE = "add", "remove"


@dataclass(frozen=True)
class CorpusEvent:
    seq: int
    time: str
    kind: str  # ADD: ``name`` is the file's name and ``content`` its bytes; REMOVE: ``name`` is a document id
    name: str
    content: bytes | None
    sha256: str | None
    origin: str  # the replica that took the change


@dataclass(frozen=True)
class StoredFile:
    """A document's source file as the database keeps it: its latest upload and how many there were."""

    name: str
    sha256: str
    size: int
    uploaded: str
    revisions: int
    origin: str


class CorpusEventLog:
    def __init__(self, database: Database) -> None:
        self.database = database

    def append_upload(self, name: str, content: bytes, origin: str) -> int:
        """Record an uploaded file; returns its event number."""
        return self._append(ADD, name, content, origin)

    def append_removal(self, doc_id: str, origin: str) -> int:
        return self._append(REMOVE, doc_id, None, origin)

    def latest(self) -> int:
        """The number of the last event (0: none yet)."""
        with self.database.transaction() as session:
            return int(session.execute("SELECT max(seq) FROM corpus_events").fetchone()[0] or 0)

    def after(self, seq: int, limit: int = 100) -> list[CorpusEvent]:
        """The events after ``seq``, oldest first, at most ``limit`` (they carry whole files)."""
        with self.database.transaction() as session:
            rows = session.execute(
                "SELECT seq, time, kind, name, content, sha256, origin FROM corpus_events WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [CorpusEvent(int(r[0]), r[1], r[2], r[3], bytes(r[4]) if r[4] is not None else None, r[5], r[6]) for r in rows]

    def get(self, seq: int) -> CorpusEvent | None:
        """The change numbered ``seq``, without its file (None: there is none)."""
        with self.database.transaction() as session:
            row = session.execute("SELECT seq, time, kind, name, sha256, origin FROM corpus_events WHERE seq = ?",
                                  (seq,)).fetchone()
        return CorpusEvent(int(row[0]), row[1], row[2], row[3], None, row[4], row[5]) if row else None

    def files(self) -> list[StoredFile]:
        """Every uploaded file's latest version, by name."""
        with self.database.transaction() as session:
            rows = session.execute(
                """SELECT e.name, e.sha256, e.size, e.time, counts.revisions, e.origin FROM corpus_events e
                   JOIN (SELECT name, max(seq) AS last, count(*) AS revisions FROM corpus_events WHERE kind = 'add'
                         GROUP BY name) counts ON counts.last = e.seq
                   ORDER BY e.name""",
            ).fetchall()
        return [StoredFile(r[0], r[1], int(r[2]), r[3], int(r[4]), r[5]) for r in rows]

    def _append(self, kind: str, name: str, content: bytes | None, origin: str) -> int:
        digest = hashlib.sha256(content).hexdigest() if content is not None else None
        with self.database.transaction() as session:
            session.lock("corpus_events")  # numbers become visible in order: a follower never skips one
            row = session.execute(
                "INSERT INTO corpus_events (time, kind, name, content, sha256, size, origin) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
                (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), kind, name, content, digest,
                 len(content) if content is not None else None, origin),
            ).fetchone()
        return int(row[0])
