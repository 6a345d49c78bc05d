from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.ingest.chunking import Chunker, ChunkingSettings
from qa.ingest.loading import checksum_text
from qa.ingest.text import sentence_spans
from qa.types import Document, Sentence

_text = st.text(
    alphabet=st.sampled_from(list("abcde XYZ.,;!?\n\n\t-'\"") + ["研", "。", "\u00e9"]), min_size=0, max_size=600
)


def _document(text: str) -> Document:
    return Document(doc_id="d", text=text, checksum=checksum_text(text))


@settings(max_examples=200, deadline=None)
@given(text=_text, size=st.integers(20, 200), overlap_share=st.floats(0, 0.9))
def test_chunk_offsets_reproduce_the_text(text, size, overlap_share):
    chunker = Chunker(ChunkingSettings(chunk_size=size, chunk_overlap=int(size * overlap_share)))
    document = _document(text)
    spans = chunker.split(document)
    previous_start = -1
    for start, end in spans:
        assert 0 <= start < end <= len(text)
        assert start > previous_start  # chunks advance through the document
        previous_start = start
    chunks = chunker.chunk([document], [])
    assert all(text[c.start : c.end] == c.text for c in chunks)
    # every non-blank character is in some chunk
    covered = set()
    for start, end in spans:
        covered.update(range(start, end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


@settings(max_examples=200, deadline=None)
@given(text=_text)
def test_sentence_spans_are_ordered_trimmed_and_inside_lines(text):
    spans = sentence_spans(text)
    last_end = 0
    for start, end in spans:
        assert last_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip() and "\n" not in piece
        last_end = end


def test_sentences_split_on_real_text():
    text = 'Dr. Smith arrived. He said "Yes." Then 5 people left.\nA headline\nBody.'
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Dr. Smith arrived.", 'He said "Yes."', "Then 5 people left.", "A headline", "Body."
    ]


def test_chunks_know_their_sentences(seminar_text):
    document = _document(seminar_text)
    sentences = [
        Sentence(sentence_id=i, doc_id="d", start=a, end=b, text=seminar_text[a:b])
        for i, (a, b) in enumerate(sentence_spans(seminar_text))
    ]
    chunks = Chunker(ChunkingSettings(chunk_size=700, chunk_overlap=150)).chunk([document], sentences)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.sentence_ids
        for sid in chunk.sentence_ids:
            assert sentences[sid].start < chunk.end and sentences[sid].end > chunk.start
    assert {sid for c in chunks for sid in c.sentence_ids} == set(range(len(sentences)))
