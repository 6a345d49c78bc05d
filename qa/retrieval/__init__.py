"""Retrieval: a question and its embedding in, the top passages out.

:mod:`~qa.retrieval.hybrid`: dense (FAISS) and lexical (BM25) rankings of the index's chunks, fused by
reciprocal rank into :class:`~qa.types.Passage` s.
"""

from qa.retrieval.hybrid import HybridRetriever, RetrievalSettings, Retriever

__all__ = ["HybridRetriever", "RetrievalSettings", "Retriever"]
