"""Answers as safe HTML for the chat: escaped text, the answer in bold, the sentence, the cited passage.

Every piece of document or question text goes through :func:`escape_text`, which escapes HTML and the
characters Markdown would interpret, so a page or a question containing ``<script>`` or ``[x](javascript:…)``
is shown as text. The only markup in the output is the markup written here.
"""

from __future__ import annotations

import re
from typing import Callable

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


def answer_html(answer: Answer, document: Callable[[str], Document], no_answer_hint: str = "") -> str:
    """The chat message for an answer (or a kind "the documents don't say" with a hint)."""
    if answer.no_answer or not answer.citations:
        message = "I couldn't find that in the documents, so I won't guess."
        return message + (f"<br><br>{no_answer_hint}" if no_answer_hint else "")
    citation = answer.citations[0]
    text = document(citation.doc_id).text
    parts = [f"<strong>{escape_text(answer.answer or '')}</strong>"]
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
        parts.append(
            f"<details><summary>[{number}] {where}</summary>"
            f"<blockquote>{_highlight(passage, c.start - c.passage_start, c.end - c.passage_start)}</blockquote>"
            f"<small>document {escape_text(c.doc_id)}, characters {c.start}–{c.end}</small></details>"
        )
    return "".join(parts)
