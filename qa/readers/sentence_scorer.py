"""The sentence scorer, run by ONNX Runtime: for a question and some sentences, a score per sentence of how likely
it is to hold the answer (a logit).

A MiniLM cross-encoder trained by ``qa train-sentence-scorer`` (:mod:`qa.training.sentence_training`) on the
same training articles as the span model; the learned reader gives its score as a feature to the combiner. Like
the span model it loads the int8 graph where the CPU has VNNI, pads batches to a few widths and runs without a
memory arena.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qa.errors import ModelError
from qa.readers.onnx_graphs import open_graph

MODEL_FILE = "model.onnx"
INT8_MODEL_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
SETTINGS_FILE = "scorer.json"
WIDTH_STEP = 16  # a batch is padded to a multiple of this many tokens
# Its folder inside the span model's folder: the combiner there is fitted on this scorer's scores, so the two
# travel together.
SCORER_FOLDER = "sentence-scorer"


class OnnxSentenceScorer:
    def __init__(self, model_dir: Path, threads: int = 1, int8: bool | None = None) -> None:
        model_dir = Path(model_dir)
        missing = [f for f in (MODEL_FILE, TOKENIZER_FILE, SETTINGS_FILE) if not (model_dir / f).is_file()]
        if missing:
            raise ModelError(f"the sentence scorer in {model_dir} is incomplete: {', '.join(missing)} missing")
        try:
            import onnxruntime  # noqa: F401  (open_graph needs it: a clear error here)
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelError(f"the sentence scorer needs onnxruntime and tokenizers ({exc})") from None
        settings = json.loads((model_dir / SETTINGS_FILE).read_text())
        self.max_length = int(settings["max_length"])
        self.max_question_tokens = int(settings["max_question_tokens"])
        self._tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._cls = self._tokenizer.token_to_id("[CLS]")
        self._sep = self._tokenizer.token_to_id("[SEP]")
        self._session, self.precision = open_graph(model_dir, MODEL_FILE, INT8_MODEL_FILE, threads, int8,
                                                   "the sentence scorer")
        self._inputs = [i.name for i in self._session.get_inputs()]

    def _ids(self, text: str, limit: int) -> list[int]:
        return self._tokenizer.encode(text, add_special_tokens=False).ids[: max(0, limit)]

    def score(self, question: str, sentences: list[str]) -> np.ndarray:
        """One logit per sentence (higher: more likely to hold the answer), in one batch."""
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        question_ids = self._ids(question, self.max_question_tokens)
        rows = []
        for sentence in sentences:
            sentence_ids = self._ids(sentence, self.max_length - len(question_ids) - 3)
            rows.append(([self._cls, *question_ids, self._sep], [*sentence_ids, self._sep]))
        width = -(-max(len(a) + len(b) for a, b in rows) // WIDTH_STEP) * WIDTH_STEP
        arrays = {name: np.zeros((len(rows), width), dtype=np.int64)
                  for name in ("input_ids", "attention_mask", "token_type_ids")}
        for row, (first, second) in enumerate(rows):
            n = len(first) + len(second)
            arrays["input_ids"][row, :n] = first + second
            arrays["attention_mask"][row, :n] = 1
            arrays["token_type_ids"][row, len(first) : n] = 1
        (scores,) = self._session.run(None, {name: arrays[name] for name in self._inputs})
        return np.asarray(scores, dtype=np.float32).reshape(len(rows))
