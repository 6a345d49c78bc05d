"""The span model reading a rendered question: an English question written by a program, not a person.

A Chinese question over English pages reaches the span model as its English question phrase and terms
(:mod:`qa.chinese.rendering`). The span model's best span in the first passages is the answer; how sure it is
comes from the span's margin over the window's "no answer" score and from the rule reader's evidence for the
span's sentence (how much of the question it covers, and the near-miss flags: a name, a title modifier or a
negation of the question missing, the opposite word present), turned into a probability by a logistic
calibration fitted on held-apart training articles (``qa fit-rendered``: English questions rendered in the
same style, with near misses as the unanswerable ones). The calibration file sits beside the model.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.errors import ModelError
from qa.readers.base import SpanPrediction, sentence_at
from qa.readers.span_model import OnnxSpanModel
from qa.readers.spans import best_spans, null_score
from qa.store.index import CorpusIndex
from qa.types import Passage

CALIBRATION_FILE = "rendered.json"
# The span's margin over "no answer", and the rule reader's evidence for its sentence (RuleReader.assess).
FEATURES = ("margin", "coverage", "rarest_term", "name_missing", "modifier_missing", "negation_missing", "antonym_present")


@dataclass(frozen=True)
class RenderedCalibration:
    """P(right) = sigmoid(Σ weights × features + bias); answer at ``threshold`` or more."""

    weights: dict[str, float]
    bias: float
    threshold: float
    fitted_on: str
    figures: dict

    def probability(self, features: dict[str, float], logit_shift: float = 0.0) -> float:
        logit = sum(w * features.get(name, 0.0) for name, w in self.weights.items()) + self.bias + logit_shift
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> "RenderedCalibration":
        try:
            return cls(**json.loads(Path(path).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise ModelError(f"cannot read the rendered-question calibration {path}: {exc}") from None


class RenderedQuestionReader:
    """Reads the first ``passages_read`` passages for a rendered question with the span model."""

    def __init__(
        self, index: CorpusIndex, span_model: OnnxSpanModel, calibration: RenderedCalibration, passages_read: int = 3
    ) -> None:
        self.index = index
        self.span_model = span_model
        self.calibration = calibration
        self.passages_read = passages_read
        self.threshold = calibration.threshold

    @classmethod
    def open(cls, index: CorpusIndex, model_dir: Path, threads: int, passages_read: int) -> "RenderedQuestionReader":
        """The shipped span model and its calibration (:class:`ModelError` when either is missing)."""
        calibration = Path(model_dir) / CALIBRATION_FILE
        if not calibration.is_file():
            raise ModelError(f"no rendered-question calibration in {model_dir} (run qa fit-rendered)")
        return cls(index, OnnxSpanModel(Path(model_dir), threads), RenderedCalibration.load(calibration), passages_read)

    def read(
        self, rendered: str, passages: list[Passage], evidence: dict[int, dict[str, float]], logit_shift: float = 0.0
    ) -> SpanPrediction | None:
        """The best span of the first passages, its calibrated probability as its confidence and what that was
        computed from as its features. ``evidence``: the rule reader's, by sentence id
        (:meth:`RuleReader.assess`); ``logit_shift`` is added to the calibrated logit (the Chinese path lowers
        it for question words the pages never mention)."""
        first = passages[: self.passages_read]
        best = None
        for window in self.span_model.score(rendered, [p.chunk.text for p in first]):
            window_null = null_score(window.start_logits, window.end_logits)
            for span in best_spans(window.start_logits, window.end_logits, window.context, 1):
                if best is None or span.score > best[0]:
                    best = (span.score, span.score - window_null, window, span)
        if best is None:
            return None
        _, margin, window, span = best
        passage = first[window.text_index]
        start = passage.chunk.start + window.offsets[span.start][0]
        end = passage.chunk.start + window.offsets[span.end][1]
        sentence = sentence_at(self.index, passage, start)
        features = {"margin": margin, **(evidence.get(sentence.sentence_id, {}) if sentence else {})}
        features = {name: float(features.get(name, 0.0)) for name in FEATURES}
        confidence = self.calibration.probability(features, logit_shift)
        return SpanPrediction(
            doc_id=passage.chunk.doc_id, start=start, end=end,
            sentence_start=sentence.start if sentence else passage.chunk.start,
            sentence_end=sentence.end if sentence else passage.chunk.end,
            passage=passage, confidence=confidence, label="MODEL", features=features,
        )
