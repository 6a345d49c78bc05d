"""The ONNX Runtime backend gives sentence-transformers' vectors, caches its export, and steps aside cleanly."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SEMINAR_QUESTIONS

from qa.config import Settings
from qa.errors import ModelError
from qa.pipeline import make_embedder
from qa.store import onnx_embedding
from qa.store.embedding import SentenceTransformerEmbedder, resolve_model_path
from qa.store.onnx_embedding import OnnxEmbedder

MODEL = Settings().embedding_model


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_model(cache_dir) -> OnnxEmbedder:
    return OnnxEmbedder(MODEL, cache_dir=cache_dir, threads=1, batch_size=8)


def test_vectors_match_sentence_transformers(onnx_model, seminar_text) -> None:
    questions = [json.loads(line)["question"] for line in SEMINAR_QUESTIONS.read_text().splitlines()[:40]]
    # Short and long texts mixed in one call (padding), and passages past the 256-token limit (truncation).
    passages = [seminar_text[start : start + size] for start in range(0, 6000, 1500) for size in (40, 700, 4000)]
    texts = questions + passages + ["", "深圳市副市长是谁？"]
    expected = SentenceTransformerEmbedder(MODEL).encode(texts)
    vectors = onnx_model.encode(texts)
    assert vectors.shape == expected.shape == (len(texts), onnx_model.dimension)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    assert onnx_model.encode([]).shape == (0, onnx_model.dimension)


def test_export_is_cached(onnx_model, cache_dir, monkeypatch) -> None:
    assert len(list(cache_dir.glob("*.onnx"))) == 1
    assert not list(cache_dir.glob("*.part"))

    def no_export(path: Path) -> bytes:
        raise AssertionError("exported again although the graph is cached")

    monkeypatch.setattr(onnx_embedding, "_export", no_export)
    again = OnnxEmbedder(MODEL, cache_dir=cache_dir)
    np.testing.assert_allclose(again.encode(["Where was the seminar held?"]), onnx_model.encode(["Where was the seminar held?"]))


def test_unwritable_cache_still_serves(tmp_path, caplog) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="qa.store.onnx_embedding"):
        model = OnnxEmbedder(MODEL, cache_dir=blocker / "cache")
    assert model.encode(["Who chaired the seminar?"]).shape == (1, model.dimension)
    assert "cannot cache the ONNX graph" in caplog.text


@pytest.fixture
def cls_pooled_model(tmp_path) -> Path:
    """The packaged model with its pooling switched to the CLS token: a layout the ONNX backend refuses."""
    source = Path(resolve_model_path(MODEL))
    copy = tmp_path / "cls-model"
    for item in source.rglob("*"):
        target = copy / item.relative_to(source)
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(item)
    pooling = copy / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.unlink()
    pooling.write_text(json.dumps({**config, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    return copy


def test_other_layouts_are_refused_and_torch_takes_over(cls_pooled_model, tmp_path, caplog) -> None:
    with pytest.raises(ModelError, match="mean pooling"):
        OnnxEmbedder(str(cls_pooled_model), cache_dir=tmp_path)
    settings = Settings.load(embedding_model=str(cls_pooled_model), model_cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="qa.pipeline"):
        embedder = make_embedder(settings)
    assert isinstance(embedder.inner, SentenceTransformerEmbedder)
    assert "using PyTorch" in caplog.text
    assert embedder.encode(["Who chaired the seminar?"]).shape == (1, 384)


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="embedding_backend"):
        make_embedder(Settings.load(embedding_backend="tensorflow"))


def test_default_pipeline_uses_onnx(embedder) -> None:
    assert isinstance(embedder.inner, OnnxEmbedder)


def test_serving_never_loads_pytorch(seminar_pipeline, seminar_settings, embedder) -> None:
    """With the graph cached, answering needs neither PyTorch nor transformers (start-up time and memory);
    PyTorch stays importable for whoever needs it later."""
    script = (
        "import sys\n"
        "from qa import Settings\n"
        "from qa.pipeline import QAPipeline\n"
        "answer = QAPipeline.open(Settings.load()).ask('Where was the seminar held?')\n"
        "assert answer.citations, answer\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'PyTorch was loaded'\n"
        "import torch\n"
        "print('ok', torch.__version__)\n"
    )
    env = {**os.environ, "QA_INDEX_DIR": str(seminar_settings.index_dir), "QA_CORPUS": os.pathsep.join(seminar_settings.corpus)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")


def test_cached_graph_is_readable_by_others_and_replaced_when_damaged(onnx_model, cache_dir) -> None:
    (cached,) = cache_dir.glob("*.onnx")
    assert cached.stat().st_mode & 0o777 == 0o644  # a replica run by another user can load a baked-in cache
    cached.write_bytes(b"not an onnx graph")
    model = OnnxEmbedder(MODEL, cache_dir=cache_dir)  # exported again, not a fallback to PyTorch
    np.testing.assert_allclose(model.encode(["Who chaired the seminar?"]), onnx_model.encode(["Who chaired the seminar?"]))
    assert cached.read_bytes() != b"not an onnx graph"


def test_lower_casing_models_are_left_to_sentence_transformers(cls_pooled_model, tmp_path) -> None:
    pooling = cls_pooled_model / "1_Pooling" / "config.json"
    pooling.write_text(json.dumps({**json.loads(pooling.read_text()), "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}))
    config = cls_pooled_model / "sentence_bert_config.json"
    settings = json.loads(config.read_text())
    config.unlink()
    config.write_text(json.dumps({**settings, "do_lower_case": True}))
    with pytest.raises(ModelError, match="lower-casing"):
        OnnxEmbedder(str(cls_pooled_model), cache_dir=tmp_path)
