"""Answers as safe HTML for the chat: escaped text, the answer in bold, the sentence, the cited passage.

Every piece of document or question text goes through :func:`escape_text`, which escapes HTML and the
characters Markdown would interpret, so a page or a question containing ``<script>`` or ``[x](javascript:…)``
is shown as text. The only markup in the output is the markup written here.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Callable

from qa.chinese.language import CHINESE, ENGLISH, detect_language
from qa.ingest.loading import SUPPORTED_NAMES, SUPPORTED_SUFFIXES
from qa.serving.insights import DayCount
from qa.store.corpus import DocumentEntry
from qa.types import Answer, Citation, Document

# HTML's specials and the characters Markdown would interpret, each as a numeric character reference, in one
# pass (escaping HTML first and Markdown after would escape the '#' of "&#x27;" again: "Xi&#x27;an" on screen).
_ESCAPES = {ch: f"&#{ord(ch)};" for ch in "&<>\"'\\`*_{}[]()#+-.!|~"}
QUESTION_PERIODS = (7, 30, 90)  # the Questions page's period filter, in days
_SURROGATE = re.compile("[\ud800-\udfff]")  # not text: the chat's JSON encoder refuses them


def escape_text(text: str) -> str:
    """Text safe to put in the chat's Markdown+HTML: no tag, entity or Markdown syntax survives."""
    return "".join(_ESCAPES.get(ch, ch) for ch in _SURROGATE.sub("\ufffd", text))


def lang_attribute(language: str) -> str:
    """`` lang="zh"`` for text in another language than the chat's, English (WCAG 3.1.2: a screen reader then
    reads it with the right voice); "" for English text."""
    return "" if language == ENGLISH else f' lang="{language}"'


def in_language(markup: str, language: str) -> str:
    """Inline ``markup`` marked with its language when that is not the page's."""
    attribute = lang_attribute(language)
    return f"<span{attribute}>{markup}</span>" if attribute else markup


def _highlight(text: str, start: int, end: int, lead: bool = False) -> str:
    """``text`` escaped, with ``[start, end)`` marked: as the answer, or more lightly as a lead's likeliest words."""
    opening = '<mark class="lead">' if lead else "<mark>"
    return f"{escape_text(text[:start])}{opening}{escape_text(text[start:end])}</mark>{escape_text(text[end:])}"


@dataclass(frozen=True)
class ChatMessages:
    """The chat's own words in one language (the answers themselves are always the documents' words)."""

    no_answer: str
    unsure: str  # before a lead: not sure, and where to look
    citation_place: str  # formatted with doc_id (escaped), start, end
    page: str  # formatted with page, put before citation_place for documents with pages (PDF)
    quoted_note: str  # shown before an answer quoted from a document in another language ("" for none)
    invalid: str  # formatted with the reason (escaped)
    unavailable: str
    read_as: str  # formatted with the question as it was read, when its spelling was corrected (escaped)


MESSAGES: dict[str, ChatMessages] = {
    ENGLISH: ChatMessages(
        no_answer="I couldn't find that in the documents, so I won't guess.",
        unsure="I'm not sure of the answer. This passage may have it (the likeliest words are underlined):",
        citation_place="document {doc_id}, characters {start}–{end}",
        page="page {page} · ",
        quoted_note="",
        invalid="Please type a question ({reason}).",
        unavailable="Sorry, I can't answer right now. Please try again in a moment.",
        read_as="Read as: “{question}”",
    ),
    CHINESE: ChatMessages(
        no_answer="文档中没有找到答案，我不作猜测。",
        unsure="我不确定答案。以下原文可能有答案（最可能的词语加了下划线）：",
        citation_place="文档 {doc_id}，第 {start}–{end} 个字符",
        page="第 {page} 页 · ",
        quoted_note="以下答案逐字引自英文原文：",
        invalid="请输入问题（{reason}）。",
        unavailable="抱歉，现在无法回答中文问题，请稍后再试，或用英文提问。",
        read_as="按此理解：“{question}”",
    ),
}


