"""End to end, as the portal uses it: a real server, a mock portal page on another origin, real Chromium.

Needs Debian's Chromium (/usr/bin/chromium, installed by .ci/run) and the playwright package (its driver
only: the browser is never downloaded). Skipped, with the reason, where Chromium is missing. The browser, the
portal page and the chat server are shared with tests/test_accessibility.py (conftest.py).
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from tests.browser_support import StaticServer, needs_chromium, running_app

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def other_origin(tmp_path_factory):
    folder = tmp_path_factory.mktemp("other-origin")
    (folder / "index.html").write_text("<!doctype html><title>not allowed</title><p>another site</p>")
    server = StaticServer(folder)
    yield server
    server.close()


HOSTILE_PAGE = (
    "Riverside <b onmouseover=\"alert('title')\">Data</b> Lab opens\nSource:Press Office Date:2021-05-01\n\n"
    "The Riverside Data Lab opened on May 1st in Lisbon. <script>alert('doc-script')</script>\n\n"
    "The director of the Riverside Data Lab is Ana Costa. <img src=x onerror=\"alert('doc-img')\"> "
    "[Read more](javascript:alert('doc-link')) <iframe src=\"javascript:alert('doc-frame')\"></iframe> "
    "<a href=\"javascript:alert('doc-a')\">click</a>\n"
)


@pytest.fixture(scope="module")
def hostile_server(seminar_settings, embedder, tmp_path_factory):
    """The app serving one document full of markup that would run if it were ever rendered as HTML."""
    import dataclasses

    from qa.pipeline import ensure_index

    folder = tmp_path_factory.mktemp("hostile")
    (folder / "docs").mkdir()
    (folder / "docs" / "lab.md").write_text(HOSTILE_PAGE)
    settings = dataclasses.replace(seminar_settings, index_dir=folder / "index")
    ensure_index(settings, embedder, corpus=[str(folder / "docs")])
    with running_app(folder, settings.index_dir) as url:
        yield url


def test_portal_page_chats_through_the_embedded_widget(browser, portal, chat_server, tmp_path):
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    page.goto(f"{portal.url}/portal.html?app={chat_server}")
    box = page.locator("gradio-app textarea").first
    box.wait_for(timeout=60_000)
    box.fill("When was the seminar held?")
    box.press("Enter")
    answer = page.locator("gradio-app strong", has_text="December 15th").first
    answer.wait_for(timeout=60_000)
    page.locator("gradio-app summary", has_text="[1]").first.click()
    page.locator("gradio-app mark", has_text="December 15th").first.wait_for(timeout=10_000)
    # With QA_SCREENSHOT_DIR set, saved there as chat-embedded.png (the README's screenshot).
    screenshot = Path(os.environ.get("QA_SCREENSHOT_DIR") or tmp_path) / "chat-embedded.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    page.close()


def test_unsure_outcome_shows_the_lead_in_the_chat(browser, chat_server, tmp_path):
    """Not sure: the chat says so, shows the lead's sentence with the likeliest words marked more lightly than an
    answer, its citation, and in the question's language; announced by the live region like an answer."""
    from tests.test_accessibility import ask, open_chat

    page = open_chat(browser, chat_server + "/")
    ask(page, "engineering lab name", "I'm not sure of the answer")
    reply = page.locator("[data-testid='bot']", has_text="I'm not sure of the answer").last
    lead = reply.locator("mark.lead").first
    assert "Engineering Laboratory" in reply.inner_text() and lead.inner_text()
    assert reply.locator("strong").count() == 0 and reply.locator("mark:not(.lead)").count() == 0  # no answer
    style = lead.evaluate("e => { const s = getComputedStyle(e); return [s.backgroundColor, s.textDecorationLine]; }")
    assert style == ["rgb(254, 249, 195)", "underline"], style  # lighter than an answer's #fde68a, and underlined
    live = reply.evaluate("e => { const r = e.closest('[aria-live]'); return r && r.getAttribute('aria-live'); }")
    assert live in ("polite", "assertive")
    reply.locator("summary", has_text="[1]").click()
    reply.locator("details[open] blockquote mark.lead").wait_for(timeout=10_000)
    assert "characters" in reply.locator("details[open] small").inner_text()
    # With QA_SCREENSHOT_DIR set, saved there as chat-unsure.png (the README's screenshot of an unsure outcome).
    screenshot = Path(os.environ.get("QA_SCREENSHOT_DIR") or tmp_path) / "chat-unsure.png"
    reply.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 5_000

    ask(page, "研讨会的主持人是谁？", "我不确定答案")
    chinese = page.locator("[data-testid='bot']", has_text="我不确定答案").last
    assert chinese.locator("[lang='zh']", has_text="我不确定答案").count() == 1
    assert chinese.locator("mark.lead").count() >= 1
    page.close()


