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
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Iterator

import faiss
import numpy as np

from qa.errors import IndexUnavailableError
from qa.ingest.annotation import ANNOTATION_VERSION, annotate_documents
from qa.ingest.chunking import Chunker, ChunkingSettings
from qa.ingest.definitions import Definition, find_definitions
from qa.ingest.loading import corpus_fingerprint
from qa.store.embedding import Embedder
from qa.types import Chunk, Document, Sentence, Span, Token

FORMAT_VERSION = 2
CURRENT_POINTER = "CURRENT"
MANIFEST = "manifest.json"
_FILES = ("documents.json", "chunks.json", "sentences.json", "chunks.faiss", "sentences.npy")
_VERSIONED_PACKAGES = ("faiss-cpu", "sentence-transformers", "spacy", "langchain-text-splitters", "torch")


@dataclass
class CorpusIndex:
    """Everything the retriever and the reader need, in memory.

    ``chunk_vectors`` holds one vector per chunk under the chunk's stable ``key`` (a FAISS ``IndexIDMap2``), so
    that a document's chunks can be removed and new ones added without touching the others.
    """

    documents: dict[str, Document]
    chunks: list[Chunk]
    sentences: list[Sentence]
    chunk_vectors: faiss.Index
    sentence_vectors: np.ndarray
    manifest: dict[str, Any]
    _positions: dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._positions = {chunk.key: chunk.chunk_id for chunk in self.chunks}

    @property
    def location(self) -> str:
        return str(self.manifest.get("location", ""))

    @cached_property
    def definitions(self) -> list[Definition]:
        """The short names the documents define ("State Information Center (SIC)"), found once, on first use."""
        return find_definitions(self.sentences)

    @property
    def version(self) -> str:
        """The name of the version folder this index was loaded from or saved to ("" when unsaved)."""
        return Path(self.location).name if self.location else ""

    def chunk_by_key(self, key: int) -> Chunk:
        return self.chunks[self._positions[key]]

    def chunk_counts(self) -> dict[str, int]:
        """Chunks per document id."""
        counts = dict.fromkeys(self.documents, 0)
        for chunk in self.chunks:
            counts[chunk.doc_id] += 1
        return counts


@dataclass(frozen=True)
class VectorIndexSettings:
    """Exact search up to ``approximate_above`` chunks, HNSW above (see ``qa.config.Settings``)."""

    approximate_above: int
    hnsw_m: int
    hnsw_ef_construction: int


@dataclass
class IndexChanges:
    """What an update did, by document id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    embedded_chunks: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def build_key(model: str, chunking: ChunkingSettings) -> dict[str, Any]:
    """The settings an index depends on: a change to any of them makes the index stale."""
    return {
        "format": FORMAT_VERSION,
        "model": model,
        "chunking": asdict(chunking),
        "annotation": ANNOTATION_VERSION,
        "spacy": _version("spacy"),
    }


def empty_index(dimension: int) -> CorpusIndex:
    return CorpusIndex(
        documents={},
        chunks=[],
        sentences=[],
        chunk_vectors=faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)),
        sentence_vectors=np.zeros((0, dimension), dtype=np.float32),
        manifest={},
    )


def update_index(
    index: CorpusIndex,
    documents: list[Document],
    embedder: Embedder,
    chunking: ChunkingSettings,
    corpus_paths: list[str],
    excluded: Iterable[str] = (),
    vector_settings: VectorIndexSettings | None = None,
) -> tuple[CorpusIndex, IndexChanges]:
    """A new index holding exactly ``documents``, reusing the work already done in ``index``.

    A document whose id and content (checksum) are already indexed keeps its annotations and vectors; only new
    and changed documents are annotated and embedded; documents not in ``documents`` are dropped with all their
    chunks. ``index`` itself is left untouched (it may be serving). ``corpus_paths`` and ``excluded`` (ids taken
    out by an editor although their file is still in the corpus) are recorded in the manifest. Past
    ``vector_settings.approximate_above`` chunks the vectors go into an HNSW graph (rebuilt from the stored
    vectors on each change: HNSW cannot delete), else into an exact flat index updated in place.
    """
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    changes = IndexChanges()
    kept: dict[str, Document] = {}
    fresh: list[Document] = []
    for document in documents:
        old = index.documents.get(document.doc_id)
        if old is None:
            fresh.append(replace(document, added=now, updated=now))
            changes.added.append(document.doc_id)
        elif old.checksum != document.checksum:
            fresh.append(replace(document, added=old.added or now, updated=now))
            changes.updated.append(document.doc_id)
        else:  # same text: keep the vectors; take the (possibly corrected) metadata
            same_metadata = replace(document, added=old.added, updated=old.updated) == old
            kept[document.doc_id] = replace(document, added=old.added, updated=old.updated if same_metadata else now)
            (changes.unchanged if same_metadata else changes.updated).append(document.doc_id)
    wanted = {d.doc_id for d in documents}
    changes.removed = [doc_id for doc_id in index.documents if doc_id not in wanted]

    sentences: list[Sentence] = []
    renumbered: dict[int, int] = {}
    for sentence in index.sentences:
        if sentence.doc_id in kept:
            renumbered[sentence.sentence_id] = len(sentences)
            sentences.append(replace(sentence, sentence_id=len(sentences)))
    chunks = [
        replace(chunk, chunk_id=n, sentence_ids=tuple(renumbered[i] for i in chunk.sentence_ids))
        for n, chunk in enumerate(c for c in index.chunks if c.doc_id in kept)
    ]
    new_sentences = annotate_documents(fresh, first_id=len(sentences)) if fresh else []
    new_chunks = Chunker(chunking).chunk(fresh, new_sentences, first_id=len(chunks))
    changes.embedded_chunks = len(new_chunks)

    new_vectors = embedder.encode([c.text for c in new_chunks]).reshape(-1, embedder.dimension)
    vectors = _chunk_vector_index(index, [c.key for c in chunks], new_chunks, new_vectors, vector_settings)
    carried = index.sentence_vectors[[old for old in renumbered]] if renumbered else index.sentence_vectors[:0]
    sentence_vectors = np.vstack([carried, embedder.encode([s.text for s in new_sentences]).reshape(-1, carried.shape[1])])

    all_chunks = chunks + new_chunks
    if len({c.key for c in all_chunks}) != len(all_chunks):
        raise ValueError("two chunks share a key: the same document id is indexed twice")
    by_id = {**kept, **{d.doc_id: d for d in fresh}}
    ordered = [by_id[d.doc_id] for d in documents]
    updated = CorpusIndex(
        documents={d.doc_id: d for d in ordered},
        chunks=all_chunks,
        sentences=sentences + new_sentences,
        chunk_vectors=vectors,
        sentence_vectors=sentence_vectors.astype(np.float32, copy=False),
        manifest=_manifest(ordered, all_chunks, len(sentences) + len(new_sentences), embedder, chunking, corpus_paths, excluded),
    )
    return updated, changes


def _chunk_vector_index(
    index: CorpusIndex,
    kept_keys: list[int],
    new_chunks: list[Chunk],
    new_vectors: np.ndarray,
    settings: VectorIndexSettings | None,
) -> faiss.Index:
    """The chunk vectors of the updated index: ``index``'s for ``kept_keys``, plus ``new_vectors``."""
    new_keys = np.array([c.key for c in new_chunks], dtype=np.int64)
    approximate = settings is not None and len(kept_keys) + len(new_chunks) > settings.approximate_above
    if not approximate and not is_approximate(index.chunk_vectors):  # exact: update a copy in place
        vectors = faiss.clone_index(index.chunk_vectors)
        kept = set(kept_keys)
        dropped = [c.key for c in index.chunks if c.key not in kept]
        if dropped:
            vectors.remove_ids(np.array(dropped, dtype=np.int64))
        if len(new_keys):
            vectors.add_with_ids(new_vectors, new_keys)
        return vectors
    dimension = new_vectors.shape[1]
    if approximate:
        assert settings is not None
        graph = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = settings.hnsw_ef_construction
        vectors = faiss.IndexIDMap2(graph)
    else:
        vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    kept_vectors = (
        index.chunk_vectors.reconstruct_batch(np.array(kept_keys, dtype=np.int64))
        if kept_keys
        else np.zeros((0, dimension), dtype=np.float32)
    )
    vectors.add_with_ids(
        np.vstack([kept_vectors, new_vectors]).astype(np.float32), np.concatenate([np.array(kept_keys, dtype=np.int64), new_keys])
    )
    return vectors


