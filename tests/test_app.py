"""The HTTP API, the security headers, the chat's rendering, follow-ups and feedback (in-process)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from fastapi.testclient import TestClient

from qa.serving.feedback import FeedbackStore
from qa.serving.presentation import answer_html, escape_text
from tests.test_pipeline import check_schema

PORTAL = "http://portal.example"


@pytest.fixture(scope="module")
def client(seminar_pipeline, tmp_path_factory):
    import app as app_module

    settings = dataclasses.replace(
        seminar_pipeline.settings, allowed_origins=(PORTAL,), rate_limit_per_minute=600, rate_limit_burst=200
    )
    feedback = FeedbackStore(tmp_path_factory.mktemp("feedback") / "feedback.sqlite3")
    with TestClient(app_module.create_app(seminar_pipeline, settings, feedback)) as test_client:
        yield test_client


def test_ask_returns_the_cli_json(client):
    response = client.post("/api/ask", json={"question": "When was the seminar held?", "k": 5})
    assert response.status_code == 200
    check_schema(response.json())
    assert response.json()["answer"] == "December 15th"


def test_healthz(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["index_loaded"] is True
    assert body["model"] == "all-MiniLM-L6-v2" and body["documents"] == 1
    assert body["corpus_fingerprint"]


@pytest.mark.parametrize(
    "payload, status",
    [
        ({"question": 5}, 422),
        ({"question": ""}, 422),
        ({"question": "   "}, 422),
        ({"question": "hi", "extra": 1}, 422),
        ({"question": "hi", "k": 0}, 422),
        ({"question": "hi", "k": -1}, 422),
        ({"question": "hi", "k": 10**9}, 422),
        ({"question": "hi", "k": "5"}, 422),
        ({}, 422),
        ({"question": "x" * 100_000}, 413),
    ],
)
def test_bad_requests_get_a_json_4xx(client, payload, status):
    response = client.post("/api/ask", json=payload)
    assert response.status_code == status
    assert "error" in response.json()


@pytest.mark.parametrize("body", [b"{bad json", b"\xff\xfe\x00", b""])
def test_malformed_bodies(client, body):
    response = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422) and response.json()["error"]


def test_rate_limit_answers_429_with_retry_after(seminar_pipeline):
    import app as app_module

    settings = dataclasses.replace(seminar_pipeline.settings, rate_limit_per_minute=1, rate_limit_burst=2)
    with TestClient(app_module.create_app(seminar_pipeline, settings)) as limited:
        codes = [limited.post("/api/ask", json={"question": "Where was it held?"}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        response = limited.post("/api/ask", json={"question": "Where was it held?"})
        assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1


def test_cors_allows_only_configured_origins(client):
    allowed = client.options(
        "/api/ask", headers={"Origin": PORTAL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    )
    assert allowed.headers.get("access-control-allow-origin") == PORTAL
    refused = client.options(
        "/api/ask", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert refused.headers.get("access-control-allow-origin") is None
    simple = client.post("/api/ask", json={"question": "Where?"}, headers={"Origin": "http://evil.example"})
    assert simple.headers.get("access-control-allow-origin") is None


def test_frame_ancestors_lists_the_allowed_origins(client):
    policy = client.get("/").headers["content-security-policy"]
    assert policy == f"frame-ancestors 'self' {PORTAL}"


def test_default_is_same_origin_only(seminar_pipeline):
    import app as app_module

    with TestClient(app_module.create_app(seminar_pipeline, seminar_pipeline.settings)) as same_origin:
        assert same_origin.get("/healthz").headers["content-security-policy"] == "frame-ancestors 'self'"
        preflight = same_origin.options(
            "/api/ask", headers={"Origin": "http://portal.example", "Access-Control-Request-Method": "POST"}
        )
        assert preflight.headers.get("access-control-allow-origin") is None


def test_web_component_script_is_served_locally(client):
    response = client.get("/gradio.js")
    assert response.status_code == 200 and "javascript" in response.headers["content-type"]
    asset = response.text.split('"./')[1].split('"')[0]
    assert client.get("/" + asset).status_code == 200  # the script's ./assets/... resolve beside it


def test_chat_page_is_served(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"] and "gradio" in response.text.lower()


# -- rendering ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    ['<script>alert(1)</script>', '<img src=x onerror="alert(1)">', "[click](javascript:alert(1))", "<iframe src=//x>"],
)
def test_escape_text_leaves_no_markup(hostile):
    escaped = escape_text(hostile)
    assert "<" not in escaped and ">" not in escaped and "](" not in escaped and '"' not in escaped


def test_answer_html_highlights_and_escapes(seminar_pipeline):
    answer = seminar_pipeline.ask("When was the seminar held?")
    rendered = answer_html(answer, seminar_pipeline.document)
    assert rendered.startswith("<strong>December 15th</strong>")
    assert "<mark>December 15th</mark>" in rendered
    assert "<details><summary>[1] Guangdong&#45;Hong Kong&#45;Macao" in rendered
    assert "2020&#45;12&#45;17" in rendered


def test_answer_html_marks_text_in_another_language_than_the_page():
    """WCAG 3.1.2: a Chinese document's words in an English chat carry lang="zh"; English ones carry nothing."""
    from qa.types import Answer, Citation, Document

    text = "研讨会于12月15日在深圳举行。深圳市副市长艾学峰出席并致辞。"
    document = Document(doc_id="zh-report", text=text, title="大湾区研讨会")
    start = text.index("深圳举行")
    citation = Citation("zh-report", "大湾区研讨会", "", "", start, start + 2, 0, text.index("。") + 1, "深圳", 1.0)
    answer = Answer("Where was it held?", "深圳", False, 0.9, sentence=text[: text.index("。") + 1], citations=[citation])
    rendered = answer_html(answer, lambda doc_id: document)
    assert rendered.startswith('<strong lang="zh">深圳</strong><br><br><span lang="zh">“研讨会于')
    assert '<summary>[1] <span lang="zh">大湾区研讨会</span></summary><blockquote lang="zh">' in rendered
    assert '<small>document zh&#45;report, characters' in rendered  # the chat's own English wording: no mark


