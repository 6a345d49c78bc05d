from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import qa.store.index
from qa.errors import IndexUnavailableError
from qa.store.corpus import chunking_settings, ensure_index
from qa.store.index import load_index, read_manifest


@pytest.fixture()
def small_corpus(tmp_path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "lab.txt").write_text(
        "Lab opening\nSource:Press Office Date:2021-05-01\n\n"
        "The Riverside Data Lab opened on May 1st in Lisbon. Its director is Ana Costa.\n\n"
        "The lab studies data pricing. It was funded by the Northern Trust."
    )
    return corpus


def _settings(seminar_settings, tmp_path, **changes):
    return dataclasses.replace(seminar_settings, index_dir=tmp_path / "index", **changes)


def test_round_trip(seminar_settings, embedder, small_corpus, tmp_path):
    settings = _settings(seminar_settings, tmp_path)
    built = ensure_index(settings, embedder, corpus=[str(small_corpus)])
    loaded = load_index(tmp_path / "index")
    assert loaded.chunks == built.chunks
    assert [s.text for s in loaded.sentences] == [s.text for s in built.sentences]
    assert loaded.sentences[1].tokens == built.sentences[1].tokens
    assert loaded.sentences[1].entities == built.sentences[1].entities
    assert loaded.chunk_vectors.ntotal == len(built.chunks)
    assert (loaded.sentence_vectors == built.sentence_vectors).all()
    assert loaded.documents == built.documents
    manifest = read_manifest(tmp_path / "index")
    assert manifest["corpus"]["documents"] == 1
    assert manifest["build"]["model"] == settings.embedding_model
    assert manifest["build"]["chunking"] == dataclasses.asdict(chunking_settings(settings))
    assert set(manifest["files"]) >= {"chunks.faiss", "chunks.json", "sentences.json"}
    for chunk in loaded.chunks:
        assert loaded.documents[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text


def test_fresh_index_is_loaded_not_rebuilt(seminar_settings, embedder, small_corpus, tmp_path, monkeypatch):
    settings = _settings(seminar_settings, tmp_path)
    first = ensure_index(settings, embedder, corpus=[str(small_corpus)])
    monkeypatch.setattr(qa.store.index, "annotate_documents", lambda *a, **k: pytest.fail("rebuilt a fresh index"))
    second = ensure_index(settings, embedder)  # corpus taken from the manifest
    assert second.location == first.location


def test_stale_index_is_rebuilt(seminar_settings, embedder, small_corpus, tmp_path):
    settings = _settings(seminar_settings, tmp_path)
    first = ensure_index(settings, embedder, corpus=[str(small_corpus)])
    # the corpus changes
    (small_corpus / "lab.txt").write_text((small_corpus / "lab.txt").read_text() + "\n\nA new paragraph.")
    second = ensure_index(settings, embedder)
    assert second.location != first.location and "A new paragraph." in second.chunks[-1].text
    assert not Path(first.location).exists()  # the old version is cleaned up
    # the chunking settings change
    third = ensure_index(dataclasses.replace(settings, chunk_size=120, chunk_overlap=20), embedder)
    assert third.location != second.location and len(third.chunks) > len(second.chunks)


def test_corrupt_index_is_detected(seminar_settings, embedder, small_corpus, tmp_path):
    settings = _settings(seminar_settings, tmp_path)
    built = ensure_index(settings, embedder, corpus=[str(small_corpus)])
    chunks_file = Path(built.location) / "chunks.json"
    chunks_file.write_text(chunks_file.read_text().replace("Lisbon", "Madrid"))
    with pytest.raises(IndexUnavailableError, match="corrupt"):
        load_index(tmp_path / "index")
    (Path(built.location) / "chunks.faiss").unlink()
    with pytest.raises(IndexUnavailableError):
        load_index(tmp_path / "index")


def test_crash_during_build_leaves_previous_index_loadable(seminar_settings, embedder, small_corpus, tmp_path, monkeypatch):
    settings = _settings(seminar_settings, tmp_path)
    first = ensure_index(settings, embedder, corpus=[str(small_corpus)])

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(qa.store.index.faiss, "write_index", crash)
    with pytest.raises(RuntimeError):
        ensure_index(settings, embedder, force=True)
    loaded = load_index(tmp_path / "index")
    assert loaded.location == first.location
    assert not [p for p in (tmp_path / "index").iterdir() if p.name.startswith(".tmp-")]


def test_half_written_version_without_pointer_is_never_loaded(seminar_settings, embedder, small_corpus, tmp_path):
    settings = _settings(seminar_settings, tmp_path)
    first = ensure_index(settings, embedder, corpus=[str(small_corpus)])
    stray = tmp_path / "index" / "v-99999999T000000-deadbeef"
    stray.mkdir()
    (stray / "manifest.json").write_text(json.dumps({"files": {}}))
    assert load_index(tmp_path / "index").location == first.location


def test_missing_index_is_an_error_when_not_building(seminar_settings, embedder, tmp_path):
    with pytest.raises(IndexUnavailableError, match="no index"):
        ensure_index(_settings(seminar_settings, tmp_path), embedder, build_missing=False)
