"""What every reader gives: the best span with its confidence, and the protocol readers follow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from qa.types import Passage, Sentence

if TYPE_CHECKING:
    from qa.store.index import CorpusIndex


def sentence_at(index: "CorpusIndex", passage: Passage, offset: int) -> Sentence | None:
    """The sentence of ``passage`` that holds the document offset ``offset`` (None between sentences)."""
    for sid in passage.chunk.sentence_ids:
        sentence = index.sentences[sid]
        if sentence.start <= offset < sentence.end:
            return sentence
    return None


@dataclass(frozen=True)
class SpanPrediction:
    """A reader's best span: offsets into the document, its sentence, the passage it came from."""

    doc_id: str
    start: int
    end: int
    sentence_start: int
    sentence_end: int
    passage: Passage
    confidence: float
    label: str = ""
    features: dict[str, float] = field(default_factory=dict)  # the evidence behind the confidence


class Reader(Protocol):
    # The confidence below which the pipeline withholds the span ("the documents don't say").
    threshold: float

    def read(self, question: str, passages: list[Passage], question_vector: np.ndarray) -> SpanPrediction | None:
        """The best span in ``passages`` with a confidence in 0..1 (``None`` when there is no candidate)."""
        ...
