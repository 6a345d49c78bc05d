"""Fit the rule reader's confidence weights (``ReaderWeights.conf_bias`` and ``.confidence``) to a question set.

    .venv/bin/python eval/calibrate.py eval/questions/seminar.jsonl [--check eval/benchmarks/squad2_dev_small.json]

For every question it takes the reader's best span and its evidence (``SpanPrediction.features``); the label
is 1 when the span is right (F1 >= 0.5 against an answerable question's gold) and 0 otherwise (a wrong span,
or any span for an unanswerable question). A logistic regression (L2-regularised, fitted here with Newton's
method) maps the evidence to the probability of being right; the script prints the weights to put in
``qa/ingest/answer_types.py`` and the log-loss and accuracy at 0.5 on the fitting set and on the check set.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.config import Settings  # noqa: E402
from qa.evaluation import metrics  # noqa: E402
from qa.evaluation.questions import load_questions  # noqa: E402
from qa.evaluation.runner import RIGHT_F1, open_pipeline  # noqa: E402
from qa.training.combiner import fit_logistic  # noqa: E402


def collect(path: Path, settings: Settings) -> tuple[list[str], np.ndarray, np.ndarray]:
    pipeline = open_pipeline(path, settings, None, explicit_index=False)
    names: list[str] = []
    rows, labels = [], []
    for question in load_questions(path):
        vector = pipeline.embedder.encode([question.question])[0]
        passages = pipeline.retriever.retrieve(question.question, vector, settings.top_k)
        prediction = pipeline.reader.read(question.question, passages, vector)
        if prediction is None or not prediction.features:
            continue
        names = sorted(prediction.features)
        span = pipeline.document(prediction.doc_id).text[prediction.start : prediction.end]
        right = metrics.is_answerable(question.answers) and metrics.score(question.answers, span)[1] >= RIGHT_F1
        rows.append([prediction.features[n] for n in names])
        labels.append(1.0 if right else 0.0)
    return names, np.array(rows, dtype=np.float64), np.array(labels)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Logistic regression weights ``[bias, w1, ...]`` (L2-regularised, bias unpenalised; Newton's method)."""
    weights, bias = fit_logistic(x, y, l2)
    return np.concatenate([[bias], weights])


def report(label: str, weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    p = 1.0 / (1.0 + np.exp(-(weights[0] + x @ weights[1:])))
    p = np.clip(p, 1e-9, 1 - 1e-9)
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    accuracy = float(np.mean((p >= 0.5) == (y == 1)))
    print(f"{label}: n={len(y)} right={int(y.sum())} log-loss={loss:.3f} accuracy@0.5={accuracy:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--check", type=Path, default=None, help="a second set to check the fitted weights on")
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args()
    settings = Settings.load(reader="rules")  # the rule reader's own confidence
    names, x, y = collect(args.questions, settings)
    weights = fit(x, y, args.l2)
    report(f"fit on {args.questions.name}", weights, x, y)
    if args.check:
        _, cx, cy = collect(args.check, settings)
        report(f"check on {args.check.name}", weights, cx, cy)
    print(f"conf_bias = {weights[0]:.2f}")
    print("confidence = {" + ", ".join(f'"{n}": {w:.2f}' for n, w in zip(names, weights[1:])) + "}")
    if not math.isfinite(float(weights.sum())):
        sys.exit("the fit did not converge")


if __name__ == "__main__":
    main()