def test_no_answer_is_kind_and_suggests(seminar_pipeline):
    answer = seminar_pipeline.ask("What is the capital of France?")
    rendered = answer_html(answer, seminar_pipeline.document, no_answer_hint="You can ask, for example: …")
    assert "couldn't find that in the documents" in rendered and "for example" in rendered


# -- follow-ups ------------------------------------------------------------------------------------------------


def test_follow_up_pronoun_takes_the_previous_topic(seminar_pipeline):
    from qa.serving.conversation import resolve_follow_up

    resolved = resolve_follow_up("When was it held?", ["Where was the seminar held?"])
    assert resolved == "When was the seminar held?"
    assert seminar_pipeline.ask(resolved).answer == "December 15th"
    assert resolve_follow_up("And who is the Director of the Institute?", ["When was it held?"]) == "who is the Director of the Institute?"
    assert resolve_follow_up("What is his position?", ["Who is Du Ping?"]) == "What is Du Ping's position?"
    assert resolve_follow_up("When was it held?", []) == "When was it held?"


# -- feedback --------------------------------------------------------------------------------------------------


def test_feedback_store_and_csv_export(tmp_path, seminar_pipeline):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    answer = seminar_pipeline.ask("When was the seminar held?").to_dict()
    store.record(answer, "like")
    store.record({**answer, "question": 'Tricky, "quoted"\nquestion'}, "dislike")
    with pytest.raises(ValueError):
        store.record(answer, "meh")
    out = io.StringIO()
    assert store.export_csv(out) == 2
    import csv

    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:3] == ["id", "time", "question"] and rows[1][7] == "like" and rows[2][2] == 'Tricky, "quoted"\nquestion'
    assert "December 15th" in rows[1][6]  # citations kept as JSON


