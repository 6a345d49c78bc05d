"""Decoding answer spans from a span model's start and end logits (numpy; shared by serving and training)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The longest answer considered, in tokens, and how many of the best start and end positions are paired.
MAX_ANSWER_TOKENS = 30
TOP_POSITIONS = 20


@dataclass(frozen=True)
class TokenSpan:
    """A span of one window, in tokens, with its logit score (start logit + end logit)."""

    start: int
    end: int  # inclusive
    score: float


def best_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context: np.ndarray,
    count: int = 1,
    max_tokens: int = MAX_ANSWER_TOKENS,
    top_positions: int = TOP_POSITIONS,
) -> list[TokenSpan]:
    """The ``count`` best spans inside the context tokens (``context`` a boolean mask), best first.

    Spans may overlap; a span ends at or after its start and is at most ``max_tokens`` long.
    """
    positions = np.flatnonzero(context)
    if positions.size == 0:
        return []
    starts = positions[np.argsort(-start_logits[positions], kind="stable")[:top_positions]]
    ends = positions[np.argsort(-end_logits[positions], kind="stable")[:top_positions]]
    length = ends[None, :] - starts[:, None]
    scores = start_logits[starts][:, None] + end_logits[ends][None, :]
    scores = np.where((length >= 0) & (length < max_tokens), scores, -np.inf)
    order = np.argsort(-scores, axis=None, kind="stable")[:count]
    spans = []
    for flat in order:
        i, j = divmod(int(flat), len(ends))
        if not np.isfinite(scores[i, j]):
            break
        spans.append(TokenSpan(int(starts[i]), int(ends[j]), float(scores[i, j])))
    return spans


def null_score(start_logits: np.ndarray, end_logits: np.ndarray) -> float:
    """The score of "no answer in this window": the span of the first ([CLS]) token."""
    return float(start_logits[0] + end_logits[0])
