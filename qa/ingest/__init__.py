"""Ingest: documents in, clean text and annotations out.

Takes files (.txt, .md, .html, .pdf, SQuAD .json) and gives :class:`~qa.types.Document` s (cleaned text with
metadata, :mod:`~qa.ingest.loading`), their sentences (:mod:`~qa.ingest.text`), retrievable chunks with character
offsets (:mod:`~qa.ingest.chunking`), linguistic annotations computed once at index time
(:mod:`~qa.ingest.annotation`), the names a document defines (:mod:`~qa.ingest.definitions`), and the word lists
of answer types that annotation and reading share (:mod:`~qa.ingest.answer_types`); and, for the question, the
corrector of its slips of the keyboard against the corpus's words and the English lexicon
(:mod:`~qa.ingest.spelling`).
"""
