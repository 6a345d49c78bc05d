"""Questions about the page itself: when it was published and by whom.

"When was this report published?" and "What is the source of the article?" ask about the document, not about
what it reports, and the page answers them in its byline ("Source:Department of Big Data Development
Date:2020-12-17"), which the loader reads into :class:`~qa.types.Document` ``date`` and ``source``. The span
reader cannot: the byline is not a sentence and the question shares no words with it. This component answers
such questions from the byline of the best retrieved passage's document, citing the value where it stands in
the text, and steps aside (``None``) for every other question or when the document has no such byline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from .index import CorpusIndex
from .loading import byline_offsets
from .reader import SpanPrediction
from .types import Chunk, Passage

DATE, SOURCE = "date", "source"

# The page itself, as visitors name it. "this" with any of these nouns ("this report", "this news item"); "the"
# only with the nouns that name a page and nothing it reports, and not followed by a qualifier ("the article"
# but not "the report on smart cities", "the release date of the new policy").
_THIS_PAGE = r"(?:this|the\s+present)\s+(?:news\s+)?(?:article|report|news|page|story|piece|post|item|text|document)"
_THE_PAGE = r"the\s+(?:news\s+)?(?:article|news|page|story|post)(?!\s+(?:on|about|of|by|from|in|for)\b)"
_PAGE = rf"(?:{_THIS_PAGE}|{_THE_PAGE})"
_PUBLISHED = r"(?:published|posted|released|issued|written|dated|put\s+online)"
# Chinese: a demonstrative for the page itself, then optionally what it is.
_ZH_PAGE = r"(?:本文|此文|该文|这篇|此篇|该篇|这则|这条)(?:文章|报道|新闻|消息|稿件)?"
# (pattern, which fact it asks for); the first match wins. tests/test_document_facts.py lists what each
# must and must not match.
QUESTION_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\b(?:when|what\s+date|which\s+date|what\s+day|which\s+day)\b.*\b{_PAGE}\s+(?:was\s+|first\s+)*{_PUBLISHED}\b", re.I), DATE),
    (re.compile(rf"\bwhen\s+was\s+(?:this|it)\s+{_PUBLISHED}\b", re.I), DATE),
    (re.compile(rf"\b(?:(?:publication|release)\s+)?date\s+of\s+{_PAGE}|\b{_PAGE}'s\s+(?:publication\s+)?date\b", re.I), DATE),
    (re.compile(rf"\b(?:source|publisher|author)\s+of\s+{_PAGE}|\b{_PAGE}'s\s+(?:source|publisher|author)\b", re.I), SOURCE),
    (re.compile(rf"\b(?:who|which\s+\w+)\s+(?:published|wrote|issued|released)\s+{_PAGE}", re.I), SOURCE),
    (re.compile(rf"{_ZH_PAGE}.{{0,6}}(?:哪天|何时|什么时候|日期|哪一天|几号|时间).{{0,4}}(?:发布|发表|刊登|刊发|发出)|{_ZH_PAGE}.{{0,4}}(?:发布|发表|刊登|刊发)(?:于|在)?(?:哪天|何时|什么时候|哪一天|几号)|{_ZH_PAGE}的?(?:发布|发表)(?:日期|时间)"), DATE),
    (re.compile(rf"{_ZH_PAGE}.{{0,4}}(?:来源|出处|作者)|(?:谁|哪个(?:部门|单位|机构))(?:发布|发表|撰写)了?{_ZH_PAGE}"), SOURCE),
)


def asked_fact(question: str) -> str | None:
    """:data:`DATE` or :data:`SOURCE` when the question asks when or by whom the page was published."""
    for pattern, fact in QUESTION_PATTERNS:
        if pattern.search(question):
            return fact
    return None


@dataclass
class DocumentFactReader:
    """Answers questions about a document's publication from its byline, with the given confidence."""

    index: CorpusIndex
    confidence: float

    @cached_property
    def _chunks_by_document(self) -> dict[str, list[Chunk]]:
        """Built on first use: most questions never need it."""
        by_document: dict[str, list[Chunk]] = {}
        for chunk in self.index.chunks:
            by_document.setdefault(chunk.doc_id, []).append(chunk)
        return by_document

    def read(self, question: str, passages: list[Passage]) -> SpanPrediction | None:
        fact = asked_fact(question)
        if fact is None or not passages:
            return None
        document = self.index.documents[passages[0].chunk.doc_id]
        span = byline_offsets(document.text).get(fact)
        if span is None:
            return None
        start, end = span
        line_start = document.text.rfind("\n", 0, start) + 1
        line_end = document.text.find("\n", end)
        line_end = len(document.text) if line_end < 0 else line_end
        chunk = next((c for c in self._chunks_by_document.get(document.doc_id, []) if c.start <= start and end <= c.end), None)
        if chunk is None:
            return None
        return SpanPrediction(
            doc_id=document.doc_id,
            start=start,
            end=end,
            sentence_start=line_start,
            sentence_end=line_end,
            passage=Passage(chunk=chunk, score=passages[0].score, rank=0),
            confidence=self.confidence,
            label=fact.upper(),
            features={"document_fact": 1.0},
        )
