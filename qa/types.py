"""The data that flows between the pipeline's components.

Every offset is a character offset into ``Document.text`` (the cleaned text of the source document),
so that ``document.text[start:end]`` always reproduces the quoted text.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """A cleaned source document and its metadata."""

    doc_id: str
    text: str
    title: str = ""
    source: str = ""
    date: str = ""
    path: str = ""
    checksum: str = ""
    # Character offsets where each page starts (PDFs), so that a citation can name its page.
    page_starts: tuple[int, ...] = ()
    # When the document entered the index, and when its content last changed (UTC, ISO 8601).
    added: str = ""
    updated: str = ""

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset``, or ``None`` for a document without pages."""
        if not self.page_starts:
            return None
        return max(1, bisect_right(self.page_starts, offset))


@dataclass(frozen=True)
class Span:
    """A labelled character span of a document (an entity, a noun chunk or a token)."""

    start: int
    end: int
    label: str = ""


@dataclass(frozen=True)
class Token:
    """A token of an annotated sentence: offsets into the document, lower-cased lemma, POS, stop flag, and
    its dependency head (an index into the sentence's tokens; the root is its own head) and relation."""

    start: int
    end: int
    lemma: str
    pos: str
    is_stop: bool
    head: int = 0
    dep: str = ""


@dataclass
class Sentence:
    """A sentence of a document with the linguistic annotations the reader needs.

    Annotations are computed once, when the index is built, so that answering a question never runs
    the tagger over passages.
    """

    sentence_id: int
    doc_id: str
    start: int
    end: int
    text: str
    tokens: list[Token] = field(default_factory=list)
    entities: list[Span] = field(default_factory=list)
    noun_chunks: list[Span] = field(default_factory=list)


@dataclass(frozen=True)
class Chunk:
    """A retrievable unit: a slice ``[start, end)`` of a document and the sentences it overlaps.

    ``chunk_id`` is the chunk's position in the loaded index (it changes when documents are added or
    removed); ``key`` is its stable 64-bit id in the vector index, derived from the document and the slice.
    """

    chunk_id: int
    doc_id: str
    start: int
    end: int
    text: str
    sentence_ids: tuple[int, ...] = ()
    key: int = 0


@dataclass(frozen=True)
class Passage:
    """A chunk selected by the retriever for one question, with its fused score and rank."""

    chunk: Chunk
    score: float
    rank: int
    dense_score: float = 0.0
    lexical_score: float = 0.0


@dataclass(frozen=True)
class Citation:
    """Where an answer comes from: the answer span and the cited passage, as offsets into the document."""

    doc_id: str
    title: str
    source: str
    date: str
    start: int
    end: int
    passage_start: int
    passage_end: int
    quote: str
    score: float
    page: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ANSWERED, UNSURE, NONE = "answered", "unsure", "none"


@dataclass(frozen=True)
class Lead:
    """Where the documents may answer a question the reader would not answer: the sentence holding its best
    candidate, cited with the candidate's span (the same offsets an answer's citation would have)."""

    sentence: str
    citation: Citation

    def to_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "citation": self.citation.to_dict()}


@dataclass
class Answer:
    """The pipeline's answer to one question.

    ``answer`` is a verbatim span of a document, or ``None`` when the documents do not answer the
    question (``no_answer`` is then true). ``candidate`` keeps the best span the reader found even
    when it abstained, so that evaluation can show what was held back.

    ``outcome`` is one of three: ``answered``; ``unsure`` (no answer, but the best candidate cleared the lead
    floor: ``lead`` shows its sentence as a place to look); ``none`` (the documents don't say).
    """

    question: str
    answer: str | None
    no_answer: bool
    confidence: float
    sentence: str | None = None
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    candidate: str | None = None
    passages: list[Passage] = field(default_factory=list)
    lead: Lead | None = None
    # The question as it was read when its spelling was corrected (qa.ingest.spelling); else None.
    read_as: str | None = None

    @property
    def outcome(self) -> str:
        if not self.no_answer:
            return ANSWERED
        return UNSURE if self.lead is not None else NONE

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape of an answer (``qa ask --json`` and the HTTP API)."""
        return {
            "question": self.question,
            "read_as": self.read_as,
            "answer": self.answer,
            "no_answer": self.no_answer,
            "outcome": self.outcome,
            "confidence": round(float(self.confidence), 4),
            "sentence": self.sentence,
            "citations": [c.to_dict() for c in self.citations],
            "lead": self.lead.to_dict() if self.lead is not None else None,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }
