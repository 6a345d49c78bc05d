"""Readers: given a question and the retrieved passages, the answer span and a confidence.

* :mod:`qa.readers.base`: what a reader returns (:class:`SpanPrediction`) and the protocol.
* :mod:`qa.readers.rules`, :mod:`qa.readers.rule_candidates`: the rule reader and its candidate spans.
* :mod:`qa.readers.span_model`, :mod:`qa.readers.spans`: the learned span model on ONNX Runtime, span decoding.
* :mod:`qa.readers.combiner`, :mod:`qa.readers.learned`: the combiner and the learned reader built on both.
* :mod:`qa.readers.transformers`: a transformers checkpoint of the user's own (PyTorch).
"""

from __future__ import annotations

from ..config import Settings
from ..index import CorpusIndex
from .base import Reader, SpanPrediction
from .combiner import COMBINER_FILE, Combiner
from .learned import LearnedReader
from .rules import RuleReader
from .span_model import OnnxSpanModel

__all__ = ["LearnedReader", "Reader", "RuleReader", "SpanPrediction", "make_reader"]


def make_reader(settings: Settings, index: CorpusIndex) -> Reader:
    """The reader ``settings.reader`` names: "learned", "rules", or a local transformers QA checkpoint."""
    if settings.reader == "rules":
        return RuleReader(index, threshold=settings.answer_threshold)
    if settings.reader == "learned":
        model_dir = settings.reader_model_dir
        span_model = OnnxSpanModel(model_dir, threads=settings.reader_threads)
        combiner = Combiner.load(model_dir / COMBINER_FILE)
        reader = LearnedReader(
            index, span_model, combiner, RuleReader(index), spans_per_window=settings.reader_spans_per_window,
            first_passages=settings.reader_first_passages, early_exit=settings.reader_early_exit,
        )
        if settings.reader_answer_threshold is not None:
            reader.threshold = settings.reader_answer_threshold
        return reader
    from .transformers import TransformersReader

    return TransformersReader(settings.reader, index, threshold=settings.answer_threshold)
