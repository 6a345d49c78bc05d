"""A reader backed by a transformers extractive-QA checkpoint on local disk (SQuAD-style start/end heads).

The project ships its own learned reader (:mod:`qa.readers.learned`, ONNX Runtime); this one is for users
who have a transformers checkpoint of their own (``--reader PATH``), and is the benchmark's peer. It needs
PyTorch and transformers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from qa.errors import ModelError
from qa.readers.base import SpanPrediction
from qa.readers.spans import best_spans, null_score
from qa.store.index import CorpusIndex
from qa.types import Passage


class TransformersReader:
    def __init__(
        self, model_path: str, index: CorpusIndex, threshold: float, max_length: int = 384, stride: int = 128
    ) -> None:
        self.threshold = threshold
        path = Path(model_path).expanduser()
        if not path.is_dir():
            raise ModelError(f"reader {model_path!r} is neither 'rules' nor a local model folder")
        try:
            import torch
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer

            self._torch = torch
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = AutoModelForQuestionAnswering.from_pretrained(str(path), local_files_only=True).eval()
        except Exception as exc:
            raise ModelError(f"cannot load the QA model in {path}: {exc}") from None
        if not getattr(self.tokenizer, "is_fast", False):
            raise ModelError(f"the QA model in {path} needs a fast tokenizer (for character offsets)")
        self.index = index
        self.max_length = max_length
        self.stride = stride

    def read(self, question: str, passages: list[Passage], question_vector: np.ndarray) -> SpanPrediction | None:
        best: tuple[float, float, Passage, int, int] | None = None  # (span score, null score, passage, start, end)
        for passage in passages:
            encoded = self.tokenizer(
                question,
                passage.chunk.text,
                truncation="only_second",
                max_length=self.max_length,
                stride=self.stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
                padding=True,
                return_tensors="pt",
            )
            offsets = encoded.pop("offset_mapping").tolist()
            encoded.pop("overflow_to_sample_mapping", None)
            with self._torch.no_grad():
                output = self.model(**encoded)
            for window in range(len(offsets)):
                context = np.array([s == 1 for s in encoded.sequence_ids(window)], dtype=bool)
                starts = output.start_logits[window].numpy()
                ends = output.end_logits[window].numpy()
                for span in best_spans(starts, ends, context):
                    if best is None or span.score > best[0]:
                        start, end = offsets[window][span.start][0], offsets[window][span.end][1]
                        best = (span.score, null_score(starts, ends), passage, start, end)
        if best is None:
            return None
        score, null, passage, start, end = best
        chunk = passage.chunk
        doc_start, doc_end = chunk.start + start, chunk.start + end
        sentence = next(
            (self.index.sentences[i] for i in chunk.sentence_ids
             if self.index.sentences[i].start <= doc_start < self.index.sentences[i].end),
            None,
        )
        return SpanPrediction(
            doc_id=chunk.doc_id,
            start=doc_start,
            end=doc_end,
            sentence_start=sentence.start if sentence else chunk.start,
            sentence_end=max(sentence.end, doc_end) if sentence else chunk.end,
            passage=passage,
            confidence=1.0 / (1.0 + math.exp(-(score - null))),
            label="SPAN",
        )
