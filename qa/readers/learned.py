"""The learned reader: a span model reads the passages, a combiner chooses the answer and whether to give it.

For a question over the retrieved passages:

1. the rule reader analyses the question and gives its own best span and, for every sentence of the
   passages, its evidence: coverage of the question's terms, embedding similarity and the near-miss flags
   (a proper name missing, a negation missing, an opposite word, a title modifier missing);
2. the span model (:class:`~qa.readers.span_model.OnnxSpanModel`) reads the best passages, in windows, and
   proposes its best spans, each with a score and the window's "no answer" score (the other passages are
   read only when the combiner is not sure after these: see :class:`LearnedReader`); or, with
   ``sentence_windows``, one window packed with the passages' best sentences and their neighbours
   (:mod:`qa.readers.sentence_windows`);
3. the rule reader's span joins the candidates, scored by the span model where a window holds it;
   where the model folder has a sentence scorer (:mod:`qa.readers.sentence_scorer`), it scores each
   candidate's sentence, read alone against the question: does it hold the answer?
4. the combiner (:class:`~qa.readers.combiner.Combiner`) chooses among the candidates and gives the chance that
   its choice is right: the prediction, with that chance as its confidence.

Lookups (the page's byline, the names it defines) come before any reader, in the pipeline; the byline's values
are never candidates here (a report's publication date is not what a question about its content asks for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa.ingest.loading import byline_offsets
from qa.readers.base import SpanPrediction, sentence_at
from qa.readers.combiner import DEFAULT_EARLY_EXIT, Combiner
from qa.readers.question import QuestionAnalysis
from qa.readers.rules import RuleAssessment, RuleReader
from qa.readers.sentence_scorer import OnnxSentenceScorer
from qa.readers.sentence_windows import pack, split
from qa.readers.span_model import OnnxSpanModel, Window
from qa.readers.spans import best_spans, null_score
from qa.store.index import CorpusIndex
from qa.types import Passage, Sentence


@dataclass(frozen=True)
class Candidate:
    """A candidate answer of the learned reader, with the features the combiner weighs."""

    doc_id: str
    start: int
    end: int
    passage: Passage
    sentence: Sentence | None
    features: dict[str, float]
    label: str


class LearnedReader:
    """Reads the first ``first_passages`` passages with the span model; when the combiner is not yet sure
    (the chosen candidate's probability under ``early_exit``), reads the rest too and chooses again among all
    candidates. Most questions are settled by the best passages, and the span model's time grows with the tokens
    it reads."""

    def __init__(
        self,
        index: CorpusIndex,
        span_model: OnnxSpanModel,
        combiner: Combiner,
        rules: RuleReader,
        spans_per_window: int = 3,
        first_passages: int = 2,
        early_exit: float = DEFAULT_EARLY_EXIT,
        sentence_windows: bool = False,
        sentence_scorer: OnnxSentenceScorer | None = None,
    ) -> None:
        self.index = index
        self.span_model = span_model
        self.combiner = combiner
        self.rules = rules
        self.spans_per_window = spans_per_window
        self.first_passages = first_passages
        self.early_exit = early_exit
        self.sentence_windows = sentence_windows
        self.sentence_scorer = sentence_scorer
        self.threshold = combiner.threshold

    @property
    def reads_on_under(self) -> float:
        """The probability under which the rest of the passages are read: the early exit, never under the answer
        threshold (which a setting may raise): a choice that would be refused always reads on."""
        return max(self.early_exit, self.threshold)

    def read(self, question: str, passages: list[Passage], question_vector: np.ndarray) -> SpanPrediction | None:
        if not passages:
            return None
        analysis = self.rules.analyse(question)
        assessment = self.rules.assess(analysis, passages, question_vector, self.index.sentence_vectors)
        if self.sentence_windows:
            best = self._read_best_sentences(question, analysis, assessment, passages)
        else:
            best = self._read_passages(question, analysis, assessment, passages)
        if best is None:
            return None
        probability, chosen = best
        sentence = chosen.sentence
        return SpanPrediction(
            doc_id=chosen.doc_id,
            start=chosen.start,
            end=chosen.end,
            sentence_start=min(sentence.start, chosen.start) if sentence else chosen.passage.chunk.start,
            sentence_end=max(sentence.end, chosen.end) if sentence else chosen.passage.chunk.end,
            passage=chosen.passage,
            confidence=probability,
            label=chosen.label,
            features=chosen.features,
        )

    def _read_passages(self, question: str, analysis: QuestionAnalysis, assessment: RuleAssessment,
                       passages: list[Passage]) -> tuple[float, Candidate] | None:
        """The first passages, then the rest when the combiner is not yet sure."""
        first = passages[: self.first_passages]
        scores: dict[int, float] = {}  # the sentence scorer's, by sentence id: the second choice reuses them
        windows = self.span_model.score(question, [p.chunk.text for p in first])
        best = self._choose(self._candidates(question, analysis, assessment, passages, windows, scores))
        if (best is None or best[0] < self.reads_on_under) and len(passages) > len(first):
            rest = [p.chunk.text for p in passages[len(first) :]]
            windows += self.span_model.score(question, rest, first_index=len(first))
            best = self._choose(self._candidates(question, analysis, assessment, passages, windows, scores))
        return best

    def _read_best_sentences(self, question: str, analysis: QuestionAnalysis, assessment: RuleAssessment,
                             passages: list[Passage]) -> tuple[float, Candidate] | None:
        return self._choose(self._best_sentence_candidates(question, analysis, assessment, passages))

    def _best_sentence_candidates(self, question: str, analysis: QuestionAnalysis, assessment: RuleAssessment,
                                  passages: list[Passage]) -> list[Candidate]:
        """The candidates of one window of the best sentences with their neighbours (the rule reader's answer's
        sentence first)."""
        rule_sentence = None
        if assessment.best is not None:
            found = sentence_at(self.index, assessment.best.passage, assessment.best.start)
            rule_sentence = found.sentence_id if found else None
        text, pieces = pack(self.index, passages, assessment.sentence_evidence, self.span_model.token_count,
                            self.span_model.passage_budget(question), must_include=rule_sentence)
        if not pieces:
            return []
        windows = split(self.span_model.score(question, [text]), pieces)
        if not windows:
            return []
        return self._candidates(question, analysis, assessment, [p.passage for p in pieces], windows, {})

    def candidates(self, question: str, passages: list[Passage], question_vector: np.ndarray,
                   first_reading: bool = False) -> list[Candidate]:
        """Every candidate of a full reading, with its features: what the combiner is fit on. A full reading is
        every passage, or with ``sentence_windows`` the one packed window (the combiner is fit for what it reads).
        ``first_reading``: only the candidates of the first ``first_passages`` passages, as :meth:`read` sees them
        before its early exit (what the early exit is fitted on)."""
        if not passages:
            return []
        analysis = self.rules.analyse(question)
        assessment = self.rules.assess(analysis, passages, question_vector, self.index.sentence_vectors)
        if self.sentence_windows:
            return self._best_sentence_candidates(question, analysis, assessment, passages)
        read = passages[: self.first_passages] if first_reading else passages
        windows = self.span_model.score(question, [p.chunk.text for p in read])
        return self._candidates(question, analysis, assessment, passages, windows, {})

    def _choose(self, candidates: list[Candidate]) -> tuple[float, Candidate] | None:
        """The combiner's choice among the candidates, with the chance that it is right."""
        chosen = self.combiner.choose([c.features for c in candidates])
        if chosen is None:
            return None
        return self.combiner.probability(candidates[chosen].features), candidates[chosen]

    def _candidates(
        self, question: str, analysis: QuestionAnalysis, assessment: RuleAssessment, passages: list[Passage],
        windows: list[Window], sentence_scores: dict[int, float],
    ) -> list[Candidate]:
        lowest_null = min(null_score(w.start_logits, w.end_logits) for w in windows)
        proposals: dict[tuple[str, int, int], tuple[float, float, Passage, str]] = {}
        for window in windows:
            passage = passages[window.text_index]
            window_null = null_score(window.start_logits, window.end_logits)
            for span in best_spans(window.start_logits, window.end_logits, window.context, self.spans_per_window):
                start = passage.chunk.start + window.offsets[span.start][0]
                end = passage.chunk.start + window.offsets[span.end][1]
                key = (passage.chunk.doc_id, start, end)
                if self._in_byline(*key):
                    continue
                if key not in proposals or span.score > proposals[key][0]:
                    proposals[key] = (span.score, span.score - window_null, passage, "MODEL")
        rule_best = assessment.best
        if rule_best is not None and self._in_byline(rule_best.doc_id, rule_best.start, rule_best.end):
            rule_best = None
        if rule_best is not None:
            key = (rule_best.doc_id, rule_best.start, rule_best.end)
            scored = _score_in_windows(windows, passages, rule_best.doc_id, rule_best.start, rule_best.end)
            if key in proposals:
                proposals[key] = (*proposals[key][:3], "MODEL+RULES")
            elif scored is not None:
                proposals[key] = (*scored, rule_best.passage, "RULES")
            else:  # outside every window read (a passage the model did not see): as weak as its weakest span
                floor = min((p[0] for p in proposals.values()), default=0.0)
                proposals[key] = (floor, floor - lowest_null, rule_best.passage, "RULES")
        if not proposals:
            return []
        best_score = max(p[0] for p in proposals.values())
        rule_confidence = rule_best.confidence if rule_best is not None else 0.0
        sentences = {key: sentence_at(self.index, proposal[2], key[1]) for key, proposal in proposals.items()}
        self._score_sentences(question, [s for s in sentences.values() if s is not None], sentence_scores)
        best_sentence = max(sentence_scores.values(), default=0.0)
        candidates = []
        for (doc_id, start, end), (score, vs_null, passage, source) in proposals.items():
            sentence = sentences[(doc_id, start, end)]
            sentence_score = sentence_scores.get(sentence.sentence_id, 0.0) if sentence else 0.0
            evidence = assessment.sentence_evidence.get(sentence.sentence_id, {}) if sentence else {}
            agreement = _overlap(start, end, rule_best.start, rule_best.end) if rule_best is not None else 0.0
            text = self.index.documents[doc_id].text[start:end]
            features = {
                "span_score": score,
                "span_vs_best": score - best_score,
                "span_vs_null": vs_null,
                "best_vs_null": best_score - lowest_null,
                "span_tokens": math.log1p(len(text.split())),
                "passage_rank": 1.0 / (1 + passage.rank),
                "coverage": evidence.get("coverage", 0.0),
                "dense": evidence.get("dense", 0.0),
                "rarest_term": evidence.get("rarest_term", 0.0),
                "name_missing": evidence.get("name_missing", 0.0),
                "negation_missing": evidence.get("negation_missing", 0.0),
                "antonym_present": evidence.get("antonym_present", 0.0),
                "modifier_missing": evidence.get("modifier_missing", 0.0),
                "type_fit": self.rules.type_fit(analysis.answer_type, sentence, start, end) if sentence else 0.0,
                "rule_agreement": agreement,
                "rule_confidence": rule_confidence * agreement,
                "from_rules": float(source != "MODEL"),
                "sentence_score": sentence_score,
                "sentence_vs_best": sentence_score - best_sentence if sentence else 0.0,
            }
            candidates.append(Candidate(doc_id, start, end, passage, sentence, features, source))
        return candidates

    def _score_sentences(self, question: str, sentences: list[Sentence], scores: dict[int, float]) -> None:
        """The sentence scorer's logit for each sentence not yet in ``scores`` (nothing without a scorer)."""
        if self.sentence_scorer is None:
            return
        new = list({s.sentence_id: s for s in sentences if s.sentence_id not in scores}.values())
        if new:
            logits = self.sentence_scorer.score(question, [s.text for s in new])
            scores.update({s.sentence_id: float(v) for s, v in zip(new, logits)})

    def _in_byline(self, doc_id: str, start: int, end: int) -> bool:
        """Whether the span touches the document's byline ("Source: ... Date: ..."): the lookups answer questions
        about the page's publication; to the span model its date looks like an answer to any "when" question."""
        spans = byline_offsets(self.index.documents[doc_id].text).values()  # a regex over the top lines: cheap
        return bool(spans) and start < max(e for _, e in spans) and end > min(s for s, _ in spans)


def _score_in_windows(
    windows: list[Window], passages: list[Passage], doc_id: str, start: int, end: int
) -> tuple[float, float] | None:
    """The span model's score of a span given by document offsets (and its margin over the window's "no
    answer"), from the best window whose tokens start and end where the span does."""
    best: tuple[float, float] | None = None
    for window in windows:
        chunk = passages[window.text_index].chunk
        if chunk.doc_id != doc_id or not (chunk.start <= start and end <= chunk.end):
            continue
        positions = np.flatnonzero(window.context)
        if not len(positions) or not (
            chunk.start + window.offsets[positions[0]][0] <= start and end <= chunk.start + window.offsets[positions[-1]][1]
        ):
            continue  # this window of the passage does not hold the whole span
        first = next(i for i in positions if chunk.start + window.offsets[i][1] > start)
        last = max(i for i in positions if chunk.start + window.offsets[i][0] < end)
        if last < first:
            continue
        score = float(window.start_logits[first] + window.end_logits[last])
        margin = score - null_score(window.start_logits, window.end_logits)
        if best is None or score > best[0]:
            best = (score, margin)
    return best


def _overlap(start: int, end: int, other_start: int, other_end: int) -> float:
    """Character-level F1 of two spans."""
    shared = min(end, other_end) - max(start, other_start)
    if shared <= 0:
        return 0.0
    return 2 * shared / ((end - start) + (other_end - other_start))
