"""Answers as safe HTML for the chat: escaped text, the answer in bold, the sentence, the cited passage.

Every piece of document or question text goes through :func:`escape_text`, which escapes HTML and the
characters Markdown would interpret, so a page or a question containing ``<script>`` or ``[x](javascript:…)``
is shown as text. The only markup in the output is the markup written here.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Callable

from .corpus import DocumentEntry
from .language import CHINESE, ENGLISH
from .loading import SUPPORTED_NAMES, SUPPORTED_SUFFIXES
from .types import Answer, Document

# HTML's specials and the characters Markdown would interpret, each as a numeric character reference, in one
# pass (escaping HTML first and Markdown after would escape the '#' of "&#x27;" again: "Xi&#x27;an" on screen).
_ESCAPES = {ch: f"&#{ord(ch)};" for ch in "&<>\"'\\`*_{}[]()#+-.!|~"}
_SURROGATE = re.compile("[\ud800-\udfff]")  # not text: the chat's JSON encoder refuses them


def escape_text(text: str) -> str:
    """Text safe to put in the chat's Markdown+HTML: no tag, entity or Markdown syntax survives."""
    return "".join(_ESCAPES.get(ch, ch) for ch in _SURROGATE.sub("\ufffd", text))


def _highlight(text: str, start: int, end: int) -> str:
    return f"{escape_text(text[:start])}<mark>{escape_text(text[start:end])}</mark>{escape_text(text[end:])}"


@dataclass(frozen=True)
class ChatMessages:
    """The chat's own words in one language (the answers themselves are always the documents' words)."""

    no_answer: str
    citation_place: str  # formatted with doc_id (escaped), start, end
    page: str  # formatted with page, put before citation_place for documents with pages (PDF)
    quoted_note: str  # shown before an answer quoted from a document in another language ("" for none)
    invalid: str  # formatted with the reason (escaped)
    unavailable: str


MESSAGES: dict[str, ChatMessages] = {
    ENGLISH: ChatMessages(
        no_answer="I couldn't find that in the documents, so I won't guess.",
        citation_place="document {doc_id}, characters {start}–{end}",
        page="page {page} · ",
        quoted_note="",
        invalid="Please type a question ({reason}).",
        unavailable="Sorry, I can't answer right now. Please try again in a moment.",
    ),
    CHINESE: ChatMessages(
        no_answer="文档中没有找到答案，我不作猜测。",
        citation_place="文档 {doc_id}，第 {start}–{end} 个字符",
        page="第 {page} 页 · ",
        quoted_note="以下答案逐字引自英文原文：",
        invalid="请输入问题（{reason}）。",
        unavailable="抱歉，现在无法回答中文问题，请稍后再试，或用英文提问。",
    ),
}


def answer_html(
    answer: Answer, document: Callable[[str], Document], no_answer_hint: str = "", language: str = ENGLISH
) -> str:
    """The chat message for an answer (or a kind "the documents don't say" with a hint), in ``language``."""
    messages = MESSAGES[language]
    if answer.no_answer or not answer.citations:
        return messages.no_answer + (f"<br><br>{no_answer_hint}" if no_answer_hint else "")
    citation = answer.citations[0]
    text = document(citation.doc_id).text
    note = f"<small>{messages.quoted_note}</small><br>" if messages.quoted_note else ""
    parts = [f"{note}<strong>{escape_text(answer.answer or '')}</strong>"]
    if answer.sentence:
        sentence_start = text.find(answer.sentence, citation.passage_start, citation.passage_end)
        if sentence_start >= 0 and sentence_start <= citation.start < citation.end <= sentence_start + len(answer.sentence):
            shown = _highlight(answer.sentence, citation.start - sentence_start, citation.end - sentence_start)
        else:
            shown = escape_text(answer.sentence)
        parts.append(f"<br><br>“{shown}”")
    for number, c in enumerate(answer.citations, 1):
        passage = text[c.passage_start : c.passage_end]
        where = " · ".join(escape_text(p) for p in (c.title, c.source, c.date) if p)
        place = (messages.page.format(page=c.page) if c.page else "") + messages.citation_place.format(
            doc_id=escape_text(c.doc_id), start=c.start, end=c.end
        )
        parts.append(
            f"<details><summary>[{number}] {where}</summary>"
            f"<blockquote>{_highlight(passage, c.start - c.passage_start, c.end - c.passage_start)}</blockquote>"
            f"<small>{place}</small></details>"
        )
    return "".join(parts)


def admin_page_html(entries: list[DocumentEntry], form_token: str, base: str, message: str = "", version: str = "") -> str:
    """The editors' page: the document list with a remove button each, and an upload form (posting to ``base``
    + "/remove" and "/upload"). All text escaped."""
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str(v))}</td>" for v in (e.doc_id, e.title, e.source, e.date, e.chunks, e.added))
        + f'<td><form method="post" action="{html.escape(base)}/remove">'
        f'<input type="hidden" name="token" value="{html.escape(form_token)}">'
        f'<input type="hidden" name="doc_id" value="{html.escape(e.doc_id)}">'
        '<button type="submit">Remove</button></form></td></tr>'
        for e in entries
    )
    notice = f'<p role="status"><strong>{html.escape(message)}</strong></p>' if message else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>seminar-qa · documents</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>Documents</h1>{notice}<p>Index version: {html.escape(version)} · {len(entries)} documents</p>"
        "<table><tr><th>id</th><th>title</th><th>source</th><th>date</th><th>chunks</th><th>added</th><th></th></tr>"
        f"{rows}</table><h2>Add or replace a document</h2>"
        f'<form method="post" action="{html.escape(base)}/upload" enctype="multipart/form-data">'
        f'<input type="hidden" name="token" value="{html.escape(form_token)}">'
        f'<input type="file" name="file" accept="{html.escape(",".join(sorted(SUPPORTED_SUFFIXES)))}" required> '
        '<button type="submit">Upload</button></form>'
        f"<p>A file with the name of one already uploaded replaces it. Supported: {html.escape(SUPPORTED_NAMES)}.</p>"
        "</body></html>"
    )