def test_hostile_question_is_shown_as_text(browser, chat_server):
    page = browser.new_page()
    page.goto(chat_server + "/")
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    box = page.locator("textarea").first
    box.wait_for(timeout=60_000)
    box.fill('<img src=x onerror="alert(1)"><script>alert(2)</script> when?')
    box.press("Enter")
    page.get_by_text('<img src=x onerror="alert(1)">', exact=False).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert alerts == []
    assert page.locator("img[src='x']").count() == 0
    page.close()


def test_disallowed_origin_is_refused(browser, other_origin, chat_server):
    page = browser.new_page()
    page.goto(other_origin.url + "/index.html")
    outcome = page.evaluate(
        """async (app) => {
            try {
                const r = await fetch(app + "/api/ask", {method: "POST", headers: {"Content-Type": "application/json"},
                                                        body: JSON.stringify({question: "When was the seminar held?"})});
                return "allowed " + r.status;
            } catch (e) { return "refused"; }
        }""",
        chat_server,
    )
    assert outcome == "refused"
    page.close()


def test_gradio_client_api(chat_server):
    from gradio_client import Client

    client = Client(chat_server + "/", verbose=False)
    result = client.predict("Who is the Vice Mayor of the Shenzhen Municipal Government?", api_name="/ask")
    assert result["answer"] == "Ai Xuefeng" and result["citations"][0]["quote"] == "Ai Xuefeng"


def test_hostile_document_is_shown_as_text_in_the_citation(browser, hostile_server):
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(hostile_server + "/")
    box = page.locator("textarea").first
    box.wait_for(timeout=60_000)
    box.fill("Who is the director of the Riverside Data Lab?")
    box.press("Enter")
    page.locator("strong", has_text="Ana Costa").first.wait_for(timeout=60_000)
    page.locator("summary", has_text="[1]").first.click()
    passage = page.locator("details blockquote").first
    passage.wait_for(timeout=10_000)
    shown = passage.inner_text()
    # the markup is there, as text: escaped, not stripped and not run
    assert "<img src=x onerror=\"alert('doc-img')\">" in shown and "[Read more](javascript:alert('doc-link'))" in shown
    assert "<iframe src=\"javascript:alert('doc-frame')\"></iframe>" in shown
    assert "<b onmouseover" in page.locator("summary", has_text="[1]").first.inner_text()
    page.locator("summary", has_text="[1]").first.hover()
    page.wait_for_timeout(1000)
    assert alerts == []
    assert page.locator("img[src='x']").count() == 0 and page.locator("iframe").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0 and page.locator("b[onmouseover]").count() == 0
    assert page.evaluate("() => [...document.scripts].filter(s => s.text.includes('doc-script')).length") == 0
    page.close()


HOSTILE_QUESTION = '<img src=x onerror="alert(1)"><script>alert(2)</script> Who is the mayor of Guangzhou?'


def test_questions_page_lists_a_hostile_question_as_text(browser, seminar_pipeline, tmp_path):
    """Visitors ask through the API; the editor's Questions page shows their words as text and runs nothing.
    With QA_SCREENSHOT_DIR set, the page is saved there as questions-page.png (the screenshot in docs/operations.md)."""
    asked = [HOSTILE_QUESTION, "Who's the mayor of Guangzhou?", "who is guangzhou's mayor", "How much did the seminar cost?",
             "What did the seminar cost?", "When was the seminar held?", "Who sponsored the seminar?", "研讨会在哪里举行？"]
    token = "editor-secret-token"
    with running_app(tmp_path, seminar_pipeline.settings.index_dir, QA_ADMIN_TOKEN=token) as url:
        for question in asked:
            request = urllib.request.Request(url + "/api/ask", json.dumps({"question": question}).encode(),
                                             {"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=30).read()
        page = browser.new_page(viewport={"width": 1100, "height": 900}, http_credentials={"username": "editor", "password": token})
        alerts: list[str] = []
        page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
        page.goto(url + "/admin/questions?days=7")
        page.get_by_text("Not answered").first.wait_for(timeout=30_000)
        assert HOSTILE_QUESTION in page.locator("table").first.inner_text()
        page.wait_for_timeout(500)
        assert alerts == [] and page.locator("img[src='x']").count() == 0
        assert page.locator("svg rect").count() > 2  # the chart of questions per day
        if os.environ.get("QA_SCREENSHOT_DIR"):
            page.screenshot(path=str(Path(os.environ["QA_SCREENSHOT_DIR"]) / "questions-page.png"), full_page=True)
        page.close()
