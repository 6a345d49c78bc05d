"""The plain-transformers peer's weights, rebuilt from the shipped ONNX graph.

The ``qa_peer`` section reads with ``AutoModelForQuestionAnswering`` in PyTorch on the same weights as the
learned reader. ``make train-reader`` leaves them in ``build/reader/model``; where that build folder is gone
(a fresh clone, a machine that never trained), the fp32 graph ``qa/models/reader/model.onnx`` holds them all,
read back as a resumed training run reads them (:mod:`qa.training.warm_start`) into a ``BertForQuestionAnswering``
of the configuration shipped beside the graph (``config.json``, whichever base it was trained from), with the
tokenizer files shipped there, and checked against the graph's own logits.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np

from qa.training.warm_start import load_onnx_weights

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
MAX_LOGIT_DIFFERENCE = 1e-3  # the rebuilt model must give the graph's logits within this
DIGEST_FILE = "graph.sha256"  # the SHA-256 of the graph a checkpoint was rebuilt from: a new graph, a new rebuild


def logit_difference(model, graph_path: Path) -> float:  # type: ignore[no-untyped-def]
    """The largest difference between a PyTorch span model's logits and the graph's, on a batch of two inputs
    (one padded: the attention mask counts)."""
    import onnxruntime
    import torch

    ids = np.array([[101, 2040, 2003, 1996, 3664, 1029, 102, 1996, 3664, 2001, 2182, 1012, 102],
                    [101, 2043, 1029, 102, 2009, 2001, 1999, 2286, 1012, 102, 0, 0, 0]], dtype=np.int64)
    feeds = {
        "input_ids": ids,
        "attention_mask": (ids != 0).astype(np.int64),
        "token_type_ids": np.array([[0] * 7 + [1] * 6, [0] * 4 + [1] * 6 + [0] * 3], dtype=np.int64),
    }
    session = onnxruntime.InferenceSession(str(graph_path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {i.name: feeds[i.name] for i in session.get_inputs()})
    with torch.no_grad():
        output = model(**{name: torch.from_numpy(value) for name, value in feeds.items()})
    mask = feeds["attention_mask"].astype(bool)
    return max(float(np.abs(g[mask] - e[mask]).max())
               for g, e in zip((output.start_logits.numpy(), output.end_logits.numpy()), expected))


def matches_graph(checkpoint: Path, graph_path: Path) -> bool:
    """Whether a transformers checkpoint gives the graph's logits (the same weights)."""
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(str(checkpoint), local_files_only=True).eval()
    return logit_difference(model, graph_path) <= MAX_LOGIT_DIFFERENCE


def graph_digest(graph_path: Path) -> str:
    return hashlib.sha256(Path(graph_path).read_bytes()).hexdigest()


def rebuild_checkpoint(graph_path: Path, model_dir: str | Path, out_dir: Path) -> Path:
    """Write a transformers checkpoint of the span model to ``out_dir`` (config, weights, tokenizer files, and
    the graph's SHA-256 in ``DIGEST_FILE``), after checking that it gives the graph's logits; written beside it
    and moved into place, so that an interrupted rebuild leaves no half checkpoint. ``model_dir``: the folder
    holding the model's ``config.json`` and tokenizer files (the shipped model's, :data:`qa.training.export.TRANSFORMERS_FILES`)."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    model_dir = Path(model_dir)
    config = BertConfig.from_pretrained(str(model_dir), local_files_only=True)
    config.num_labels = 2
    model = BertForQuestionAnswering(config).eval()
    load_onnx_weights(model, graph_path, torch)  # the warm start's reading of the graph (qa.training.warm_start)
    difference = logit_difference(model, graph_path)
    if difference > MAX_LOGIT_DIFFERENCE:
        raise ValueError(f"the rebuilt model's logits differ from the graph's by {difference}")
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(str(staging))
    for name in TOKENIZER_FILES:
        shutil.copy(model_dir / name, staging / name)
    (staging / DIGEST_FILE).write_text(graph_digest(graph_path) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir


def is_rebuilt_from(checkpoint: Path, graph_path: Path) -> bool:
    """Whether ``checkpoint`` was rebuilt from this very graph (its digest recorded there)."""
    digest = checkpoint / DIGEST_FILE
    return digest.is_file() and digest.read_text().strip() == graph_digest(graph_path)
