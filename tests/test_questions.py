"""The question log and the editors' Questions page: what is kept (and what never is), retention, grouping of
paraphrases, the admin API and `qa insights`, and answers served whatever happens to the database."""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import time

import pytest
from fastapi.testclient import TestClient

from qa.cli import main as cli_main
from qa.config import Settings
from qa.serving.question_log import LoggedQuestion, QuestionLog, cutoff_text, open_question_log, read_questions

TOKEN = "editor-secret-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
CLIENT_ADDRESS = "203.0.113.77"  # the test client's address (TEST-NET-3), also sent as X-Forwarded-For
PARAPHRASES = ["Who is the mayor of Guangzhou?", "Who's the mayor of Guangzhou?", "who is guangzhou's mayor"]


@pytest.fixture()
def settings(seminar_pipeline, tmp_path):
    return dataclasses.replace(
        seminar_pipeline.settings, feedback_db=tmp_path / "app.sqlite3", admin_token=TOKEN,
        rate_limit_per_minute=600, rate_limit_burst=200,
    )


def _client(pipeline, settings, questions) -> TestClient:
    import app as app_module

    return TestClient(app_module.create_app(pipeline, settings, None, questions), client=(CLIENT_ADDRESS, 50000))


def _ask(client: TestClient, question: str) -> dict:
    response = client.post("/api/ask", json={"question": question}, headers={"X-Forwarded-For": CLIENT_ADDRESS,
                                                                            "User-Agent": "agent-007-browser"})
    assert response.status_code == 200
    return response.json()


