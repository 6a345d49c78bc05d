"""The persisted index: vectors in FAISS, the chunk and sentence tables, and a manifest.

Layout of an index folder::

    index/CURRENT          name of the live version folder (replaced atomically)
    index/v-<id>/          one complete build: manifest.json, chunks.faiss, sentences.npy,
                           documents.json, chunks.json, sentences.json

A build is written to a temporary folder, renamed into place, and only then made live by replacing
``CURRENT``: a build that crashes half-way never becomes the index that loads. The manifest records the
corpus fingerprint, the model, the chunking and annotation settings, library versions and a SHA-256 of every
file, which loading verifies.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import faiss
import numpy as np

from .annotation import ANNOTATION_VERSION, annotate_documents
from .chunking import Chunker, ChunkingSettings
from .embedding import Embedder
from .errors import IndexUnavailableError
from .loading import corpus_fingerprint
from .types import Chunk, Document, Sentence, Span, Token

FORMAT_VERSION = 1
CURRENT_POINTER = "CURRENT"
MANIFEST = "manifest.json"
_FILES = ("documents.json", "chunks.json", "sentences.json", "chunks.faiss", "sentences.npy")
_VERSIONED_PACKAGES = ("faiss-cpu", "sentence-transformers", "spacy", "langchain-text-splitters", "torch")


@dataclass
class CorpusIndex:
    """Everything the retriever and the reader need, in memory."""

    documents: dict[str, Document]
    chunks: list[Chunk]
    sentences: list[Sentence]
    chunk_vectors: faiss.Index
    sentence_vectors: np.ndarray
    manifest: dict[str, Any]

    @property
    def location(self) -> str:
        return str(self.manifest.get("location", ""))


def build_key(model: str, chunking: ChunkingSettings) -> dict[str, Any]:
    """The settings an index depends on: a change to any of them makes the index stale."""
    return {
        "format": FORMAT_VERSION,
        "model": model,
        "chunking": asdict(chunking),
        "annotation": ANNOTATION_VERSION,
        "spacy": _version("spacy"),
    }


def build_index(
    documents: list[Document],
    embedder: Embedder,
    chunking: ChunkingSettings,
    corpus_paths: list[str],
) -> CorpusIndex:
    """Annotate, chunk and embed ``documents`` into an in-memory index."""
    sentences = annotate_documents(documents)
    chunks = Chunker(chunking).chunk(documents, sentences)
    chunk_vectors = embedder.encode([c.text for c in chunks])
    sentence_vectors = embedder.encode([s.text for s in sentences])
    vector_index = faiss.IndexFlatIP(embedder.dimension)
    if len(chunk_vectors):
        vector_index.add(chunk_vectors)
    manifest = {
        "build": build_key(embedder.name, chunking),
        "corpus": {
            "paths": [str(p) for p in corpus_paths],
            "fingerprint": corpus_fingerprint(documents),
            "documents": len(documents),
            "chunks": len(chunks),
            "sentences": len(sentences),
        },
        "dimension": embedder.dimension,
        "versions": {name: _version(name) for name in ("seminar-qa",) + _VERSIONED_PACKAGES},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return CorpusIndex(
        documents={d.doc_id: d for d in documents},
        chunks=chunks,
        sentences=sentences,
        chunk_vectors=vector_index,
        sentence_vectors=sentence_vectors,
        manifest=manifest,
    )


def save_index(index: CorpusIndex, directory: Path) -> Path:
    """Write ``index`` as a new version under ``directory`` and make it live atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    with _build_lock(directory):
        staging = directory / f".tmp-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            _write_json(staging / "documents.json", [asdict(d) for d in index.documents.values()])
            _write_json(staging / "chunks.json", [asdict(c) for c in index.chunks])
            _write_json(staging / "sentences.json", [_sentence_row(s) for s in index.sentences])
            faiss.write_index(index.chunk_vectors, str(staging / "chunks.faiss"))
            with open(staging / "sentences.npy", "wb") as fh:
                np.save(fh, index.sentence_vectors)
            manifest = dict(index.manifest)
            manifest.pop("location", None)
            manifest["files"] = {name: _sha256(staging / name) for name in _FILES}
            _write_json(staging / MANIFEST, manifest)
            for name in _FILES + (MANIFEST,):
                _fsync(staging / name)
            version = directory / f"v-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
            staging.rename(version)
            pointer_tmp = directory / f".{CURRENT_POINTER}.{uuid.uuid4().hex}"
            pointer_tmp.write_text(version.name + "\n")
            _fsync(pointer_tmp)
            os.replace(pointer_tmp, directory / CURRENT_POINTER)
            _fsync_dir(directory)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _remove_old_versions(directory, keep=version.name)
    index.manifest = {**manifest, "location": str(version)}
    return version


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The live version's manifest, or ``None`` when there is no complete index in ``directory``."""
    version = _live_version(directory)
    if version is None:
        return None
    try:
        return json.loads((version / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def load_index(directory: Path) -> CorpusIndex:
    """Load the live index, verifying every file against the manifest's checksums."""
    version = _live_version(directory)
    if version is None:
        raise IndexUnavailableError(f"no index in {directory}: build one with `qa build`")
    try:
        manifest = json.loads((version / MANIFEST).read_text())
        for name, expected in manifest["files"].items():
            if _sha256(version / name) != expected:
                raise IndexUnavailableError(f"index file {version / name} is corrupt (checksum mismatch)")
        documents = [Document(**row) for row in json.loads((version / "documents.json").read_text())]
        chunks = [
            Chunk(**{**row, "sentence_ids": tuple(row["sentence_ids"])})
            for row in json.loads((version / "chunks.json").read_text())
        ]
        sentences = [_sentence_from_row(row) for row in json.loads((version / "sentences.json").read_text())]
        chunk_vectors = faiss.read_index(str(version / "chunks.faiss"))
        sentence_vectors = np.load(version / "sentences.npy")
    except IndexUnavailableError:
        raise
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise IndexUnavailableError(f"index in {version} cannot be read ({exc}); rebuild it with `qa build`") from None
    if chunk_vectors.ntotal != len(chunks) or len(sentence_vectors) != len(sentences):
        raise IndexUnavailableError(f"index in {version} is inconsistent; rebuild it with `qa build`")
    manifest["location"] = str(version)
    return CorpusIndex(
        documents={d.doc_id: d for d in documents},
        chunks=chunks,
        sentences=sentences,
        chunk_vectors=chunk_vectors,
        sentence_vectors=sentence_vectors,
        manifest=manifest,
    )


def staleness(manifest: dict[str, Any] | None, key: dict[str, Any], fingerprint: str | None) -> str | None:
    """Why an index with ``manifest`` cannot serve (``None`` when it can).

    ``fingerprint`` is the current corpus fingerprint, or ``None`` to skip the corpus check.
    """
    if manifest is None:
        return "no index has been built"
    if manifest.get("build") != key:
        return "it was built with other settings (model, chunking or annotation)"
    if fingerprint is not None and manifest.get("corpus", {}).get("fingerprint") != fingerprint:
        return "the corpus has changed since it was built"
    return None


def live_version_name(directory: Path) -> str | None:
    """The name of the live version folder (what ``CURRENT`` says), or ``None``."""
    try:
        name = (directory / CURRENT_POINTER).read_text().strip()
    except OSError:
        return None
    return name if name and "/" not in name else None


def _live_version(directory: Path) -> Path | None:
    name = live_version_name(directory)
    if name is None or not (directory / name / MANIFEST).is_file():
        return None
    return directory / name


def _remove_old_versions(directory: Path, keep: str) -> None:
    for entry in directory.iterdir():
        if entry.is_dir() and entry.name.startswith(("v-", ".tmp-")) and entry.name != keep:
            shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def _build_lock(directory: Path) -> Iterator[None]:
    """One writer at a time per index folder."""
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _sentence_row(sentence: Sentence) -> dict[str, Any]:
    return {
        "sentence_id": sentence.sentence_id,
        "doc_id": sentence.doc_id,
        "start": sentence.start,
        "end": sentence.end,
        "text": sentence.text,
        "tokens": [[t.start, t.end, t.lemma, t.pos, int(t.is_stop), t.head, t.dep] for t in sentence.tokens],
        "entities": [[e.start, e.end, e.label] for e in sentence.entities],
        "noun_chunks": [[n.start, n.end] for n in sentence.noun_chunks],
    }


def _sentence_from_row(row: dict[str, Any]) -> Sentence:
    return Sentence(
        sentence_id=row["sentence_id"],
        doc_id=row["doc_id"],
        start=row["start"],
        end=row["end"],
        text=row["text"],
        tokens=[Token(s, e, lemma, pos, bool(stop), head, dep) for s, e, lemma, pos, stop, head, dep in row["tokens"]],
        entities=[Span(s, e, label) for s, e, label in row["entities"]],
        noun_chunks=[Span(s, e, "NP") for s, e in row["noun_chunks"]],
    )


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
