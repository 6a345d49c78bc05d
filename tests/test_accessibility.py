"""Accessibility in a real browser (WCAG 2.1 AA): axe-core on every page visitors and editors see, and the chat
used with the keyboard alone.

axe-core (tests/vendor/axe-core, MPL-2.0) runs in Debian's Chromium with the WCAG 2.0 and 2.1 A and AA rules; any
violation fails the test, listed with its rule, impact and elements. The chat is checked empty, with an answer,
with a refusal, with an unsure outcome (a lead) and its citation open, with a Chinese answer and with a citation
open, in the light and the dark colour scheme; the
widget embedded in the mock portal page; the admin pages, with a message and with logged questions.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.browser_support import needs_chromium
from tests.conftest import ADMIN_TOKEN

pytestmark = needs_chromium

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SETTLE_MS = 400  # Gradio's buttons animate their focus ring (a transition) and the chat's fixes run on the next frame
ANSWER = "December 15th"
REFUSAL = "I couldn't find that in the documents"
CHINESE_NOTE = "以下答案逐字引自英文原文"
UNSURE = "not sure of the answer"


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's WCAG A/AA violations on the page as it is now, one line each (rule, impact, elements)."""
    page.wait_for_timeout(SETTLE_MS)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map(v => `${v.id} (${v.impact}): ${v.help}: ` +
                v.nodes.map(n => n.target.join(" ") + " " + (n.failureSummary || "").replace(/\\s+/g, " ")).join(" | "));
        }""",
        WCAG_AA,
    )
    return list(found)


def ask(page, question: str, shows: str, scope: str = "") -> None:  # type: ignore[no-untyped-def]
    """Type ``question`` in the chat's question box, press Enter and wait for a reply that shows ``shows``."""
    box = page.locator(f"{scope} textarea".strip()).first
    box.fill(question)
    box.press("Enter")
    page.locator(f"{scope} [data-testid='bot']".strip(), has_text=shows).last.wait_for(timeout=90_000)


def open_last_citation(page, scope: str = "") -> None:  # type: ignore[no-untyped-def]
    """Click the last answer's citation toggle and wait for the cited passage with its highlight."""
    page.locator(f"{scope} [data-testid='bot'] summary".strip()).last.click()
    page.locator(f"{scope} [data-testid='bot'] details[open] blockquote mark".strip()).last.wait_for(timeout=10_000)


def open_chat(browser, url: str, **options):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1100, "height": 1000}, **options)
    page.goto(url)
    page.locator("textarea").first.wait_for(timeout=60_000)
    return page


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_chat_page_has_no_wcag_violations(browser, chat_server, scheme):
    page = open_chat(browser, chat_server + "/", color_scheme=scheme)
    found = {"empty": axe_violations(page)}
    ask(page, "When was the seminar held?", ANSWER)
    found["with an answer"] = axe_violations(page)
    ask(page, "What is the capital of Peru?", REFUSAL)
    found["with a refusal"] = axe_violations(page)
    ask(page, "engineering lab name", UNSURE)
    found["with an unsure outcome"] = axe_violations(page)
    open_last_citation(page)
    found["with a lead's citation open"] = axe_violations(page)
    ask(page, "研讨会是什么时候举行的？", CHINESE_NOTE)
    found["with a Chinese answer"] = axe_violations(page)
    open_last_citation(page)
    found["with a citation open"] = axe_violations(page)
    page.close()
    assert {state: v for state, v in found.items() if v} == {}


def test_embedded_widget_has_no_wcag_violations(browser, portal, chat_server):
    page = open_chat(browser, f"{portal.url}/portal.html?app={chat_server}")
    found = {"empty": axe_violations(page)}
    ask(page, "When was the seminar held?", ANSWER, scope="gradio-app")
    open_last_citation(page, scope="gradio-app")
    assert {state: v for state, v in found.items() if v} == {}, "before the answer"
    assert axe_violations(page) == [], "with an answer and its citation open"
    page.close()


