"""Runs a question set through the pipeline and computes the figures evaluators read.

Definitions (also in docs/evaluation.md):
* exact match / F1: official SQuAD v2 normalisation, max over gold answers; an abstention is the empty answer.
* HasAns / NoAns: the same over answerable / unanswerable questions; no-answer accuracy = NoAns exact match.
* precision of answers given: among questions the bot answered, the share whose answer is right (F1 >= 0.5
  against an answerable question's gold).
* recall@k / MRR: over answerable questions, whether a passage among the top k retrieved is relevant: it
  contains a gold answer verbatim or, for SQuAD, it comes from the question's own paragraph.
* citation support: among answered, answerable questions, the share whose cited passage contains a gold answer.
* latency: wall time of one ``ask`` call per question.
* lead recall: of the answerable questions not answered, the share given a lead (an *unsure* outcome) whose
  sentence holds a gold answer (SQuAD-normalised, as a run of words).
* false leads: of the unanswerable questions, the share given a lead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings
from qa.evaluation import metrics
from qa.evaluation.questions import EvalQuestion, is_squad_set
from qa.ingest.loading import slugify
from qa.ingest.text import sentence_spans
from qa.pipeline import QAPipeline
from qa.types import Passage

RECALL_DEPTHS = (1, 3, 5, 10)
RIGHT_F1 = 0.5  # an answer with at least this F1 against the gold counts as right
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))


@dataclass
class QuestionResult:
    qid: str
    question: str
    category: str
    answers: list[str]
    answerable: bool
    prediction: str | None
    candidate: str | None
    confidence: float
    exact_match: int
    f1: float
    candidate_f1: float
    relevant_rank: int | None  # 1-based rank of the first relevant passage in the top 10, if any
    cited_passage: str | None
    citation_supported: bool | None
    latency_ms: float
    baseline_sentence: str = ""
    baseline_f1: float = 0.0
    baseline_em: int = 0
    outcome: str = "none"  # answered, unsure or none (Answer.outcome)
    lead_sentence: str | None = None
    lead_holds_answer: bool | None = None  # answerable questions given a lead: whether its sentence holds a gold


@dataclass
class EvalRun:
    name: str
    results: list[QuestionResult]
    seconds: float
    pipeline_info: dict[str, Any] = field(default_factory=dict)
    threshold: float = 0.5
    lead_floor: float = 1.0


def open_pipeline(questions_path: Path, settings: Settings, corpus: list[str] | None, explicit_index: bool) -> QAPipeline:
    """The pipeline to evaluate: the given index, else an index of ``corpus`` (a SQuAD set's own paragraphs)."""
    if explicit_index:
        return QAPipeline.open(settings)
    if corpus is None and is_squad_set(questions_path):
        corpus = [str(questions_path)]
    if corpus is None:
        return QAPipeline.open(settings)
    digest = hashlib.sha256("\0".join(str(Path(p).resolve()) for p in corpus).encode()).hexdigest()[:10]
    index_dir = Path(settings.index_dir) / "corpora" / f"{slugify(Path(corpus[0]).stem)}-{digest}"
    return QAPipeline.open(dataclasses.replace(settings, index_dir=index_dir), corpus=corpus)


def evaluate(pipeline: QAPipeline, questions: list[EvalQuestion], k: int | None = None, progress: bool = False, name: str = "") -> EvalRun:
    """Ask every question and score the answers."""
    iterator: Any = questions
    if progress:
        from tqdm import tqdm

        iterator = tqdm(questions, desc=f"eval {name}".strip(), unit="q", file=sys.stderr)
    started = time.perf_counter()
    results = [_evaluate_one(pipeline, q, k) for q in iterator]
    return EvalRun(name, results, time.perf_counter() - started, pipeline.info(), pipeline.answer_threshold,
                   pipeline.lead_floor())


def _evaluate_one(pipeline: QAPipeline, question: EvalQuestion, k: int | None) -> QuestionResult:
    started = time.perf_counter()
    answer = pipeline.ask(question.question, k=k)
    latency_ms = (time.perf_counter() - started) * 1000
    answerable = metrics.is_answerable(question.answers)
    em, f1 = metrics.score(question.answers, answer.answer)
    _, candidate_f1 = metrics.score(question.answers, answer.candidate)

    top10 = pipeline.retrieve(question.question, k=min(10, pipeline.settings.max_top_k))
    relevant_rank = next((i + 1 for i, p in enumerate(top10) if _relevant(p, question)), None) if answerable else None

    cited, supported = None, None
    if answer.citations:
        c = answer.citations[0]
        cited = pipeline.document(c.doc_id).text[c.passage_start : c.passage_end]
        supported = any(a and a in cited for a in question.answers) if answerable else None

    lead = answer.lead.sentence if answer.lead is not None else None
    baseline = _top_sentence(pipeline, question.question, top10[:1])
    baseline_em, baseline_f1 = metrics.score(question.answers, baseline)
    return QuestionResult(
        qid=question.qid,
        question=question.question,
        category=question.category,
        answers=list(question.answers),
        answerable=answerable,
        prediction=answer.answer,
        candidate=answer.candidate,
        confidence=float(answer.confidence),
        exact_match=em,
        f1=f1,
        candidate_f1=candidate_f1,
        relevant_rank=relevant_rank,
        cited_passage=cited,
        citation_supported=supported,
        latency_ms=latency_ms,
        baseline_sentence=baseline,
        baseline_em=baseline_em,
        baseline_f1=baseline_f1,
        outcome=answer.outcome,
        lead_sentence=lead,
        lead_holds_answer=holds_answer(lead, question.answers) if lead is not None and answerable else None,
    )


def holds_answer(sentence: str, answers: list[str]) -> bool:
    """Whether a gold answer is in ``sentence``, both SQuAD-normalised (case, punctuation, articles, spaces)."""
    text = f" {metrics.normalize_answer(sentence)} "
    return any(f" {gold} " in text for gold in (metrics.normalize_answer(a) for a in answers) if gold)


def _relevant(passage: Passage, question: EvalQuestion) -> bool:
    if question.doc_id is not None:
        return passage.chunk.doc_id == question.doc_id
    return any(a and a in passage.chunk.text for a in question.answers)


def _top_sentence(pipeline: QAPipeline, question: str, passages: list[Passage]) -> str:
    """The naive baseline: the top passage's sentence most similar to the question."""
    if not passages:
        return ""
    text = passages[0].chunk.text
    sentences = [text[a:b] for a, b in sentence_spans(text)] or [text]
    vectors = pipeline.embedder.encode([question] + sentences)
    return sentences[int(np.argmax(vectors[1:] @ vectors[0]))]


# -- figures --------------------------------------------------------------------------------------------------


def summarize(results: list[QuestionResult], threshold: float | None = None) -> dict[str, Any]:
    """The figures of a set of results (the keys of ``qa eval --json``)."""
    n = len(results)
    has = [r for r in results if r.answerable]
    no = [r for r in results if not r.answerable]
    answered = [r for r in results if r.prediction is not None]
    answered_has = [r for r in answered if r.answerable]
    unanswered_has = [r for r in has if r.prediction is None]
    ranks = [r.relevant_rank for r in has]
    latencies = [r.latency_ms for r in results]
    summary = {
        "n": n,
        "n_has_ans": len(has),
        "n_no_ans": len(no),
        "exact_match": _pct(sum(r.exact_match for r in results), n),
        "f1": _pct(sum(r.f1 for r in results), n),
        "has_ans_em": _pct(sum(r.exact_match for r in has), len(has)),
        "has_ans_f1": _pct(sum(r.f1 for r in has), len(has)),
        "no_ans_acc": _pct(sum(r.exact_match for r in no), len(no)),
        "answered_rate": _pct(len(answered), n),
        "precision_of_answers": _pct(sum(1 for r in answered if r.answerable and r.f1 >= RIGHT_F1), len(answered)),
        "recall_at_k": {str(k): _pct(sum(1 for x in ranks if x is not None and x <= k), len(has)) for k in RECALL_DEPTHS},
        "mrr": round(sum(1.0 / x for x in ranks if x is not None) / len(has), 4) if has else None,
        "citation_support": _pct(sum(1 for r in answered_has if r.citation_supported), len(answered_has)),
        "unsure_rate": _pct(sum(1 for r in results if r.outcome == "unsure"), n),
        "lead_recall": _pct(sum(1 for r in unanswered_has if r.lead_holds_answer), len(unanswered_has)),
        "false_leads": _pct(sum(1 for r in no if r.outcome == "unsure"), len(no)),
        "latency_ms_p50": round(metrics.percentile(latencies, 50), 2),
        "latency_ms_p95": round(metrics.percentile(latencies, 95), 2),
    }
    if threshold is not None:
        summary["threshold"] = threshold
    return summary


def baselines(results: list[QuestionResult]) -> dict[str, dict[str, Any]]:
    """The two trivial baselines, scored like the bot: always abstain; return the top retrieved sentence."""
    n = len(results) or 1
    has = [r for r in results if r.answerable] or []
    no = [r for r in results if not r.answerable]
    always_abstain = {
        "exact_match": _pct(len(no), n),
        "f1": _pct(len(no), n),
        "has_ans_f1": 0.0 if has else None,
        "no_ans_acc": 100.0 if no else None,
    }
    top_sentence = {
        "exact_match": _pct(sum(r.baseline_em for r in results), n),
        "f1": _pct(sum(r.baseline_f1 for r in results), n),
        "has_ans_f1": _pct(sum(r.baseline_f1 for r in has), len(has)),
        "no_ans_acc": 0.0 if no else None,
    }
    return {"always_abstain": always_abstain, "top_sentence": top_sentence}


def threshold_sweep(results: list[QuestionResult]) -> list[dict[str, Any]]:
    """What F1, HasAns F1 and no-answer accuracy would be at each confidence threshold."""
    rows = []
    for threshold in THRESHOLDS:
        f1s, has_f1s, no_hits = [], [], []
        for r in results:
            answered = r.candidate is not None and r.confidence >= threshold
            f1 = r.candidate_f1 if answered else metrics.score(r.answers, None)[1]
            f1s.append(f1)
            (has_f1s if r.answerable else no_hits).append(f1)
        rows.append(
            {
                "threshold": threshold,
                "f1": _pct(sum(f1s), len(f1s)),
                "has_ans_f1": _pct(sum(has_f1s), len(has_f1s)),
                "no_ans_acc": _pct(sum(no_hits), len(no_hits)),
            }
        )
    return rows


def full_report(run: EvalRun) -> dict[str, Any]:
    categories = sorted({r.category for r in run.results})
    failures = [
        {
            "id": r.qid,
            "question": r.question,
            "category": r.category,
            "expected": r.answers or None,
            "got": r.prediction,
            "candidate": r.candidate,
            "confidence": round(r.confidence, 3),
            "f1": round(r.f1, 3),
            "cited_passage": r.cited_passage,
            "outcome": r.outcome,
            "lead": r.lead_sentence,
        }
        for r in run.results
        if r.f1 < 1.0
    ]
    return {
        "name": run.name,
        **summarize(run.results, run.threshold),
        "lead_floor": run.lead_floor,
        "run_seconds": round(run.seconds, 2),
        "categories": {c: summarize([r for r in run.results if r.category == c]) for c in categories},
        "baselines": baselines(run.results),
        "threshold_sweep": threshold_sweep(run.results),
        "pipeline": run.pipeline_info,
        "failures": failures,
    }


def _pct(part: float, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None
