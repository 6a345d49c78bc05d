"""Corpus management: which documents the index holds, and adding, updating and removing them incrementally.

The manifest records the corpus as a list of source paths (files or folders) and the ids of documents an
editor removed although their file is still in a source folder. Every change goes through one step,
:func:`_sync`, under the index folder's writer lock: read the sources, work out the documents the index should
hold, and let :func:`qa.store.index.update_index` embed only what is new or changed. The result is written as a new
index version and made live atomically, so a server keeps answering from the old version until the new one is
complete, and an update killed half-way leaves the old version live.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from qa.config import Settings
from qa.errors import CorpusError, IndexUnavailableError
from qa.ingest.chunking import ChunkingSettings
from qa.ingest.loading import load_documents
from qa.store.embedding import Embedder
from qa.store.index import (
    CorpusIndex,
    IndexChanges,
    VectorIndexSettings,
    build_key,
    empty_index,
    index_lock,
    load_index,
    read_manifest,
    update_index,
    write_version,
)
from qa.types import Document

log = logging.getLogger(__name__)


@dataclass
class CorpusUpdate:
    """The outcome of a corpus change: what changed, what could not be read, and the index now live."""

    changes: IndexChanges
    failures: list[tuple[str, str]] = field(default_factory=list)
    index: CorpusIndex | None = None

    @property
    def version(self) -> str:
        return self.index.version if self.index else ""


@dataclass(frozen=True)
class DocumentEntry:
    """One line of the document list an editor sees."""

    doc_id: str
    title: str
    source: str
    date: str
    path: str
    chunks: int
    pages: int
    added: str
    updated: str


@dataclass(frozen=True)
class _CorpusSpec:
    paths: tuple[str, ...]
    excluded: frozenset[str]


def chunking_settings(settings: Settings) -> ChunkingSettings:
    return ChunkingSettings(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)


def vector_index_settings(settings: Settings) -> VectorIndexSettings:
    return VectorIndexSettings(settings.approximate_index_above, settings.hnsw_m, settings.hnsw_ef_construction)


def list_documents(index: CorpusIndex) -> list[DocumentEntry]:
    """The documents in ``index``, in index order, with their chunk counts."""
    counts = index.chunk_counts()
    return [
        DocumentEntry(
            doc_id=d.doc_id,
            title=d.title,
            source=d.source,
            date=d.date,
            path=d.path,
            chunks=counts.get(d.doc_id, 0),
            pages=len(d.page_starts),
            added=d.added,
            updated=d.updated,
        )
        for d in index.documents.values()
    ]


def ensure_index(
    settings: Settings,
    embedder: Embedder,
    corpus: list[str] | None = None,
    force: bool = False,
    build_missing: bool = True,
) -> CorpusIndex:
    """The index in ``settings.index_dir``, brought up to date with its sources first.

    - ``force`` rebuilds from scratch from ``corpus`` (default: the recorded sources, else ``settings.corpus``),
      forgetting removals.
    - A missing index is built from ``corpus`` or ``settings.corpus``, unless ``build_missing`` is false (then it
      is an error: a user who names an index folder that holds none has most likely mistyped it).
    - An index built with other settings (model, chunking, annotation) is rebuilt from its recorded sources.
    - Otherwise the recorded sources are re-read and only new or changed documents are embedded; ``corpus``, when
      given and different from the recorded sources, replaces them.
    """
    directory = Path(settings.index_dir)
    manifest = read_manifest(directory)
    if manifest is None and not build_missing and not force:
        raise IndexUnavailableError(f"no index in {directory}: build one with `qa build --index {directory}`")
    recorded = (manifest or {}).get("corpus", {}).get("paths")
    # A rebuild without named sources keeps the index's own (documents added since the first build included).
    requested = tuple(_resolve(corpus or (recorded if force and recorded else settings.corpus)))
    if force or manifest is None:
        update = _sync(settings, embedder, lambda spec: _CorpusSpec(requested, frozenset()), strict=True, fresh=True)
    elif corpus is not None and tuple(manifest.get("corpus", {}).get("paths", ())) != requested:
        update = _sync(settings, embedder, lambda spec: _CorpusSpec(requested, frozenset()), strict=True)
    else:
        update = _sync(settings, embedder, lambda spec: spec)
    for path, reason in update.failures:
        log.warning("kept the indexed copy of %s: %s", path, reason)
    assert update.index is not None
    return update.index


def add_paths(settings: Settings, embedder: Embedder, paths: Iterable[str | Path]) -> CorpusUpdate:
    """Add files or folders to the corpus (re-adding a changed file replaces its documents).

    Files that cannot be read are reported in ``failures`` and skipped; the others are added.
    """
    given = list(paths)
    if not given:
        raise CorpusError("name at least one file or folder to add")
    missing = [(str(p), "no such file or folder") for p in given if not Path(p).exists()]
    new = _resolve(p for p in given if Path(p).exists())

    def edit(spec: _CorpusSpec) -> _CorpusSpec:
        recorded = list(spec.paths)
        for path in new:
            if not any(_is_under(path, existing) for existing in recorded):
                # A folder replaces the sources inside it, which keep their place (and so their documents' ids).
                inside = [i for i, existing in enumerate(recorded) if _is_under(existing, path)]
                if inside:
                    recorded[inside[0]] = path
                    recorded = [p for i, p in enumerate(recorded) if i not in inside[1:]]
                else:
                    recorded.append(path)
        return _CorpusSpec(tuple(recorded), spec.excluded)

    update = _sync(settings, embedder, edit, readded=new)
    update.failures = missing + update.failures
    return update


def remove_documents(settings: Settings, embedder: Embedder, doc_ids: Iterable[str]) -> CorpusUpdate:
    """Take documents out of the index (all their chunks). Unknown ids are an error and nothing is removed."""
    wanted = set(doc_ids)
    if not wanted:
        raise CorpusError("name at least one document id to remove (see `qa list`)")

    def edit(spec: _CorpusSpec) -> _CorpusSpec:
        return _CorpusSpec(spec.paths, spec.excluded | wanted)

    return _sync(settings, embedder, edit, removing=wanted)


def _sync(
    settings: Settings,
    embedder: Embedder,
    edit: Callable[[_CorpusSpec], _CorpusSpec],
    strict: bool = False,
    fresh: bool = False,
    readded: Iterable[str] = (),
    removing: set[str] | None = None,
) -> CorpusUpdate:
    """Apply ``edit`` to the recorded corpus and bring the index in line with it, under the writer lock.

    ``strict``: a source that cannot be read is an error (a build), instead of keeping its indexed documents.
    ``fresh``: start from an empty index. ``readded``: paths whose removed documents come back. ``removing``:
    ids that must exist in the index.
    """
    directory = Path(settings.index_dir)
    directory.mkdir(parents=True, exist_ok=True)
    chunking = chunking_settings(settings)
    with index_lock(directory):
        manifest = read_manifest(directory)
        current = empty_index(embedder.dimension)
        if manifest is not None and not fresh:
            if manifest.get("build") == build_key(embedder.name, chunking):
                current = load_index(directory)
            else:
                log.info("rebuilding the index in %s: it was built with other settings", directory)
        # Without an index, the corpus is what the index would be built from: the configured one.
        recorded = (manifest or {}).get("corpus", {"paths": _resolve(settings.corpus)})
        before = _CorpusSpec(tuple(recorded.get("paths", ())), frozenset(recorded.get("excluded", ())))
        if removing is not None:
            unknown = sorted(removing - set(current.documents))
            if unknown:
                raise CorpusError(f"no such document: {', '.join(unknown)} (see `qa list`)")
        spec = edit(before)
        loaded = load_documents(spec.paths)
        if strict and loaded.failures:
            path, reason = loaded.failures[0]
            raise CorpusError(reason if reason.startswith(path) else f"{path}: {reason}")
        readded = list(readded)
        excluded = {
            doc_id
            for doc_id in spec.excluded
            if not any(d.doc_id == doc_id and _is_under(d.path, p) for d in loaded.documents for p in readded)
        }
        documents = _wanted_documents(current, loaded.documents, loaded.failures, excluded)
        if fresh and not documents:
            raise CorpusError("the corpus is empty: no document could be read")
        failed = {path for path, _ in loaded.failures}
        # A file newly named that cannot be read is reported, not recorded as a source (one that already was stays:
        # its indexed copy is kept).
        paths = tuple(
            p
            for p in _drop_emptied_files(spec.paths, loaded.documents, excluded)
            if not (p in readded and p in failed and p not in before.paths)
        )
        excluded &= {d.doc_id for d in loaded.documents if any(_is_under(d.path, p) for p in paths)}
        if current.manifest and _CorpusSpec(paths, frozenset(excluded)) == before and _same(current, documents):
            return CorpusUpdate(IndexChanges(unchanged=list(current.documents)), loaded.failures, current)
        updated, changes = update_index(
            current, documents, embedder, chunking, list(paths), excluded, vector_index_settings(settings)
        )
        write_version(updated, directory)
        log.info(
            "index %s: %d added, %d updated, %d removed, %d chunks embedded",
            updated.version, len(changes.added), len(changes.updated), len(changes.removed), changes.embedded_chunks,
        )
        return CorpusUpdate(changes, loaded.failures, updated)


def _wanted_documents(
    current: CorpusIndex, loaded: list[Document], failures: list[tuple[str, str]], excluded: set[str]
) -> list[Document]:
    """The documents the index should hold: what the sources gave, minus removals, plus the indexed copy of
    documents whose file could not be read this time (a source that went missing is not a removal)."""
    documents = [d for d in loaded if d.doc_id not in excluded]
    present = {d.doc_id for d in documents}
    unreadable = [path for path, _ in failures]
    for document in current.documents.values():
        if document.doc_id in present or document.doc_id in excluded:
            continue
        if document.path and any(_is_under(document.path, path) for path in unreadable):
            documents.append(document)
    return documents


def _same(index: CorpusIndex, documents: list[Document]) -> bool:
    """True when ``index`` holds exactly ``documents``, in order (ignoring when they were added)."""
    indexed = list(index.documents.values())
    return len(indexed) == len(documents) and all(
        replace(new, added=old.added, updated=old.updated) == old for old, new in zip(indexed, documents)
    )


def _drop_emptied_files(paths: tuple[str, ...], loaded: list[Document], excluded: set[str]) -> tuple[str, ...]:
    """Source files all of whose documents were removed leave the corpus (folders stay: they may get new files)."""
    kept = []
    for path in paths:
        from_path = [d.doc_id for d in loaded if d.path == path]
        if Path(path).is_file() and from_path and all(doc_id in excluded for doc_id in from_path):
            continue
        kept.append(path)
    return tuple(kept)


def _resolve(paths: Iterable[str | Path]) -> list[str]:
    resolved: list[str] = []
    for path in paths:
        text = str(Path(path).resolve())
        if text not in resolved:
            resolved.append(text)
    return resolved


def _is_under(path: str, source: str) -> bool:
    return path == source or Path(path).is_relative_to(source)
