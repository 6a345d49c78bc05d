"""Readers: given a question and the retrieved passages, the answer span and a confidence.

* :mod:`qa.readers.base`: what a reader returns (:class:`SpanPrediction`) and the protocol.
* :mod:`qa.readers.rules`, :mod:`qa.readers.rule_candidates`: the rule reader and its candidate spans.
* :mod:`qa.readers.span_model`, :mod:`qa.readers.spans`: the learned span model on ONNX Runtime, span decoding.
* :mod:`qa.readers.sentence_scorer`: the learned sentence scorer (does this sentence hold the answer?).
* :mod:`qa.readers.combiner`, :mod:`qa.readers.learned`: the combiner and the learned reader built on them.
* :mod:`qa.readers.transformers`: a transformers checkpoint of the user's own (PyTorch).
* :mod:`qa.readers.question`: what a question asks (answer type, terms, names), shared by every reader.
* :mod:`qa.readers.lookups`: answers looked up rather than read (the page's byline, a name's definition).
* :mod:`qa.readers.leads`: the lead floors (unsure outcomes); :mod:`qa.readers.cpu_features`: what the CPU can do.

Takes a question, its embedding and the passages from :mod:`qa.retrieval.hybrid`; gives a
:class:`~qa.readers.base.SpanPrediction` (a span of a document, its sentence, a confidence) or none.
"""

from __future__ import annotations

from qa.config import Settings
from qa.readers.base import Reader, SpanPrediction
from qa.errors import ModelError
from qa.readers.combiner import SENTENCE_FEATURES, Combiner, combiner_file
from qa.readers.learned import LearnedReader
from qa.readers.rules import RuleReader
from qa.readers.sentence_scorer import SCORER_FOLDER, OnnxSentenceScorer
from qa.readers.span_model import OnnxSpanModel
from qa.store.index import CorpusIndex

PRECISIONS = {"auto": None, "int8": True, "fp32": False}  # reader_precision: OnnxSpanModel's int8 argument

__all__ = ["LearnedReader", "Reader", "RuleReader", "SpanPrediction", "make_reader"]


def make_reader(settings: Settings, index: CorpusIndex) -> Reader:
    """The reader ``settings.reader`` names: "learned", "rules", or a local transformers QA checkpoint."""
    if settings.reader == "rules":
        return RuleReader(index, threshold=settings.answer_threshold)
    if settings.reader == "learned":
        model_dir = settings.reader_model_dir
        if settings.reader_precision not in PRECISIONS:
            raise ValueError(f"setting reader_precision: use {', '.join(PRECISIONS)}, not {settings.reader_precision!r}")
        span_model = OnnxSpanModel(model_dir, threads=settings.reader_threads, int8=PRECISIONS[settings.reader_precision])
        combiner = Combiner.load(model_dir / combiner_file(settings.reader_sentence_windows))
        scorer = None
        if (model_dir / SCORER_FOLDER).is_dir():
            scorer = OnnxSentenceScorer(model_dir / SCORER_FOLDER, threads=settings.reader_threads,
                                        int8=PRECISIONS[settings.reader_precision])
        elif combiner.uses(SENTENCE_FEATURES):
            raise ModelError(f"the combiner in {model_dir} weighs the sentence scorer's score, but "
                             f"{model_dir / SCORER_FOLDER} is missing")
        reader = LearnedReader(
            index, span_model, combiner, RuleReader(index), spans_per_window=settings.reader_spans_per_window,
            first_passages=settings.reader_first_passages,
            early_exit=combiner.early_exit if settings.reader_early_exit is None else settings.reader_early_exit,
            sentence_windows=settings.reader_sentence_windows, sentence_scorer=scorer,
        )
        if settings.reader_answer_threshold is not None:
            reader.threshold = settings.reader_answer_threshold
        return reader
    from qa.readers.transformers import TransformersReader

    return TransformersReader(settings.reader, index, threshold=settings.answer_threshold)