def test_feedback_survives_concurrent_writers(tmp_path):
    import threading

    store = FeedbackStore(tmp_path / "f.sqlite3")
    record = {"question": "q", "answer": "a", "no_answer": False, "confidence": 0.5, "citations": []}
    threads = [threading.Thread(target=lambda: [store.record(record, "like") for _ in range(25)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(store.rows())) == 200
    assert len(list(FeedbackStore(tmp_path / "f.sqlite3").rows())) == 200  # a second connection sees them all


def test_rate_limiter_refills():
    from qa.serving.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    wait = limiter.acquire("a")
    assert wait == pytest.approx(1.0)
    assert limiter.acquire("b") is None  # per client
    now[0] += 1.0
    assert limiter.acquire("a") is None


# -- unsure outcomes: a lead instead of nothing -------------------------------------------------------------------


@pytest.fixture(scope="module")
def lead_pipeline(seminar_pipeline):
    """The seminar pipeline with the rules and a lead floor of 0.1 (the fitted floor may move; this must not)."""
    from qa.pipeline import QAPipeline

    settings = dataclasses.replace(seminar_pipeline.settings, reader="rules", lead_floor=0.1)
    return QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, settings)


def test_api_gives_the_three_outcomes(lead_pipeline, tmp_path):
    import app as app_module

    settings = dataclasses.replace(lead_pipeline.settings, rate_limit_per_minute=600, rate_limit_burst=200)
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    with TestClient(app_module.create_app(lead_pipeline, settings, feedback)) as api:
        outcomes = {}
        for question in ("When was the seminar held?", "engineering lab name", "What is the capital of Peru?"):
            body = api.post("/api/ask", json={"question": question}).json()
            check_schema(body)
            outcomes[body["outcome"]] = body
    assert set(outcomes) == {"answered", "unsure", "none"}
    unsure = outcomes["unsure"]
    assert unsure["no_answer"] is True and unsure["answer"] is None and unsure["citations"] == []
    citation = unsure["lead"]["citation"]
    text = lead_pipeline.document(citation["doc_id"]).text
    assert text[citation["start"] : citation["end"]] == citation["quote"] and citation["quote"] in unsure["lead"]["sentence"]
    assert outcomes["answered"]["lead"] is None and outcomes["none"]["lead"] is None


def test_unsure_chat_message_says_so_and_marks_the_lead_lightly(lead_pipeline):
    answer = lead_pipeline.ask("engineering lab name")
    rendered = answer_html(answer, lead_pipeline.document)
    assert rendered.startswith("I&#39;m not sure of the answer")
    quote = escape_text(answer.lead.citation.quote)
    assert f'<mark class="lead">{quote}</mark>' in rendered  # in the sentence and in the cited passage
    assert rendered.count('<mark class="lead">') == 2 and "<mark>" not in rendered
    assert "<details><summary>[1] Guangdong&#45;Hong Kong&#45;Macao" in rendered and "<strong>" not in rendered
    chinese = answer_html(answer, lead_pipeline.document, language="zh")
    assert chinese.startswith('<span lang="zh">我不确定答案') and '<mark class="lead">' in chinese
    assert '<small lang="zh">文档 ' in chinese  # the citation's wording in the question's language


def test_feedback_on_a_lead_keeps_the_outcome_and_the_lead(lead_pipeline, tmp_path):
    import csv
    import json

    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.record(lead_pipeline.ask("engineering lab name").to_dict(), "like")
    store.record(lead_pipeline.ask("When was the seminar held?").to_dict(), "dislike")
    out = io.StringIO()
    store.export_csv(out)
    header, lead_row, answer_row = list(csv.reader(io.StringIO(out.getvalue())))
    assert header[-2:] == ["outcome", "lead"]
    assert lead_row[-2] == "unsure" and "Engineering Laboratory" in json.loads(lead_row[-1])["sentence"]
    assert answer_row[-2] == "answered" and answer_row[-1] == ""


def test_an_older_feedback_database_keeps_its_rows(tmp_path):
    from tests.conftest import write_old_database

    path = tmp_path / "old.sqlite3"
    write_old_database(
        path, "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, question TEXT NOT NULL, "
              "answer TEXT, no_answer INTEGER NOT NULL, confidence REAL NOT NULL, citations TEXT NOT NULL, "
              "verdict TEXT NOT NULL CHECK (verdict IN ('like', 'dislike')))",
        "INSERT INTO feedback (time, question, answer, no_answer, confidence, citations, verdict) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [("t1", "Where?", "Shenzhen", 0, 0.9, "[]", "like"), ("t2", "Why?", None, 1, 0.1, "[]", "dislike")],
    )
    store = FeedbackStore(path)
    rows = list(store.rows())
    assert [(r[2], r[7], r[8], r[9]) for r in rows] == [("Where?", "like", "answered", None), ("Why?", "dislike", "none", None)]
    assert FeedbackStore(path).record({"question": "q", "no_answer": True, "outcome": "none", "citations": []}, "like") == 3
