"""The benchmark runs (a short form of `make bench` and `make loadtest`): every section it runs reports, no errors."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "benchmark.py"), "--quick", "--sections", "latency,peer,http",
            "--questions", "20", "--http-clients", "1,8", "--http-seconds", "3", "--out", str(out),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert {"meta", "latency", "peer", "http"} <= set(figures)
    levels = figures["http"]["levels"]
    assert [level["clients"] for level in levels] == [1, 8]
    assert all(level["errors"] == 0 and level["requests"] > 0 for level in levels)


def test_the_peer_gets_the_shipped_weights_back_from_the_graph(tmp_path):
    """Without the training run's checkpoint, the plain-transformers peer reads with the same weights, rebuilt
    from the shipped fp32 graph: every parameter found, the graph's logits reproduced (checked inside)."""
    import pytest

    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from bench.peer_weights import is_rebuilt_from, matches_graph, rebuild_checkpoint
    from qa.config import Settings
    from qa.readers.span_model import MODEL_FILE
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    settings = Settings()
    graph = settings.reader_model_dir / MODEL_FILE
    out = rebuild_checkpoint(graph, settings.reader_model_dir, tmp_path / "peer")  # the architecture shipped beside it
    question, passage = "When was the seminar held?", "On December 15th, the seminar was held in Shenzhen."
    ids = AutoTokenizer.from_pretrained(str(out))(question, passage)["input_ids"]
    served = Tokenizer.from_file(str(settings.reader_model_dir / "tokenizer.json")).encode(question, passage).ids
    assert ids == served  # the peer's tokenizer, special tokens included, is the served model's
    assert not (tmp_path / "peer.partial").exists()
    assert is_rebuilt_from(out, graph) and matches_graph(out, graph)
    other = tmp_path / "other.onnx"  # another graph (here: the int8 one) is not what it was rebuilt from
    other.write_bytes((settings.reader_model_dir / "model.int8.onnx").read_bytes())
    assert not is_rebuilt_from(out, other)