def _insights(capsys, *args: str) -> list[dict]:
    assert cli_main(["insights", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_paraphrases_asked_through_the_api_are_one_group_in_qa_insights(rules_pipeline, settings, capsys, monkeypatch):
    # the rule reader declines all three with no lead (the learned one gives the last a lead: an unsure outcome,
    # listed as a group of its own)
    questions = open_question_log(settings)
    client = _client(rules_pipeline, settings, questions)
    for question in PARAPHRASES:
        assert _ask(client, question)["no_answer"] is True
    assert _ask(client, "When was the seminar held?")["answer"] == "December 15th"
    questions.flush()

    monkeypatch.setenv("QA_FEEDBACK_DB", str(settings.feedback_db))
    groups = _insights(capsys, "--status", "unanswered", "--days", "7")
    assert len(groups) == 1
    group = groups[0]
    assert group["count"] == 3 and group["answered_share"] == 0.0 and group["answer"] is None
    assert group["question"] in PARAPHRASES and sorted(group["examples"]) == sorted(PARAPHRASES)
    assert group["first_asked"] <= group["last_asked"]

    # the same from the admin API, and the answered question is not among the unanswered
    api = client.get("/admin/api/questions?status=unanswered&days=7", headers=BEARER).json()
    assert [g["count"] for g in api] == [3]
    assert set(api[0]) >= {"question", "count", "first_asked", "last_asked", "answered_share", "examples", "answer", "confidence"}
    assert cli_main(["insights"]) == 0 and "Guangzhou" in capsys.readouterr().out  # the readable form


def test_what_is_logged_and_never_who_asked(seminar_pipeline, settings):
    questions = open_question_log(settings)
    client = _client(seminar_pipeline, settings, questions)
    _ask(client, "When was the seminar held?")
    client.cookies.set("session", "visitor-cookie-value")
    _ask(client, "研讨会在哪里举行？")
    questions.flush()
    logged = read_questions(settings.feedback_db, 1)
    assert [(e.question, e.language, e.answered) for e in logged] == [
        ("When was the seminar held?", "en", True), ("研讨会在哪里举行？", "zh", True)]
    assert logged[0].answer == "December 15th" and logged[0].doc_id == "seminar-2020-12-17" and logged[0].confidence > 0.3
    stored = b"".join(p.read_bytes() for p in settings.feedback_db.parent.glob("app.sqlite3*"))
    assert b"seminar held" in stored  # the search below reads the right files
    for secret in (CLIENT_ADDRESS, "agent-007", "visitor-cookie-value", "testclient"):
        assert secret.encode() not in stored


def test_retention_deletes_old_rows(tmp_path):
    path = tmp_path / "log.sqlite3"
    log = QuestionLog(path, retention_days=90)
    old = LoggedQuestion(cutoff_text(91), "An old question?", "en", False, None, 0.1, None, None)
    recent = dataclasses.replace(old, time=cutoff_text(89), question="A recent question?")
    log.record(old)
    log.record(recent)
    log.flush()
    assert [e.question for e in read_questions(path, 365)] == ["A recent question?"]


def test_the_log_is_off_when_told(seminar_pipeline, settings, monkeypatch):
    monkeypatch.setenv("QA_QUESTION_LOG", "off")
    off = dataclasses.replace(Settings.load(), feedback_db=settings.feedback_db)
    assert open_question_log(off) is None
    client = _client(seminar_pipeline, settings, open_question_log(off))
    _ask(client, "When was the seminar held?")
    assert not settings.feedback_db.exists()
    page = client.get("/admin/questions", headers=BEARER)
    assert page.status_code == 200 and "The question log is off" in page.text


def test_a_locked_database_does_not_fail_an_answer(seminar_pipeline, settings, caplog):
    questions = open_question_log(settings)
    client = _client(seminar_pipeline, settings, questions)
    _ask(client, "When was the seminar held?")
    questions.flush()
    locker = sqlite3.connect(settings.feedback_db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING, logger="qa.serving.question_log"):
            started = time.monotonic()
            for _ in range(3):
                assert _ask(client, "Where was the seminar held?")["answer"]
            assert time.monotonic() - started < 2.0  # the answers did not wait for the lock
            questions.flush()
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    failures = [r for r in caplog.records if "could not write" in r.getMessage()]
    assert len(failures) == 1  # logged once, not once per question
    _ask(client, "Who sponsored the seminar?")  # and the log writes again once the lock is gone
    questions.flush()
    assert [e.question for e in read_questions(settings.feedback_db, 1)][-1] == "Who sponsored the seminar?"


def test_questions_page_api_csv_and_status_need_the_token(seminar_pipeline, settings):
    questions = open_question_log(settings)
    client = _client(seminar_pipeline, settings, questions)
    _ask(client, "<script>alert('q')</script> Who is the mayor of Guangzhou?")
    for path in ("/admin/questions", "/admin/questions.csv", "/admin/api/questions", "/admin/api/status"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    page = client.get("/admin/questions?days=7", headers=BEARER)
    assert page.status_code == 200 and "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#x27;q&#x27;)&lt;/script&gt;" in page.text and "<svg" in page.text
    csv_text = client.get("/admin/questions.csv?days=90", headers=BEARER)
    assert csv_text.headers["content-type"].startswith("text/csv") and "unanswered" in csv_text.text
    assert client.get("/admin/api/questions?status=nonsense", headers=BEARER).status_code == 422
    assert client.get("/admin/api/questions?days=0", headers=BEARER).status_code == 422
    status = client.get("/admin/api/status", headers=BEARER).json()
    assert status["corpus_paths"] and status["question_log"] == str(settings.feedback_db)
    without_admin = _client(seminar_pipeline, dataclasses.replace(settings, admin_token=""), questions)
    assert without_admin.get("/admin/questions", headers=BEARER).status_code == 404
    assert without_admin.get("/admin/api/questions", headers=BEARER).status_code == 404


def test_healthz_keeps_server_paths_to_itself(seminar_pipeline, settings):
    body = _client(seminar_pipeline, settings, None).get("/healthz").json()
    assert body["status"] == "ok" and body["documents"] == 1 and body["version"]
    shown = json.dumps(body)
    assert "corpus_paths" not in body and "index" not in body and "/" not in shown


def test_disliked_answers_are_listed_with_their_passage(tmp_path, embedder):
    path = tmp_path / "log.sqlite3"
    log = QuestionLog(path, retention_days=90)
    liked = LoggedQuestion(cutoff_text(0.01), "Where was the seminar held?", "en", True, "Shenzhen", 0.42,
                           "seminar-2020-12-17", "... was held in Shenzhen ...")
    ref = log.record(liked)
    log.set_feedback(ref, "dislike")
    log.flush()
    from qa.serving.insights import records_by_status

    records = records_by_status(read_questions(path, 7), embedder.encode, Settings.load())
    assert records["unanswered"] == []
    assert [r["answer"] for r in records["low_confidence"]] == ["Shenzhen"]
    assert records["disliked"][0]["passage"] == "... was held in Shenzhen ..." and records["disliked"][0]["matching"] == 1


def test_unsure_outcomes_are_their_own_group(seminar_pipeline, settings):
    """A question given a lead is logged as unsure, with the lead's document and sentence, and listed apart from
    the questions the documents don't answer."""
    from qa.pipeline import QAPipeline

    leads = QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder,
                                  dataclasses.replace(settings, reader="rules", lead_floor=0.1))
    questions = open_question_log(settings)
    client = _client(leads, settings, questions)
    assert _ask(client, "engineering lab name")["outcome"] == "unsure"
    assert _ask(client, "What is the capital of Peru?")["outcome"] == "none"
    questions.flush()
    [unsure, none] = read_questions(settings.feedback_db, 1)
    assert (unsure.outcome, unsure.answered, unsure.answer) == ("unsure", False, None)
    assert "Engineering Laboratory" in unsure.sentence and unsure.doc_id
    assert none.outcome == "none" and none.sentence is None
    grouped = client.get("/admin/api/questions?status=unsure&days=7", headers=BEARER).json()
    assert [g["question"] for g in grouped] == ["engineering lab name"] and "Engineering" in grouped[0]["passage"]
    unanswered = client.get("/admin/api/questions?status=unanswered&days=7", headers=BEARER).json()
    assert [g["question"] for g in unanswered] == ["What is the capital of Peru?"]
    page = client.get("/admin/questions?days=7", headers=BEARER).text
    assert "<h2>Unsure: shown a passage to look at</h2>" in page and "engineering lab name" in page


def test_an_older_question_log_keeps_its_rows(tmp_path):
    from tests.conftest import write_old_database

    path = tmp_path / "old.sqlite3"
    now = cutoff_text(0)
    write_old_database(
        path, "CREATE TABLE questions (ref TEXT PRIMARY KEY, time TEXT NOT NULL, question TEXT NOT NULL, "
              "language TEXT NOT NULL, answered INTEGER NOT NULL, answer TEXT, confidence REAL NOT NULL, doc_id TEXT, "
              "sentence TEXT, feedback TEXT CHECK (feedback IN ('like', 'dislike')))",
        "INSERT INTO questions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [("a", now, "Where?", "en", 1, "Shenzhen", 0.9, "d", "In Shenzhen.", "like"),
         ("b", now, "Why?", "en", 0, None, 0.0, None, None, None)],
    )
    rows = read_questions(path, 1)
    assert [(r.question, r.answered, r.outcome, r.feedback) for r in rows] == [
        ("Where?", True, "answered", "like"), ("Why?", False, "none", None)]
