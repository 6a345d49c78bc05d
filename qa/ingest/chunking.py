"""Chunking documents into retrievable passages with exact character offsets.

The text is split with langchain's ``RecursiveCharacterTextSplitter`` (paragraphs, then lines, then
sentences, then words). The splitter returns strings; each is located in the document from a cursor that
only moves forward, and the result is checked: ``document.text[chunk.start:chunk.end] == chunk.text``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from qa.types import Chunk, Document, Sentence

# Paragraph, line, sentence end, clause, word, character.
SEPARATORS = ["\n\n", "\n", ". ", "。", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class ChunkingSettings:
    chunk_size: int
    chunk_overlap: int


def chunk_key(document: Document, start: int, end: int) -> int:
    """A stable, positive 64-bit id for the slice ``[start, end)`` of this version of ``document``.

    It depends on the document's id and content, so re-adding an unchanged document gives the same keys and a
    changed document gets new ones. Positive and below 2**63, as FAISS ids are signed 64-bit integers.
    """
    digest = hashlib.blake2b(f"{document.doc_id}\0{document.checksum}\0{start}\0{end}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") >> 1


class Chunker:
    """Splits documents into overlapping chunks and records which sentences each chunk overlaps."""

    def __init__(self, settings: ChunkingSettings) -> None:
        if settings.chunk_overlap >= settings.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        self.settings = settings
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            separators=SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def split(self, document: Document) -> list[tuple[int, int]]:
        """Offsets ``(start, end)`` of the chunks of one document."""
        spans: list[tuple[int, int]] = []
        cursor = 0
        for piece in self._splitter.split_text(document.text):
            start = document.text.find(piece, cursor)
            if start == -1:  # the splitter altered the text: never cite what the document does not say
                raise ValueError(f"chunk not found verbatim in document {document.doc_id!r}")
            spans.append((start, start + len(piece)))
            cursor = start + 1
        return spans

    def chunk(self, documents: list[Document], sentences: list[Sentence], first_id: int = 0) -> list[Chunk]:
        """Chunks of all documents, numbered in order from ``first_id``, each knowing the sentences it overlaps."""
        by_doc: dict[str, list[Sentence]] = {}
        for sentence in sentences:
            by_doc.setdefault(sentence.doc_id, []).append(sentence)
        chunks: list[Chunk] = []
        for document in documents:
            doc_sentences = by_doc.get(document.doc_id, [])
            for start, end in self.split(document):
                overlapping = tuple(s.sentence_id for s in doc_sentences if s.start < end and s.end > start)
                chunks.append(
                    Chunk(
                        chunk_id=first_id + len(chunks),
                        doc_id=document.doc_id,
                        start=start,
                        end=end,
                        text=document.text[start:end],
                        sentence_ids=overlapping,
                        key=chunk_key(document, start, end),
                    )
                )
        return chunks
