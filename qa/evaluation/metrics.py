"""Answer metrics, following the official SQuAD v2.0 evaluation script.

``normalize_answer``: lower-case, remove punctuation, remove the articles a/an/the, collapse whitespace.
Exact match and F1 are the maximum over the gold answers; a question whose gold answers are all empty after
normalisation is unanswerable, and only an abstention (the empty prediction) scores on it.
"""

from __future__ import annotations

import collections
import re
import string
from typing import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def exact_match(gold: str, prediction: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(prediction))


def f1(gold: str, prediction: str) -> float:
    gold_tokens, predicted_tokens = _tokens(gold), _tokens(prediction)
    if not gold_tokens or not predicted_tokens:
        return float(gold_tokens == predicted_tokens)  # both empty: 1; one empty: 0
    common = collections.Counter(gold_tokens) & collections.Counter(predicted_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def gold_answers(answers: Iterable[str]) -> list[str]:
    """The gold answers the official script scores against: [""] when none survives normalisation."""
    kept = [a for a in answers if normalize_answer(a)]
    return kept or [""]


def score(answers: Sequence[str], prediction: str | None) -> tuple[int, float]:
    """(exact match, F1) of a prediction (``None`` = abstention) against the gold answers."""
    predicted = prediction or ""
    golds = gold_answers(answers)
    return max(exact_match(g, predicted) for g in golds), max(f1(g, predicted) for g in golds)


def is_answerable(answers: Sequence[str]) -> bool:
    return gold_answers(answers) != [""]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation, as numpy computes it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