def _searched(vectors: faiss.Index) -> faiss.Index:
    """The index that does the searching: the one inside an id map, or ``vectors`` itself."""
    return faiss.downcast_index(vectors.index) if isinstance(vectors, faiss.IndexIDMap2) else vectors


def is_approximate(vectors: faiss.Index) -> bool:
    """Whether a chunk vector index searches an HNSW graph (approximate) rather than every vector."""
    return isinstance(_searched(vectors), faiss.IndexHNSW)


def set_search_depth(vectors: faiss.Index, ef_search: int) -> None:
    """How many graph nodes an HNSW search visits (more: better recall, slower); nothing for exact search."""
    if is_approximate(vectors):
        _searched(vectors).hnsw.efSearch = ef_search


def _manifest(
    documents: list[Document],
    chunks: list[Chunk],
    sentence_count: int,
    embedder: Embedder,
    chunking: ChunkingSettings,
    corpus_paths: list[str],
    excluded: Iterable[str],
) -> dict[str, Any]:
    return {
        "build": build_key(embedder.name, chunking),
        "corpus": {
            "paths": [str(p) for p in corpus_paths],
            "excluded": sorted(set(excluded)),
            "fingerprint": corpus_fingerprint(documents),
            "documents": len(documents),
            "chunks": len(chunks),
            "sentences": sentence_count,
        },
        "dimension": embedder.dimension,
        "versions": {name: _version(name) for name in ("seminar-qa",) + _VERSIONED_PACKAGES},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def save_index(index: CorpusIndex, directory: Path) -> Path:
    """Write ``index`` as a new version under ``directory`` and make it live atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    with index_lock(directory):
        return write_version(index, directory)


def write_version(index: CorpusIndex, directory: Path) -> Path:
    """Write ``index`` as a new version and make it live. The caller holds :func:`index_lock`."""
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
        documents = [
            Document(**{**row, "page_starts": tuple(row.get("page_starts", ()))})
            for row in json.loads((version / "documents.json").read_text())
        ]
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
    keys = faiss.vector_to_array(chunk_vectors.id_map) if isinstance(chunk_vectors, faiss.IndexIDMap2) else None
    consistent = (
        keys is not None
        and len(keys) == len(chunks)
        and set(keys.tolist()) == {c.key for c in chunks}
        and len(sentence_vectors) == len(sentences)
    )
    if not consistent:
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
def index_lock(directory: Path) -> Iterator[None]:
    """One writer at a time per index folder (across processes). Not re-entrant."""
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
