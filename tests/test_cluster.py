"""Two replicas of app.py behind a real nginx, sharing a real PostgreSQL (the pieces of `make cluster`):
one question log, an upload through one replica answered by the other, PostgreSQL away and back, and a replica
killed under load."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from pathlib import Path

import httpx
import pytest

from deploy.cluster import Cluster, free_port
from qa.serving.question_log import read_questions
from tests.services import needs_nginx, needs_postgres, scratch_folder
from tests.test_corpus import PARK_PAGE, QUESTION

TOKEN = "cluster-editor-token"
AUTH = ("editor", TOKEN)
UNLIMITED = "1000000000"
FOLLOW_SECONDS = 1.0


@pytest.fixture(scope="module")
def cluster(seminar_pipeline, seminar_settings):
    needs_postgres()
    needs_nginx()
    env = {"QA_ADMIN_TOKEN": TOKEN, "QA_RATE_LIMIT_PER_MINUTE": UNLIMITED, "QA_RATE_LIMIT_BURST": UNLIMITED,
           "QA_CORPUS_POLL_SECONDS": str(FOLLOW_SECONDS), "QA_DATABASE_TIMEOUT_SECONDS": "1"}
    running = Cluster(scratch_folder("seminar-qa-cluster-"), replicas=2, port=free_port(), env=env,
                      seed_index=Path(seminar_settings.index_dir), durable=False)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, trust_env=False)


def _ask(url: str, question: str) -> dict:
    with _client(url) as client:
        response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def test_both_replicas_log_to_one_table_and_either_page_lists_both(cluster):
    a, b = cluster.replicas
    asked = {a.url: "What colour was the carpet at the seminar in Shenzhen?",
             b.url: "How many cups of tea were served at the seminar in Shenzhen?"}
    for url, question in asked.items():
        _ask(url, question)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the question log writes in the background
        logged = {q.question for q in read_questions(cluster.postgres.url(), 1)}
        if set(asked.values()) <= logged:
            break
        time.sleep(0.2)
    assert set(asked.values()) <= logged
    for replica in (a, b):
        with _client(replica.url) as client:
            page = client.get("/admin/questions", auth=AUTH)
        assert page.status_code == 200
        assert all(question in page.text for question in asked.values()), replica.name


def test_an_upload_through_one_replica_is_answered_by_the_other(cluster):
    a, b = cluster.replicas
    with _client(a.url) as client:
        token = re.search(r'name="token" value="([0-9a-f]+)"', client.get("/admin", auth=AUTH).text).group(1)
        uploaded = client.post("/admin/upload", files={"file": ("Park News.txt", PARK_PAGE.encode(), "text/plain")},
                               data={"token": token}, auth=AUTH)
    assert uploaded.status_code == 200 and "added park-news" in uploaded.text
    assert _ask(a.url, QUESTION)["answer"] == "Chen Wei"  # the replica that took it: at once
    started = time.monotonic()
    while time.monotonic() - started < 30 and _ask(b.url, QUESTION)["answer"] != "Chen Wei":
        time.sleep(0.25)
    answer = _ask(b.url, QUESTION)
    assert answer["answer"] == "Chen Wei" and answer["citations"][0]["doc_id"] == "park-news"
    assert time.monotonic() - started < 30
    with _client(a.url) as on_a, _client(b.url) as on_b:  # both at the same corpus version
        assert on_a.get("/healthz").json()["corpus_change"] == on_b.get("/healthz").json()["corpus_change"] >= 1
    assert (b.directory / "uploads" / "park-news.txt").read_text() == PARK_PAGE


def test_answers_go_on_while_postgres_is_away_and_logging_resumes(cluster):
    cluster.postgres.stop()
    try:
        for question in ("When was the seminar held?", "Where was the seminar held?"):
            with _client(cluster.url) as client:
                response = client.post("/api/ask", json={"question": question})
            assert response.status_code == 200 and response.json()["answer"]
    finally:
        cluster.postgres.start()
    question = "Who organised the seminar in Shenzhen in December 2020?"
    deadline = time.monotonic() + 20
    logged: set[str] = set()
    while time.monotonic() < deadline and question not in logged:
        for replica in cluster.replicas:  # each replica's pool reconnects by itself
            _ask(replica.url, question)
        time.sleep(0.5)
        logged = {q.question for q in read_questions(cluster.postgres.url(), 1)}
    assert question in logged


def test_a_replica_killed_under_load_loses_only_requests_in_flight(cluster, report_figure):
    a, b = cluster.replicas
    clients, seconds, kill_at = 4, 8.0, 2.0
    questions = ["When was the seminar held?", "Where was the seminar held?", "Who hosted the seminar?"]

    async def load() -> list[tuple[float, int | str]]:
        results: list[tuple[float, int | str]] = []
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=cluster.url, timeout=60, trust_env=False) as client:
            async def one(i: int) -> None:
                n = i
                while time.monotonic() - started < seconds:
                    try:
                        response = await client.post("/api/ask", json={"question": questions[n % len(questions)]})
                        outcome: int | str = response.status_code
                    except httpx.HTTPError as exc:
                        outcome = type(exc).__name__
                    results.append((time.monotonic() - started, outcome))
                    n += 1

            async def killer() -> None:
                await asyncio.sleep(kill_at)
                a.kill()

            await asyncio.gather(killer(), *(one(i) for i in range(clients)))
        return results

    try:
        # In a thread of its own: the browser tests' driver may hold an event loop in this one.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            results = pool.submit(asyncio.run, load()).result()
    finally:
        if not a.alive():  # back for whatever runs next (never a second process beside a live one)
            a.start()
        a.wait_healthy()
    failed = [(t, outcome) for t, outcome in results if outcome != 200]
    after = [outcome for t, outcome in results if t > kill_at + 1.0]
    report_figure(f"cluster: replica killed under {clients} clients: {len(results)} requests, "
                  f"{len(failed)} failed (the requests in flight), {len(after)} after the kill all answered by the other")
    assert len(failed) <= clients, failed  # at most the requests in flight on the killed replica
    assert after and all(outcome == 200 for outcome in after)
    assert b.alive()