def answer_html(
    answer: Answer, document: Callable[[str], Document], no_answer_hint: str = "", language: str = ENGLISH
) -> str:
    """The chat message for an answer (or a kind "the documents don't say" with a hint), in ``language``, led by
    the question as it was read when its spelling was corrected."""
    messages = MESSAGES[language]
    body = _answer_body(answer, document, no_answer_hint, language, messages)
    if answer.read_as is None:
        return body
    read_as = messages.read_as.format(question=escape_text(answer.read_as))
    return f"<small{lang_attribute(language)}>{read_as}</small><br><br>{body}"


def _answer_body(
    answer: Answer, document: Callable[[str], Document], no_answer_hint: str, language: str, messages: ChatMessages
) -> str:
    own = lang_attribute(language)  # the chat's wording is in the question's language
    if answer.lead is not None:
        return _lead_html(answer, document, messages, language)
    if answer.no_answer or not answer.citations:
        return in_language(messages.no_answer, language) + (f"<br><br>{in_language(no_answer_hint, language)}" if no_answer_hint else "")
    citation = answer.citations[0]
    text = document(citation.doc_id).text
    quoted = detect_language(text[citation.passage_start : citation.passage_end])  # the document's language
    note = f"<small{own}>{messages.quoted_note}</small><br>" if messages.quoted_note else ""
    parts = [f"{note}<strong{lang_attribute(quoted)}>{escape_text(answer.answer or '')}</strong>"]
    if answer.sentence:
        parts.append(f"<br><br>{_sentence_html(answer.sentence, citation, text, quoted)}")
    parts += [_citation_html(number, c, text, messages, own) for number, c in enumerate(answer.citations, 1)]
    return "".join(parts)


def _lead_html(answer: Answer, document: Callable[[str], Document], messages: ChatMessages, language: str) -> str:
    """An unsure outcome: that the bot is not sure, then the lead's sentence with the likeliest words lightly
    marked, and its citation: a place to look, not an answer."""
    assert answer.lead is not None
    citation = answer.lead.citation
    text = document(citation.doc_id).text
    quoted = detect_language(text[citation.passage_start : citation.passage_end])
    sentence = _sentence_html(answer.lead.sentence, citation, text, quoted, lead=True)
    return (f"{in_language(escape_text(messages.unsure), language)}<br><br>{sentence}"
            + _citation_html(1, citation, text, messages, lang_attribute(language), lead=True))


def _sentence_html(sentence: str, citation: Citation, text: str, language: str, lead: bool = False) -> str:
    """The quoted sentence, with the cited span marked when the sentence holds it."""
    sentence_start = text.find(sentence, citation.passage_start, citation.passage_end)
    if sentence_start >= 0 and sentence_start <= citation.start < citation.end <= sentence_start + len(sentence):
        shown = _highlight(sentence, citation.start - sentence_start, citation.end - sentence_start, lead)
    else:
        shown = escape_text(sentence)
    return in_language(f"“{shown}”", language)


def _citation_html(number: int, c: Citation, text: str, messages: ChatMessages, own: str, lead: bool = False) -> str:
    """A citation: where it comes from, and the passage (the span marked) behind a toggle."""
    passage = text[c.passage_start : c.passage_end]
    where = " · ".join(escape_text(p) for p in (c.title, c.source, c.date) if p)
    place = (messages.page.format(page=c.page) if c.page else "") + messages.citation_place.format(
        doc_id=escape_text(c.doc_id), start=c.start, end=c.end
    )
    return (
        f"<details><summary>[{number}] {in_language(where, detect_language(where))}</summary>"
        f"<blockquote{lang_attribute(detect_language(passage))}>"
        f"{_highlight(passage, c.start - c.passage_start, c.end - c.passage_start, lead)}</blockquote>"
        f"<small{own}>{place}</small></details>"
    )