def test_admin_pages_have_no_wcag_violations(browser, chat_server, tmp_path):
    for question in ("Who sponsored the seminar?", "What is the capital of Peru?", "研讨会的门票多少钱？"):
        request = urllib.request.Request(chat_server + "/api/ask", json.dumps({"question": question}).encode(),
                                         {"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=60).read()
    context = browser.new_context(http_credentials={"username": "editor", "password": ADMIN_TOKEN})
    page = context.new_page()
    page.goto(chat_server + "/admin")
    found = {"documents": axe_violations(page)}
    not_a_document = tmp_path / "tool.exe"
    not_a_document.write_bytes(b"MZ")
    page.get_by_label("Document file").set_input_files(str(not_a_document))
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("unsupported file type").wait_for(timeout=30_000)
    found["documents, after a refused upload"] = axe_violations(page)
    page.goto(chat_server + "/admin/questions?days=7")
    page.get_by_text("What is the capital of Peru?").first.wait_for(timeout=30_000)
    assert page.locator("td [lang='zh']", has_text="研讨会的门票多少钱？").count() == 1  # Chinese marked as such
    found["questions"] = axe_violations(page)
    context.close()
    assert {state: v for state, v in found.items() if v} == {}


def _focused(page) -> dict:  # type: ignore[no-untyped-def]
    """The focused element (through the widget's shadow root, if any): its tag, accessible text and focus ring."""
    page.wait_for_timeout(SETTLE_MS)
    return page.evaluate(
        """() => {
            let e = document.activeElement;
            while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;
            const style = getComputedStyle(e);
            return {tag: e.tagName.toLowerCase(), label: e.getAttribute("aria-label") || "",
                    text: (e.innerText || "").trim().slice(0, 80),
                    ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
                    in_bot_message: !!e.closest("[data-testid='bot']")};
        }"""
    )


def test_chat_with_the_keyboard_alone(browser, chat_server, portal):
    """From the first Tab to the answer and its citation, with a visible focus ring on every stop; the answer
    arrives in a live region; the question box has a name; Chinese text is marked as Chinese."""
    page = open_chat(browser, chat_server + "/")
    assert _focused(page)["tag"] == "textarea"  # the chat's own page starts in the question box
    assert page.get_by_role("textbox", name="Your question").count() == 1
    page.keyboard.type("When was the seminar held?")
    page.keyboard.press("Enter")
    answer = page.locator("[data-testid='bot']", has_text=ANSWER).last
    answer.wait_for(timeout=90_000)
    live = answer.evaluate("e => { const r = e.closest('[aria-live]'); return r && r.getAttribute('aria-live'); }")
    assert live in ("polite", "assertive")  # screen readers announce the answer when it arrives
    assert answer.get_attribute("aria-label") is None  # not Gradio's name made of the raw Markdown source

    stops = []
    for _ in range(10):  # back from the question box into the answer
        page.keyboard.press("Shift+Tab")
        stop = _focused(page)
        stops.append(stop)
        if stop["tag"] == "summary":
            break
    assert stops[-1]["tag"] == "summary" and stops[-1]["in_bot_message"], stops
    assert all(stop["ring"] for stop in stops), stops
    names = {stop["label"] for stop in stops}
    assert {"Like", "Dislike", "Copy message"} <= names, stops
    page.keyboard.press("Enter")  # opens the citation
    page.locator("[data-testid='bot'] details[open] blockquote mark", has_text=ANSWER).last.wait_for(timeout=10_000)

    page.locator("textarea").first.focus()
    page.keyboard.type("研讨会在哪里举行？")
    page.keyboard.press("Enter")
    reply = page.locator("[data-testid='bot']", has_text=CHINESE_NOTE).last
    reply.wait_for(timeout=90_000)
    assert reply.locator("[lang='zh']", has_text=CHINESE_NOTE).count() == 1
    assert page.locator("[data-testid='user'] [lang='zh']", has_text="研讨会在哪里举行？").count() == 1
    assert page.locator("button [lang='zh']", has_text="提问").count() == 1  # Gradio's own labels too
    page.close()

    # Embedded in the portal's page, the widget leaves the focus to the page; the first Tab reaches its box.
    page = open_chat(browser, f"{portal.url}/portal.html?app={chat_server}")
    assert _focused(page)["tag"] == "body"
    page.keyboard.press("Tab")
    first = _focused(page)
    assert first["tag"] == "textarea" and first["ring"], first
    page.close()
