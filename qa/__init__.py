"""seminar-qa: extractive question answering with citations over a portal's documents.

The public API::

    from qa import QAPipeline, Settings
    pipeline = QAPipeline.open(Settings.load())
    answer = pipeline.ask("When was the seminar held?")
"""

import os as _os

# Before torch or FAISS load OpenMP: with OpenMP's default busy-waiting, two runtimes in one process (torch's
# and another library's) fight over the 2 cores, and one short question took ~500 ms to embed instead of
# ~10 ms (bench/README.md). Passive waiting removes that; a user's own setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from qa.config import Settings  # noqa: E402
from qa.errors import CorpusError, IndexUnavailableError, InvalidQuestionError, ModelError, QAError  # noqa: E402
from qa.types import Answer, Chunk, Citation, Document, Passage, Sentence  # noqa: E402

_LAZY = {"QAPipeline", "clean_question", "ensure_index"}  # these import torch and FAISS: load on first use


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in _LAZY:
        from qa import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")

__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "CorpusError",
    "Document",
    "IndexUnavailableError",
    "InvalidQuestionError",
    "ModelError",
    "Passage",
    "QAError",
    "QAPipeline",
    "Sentence",
    "Settings",
    "clean_question",
    "ensure_index",
]
