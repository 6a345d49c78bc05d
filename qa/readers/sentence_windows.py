"""Read what matters: the best sentences of the retrieved passages, with their neighbours, packed into one window.

The span model's time grows with the tokens it reads, and whole passages are mostly sentences the question is
not about. Here the rule reader's evidence (idf-weighted coverage of the question's terms plus embedding
similarity, for every sentence of the passages) ranks the sentences; the best ones, each with the sentence
before and after it, are packed into one text of at most the model's window, in document order. The span
model reads that text once; its window is then split back into one window per packed piece, each with offsets
into its own piece (a :class:`PackedPiece`, a passage of its own whose chunk is that stretch of the document),
so that the learned reader scores candidates exactly as it does over whole passages.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from qa.readers.span_model import Window
from qa.store.index import CorpusIndex
from qa.types import Chunk, Passage

SEPARATOR = "\n"


@dataclass(frozen=True)
class PackedPiece:
    """A stretch of one document (whole sentences) read as part of the packed text, as a passage of its own."""

    passage: Passage  # its chunk is the stretch: offsets into the document, the sentences it holds
    packed_start: int  # where the stretch starts in the packed text


def pack(
    index: CorpusIndex,
    passages: list[Passage],
    evidence: dict[int, dict[str, float]],
    token_count: Callable[[str], int],
    budget: int,
    must_include: int | None = None,
) -> tuple[str, list[PackedPiece]]:
    """The packed text and its pieces: sentences by coverage + similarity (``must_include`` first), each with its
    neighbours when they fit, until ``budget`` tokens; pieces of one document that touch are merged."""
    passage_of = {sid: p for p in passages for sid in p.chunk.sentence_ids}
    ranked = sorted(evidence, key=lambda sid: -(evidence[sid].get("coverage", 0.0) + evidence[sid].get("dense", 0.0)))
    if must_include is not None and must_include in passage_of:
        ranked = [must_include] + [sid for sid in ranked if sid != must_include]
    chosen: set[int] = set()
    used = 0
    for sid in ranked:
        if sid not in passage_of or sid in chosen:
            continue
        doc_id = index.sentences[sid].doc_id
        group = [s for s in (sid - 1, sid, sid + 1)
                 if 0 <= s < len(index.sentences) and index.sentences[s].doc_id == doc_id and s not in chosen]
        cost = sum(token_count(index.sentences[s].text) for s in group)
        if used + cost > budget:  # the sentence alone, if that still fits
            group = [sid]
            cost = token_count(index.sentences[sid].text)
            if used + cost > budget:
                continue
        chosen.update(group)
        used += cost
        if used >= budget:
            break
    return _join(index, passage_of, passages, sorted(chosen))


def _join(index: CorpusIndex, passage_of: dict[int, Passage], passages: list[Passage],
          chosen: list[int]) -> tuple[str, list[PackedPiece]]:
    runs: list[list[int]] = []
    for sid in chosen:  # ids in order: a document's sentences are numbered in its order
        if runs and runs[-1][-1] == sid - 1 and index.sentences[sid].doc_id == index.sentences[sid - 1].doc_id:
            runs[-1].append(sid)
        else:
            runs.append([sid])
    texts, pieces, at = [], [], 0
    for run in runs:
        first, last = index.sentences[run[0]], index.sentences[run[-1]]
        document = index.documents[first.doc_id].text
        text = document[first.start : last.end]
        source = next((passage_of[s] for s in run if s in passage_of), passages[0])
        chunk = Chunk(source.chunk.chunk_id, first.doc_id, first.start, last.end, text, tuple(run), source.chunk.key)
        pieces.append(PackedPiece(dataclasses.replace(source, chunk=chunk), at))
        texts.append(text)
        at += len(text) + len(SEPARATOR)
    return SEPARATOR.join(texts), pieces


def split(windows: list[Window], pieces: list[PackedPiece]) -> list[Window]:
    """Each window of the packed text as one window per piece: the piece's tokens alone count as passage
    (``context``), with offsets into the piece; the logits stay whole, so the "no answer" score is the same."""
    split_windows = []
    for window in windows:
        for number, piece in enumerate(pieces):
            end = piece.packed_start + len(piece.passage.chunk.text)
            inside = np.array([window.context[i] and piece.packed_start <= a and b <= end and b > a
                               for i, (a, b) in enumerate(window.offsets)], dtype=bool)
            if not inside.any():
                continue
            offsets = [(a - piece.packed_start, b - piece.packed_start) if inside[i] else (0, 0)
                       for i, (a, b) in enumerate(window.offsets)]
            split_windows.append(Window(number, window.start_logits, window.end_logits, inside, offsets))
    return split_windows
