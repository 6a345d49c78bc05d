"""Shared fixtures: the embedding model and the seminar pipeline are loaded once per test session."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from qa.config import DEFAULT_CORPUS, Settings
from qa.pipeline import QAPipeline, make_embedder

# The exported ONNX encoder goes to a folder of this test session, inherited by the app processes the tests
# start: the tests neither read nor write the user's cache (a read-only HOME in CI must not matter).
_MODEL_CACHE = tempfile.mkdtemp(prefix="seminar-qa-model-cache-")
os.environ["QA_MODEL_CACHE_DIR"] = _MODEL_CACHE
atexit.register(shutil.rmtree, _MODEL_CACHE, ignore_errors=True)

ROOT = Path(__file__).resolve().parent.parent
SEMINAR_QUESTIONS = ROOT / "eval" / "questions" / "seminar.jsonl"
SEMINAR_ZH_QUESTIONS = ROOT / "eval" / "questions" / "seminar_zh.jsonl"
SQUAD_SET = ROOT / "eval" / "benchmarks" / "squad2_dev_small.json"
_FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture
def report_figure(request):  # type: ignore[no-untyped-def]
    """``report_figure(line)``: a measured figure (e.g. the load test's p95), printed at the end of the run."""
    return request.config.stash.setdefault(_FIGURES, []).append


def pytest_terminal_summary(terminalreporter, config) -> None:  # type: ignore[no-untyped-def]
    figures = config.stash.get(_FIGURES, [])
    if figures:
        terminalreporter.section("figures")
        for line in figures:
            terminalreporter.write_line(line)
    _say_what_did_not_run(terminalreporter)


NOT_RUN_FILE = ROOT / ".pytest_cache" / "not-run.txt"  # `make test` prints it after pytest's own last line


def _say_what_did_not_run(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """For tests skipped for want of a program (Chromium, PostgreSQL, nginx), a plain line saying so (and how to
    run them), written for `make test` to print last: a newcomer must not read "passed" as "everything ran"."""
    from tests.browser_support import NO_CHROMIUM
    from tests.services import NO_NGINX, NO_POSTGRES

    missing = (
        (NO_CHROMIUM, "browser and accessibility tests", "there is no Chromium here", "chromium"),
        (NO_POSTGRES, "PostgreSQL tests", "PostgreSQL's server programs are not installed", "postgresql"),
        (NO_NGINX, "nginx tests", "nginx is not installed", "nginx-light"),
    )
    lines = []
    for reason, what, why, package in missing:
        skipped = [r.nodeid for r in terminalreporter.stats.get("skipped", [])
                   if isinstance(r.longrepr, tuple) and reason in str(r.longrepr[2])]
        if skipped:
            files = sorted({nodeid.split("::")[0] for nodeid in skipped})
            lines.append(f"NOT RUN: {len(skipped)} {what} ({', '.join(files)}): {why}. To run them: apt-get install "
                         f"{package}, then make test (bash .ci/run installs it and runs everything).\n")
    NOT_RUN_FILE.unlink(missing_ok=True)
    if lines:
        NOT_RUN_FILE.parent.mkdir(exist_ok=True)
        NOT_RUN_FILE.write_text("".join(lines))


@pytest.fixture(scope="session")
def embedder():
    return make_embedder(Settings.load())


@pytest.fixture(scope="session")
def seminar_settings(tmp_path_factory) -> Settings:
    return Settings.load(index_dir=tmp_path_factory.mktemp("seminar-index"), corpus=[str(DEFAULT_CORPUS)])


@pytest.fixture(scope="session")
def seminar_pipeline(seminar_settings, embedder) -> QAPipeline:
    from qa.pipeline import ensure_index

    index = ensure_index(seminar_settings, embedder)
    return QAPipeline.from_index(index, embedder, seminar_settings)


@pytest.fixture(scope="session")
def rules_pipeline(seminar_pipeline) -> QAPipeline:
    """The seminar pipeline with the rule reader alone (``QA_READER=rules``), on the same index."""
    import dataclasses

    settings = dataclasses.replace(seminar_pipeline.settings, reader="rules")
    return QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, settings)


def write_old_database(path: Path, create: str, insert: str, rows: list[tuple]) -> None:
    """A SQLite database as an earlier version of the app wrote it: its table, with ``rows``."""
    import sqlite3

    old = sqlite3.connect(path)
    old.execute(create)
    old.executemany(insert, rows)
    old.commit()
    old.close()


@pytest.fixture(scope="session")
def seminar_text() -> str:
    from qa.ingest.loading import load_corpus

    return load_corpus([DEFAULT_CORPUS])[0].text


# The browser tests' shared pieces (tests/test_browser.py, tests/test_accessibility.py): one Chromium, the mock
# portal page on its own origin, and one chat server that allows that origin and has the admin pages on.
ADMIN_TOKEN = "editor-secret-token"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    from tests.browser_support import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def portal():
    from tests.browser_support import StaticServer

    server = StaticServer(ROOT / "examples")
    yield server
    server.close()


@pytest.fixture(scope="session")
def chat_server(seminar_pipeline, portal, tmp_path_factory):
    from tests.browser_support import running_app

    # The reader and the lead floor are pinned (the fitted floor, and the learned reader's model, may move): the
    # browser tests check how the chat shows each outcome, so they need one of each. With the rule reader,
    # "engineering lab name" (confidence 0.22) is unsure, "What is the capital of Peru?" (0.02) gets nothing.
    with running_app(tmp_path_factory.mktemp("app"), seminar_pipeline.settings.index_dir, QA_READER="rules",
                     QA_ALLOWED_ORIGINS=portal.url, QA_ADMIN_TOKEN=ADMIN_TOKEN, QA_LEAD_FLOOR="0.1") as url:
        yield url
