"""The learned span model, run by ONNX Runtime: start and end logits for every token of question + passage.

A fine-tuned MiniLM with a span head (trained by ``qa train-reader``, :mod:`qa.training`), exported to ONNX
and quantised to int8. Tokenisation is the model's own ``tokenizer.json`` through the ``tokenizers`` library:
no PyTorch or transformers in the serving process. A passage longer than one window is read in overlapping
windows (``stride`` tokens shared), as it was in training.

Where the folder also holds an int8 graph (``model.int8.onnx``: written by the export only when it reads the
held-apart dev questions within a point of the fp32 graph) and the CPU has int8 dot-product units (VNNI,
:mod:`qa.readers.cpu_features`), that graph is loaded; elsewhere the fp32 one. Batches are padded to a multiple
of ``WIDTH_STEP`` tokens and ONNX Runtime's memory arena is off: with an arena, every new input shape kept
its buffers, and a server under load grew by 160 MiB a minute.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import ModelError
from qa.readers.onnx_graphs import open_graph

MODEL_FILE = "model.onnx"
INT8_MODEL_FILE = "model.int8.onnx"  # optional: loaded instead where the CPU has VNNI
WIDTH_STEP = 32  # a batch's width is padded to a multiple of this: few distinct input shapes
TOKENIZER_FILE = "tokenizer.json"
SETTINGS_FILE = "reader.json"  # the window size and stride the model was trained with


@dataclass(frozen=True)
class Window:
    """One window of one passage: per-token logits, which tokens are the passage's, and their character
    offsets into the passage's text."""

    text_index: int  # which of the texts given to ``score``
    start_logits: np.ndarray
    end_logits: np.ndarray
    context: np.ndarray  # bool per token: a passage token (not the question, not a special token)
    offsets: list[tuple[int, int]]


class OnnxSpanModel:
    """Loads the exported span model once; ``score`` reads a question against several passages in one run."""

    def __init__(self, model_dir: Path, threads: int = 1, int8: bool | None = None) -> None:
        """``int8``: load the int8 graph (True), the fp32 one (False), or the int8 one where it exists and the
        CPU has VNNI (None)."""
        model_dir = Path(model_dir)
        missing = [f for f in (MODEL_FILE, TOKENIZER_FILE, SETTINGS_FILE) if not (model_dir / f).is_file()]
        if missing:
            raise ModelError(f"the reader model in {model_dir} is incomplete: {', '.join(missing)} missing")
        try:
            import onnxruntime  # noqa: F401  (open_graph needs it: a clear error here)
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelError(f"the learned reader needs onnxruntime and tokenizers ({exc})") from None
        settings = json.loads((model_dir / SETTINGS_FILE).read_text())
        self.max_length = int(settings["max_length"])
        self.stride = int(settings["stride"])
        self.max_question_tokens = int(settings["max_question_tokens"])
        self._tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._question_tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self._question_tokenizer.no_padding()
        self._question_tokenizer.enable_truncation(self.max_question_tokens)
        self._tokenizer.enable_truncation(self.max_length, stride=self.stride, strategy="only_second")
        self._counter = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))  # counts, never cuts
        self._counter.no_padding()
        self._counter.no_truncation()
        self._session, self.precision = open_graph(model_dir, MODEL_FILE, INT8_MODEL_FILE, threads, int8,
                                                   "the reader model")
        self._inputs = [i.name for i in self._session.get_inputs()]
        self.location = str(model_dir)

    def token_count(self, text: str) -> int:
        """How many tokens ``text`` takes in a window (no special tokens)."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def passage_budget(self, question: str) -> int:
        """How many passage tokens fit in one window beside ``question`` (as cut) and the special tokens."""
        processor = self._counter.post_processor  # adds the special tokens: 3 to BERT's pair, 4 to XLM-R's
        special = processor.num_special_tokens_to_add(True) if processor is not None else 0
        return self.max_length - self.token_count(self._short_question(question)) - special

    def _short_question(self, question: str) -> str:
        """The question cut to ``max_question_tokens`` (a 1,000-character question must still leave room)."""
        encoding = self._question_tokenizer.encode(question, add_special_tokens=False)
        if not encoding.offsets:
            return question
        return question[: encoding.offsets[-1][1]]

    def score(self, question: str, texts: list[str], first_index: int = 0) -> list[Window]:
        """Logits for every window of every text, computed in one batch; a window's ``text_index`` is its
        text's position in ``texts`` plus ``first_index``."""
        if not texts:
            return []
        question = self._short_question(question)
        encodings = []
        for i, text in enumerate(texts, first_index):
            encoding = self._tokenizer.encode(question, text)
            encodings.extend((i, e) for e in [encoding, *encoding.overflowing])
        width = -(-max(len(e.ids) for _, e in encodings) // WIDTH_STEP) * WIDTH_STEP
        arrays = {name: np.zeros((len(encodings), width), dtype=np.int64)
                  for name in ("input_ids", "attention_mask", "token_type_ids")}
        for row, (_, e) in enumerate(encodings):
            n = len(e.ids)
            arrays["input_ids"][row, :n] = e.ids
            arrays["attention_mask"][row, :n] = 1
            arrays["token_type_ids"][row, :n] = e.type_ids
        start_logits, end_logits = self._session.run(None, {name: arrays[name] for name in self._inputs})
        windows = []
        for row, (text_index, e) in enumerate(encodings):
            n = len(e.ids)
            passage = np.array([s == 1 for s in e.sequence_ids], dtype=bool)
            offsets = trimmed_offsets(texts[text_index - first_index], e.offsets, passage)
            context = passage & np.array([end > start for start, end in offsets], dtype=bool)
            windows.append(Window(text_index, start_logits[row, :n], end_logits[row, :n], context, offsets))
        return windows


def trimmed_offsets(text: str, offsets: list[tuple[int, int]], passage: np.ndarray) -> list[tuple[int, int]]:
    """The offsets of the passage's tokens (``passage``, a mask) with the white space at their edges left out.

    A SentencePiece tokenizer (multilingual-e5's, whose "▁" stands for the space before a word) gives a word's
    token the offsets of that space too, so a span read from them would start with a space and miss the rule
    reader's candidate for the same words. WordPiece offsets (MiniLM's) never hold white space: unchanged.
    A token of white space alone becomes empty, and ``score`` never lets a span start or end on it.
    """
    trimmed = []
    for (start, end), is_passage in zip(offsets, passage):
        if is_passage:
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
        trimmed.append((start, end))
    return trimmed
