"""The app's database, SQLite and PostgreSQL alike: one suite run on both (a real PostgreSQL server, started by
the test session), the migrations, and what happens when PostgreSQL goes away and comes back."""

from __future__ import annotations

import io
import logging
import threading
import time

import pytest

from qa.persistence import DatabaseUnavailable, open_database
from qa.persistence.corpus_events import CorpusEventLog
from qa.persistence.migrations import LATEST, MIGRATIONS, schema_version
from qa.serving.feedback import FeedbackStore
from qa.serving.question_log import LoggedQuestion, QuestionLog, read_questions
from tests.services import new_database, start_postgres

ANSWER = {"question": "Where was the seminar held?", "answer": "Shenzhen", "no_answer": False, "confidence": 0.9,
          "outcome": "answered", "sentence": "The seminar was held in Shenzhen.",
          "citations": [{"doc_id": "seminar", "start": 10, "end": 18}]}
UNSURE = {"question": "Which lab?", "answer": None, "no_answer": True, "confidence": 0.2, "outcome": "unsure",
          "citations": [], "lead": {"sentence": "The lab opened.", "citation": {"doc_id": "seminar", "start": 0, "end": 3}}}


@pytest.fixture(scope="module")
def postgres():
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    """A new, empty database of each kind: a SQLite path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "app.sqlite3"
    return new_database(request.getfixturevalue("postgres"))


def test_feedback_is_stored_and_exported(target):
    store = FeedbackStore(target)
    first = store.record(ANSWER, "like")
    second = store.record(UNSURE, "dislike")
    assert (first, second) == (1, 2)
    rows = list(store.rows())
    assert [r[2] for r in rows] == [ANSWER["question"], UNSURE["question"]]
    assert rows[1][-2:] == ("unsure", '{"sentence": "The lab opened.", "citation": {"doc_id": "seminar", "start": 0, "end": 3}}')
    with pytest.raises(ValueError):
        store.record(ANSWER, "meh")
    out = io.StringIO()
    assert store.export_csv(out) == 2 and out.getvalue().startswith("id,time,question")
    store.close()


def test_two_replicas_write_to_one_table(target):
    """Two stores on the same database (as two replicas are): each sees the other's rows."""
    a, b = FeedbackStore(target), FeedbackStore(target)
    a.record(ANSWER, "like")
    b.record(UNSURE, "dislike")
    assert [r[7] for r in a.rows()] == [r[7] for r in b.rows()] == ["like", "dislike"]
    log_a, log_b = QuestionLog(open_database(target), 90), QuestionLog(open_database(target), 90)
    ref = log_a.record(LoggedQuestion.from_answer(ANSWER, "en"))
    log_b.record(LoggedQuestion.from_answer(UNSURE, "en"))
    log_a.flush(), log_b.flush()
    log_b.set_feedback(ref, "dislike")  # feedback through the other replica finds the row
    log_b.flush()
    logged = sorted(read_questions(target, 1), key=lambda q: q.question)  # asked in the same second
    assert [(q.question, q.outcome, q.feedback) for q in logged] == [
        (ANSWER["question"], "answered", "dislike"), (UNSURE["question"], "unsure", None)]
    assert logged[1].sentence == "The lab opened." and logged[0].answered and not logged[1].answered


def test_corpus_changes_are_numbered_in_order(target):
    events = CorpusEventLog(open_database(target))
    assert events.latest() == 0 and events.after(0) == []
    numbers: list[int] = []

    def upload(i: int) -> None:
        numbers.append(events.append_upload(f"page-{i % 3}.txt", f"text {i}".encode(), f"replica-{i % 2}"))

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    removal = events.append_removal("page-0", "replica-a")
    assert sorted(numbers) == list(range(1, 13)) and removal == 13 == events.latest()
    changes = events.after(10, limit=2)
    assert [c.seq for c in changes] == [11, 12] and all(c.kind == "add" and c.content for c in changes)
    last = events.after(12)[0]
    assert (last.kind, last.name, last.content) == ("remove", "page-0", None)
    files = events.files()
    assert [f.name for f in files] == ["page-0.txt", "page-1.txt", "page-2.txt"]
    assert [f.revisions for f in files] == [4, 4, 4] and all(len(f.sha256) == 64 for f in files)


