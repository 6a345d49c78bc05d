"""``qa fit-rendered``: calibrate the span model on rendered questions, on held-apart training articles.

A Chinese question reaches the span model rendered as an English question phrase and terms
(:mod:`qa.chinese.rendering`). There is no training set of Chinese questions over English pages, so the
calibration is fitted on what is closest: English questions of the held-apart articles (the same groups and
near misses as ``qa fit-combiner``) rendered in the same style, and read the same way (the first passages the
English retriever finds, the terms the passages do not contain left out). Each question gives its best span's
features (its margin over "no answer", the rule reader's evidence for its sentence) and whether the span is
right (F1 ≥ 0.5 with the gold answer; never, for a near miss). A logistic regression of rightness on the
features, and the threshold with the best overall F1, are fitted on the first groups; the others only report the figures. Nothing here reads an evaluation set.
Writes ``rendered.json`` beside the model.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.chinese.rendering import passage_words, render_english
from qa.config import Settings
from qa.evaluation.metrics import f1
from qa.readers.rendered import CALIBRATION_FILE, FEATURES, RenderedCalibration, RenderedQuestionReader
from qa.readers.span_model import OnnxSpanModel
from qa.training.card import write_rendered_card
from qa.training.combiner import (
    RIGHT_F1,
    HeldApartGroup,
    add_group_arguments,
    fit_logistic,
    held_apart_groups,
    styles_note,
)
from qa.training.data import Example
from qa.training.train import TrainingSettings


@dataclass(frozen=True)
class RenderedRow:
    example: Example
    features: dict[str, float]
    answer: str  # the best span, given or not

    @property
    def right(self) -> bool:
        return self.example.answerable and f1(self.example.answer_text, self.answer) >= RIGHT_F1


def read_group(group: HeldApartGroup, model: OnnxSpanModel, passages_read: int) -> list[RenderedRow]:
    """Every question of the group rendered and read by the span model (the shipped calibration unused)."""
    from qa.pipeline import QAPipeline

    pipeline = QAPipeline.open(group.settings, corpus=list(group.settings.corpus))
    placeholder = RenderedCalibration({}, 0.0, 0.5, "placeholder", {})
    reader = RenderedQuestionReader(pipeline.index, model, placeholder, passages_read)
    rules = pipeline.reader.rules if hasattr(pipeline.reader, "rules") else pipeline.reader
    rows = []
    for example in group.examples:
        passages = pipeline.retrieve(example.question)
        analysis = rules.analyse(example.question)
        vector = pipeline.embedder.encode([example.question])[0]
        evidence = rules.assess(analysis, passages, vector, pipeline.index.sentence_vectors).sentence_evidence
        rendered = render_english(analysis, passage_words([p.chunk.text for p in passages[:passages_read]]))
        span = reader.read(rendered, passages, evidence)
        if span is None:
            rows.append(RenderedRow(example, {"margin": -30.0}, ""))
            continue
        rows.append(RenderedRow(example, span.features, pipeline.document(span.doc_id).text[span.start : span.end]))
    return rows


def _overall_f1(rows: list[RenderedRow], answered: list[bool]) -> float:
    scores = [
        (f1(r.example.answer_text, r.answer) if a else 0.0) if r.example.answerable else float(not a)
        for r, a in zip(rows, answered)
    ]
    return float(np.mean(scores)) if scores else 0.0


def figures(rows: list[RenderedRow], calibration: RenderedCalibration) -> dict:
    answered = [calibration.probability(r.features) >= calibration.threshold for r in rows]
    has = [(r, a) for r, a in zip(rows, answered) if r.example.answerable]
    neg = [a for r, a in zip(rows, answered) if not r.example.answerable]
    return {
        "questions": len(rows),
        "unanswerable": len(neg),
        "f1": round(100 * _overall_f1(rows, answered), 2),
        "has_ans_f1": round(100 * float(np.mean([f1(r.example.answer_text, r.answer) if a else 0.0 for r, a in has])), 2),
        "has_ans_f1_always_answering": round(100 * float(np.mean([f1(r.example.answer_text, r.answer) for r, _ in has])), 2),
        "no_ans_accuracy": round(100 * float(np.mean([not a for a in neg])), 2) if neg else None,
    }


def fit(rows: list[RenderedRow], description: str) -> RenderedCalibration:
    x = np.array([[r.features.get(name, 0.0) for name in FEATURES] for r in rows])
    labels = np.array([float(r.right) for r in rows])
    weights, bias = fit_logistic(x, labels)
    fitted = {name: round(float(w), 5) for name, w in zip(FEATURES, weights)}
    calibration = RenderedCalibration(fitted, round(bias, 5), 0.5, description, {})
    probabilities = [calibration.probability(r.features) for r in rows]
    threshold = max(np.linspace(0.05, 0.95, 91), key=lambda t: _overall_f1(rows, [p >= t for p in probabilities]))
    return RenderedCalibration(fitted, calibration.bias, round(float(threshold), 3), description, {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qa fit-rendered", description=__doc__.split("\n")[0])
    add_group_arguments(parser, "the calibration")
    parser.add_argument("--model-dir", type=Path, default=Settings().chinese_span_model_dir)
    parser.add_argument("--run-dir", type=Path, default=TrainingSettings().out, help="the training run (for the card)")
    parser.add_argument("--work-dir", type=Path, default=Path("build/reader/held_apart"))
    args = parser.parse_args(argv)
    settings = TrainingSettings(data=args.data)
    reader_settings = Settings.load(reader="rules")
    model = OnnxSpanModel(args.model_dir, reader_settings.reader_threads)
    groups = held_apart_groups(settings, args.work_dir, args.articles_per_group, args.groups,
                               args.questions_per_group, args.near_miss_share, reader_settings, styles=args.group_styles)
    passages_read = reader_settings.chinese_span_passages
    read = [read_group(g, model, passages_read) for g in groups]
    fit_rows = [r for rows in read[: args.fit_groups] for r in rows]
    check_rows = [r for rows in read[args.fit_groups :] for r in rows]
    calibration = fit(fit_rows, f"{len(fit_rows)} rendered English questions of {args.fit_groups} groups of "
                                f"held-apart training articles{styles_note(args.group_styles)}, {passages_read} passages read")
    report = {"fit": figures(fit_rows, calibration), "check": figures(check_rows, calibration)}
    calibration = RenderedCalibration(calibration.weights, calibration.bias, calibration.threshold,
                                      calibration.fitted_on, report)
    calibration.save(args.model_dir / CALIBRATION_FILE)
    print(json.dumps(calibration.__dict__, indent=1, ensure_ascii=False))
    if (args.run_dir / "log.jsonl").exists():
        print(f"model card: {write_rendered_card(args.run_dir, args.model_dir, calibration.__dict__)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