def admin_page_html(entries: list[DocumentEntry], form_token: str, base: str, message: str = "", version: str = "") -> str:
    """The editors' page: the document list with a remove button each, and an upload form (posting to ``base``
    + "/remove" and "/upload"). All text escaped."""
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(str(v))}</td>" for v in (e.doc_id, e.title, e.source, e.date, e.chunks, e.added))
        + f'<td><form method="post" action="{html.escape(base)}/remove">'
        f'<input type="hidden" name="token" value="{html.escape(form_token)}">'
        f'<input type="hidden" name="doc_id" value="{html.escape(e.doc_id)}">'
        f'<button type="submit" aria-label="Remove {html.escape(e.doc_id)}">Remove</button></form></td></tr>'
        for e in entries
    )
    notice = f'<p role="status"><strong>{html.escape(message)}</strong></p>' if message else ""
    return (
        _admin_head("documents", base)
        + f"<h1>Documents</h1>{notice}<p>Index version: {html.escape(version)} · {len(entries)} documents</p>"
        "<table><tr>" + "".join(f'<th scope="col">{h}</th>' for h in ("id", "title", "source", "date", "chunks", "added", "action"))
        + "</tr>"
        f"{rows}</table><h2>Add or replace a document</h2>"
        f'<form method="post" action="{html.escape(base)}/upload" enctype="multipart/form-data">'
        f'<input type="hidden" name="token" value="{html.escape(form_token)}">'
        '<label for="upload-file">Document file</label> '
        f'<input type="file" id="upload-file" name="file" accept="{html.escape(",".join(sorted(SUPPORTED_SUFFIXES)))}" required> '
        '<button type="submit">Upload</button></form>'
        f"<p>A file with the name of one already uploaded replaces it. Supported: {html.escape(SUPPORTED_NAMES)}.</p>"
        "</body></html>"
    )


_ADMIN_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    "nav a,.period a{margin-right:1em}small{color:#555}:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}"
)


def _admin_head(page: str, base: str) -> str:
    """The admin pages' head and navigation (``page``: "documents" or "questions")."""
    links = " ".join(
        f'<strong aria-current="page">{label}</strong>' if name == page else f'<a href="{html.escape(base + path)}">{label}</a>'
        for name, label, path in (("documents", "Documents", ""), ("questions", "Questions", "/questions"))
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>seminar-qa · {page}</title>"
        f"<style>{_ADMIN_STYLE}</style></head><body><nav aria-label='Admin pages'>{links}</nav>"
    )


def _table(headers: tuple[str, ...], rows: list[list[str]], empty: str) -> str:
    """A table of cells that are already HTML (escaped by the caller), or ``empty`` when there are no rows."""
    if not rows:
        return f"<p><em>{html.escape(empty)}</em></p>"
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _asked_cell(record: dict[str, Any]) -> str:
    """The representative question, with its other wordings underneath."""
    others = [in_language(html.escape(q), detect_language(q)) for q in record["examples"][1:]]
    return in_language(html.escape(record["question"]), detect_language(record["question"])) + (f"<br><small>also: {' · '.join(others)}</small>" if others else "")


def _when_cells(record: dict[str, Any]) -> list[str]:
    return [str(record["count"]), html.escape(record["first_asked"]), html.escape(record["last_asked"]),
            f"{record['answered_share']:.0%}"]


def questions_chart_svg(days: list[DayCount]) -> str:
    """Questions per day as stacked bars (answered blue, not answered orange, each 3:1 or more against the page
    as WCAG 1.4.11 asks of graphics), an inline SVG with a legend."""
    width, height, top = 720, 140, 10
    tallest = max((d.answered + d.unanswered for d in days), default=0) or 1
    step = width / max(len(days), 1)
    bars = []
    for n, d in enumerate(days):
        x = n * step
        for value, below, colour in ((d.answered, 0, "#2b6cb0"), (d.unanswered, d.answered, "#c05621")):
            if value:
                h, y = value / tallest * height, top + height - (below + value) / tallest * height
                bars.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
                            f'fill="{colour}"><title>{d.day}: {value}</title></rect>')
    first, last = (days[0].day, days[-1].day) if days else ("", "")
    return (
        f'<svg role="img" aria-label="Questions per day, answered and not answered" width="{width}" '
        f'height="{height + top + 34}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">'
        f'<line x1="0" y1="{top + height}" x2="{width}" y2="{top + height}" stroke="#999"/>{"".join(bars)}'
        f'<text x="0" y="{top + height + 14}">{first}</text>'
        f'<text x="{width}" y="{top + height + 14}" text-anchor="end">{last}</text>'
        f'<text x="{width}" y="{top + 8}" text-anchor="end">most in a day: {tallest}</text>'
        f'<rect x="0" y="{top + height + 22}" width="10" height="10" fill="#2b6cb0"/>'
        f'<text x="14" y="{top + height + 31}">answered</text>'
        f'<rect x="90" y="{top + height + 22}" width="10" height="10" fill="#c05621"/>'
        f'<text x="104" y="{top + height + 31}">not answered</text></svg>'
    )