def test_a_migration_keeps_every_row(target):
    """A database at the first schema (no outcome columns, no corpus changes) with rows in it is brought up to
    date: every row kept, the new columns filled from the old ones."""
    database = open_database(target)
    database._setup = None  # noqa: SLF001 (build the old schema by hand, as the first release did)
    database._schema_ready = True  # noqa: SLF001
    first = MIGRATIONS[0]
    with database.transaction() as session:
        types = {"id": session.dialect.id, "blob": session.dialect.blob, "real": session.dialect.real}
        for statement in first.statements:
            session.execute(statement.format(**types))
        session.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL)")
        session.execute("INSERT INTO schema_migrations VALUES (1, ?, '2026-11-01T00:00:00Z')", (first.description,))
        for i in range(50):
            session.execute("INSERT INTO feedback (time, question, answer, no_answer, confidence, citations, verdict) "
                            "VALUES ('2026-11-02T00:00:00Z', ?, ?, ?, 0.5, '[]', 'like')", (f"q{i}", None if i % 2 else "a", i % 2))
            session.execute("INSERT INTO questions (ref, time, question, language, answered, confidence) "
                            "VALUES (?, '2030-01-01T00:00:00Z', ?, 'en', ?, 0.5)", (f"r{i}", f"q{i}", 1 - i % 2))
    database.close()

    upgraded = open_database(target)
    with upgraded.transaction() as session:
        assert schema_version(session) == LATEST
        feedback = session.execute("SELECT question, no_answer, outcome FROM feedback ORDER BY id").fetchall()
        questions = session.execute("SELECT ref, answered, outcome FROM questions ORDER BY ref").fetchall()
    assert len(feedback) == len(questions) == 50
    assert all(outcome == ("none" if no_answer else "answered") for _, no_answer, outcome in feedback)
    assert all(outcome == ("answered" if answered else "none") for _, answered, outcome in questions)
    assert CorpusEventLog(upgraded).latest() == 0  # the new table is there


def test_replicas_migrating_at_once_apply_each_migration_once(target):
    errors: list[BaseException] = []

    def open_and_use() -> None:
        try:
            FeedbackStore(target).record(ANSWER, "like")
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=open_and_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_database(target).transaction() as session:
        versions = [row[0] for row in session.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()]
        assert versions == [m.version for m in MIGRATIONS]
        assert session.execute("SELECT count(*) FROM feedback").fetchone()[0] == 4


def test_postgres_away_loses_no_answer_and_reconnects(caplog):
    """PostgreSQL stopped: feedback and the question log drop their writes with one warning each, without
    waiting longer than the database timeout; started again: both write again, on new connections."""
    server = start_postgres()
    try:
        url = new_database(server)
        database = open_database(url, timeout_seconds=1.0)
        feedback, questions = FeedbackStore(database), QuestionLog(database, 90)
        assert feedback.record(ANSWER, "like") == 1
        questions.record(LoggedQuestion.from_answer(ANSWER, "en"))
        questions.flush()
        server.stop()
        with caplog.at_level(logging.WARNING):
            started = time.monotonic()
            assert [feedback.record(ANSWER, "like") for _ in range(3)] == [None, None, None]
            assert time.monotonic() - started < 3 * 1.0 + 2.0
            for _ in range(3):
                questions.record(LoggedQuestion.from_answer(UNSURE, "en"))
            questions.flush()
            with pytest.raises(DatabaseUnavailable):
                read_questions(database, 1)
        warnings = [r.getMessage() for r in caplog.records if r.name.startswith("qa.")]
        assert sum("feedback not stored" in m for m in warnings) == 1
        assert sum("could not write" in m for m in warnings) == 1
        server.start()
        deadline = time.monotonic() + 20
        while feedback.record(UNSURE, "dislike") is None and time.monotonic() < deadline:
            time.sleep(0.5)
        questions.record(LoggedQuestion.from_answer(ANSWER, "en"))
        questions.flush()
        assert [r[2] for r in feedback.rows()][-1] == UNSURE["question"]
        assert [q.question for q in read_questions(database, 1)] == [ANSWER["question"]] * 2
    finally:
        server.stop()
