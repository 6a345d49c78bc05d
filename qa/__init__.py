"""seminar-qa: extractive question answering with citations over a portal's documents.

The public API::

    from qa import QAPipeline, Settings
    pipeline = QAPipeline.open(Settings.load())
    answer = pipeline.ask("When was the seminar held?")
"""

from .config import Settings
from .errors import CorpusError, IndexUnavailableError, InvalidQuestionError, ModelError, QAError
from .types import Answer, Chunk, Citation, Document, Passage, Sentence

_LAZY = {"QAPipeline", "clean_question", "ensure_index"}  # these import torch and FAISS: load on first use


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in _LAZY:
        from . import pipeline

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
