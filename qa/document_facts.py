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

from .index import CorpusIndex
from .reader import SpanPrediction
from .types import Passage

DATE, SOURCE = "date", "source"

# The page itself, as visitors name it: "this report", "the article", "the news", "本文", "这篇报道".
_THE_PAGE = r"(?:this|the)\s+(?:news\s+)?(?:article|report|news|page|story|piece|post|item|release)"
# (pattern, which fact it asks for), English then Chinese; the first match wins.
QUESTION_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\b(?:when|what\s+date|which\s+date|what\s+day|which\s+day)\b.*\b{_THE_PAGE}\b.*\b(?:published|posted|released|issued|written|dated|put\s+online)\b", re.I), DATE),
    (re.compile(rf"\b(?:publication|release)\s+date\s+of\s+{_THE_PAGE}\b|\b{_THE_PAGE}'?s?\s+(?:publication\s+)?date\b", re.I), DATE),
    (re.compile(rf"\b(?:source|publisher|author)\s+of\s+{_THE_PAGE}\b|\b(?:who|which\s+\w+)\s+(?:published|wrote|issued|released)\s+{_THE_PAGE}\b", re.I), SOURCE),
    (re.compile(r"(?:本文|这篇|该篇|这则|这条|此篇|这个|该)(?:文章|报道|新闻|消息|稿件)?.{0,6}(?:哪天|何时|什么时候|日期|哪一天|几号|时间).{0,4}(?:发布|发表|刊登|刊发|发出)|(?:发布|发表|刊登|刊发)(?:日期|时间)"), DATE),
    (re.compile(r"(?:本文|这篇|该篇|这则|这条|此篇|该)(?:文章|报道|新闻|消息|稿件)?.{0,4}(?:来源|出处|作者)|(?:谁|哪个(?:部门|单位|机构)).{0,2}(?:发布|发表|撰写)了?(?:这篇|本|该)"), SOURCE),
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

    def read(self, question: str, passages: list[Passage]) -> SpanPrediction | None:
        fact = asked_fact(question)
        if fact is None or not passages:
            return None
        document = self.index.documents[passages[0].chunk.doc_id]
        value = document.date if fact == DATE else document.source
        start = document.text.find(value) if value else -1
        if start < 0:
            return None
        end = start + len(value)
        line_start = document.text.rfind("\n", 0, start) + 1
        line_end = document.text.find("\n", end)
        line_end = len(document.text) if line_end < 0 else line_end
        chunk = next((c for c in self.index.chunks if c.doc_id == document.doc_id and c.start <= start and end <= c.end), None)
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