def questions_page_html(
    records: dict[str, list[dict[str, Any]]], days: list[DayCount], period: int, base: str, log_on: bool
) -> str:
    """The editors' Questions page: questions per day, then the unanswered, unsure, low-confidence and disliked groups
    of the last ``period`` days (``records`` by status, as :func:`qa.serving.insights.select` gives them). All text
    escaped: visitors typed it."""
    periods = " ".join(
        f"<strong>{n} days</strong>" if n == period else f'<a href="{html.escape(base)}/questions?days={n}">{n} days</a>'
        for n in QUESTION_PERIODS
    )
    total = sum(d.answered + d.unanswered for d in days)
    answered = sum(d.answered for d in days)
    off = "" if log_on else "<p role='status'><strong>The question log is off (QA_QUESTION_LOG): new questions are not recorded.</strong></p>"
    unanswered = _table(
        ("question", "not answered", "asked", "first asked", "last asked", "answered"),
        [[_asked_cell(r), str(r["matching"]), *_when_cells(r)] for r in records["unanswered"]],
        "No unanswered questions in this period.",
    )
    unsure = _table(
        ("question", "passage shown", "unsure", "confidence", "asked", "first asked", "last asked", "answered"),
        [[_asked_cell(r), f"<small>{html.escape(r['doc_id'] or '')}</small><br>{html.escape(r['passage'] or '')}",
          str(r["matching"]), f"{r['confidence']:.2f}", *_when_cells(r)] for r in records.get("unsure", [])],
        "No unsure outcomes in this period.",
    )
    low = _table(
        ("question", "answer", "confidence", "asked", "first asked", "last asked", "answered"),
        [[_asked_cell(r), html.escape(r["answer"] or ""), f"{r['confidence']:.2f}", *_when_cells(r)] for r in records["low_confidence"]],
        "No low-confidence answers in this period.",
    )
    disliked = _table(
        ("question", "answer", "cited passage", "dislikes", "asked", "first asked", "last asked", "answered"),
        [[_asked_cell(r), html.escape(r["answer"] or "(no answer)"),
          f"<small>{html.escape(r['doc_id'] or '')}</small><br>{html.escape(r['passage'] or '')}", str(r["matching"]),
          *_when_cells(r)] for r in records["disliked"]],
        "No disliked answers in this period.",
    )
    return (
        _admin_head("questions", base)
        + f"<h1>Questions</h1>{off}<p class='period'>Period: {periods} · "
        f'<a href="{html.escape(base)}/questions.csv?days={period}" download>Download CSV</a></p>'
        f"<p>{total} questions, {answered} answered ({answered / total if total else 0:.0%}).</p>"
        f"{questions_chart_svg(days)}"
        f"<h2>Not answered</h2><p><small>Questions the documents did not answer, paraphrases grouped, most asked first: "
        f"what to add to a page.</small></p>{unanswered}"
        f"<h2>Unsure: shown a passage to look at</h2><p><small>No answer was given, but the visitor was shown the "
        f"likeliest sentence: if it answers, the page could say it more plainly.</small></p>{unsure}"
        f"<h2>Low-confidence answers</h2><p><small>Answers given with little confidence: worth checking.</small></p>{low}"
        f"<h2>Disliked answers</h2>{disliked}</body></html>"
    )
