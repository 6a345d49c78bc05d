"""Store: the index of a corpus, and the models that embed it.

Takes documents from :mod:`qa.ingest` and gives a :class:`~qa.store.index.CorpusIndex` (chunks, sentences,
annotations, a FAISS vector index, versioned on disk; :mod:`~qa.store.index`), the corpus management that adds,
replaces and removes documents (:mod:`~qa.store.corpus`), the embedders (:mod:`~qa.store.embedding`, with the
ONNX Runtime runner :mod:`~qa.store.onnx_embedding`), and the multilingual vectors of the corpus for Chinese
questions (:mod:`~qa.store.multilingual`).
"""
