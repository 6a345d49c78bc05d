"""Multilingual vectors of an index's texts, computed on first need and cached beside the index.

The index itself holds English (all-MiniLM-L6-v2) vectors only, and its format is left alone. For questions
in another language, the chunks, the sentences and the content words of the corpus also need vectors of the
multilingual model; :class:`VectorCache` keeps them in ``<index_dir>/multilingual/<model>.npz``, keyed by a
hash of each text, so a rebuilt index recomputes only its new texts. The file is replaced atomically.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.store.embedding import Embedder
from qa.store.index import CorpusIndex
from qa.types import Sentence

log = logging.getLogger(__name__)

CACHE_FOLDER = "multilingual"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class VectorCache:
    """Vectors of texts by one embedder, persisted in one ``.npz`` file (keys and a float32 matrix)."""

    def __init__(self, directory: Path, embedder: Embedder) -> None:
        self.embedder = embedder
        self.path = Path(directory) / CACHE_FOLDER / (re.sub(r"[^A-Za-z0-9._-]+", "_", embedder.name) + ".npz")
        self._lock = threading.Lock()

    def vectors(self, texts: list[str]) -> np.ndarray:
        """The vectors of ``texts`` (in order), computing and saving only those the cache lacks.

        What is saved is exactly the vectors of ``texts``: entries of texts that are gone are dropped.
        """
        with self._lock:
            cached = self._read()
            keys = [text_key(t) for t in texts]
            missing = list(dict.fromkeys(k_t for k_t in zip(keys, texts) if k_t[0] not in cached))
            if missing:
                started = time.perf_counter()
                computed = self.embedder.encode([t for _, t in missing])
                cached.update({k: v for (k, _), v in zip(missing, computed)})
                reused = len(set(keys) & cached.keys()) - len(missing)
                log.info(
                    "multilingual vectors: %d computed in %.1f s, %d read from %s",
                    len(missing), time.perf_counter() - started, reused, self.path,
                )
            result = np.stack([cached[k] for k in keys]) if keys else np.zeros((0, self.embedder.dimension), np.float32)
            if missing or len(cached) != len(set(keys)):
                self._write(dict(zip(keys, result)))
            return np.ascontiguousarray(result, dtype=np.float32)

    def _read(self) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"]))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError) as exc:  # a damaged cache is recomputed, never trusted
            log.warning("ignoring the unreadable multilingual cache %s (%s)", self.path, exc)
            return {}

    def _write(self, entries: dict[str, np.ndarray]) -> None:
        """Write to a temporary file and rename it over the cache; a read-only index folder only logs."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
            try:
                with open(temporary, "wb") as fh:
                    np.savez(fh, keys=np.array(list(entries), dtype="U32"), vectors=np.stack(list(entries.values())))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(temporary, self.path)
            finally:
                temporary.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("multilingual vectors not cached (%s); they will be recomputed next time", exc)


@dataclass(frozen=True)
class CorpusWords:
    """The corpus's content words (lower-case surface forms), their lemmas and multilingual vectors.

    ``hubness`` is, for each word, its mean similarity to its ``neighbours`` nearest words among a reference
    list of common words of the other language: some words ("established", "center") are near everything
    in the multilingual space, and word matching discounts them (CSLS, see :func:`qa.chinese.reader.align_terms`).
    """

    words: tuple[str, ...]
    lemmas: tuple[str, ...]
    vectors: np.ndarray
    hubness: np.ndarray


@dataclass(frozen=True)
class MultilingualIndex:
    """Multilingual passage vectors of an index's chunks, sentences and content words."""

    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    words: CorpusWords

    @classmethod
    def build(
        cls,
        index: CorpusIndex,
        passages: Embedder,
        queries: Embedder,
        directory: Path,
        reference_words: list[str],
        neighbours: int,
    ) -> "MultilingualIndex":
        """Vectors of the index's texts (``passages``) and of ``reference_words`` (``queries``), cached."""
        started = time.perf_counter()
        words, lemmas = content_words(index.sentences)
        # One cache file per role: the corpus texts are distinct, and one read and write is enough.
        texts = [c.text for c in index.chunks] + [s.text for s in index.sentences] + list(words)
        vectors = VectorCache(directory, passages).vectors(texts)
        reference = VectorCache(directory, queries).vectors(reference_words)
        n_chunks, n_sentences = len(index.chunks), len(index.sentences)
        word_vectors = vectors[n_chunks + n_sentences :]
        log.info("multilingual index ready in %.1f s (%d texts)", time.perf_counter() - started, len(texts))
        return cls(
            chunk_vectors=vectors[:n_chunks],
            sentence_vectors=vectors[n_chunks : n_chunks + n_sentences],
            words=CorpusWords(words, lemmas, word_vectors, nearest_mean(word_vectors @ reference.T, neighbours)),
        )


def nearest_mean(similarity: np.ndarray, k: int) -> np.ndarray:
    """For each row, the mean of its ``k`` largest values."""
    if similarity.shape[1] == 0:
        return np.zeros(similarity.shape[0], dtype=np.float32)
    k = min(k, similarity.shape[1])
    return np.partition(similarity, -k, axis=1)[:, -k:].mean(axis=1)


def content_words(sentences: list[Sentence]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Distinct alphabetic, non-stop words of the sentences (lower-case), with the lemma of each."""
    lemma_of: dict[str, str] = {}
    for sentence in sentences:
        for token in sentence.tokens:
            word = sentence.text[token.start - sentence.start : token.end - sentence.start].lower()
            if not token.is_stop and len(word) > 1 and word.isalpha() and word.isascii():
                lemma_of.setdefault(word, token.lemma)
    words = tuple(sorted(lemma_of))
    return words, tuple(lemma_of[w] for w in words)
