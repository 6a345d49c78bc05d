"""Faults while serving: rebuilds swapped in atomically, killed builds and writes, clean shutdown."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from qa.pipeline import QAPipeline, ensure_index
from qa.serving.live import LivePipeline
from qa.serving.question_log import read_questions
from qa.store.index import load_index
from tests.browser_support import free_port, wait_healthy
from tests.conftest import ROOT

LAB_PAGE = (
    "Riverside Data Lab opens\nSource:Press Office Date:2021-05-01\n\n"
    "The Riverside Data Lab opened on May 1st in Lisbon. Its director is Ana Costa.\n"
)


@pytest.fixture()
def index_settings(seminar_settings, tmp_path):
    return dataclasses.replace(seminar_settings, index_dir=tmp_path / "index")


def _lab_corpus(tmp_path: Path) -> str:
    folder = tmp_path / "lab"
    folder.mkdir(exist_ok=True)
    (folder / "lab.txt").write_text(LAB_PAGE)
    return str(folder)


def test_rebuilt_index_is_swapped_in(index_settings, embedder, tmp_path):
    old = QAPipeline.from_index(ensure_index(index_settings, embedder), embedder, index_settings)
    live = LivePipeline(old)
    assert live.refresh() is False  # nothing new
    ensure_index(index_settings, embedder, corpus=[_lab_corpus(tmp_path)], force=True)
    assert live.refresh() is True
    assert live.current.ask("When did the Riverside Data Lab open?").answer == "May 1st"
    # a request that started on the old pipeline still completes on it
    assert old.ask("When was the seminar held?").answer == "December 15th"


def test_broken_new_version_is_not_served(index_settings, embedder, tmp_path):
    pipeline = QAPipeline.from_index(ensure_index(index_settings, embedder), embedder, index_settings)
    live = LivePipeline(pipeline)
    broken = index_settings.index_dir / "v-29990101T000000-broken"
    broken.mkdir()
    (broken / "manifest.json").write_text(json.dumps({"files": {"chunks.json": "0" * 64}}))
    (broken / "chunks.json").write_text("[]")
    (index_settings.index_dir / "CURRENT").write_text(broken.name)
    assert live.refresh() is False and "corrupt" in live.last_error
    assert live.current.ask("When was the seminar held?").answer == "December 15th"


def kill_qa_midway(command: str, index_dir: Path, folder: Path, page: str, files: int = 60) -> None:
    """Run ``qa COMMAND --index INDEX_DIR FOLDER`` on a folder big enough to take seconds, and SIGKILL it."""
    folder.mkdir()
    for n in range(files):
        (folder / f"doc{n:02d}.txt").write_text((page + "\n\n") * 40)
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", command, "--index", str(index_dir), str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(6)  # the model is loaded and the work is under way
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_build_killed_halfway_leaves_the_old_index(index_settings, embedder, tmp_path):
    first = ensure_index(index_settings, embedder)
    kill_qa_midway("build", index_settings.index_dir, tmp_path / "big", LAB_PAGE)
    assert load_index(index_settings.index_dir).location == first.location
    # the next build cleans up whatever the killed one left behind
    ensure_index(index_settings, embedder, force=True)
    assert not [p for p in index_settings.index_dir.iterdir() if p.name.startswith(".tmp-")]


def test_feedback_survives_a_kill_mid_write(tmp_path):
    db = tmp_path / "feedback.sqlite3"
    writer = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys; from qa.serving.feedback import FeedbackStore; s = FeedbackStore(sys.argv[1]);\n"
            "r = {'question': 'q' * 500, 'answer': 'a', 'no_answer': False, 'confidence': 0.5, 'citations': []}\n"
            "while True: s.record(r, 'like')",
            str(db),
        ],
        cwd=ROOT,
    )
    time.sleep(3)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    connection = sqlite3.connect(db)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert connection.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] > 0


@pytest.fixture()
def server(index_settings, embedder, tmp_path):
    ensure_index(index_settings, embedder)
    port = free_port()
    env = {
        **os.environ,
        "QA_INDEX_DIR": str(index_settings.index_dir),
        "QA_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
        "QA_RATE_LIMIT_PER_MINUTE": "100000",
        "QA_RATE_LIMIT_BURST": "100000",
    }
    log_path = tmp_path / "server.log"  # a file, not a pipe: the server logs every answer and must never block
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port)], env=env, cwd=ROOT,
            stdout=log, stderr=subprocess.STDOUT, text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{log_path.read_text()[-2000:]}") from None
    process.log_path = log_path  # type: ignore[attr-defined]
    yield url, process
    if process.poll() is None:
        process.kill()
        process.wait()


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _ask(url: str, question: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url + "/api/ask", data=json.dumps({"question": question}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_server_keeps_answering_through_a_rebuild(server, index_settings, tmp_path):
    url, _ = server
    before = _get(url + "/healthz")["corpus_fingerprint"]
    failures: list[int] = []
    answered = [0]
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            status, _ = _ask(url, "When was the seminar held?")
            answered[0] += 1
            if status != 200:
                failures.append(status)

    threads = [threading.Thread(target=keep_asking) for _ in range(4)]
    for thread in threads:
        thread.start()
    build = subprocess.run(
        [sys.executable, "-m", "qa.cli", "build", "--index", str(index_settings.index_dir), _lab_corpus(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    deadline = time.time() + 30
    while time.time() < deadline and _get(url + "/healthz")["corpus_fingerprint"] == before:
        time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    assert _get(url + "/healthz")["corpus_fingerprint"] != before
    assert failures == [] and answered[0] > 10
    assert _ask(url, "When did the Riverside Data Lab open?")[1]["answer"] == "May 1st"


def test_sigterm_finishes_in_flight_requests(server, report_figure):
    url, process = server
    outcomes: list[tuple[object, float]] = []

    def ask_once() -> None:
        try:
            status = _ask(url, "When was the seminar held?")[0]
        except OSError as exc:  # a reset or refused connection: the request was dropped
            status = type(exc).__name__
        outcomes.append((status, time.perf_counter()))

    def run_all(threads: list[threading.Thread]) -> None:
        for thread in threads:
            thread.start()

    # the server's pace at 32 requests at once (concurrent questions are encoded together)
    started = time.perf_counter()
    warm = [threading.Thread(target=ask_once) for _ in range(32)]
    run_all(warm)
    for thread in warm:
        thread.join(timeout=60)
    assert Counter(status for status, _ in outcomes) == {200: 32}
    seconds_each = (time.perf_counter() - started) / 32
    outcomes.clear()
    # a burst that takes the server ~5 s to answer: when SIGTERM lands 1.5 s in, most of it is in flight
    burst = min(600, max(64, math.ceil(5.0 / seconds_each)))
    threads = [threading.Thread(target=ask_once) for _ in range(burst)]
    run_all(threads)
    time.sleep(1.5)  # every request sent and read by the server
    signalled = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=60)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status reports it
    assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    statuses = Counter(status for status, _ in outcomes)
    in_flight = sum(1 for _, finished in outcomes if finished > signalled)
    assert statuses == {200: burst}, statuses
    assert in_flight > 0, "every request finished before SIGTERM: the test proved nothing"
    log = process.log_path.read_text()
    assert "Finished server process" in log and "Traceback" not in log
    # every answer's question is in the question log: the pending writes were drained before the process ended
    assert len(read_questions(process.log_path.with_name("feedback.sqlite3"), 1)) == 32 + burst
    report_figure(f"SIGTERM with {burst} requests sent: {in_flight} were in flight and all {burst} were answered (200)")
