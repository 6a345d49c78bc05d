"""Questions answered by a lookup, not a reading: about the page itself, and about the names it defines.

"When was this report published?" and "What is the source of the article?" ask about the document, not about
what it reports, and the page answers them in its byline ("Source:Department of Big Data Development
Date:2020-12-17"), which the loader reads into :class:`~qa.types.Document` ``date`` and ``source``. The span
reader cannot: the byline is not a sentence and the question shares no words with it. This component answers
such questions from the byline of the best retrieved passage's document, citing the value where it stands in
the text, and steps aside (``None``) for every other question or when the document has no such byline.

"What does SIC stand for?" and "What is the full name of the Institute?" ask for the long name a document
defines for a short one (:mod:`qa.ingest.definitions`); :class:`DefinitionReader` answers them with the long name,
cited where it is defined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from qa.ingest.definitions import Definition, find_full_names, short_key
from qa.ingest.loading import byline_offsets
from qa.readers.base import SpanPrediction
from qa.retrieval.hybrid import STOPWORDS
from qa.store.index import CorpusIndex
from qa.types import Chunk, Passage

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
class LookupReader:
    """What the lookups share: the cited span as a :class:`SpanPrediction` in the chunk that holds it."""

    index: CorpusIndex
    confidence: float

    @cached_property
    def _chunks_by_document(self) -> dict[str, list[Chunk]]:
        """Built on first use: most questions never need it."""
        by_document: dict[str, list[Chunk]] = {}
        for chunk in self.index.chunks:
            by_document.setdefault(chunk.doc_id, []).append(chunk)
        return by_document

    def _prediction(
        self, doc_id: str, span: tuple[int, int], context: tuple[int, int], score: float, label: str, feature: str
    ) -> SpanPrediction | None:
        start, end = span
        chunk = next((c for c in self._chunks_by_document.get(doc_id, []) if c.start <= start and end <= c.end), None)
        if chunk is None:
            return None
        return SpanPrediction(
            doc_id=doc_id,
            start=start,
            end=end,
            sentence_start=context[0],
            sentence_end=context[1],
            passage=Passage(chunk=chunk, score=score, rank=0),
            confidence=self.confidence,
            label=label,
            features={feature: 1.0},
        )


@dataclass
class DocumentFactReader(LookupReader):
    """Answers questions about a document's publication from its byline, with the given confidence."""

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
        return self._prediction(document.doc_id, span, (line_start, line_end), passages[0].score, fact.upper(), "document_fact")


# Where the name asked about ends: "the full name of the seminar [held in Shenzhen]".
_NAME_END = re.compile(r"\s+(?:held|in|on|at|that|which|who|from|by|with|was|is|were|are|did|does)\b", re.I)
FULL_NAME_WORDS_KEPT = 256  # words whose full names are kept between questions (each costs one pass over the corpus)
FULL_NAME_PATTERN = re.compile(r"\b(?:full|complete|long|whole)\s+(?:name|form|title)\s+(?:of|for)\s+(?P<name>[^?.!,]{1,60})", re.I)
# "What does SIC stand for?", "What is the full name of the Institute?", "SIC的全称是什么？": the short name asked
# about. tests/test_document_facts.py lists what each must and must not match.
DEFINITION_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bwhat\s+(?:does|do|did)\s+(?P<name>.{1,60}?)\s+(?:stand|stands)\s+for\b", re.I),
    re.compile(r"\b(?P<name>[\w\"“”' -]{1,60}?)\s+stands?\s+for\s+what\b", re.I),
    re.compile(r"\bwhat\s+is\s+(?P<name>.{1,60}?)\s+(?:short|an?\s+(?:abbreviation|acronym))\s+(?:for|of)\b", re.I),
    FULL_NAME_PATTERN,
    re.compile(r"(?P<name>[A-Za-z][A-Za-z .-]{0,58}?)\s*(?:代表什么|是什么的缩写|是什么意思|的全称|全称)"),
)


def asked_short_name(question: str) -> str | None:
    """The short name a question asks the long form of, as written ("SIC", "the Institute"), or ``None``."""
    for pattern in DEFINITION_PATTERNS:
        match = pattern.search(question)
        if match:
            return match.group("name").strip()
    return None


def _names(definition: Definition, asked: str) -> bool:
    """Whether the name a question asks about is the defined one: an acronym as the page writes it, or in
    lower case where that is no common word ("sic", but never "it" for an "IT")."""
    asked = re.sub(r"^the\s+", "", asked, flags=re.I)  # "the SIC"
    if not definition.acronym or asked == definition.written:
        return True
    return asked.islower() and asked not in STOPWORDS


@dataclass
class DefinitionReader(LookupReader):
    """Answers "What does X stand for?" with the long name a document defines for X."""

    _full_names_by_word: dict[str, list[Definition]] = field(default_factory=dict, init=False, repr=False)

    def _full_names(self, word: str) -> list[Definition]:
        """The names written around ``word``, found on its first question (a pass over every sentence)."""
        found = self._full_names_by_word.get(word)
        if found is None:
            found = find_full_names(self.index.sentences, word)
            if len(self._full_names_by_word) >= FULL_NAME_WORDS_KEPT:  # a new dict: other threads keep reading theirs
                self._full_names_by_word = {}
            self._full_names_by_word[word] = found
        return found

    @cached_property
    def _definitions(self) -> dict[str, list[Definition]]:
        by_short: dict[str, list[Definition]] = {}
        for definition in self.index.definitions:
            by_short.setdefault(definition.short, []).append(definition)
        return by_short

    def read(self, question: str, passages: list[Passage]) -> SpanPrediction | None:
        asked = asked_short_name(question)
        definitions = [d for d in self._definitions.get(short_key(asked), []) if _names(d, asked)] if asked else []
        named = short_key(_NAME_END.split(asked)[0]) if asked else ""
        if not definitions and named and FULL_NAME_PATTERN.search(question):
            # no short name defined: "the full name of the seminar" is the longest name written around "Seminar"
            definitions = self._full_names(named.split()[-1])
        if not definitions:
            return None
        # The definition in the best retrieved passage's document (the longest there), else the first one made.
        retrieved = [p.chunk.doc_id for p in passages]
        definition = min(
            definitions,
            key=lambda d: (retrieved.index(d.doc_id) if d.doc_id in retrieved else len(retrieved), -(d.end - d.start)),
        )
        sentence = self.index.sentences[definition.sentence_id]
        score = passages[0].score if passages else 0.0
        return self._prediction(
            definition.doc_id, (definition.start, definition.end), (sentence.start, sentence.end), score, "DEFINITION", "definition"
        )
