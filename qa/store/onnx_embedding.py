"""The sentence-transformers model run by ONNX Runtime: the same vectors, about three times faster.

A visitor waits for the question's embedding before anything else happens, and through PyTorch one short
question cost 11.8 ms at p50 inside `ask` (`make bench`, latency section), much of it per-operator overhead
rather than arithmetic. The same graph run by ONNX Runtime costs 6.0 ms there and releases the GIL while it
runs, so the app's threads keep answering.

The graph is exported once from the model's own weights (with ``torch.onnx`` and the ``onnx`` package) and
cached under ``cache_dir`` by a hash of those weights; nothing is downloaded. Only the layout of
all-MiniLM-L6-v2 and its kind is supported: a transformer, mean pooling over the attention mask, then L2
normalisation. Tokenisation is the model's own fast tokenizer with the same padding and truncation as
sentence-transformers, and tests check the vectors against sentence-transformers' within 1e-5.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelError
from qa.store.embedding import resolve_model_path

log = logging.getLogger(__name__)

# Part of the cache key: a change of the export below must not reuse graphs exported the old way.
_EXPORT_VERSION = "1"
_OPSET = 17
_WEIGHT_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")


class OnnxEmbedder:
    """An :class:`~qa.store.embedding.Embedder` running a mean-pooled sentence-transformers model on ONNX Runtime."""

    def __init__(self, model: str, cache_dir: Path, threads: int = 1, batch_size: int = 64) -> None:
        path = Path(resolve_model_path(model))
        self.max_length = _check_layout(path)
        try:
            import onnxruntime
        except ImportError as exc:
            raise ModelError(f"the ONNX backend needs onnxruntime ({exc})") from None
        self.name = model
        self.batch_size = batch_size
        self._tokenizer = _load_tokenizer(path, self.max_length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle pool threads sleep instead of spinning: spinning burnt the CPU the app's other threads answer on.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = _session(path, Path(cache_dir), options)
        self._inputs = [i.name for i in self._session.get_inputs()]
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Longest first, in batches of similar length: little padding, as sentence-transformers does.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors[batch] = self._encode_batch([texts[i] for i in batch])
        return vectors

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        tokens = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        hidden = self._session.run(None, {name: tokens[name] for name in self._inputs})[0]
        mask = tokens["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _load_tokenizer(path: Path, max_length: int) -> Any:
    """The model's fast tokenizer, from ``tokenizer.json`` with the ``tokenizers`` library alone.

    Going through ``transformers`` would import PyTorch (about 1.3 s and 250 MB) only to tokenise. The file's
    own truncation and padding are replaced by sentence-transformers' (the model's maximum sequence length,
    padding to the longest text of a batch).
    """
    try:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        config = json.loads((path / "tokenizer_config.json").read_text()) if (path / "tokenizer_config.json").exists() else {}
    except Exception as exc:
        raise ModelError(f"cannot load the tokenizer of {path} ({exc})") from None
    pad_token = config.get("pad_token") if isinstance(config.get("pad_token"), str) else "[PAD]"
    pad_id = tokenizer.token_to_id(pad_token)
    if pad_id is None:
        raise ModelError(f"the tokenizer of {path} has no padding token {pad_token!r}")
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
    return tokenizer


def _check_layout(path: Path) -> int:
    """The model's maximum sequence length, or :class:`ModelError` when its layout is not the supported one."""
    try:
        entries = json.loads((path / "modules.json").read_text())
        modules = [entry["type"].rsplit(".", 1)[-1] for entry in entries]
        pooling_path = next(entry["path"] for entry in entries if entry["type"].endswith("Pooling"))
        pooling = json.loads((path / pooling_path / "config.json").read_text())
        transformer = json.loads((path / "sentence_bert_config.json").read_text())
        max_length = int(transformer["max_seq_length"])
        extras = path / "config_sentence_transformers.json"
        prompts = json.loads(extras.read_text()).get("prompts") if extras.exists() else None
    except (OSError, ValueError, KeyError, StopIteration, TypeError) as exc:
        raise ModelError(f"{path} is not a sentence-transformers model the ONNX backend knows ({exc})") from None
    modes = {key for key, value in pooling.items() if key.startswith("pooling_mode_") and value}
    if modules != ["Transformer", "Pooling", "Normalize"] or modes != {"pooling_mode_mean_tokens"}:
        raise ModelError(
            f"the ONNX backend supports transformer + mean pooling + normalisation; {path} has {modules} with {sorted(modes)}"
        )
    if transformer.get("do_lower_case") or (isinstance(prompts, dict) and any(prompts.values())):
        raise ModelError(f"the ONNX backend does not apply sentence-transformers' lower-casing or prompts, which {path} uses")
    return max_length


def _session(path: Path, cache_dir: Path, options: Any) -> Any:
    """An ONNX Runtime session of the model: from the graph cached in ``cache_dir``, else exported now and cached.

    A cached graph that cannot be loaded (damaged, or from another version) is exported again and replaced;
    a cache that cannot be written only costs the export at each start.
    """
    import onnxruntime

    def load(graph: bytes) -> Any:
        return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    digest = hashlib.sha256(_EXPORT_VERSION.encode())
    for name in _WEIGHT_FILES:
        if (path / name).exists():
            digest.update(name.encode())
            digest.update((path / name).read_bytes())
    cached = cache_dir / f"{path.name}-{digest.hexdigest()[:16]}.onnx"
    try:
        return load(cached.read_bytes())
    except FileNotFoundError:
        pass
    except Exception as exc:  # unreadable or damaged: export it again
        log.warning("the cached ONNX graph %s cannot be used (%s); exporting it again", cached, exc)
    graph = _export(path)
    try:
        session = load(graph)
    except Exception as exc:
        raise ModelError(f"ONNX Runtime cannot run the model exported from {path}: {exc}") from None
    _write_atomically(cached, graph)
    return session


def _write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` whole or not at all (a concurrent reader never sees half a graph)."""
    temporary: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # readable by whoever runs the app, like any other cached model file
        os.replace(temporary, target)
    except OSError as exc:
        log.warning("cannot cache the ONNX graph in %s (%s); it will be exported again next time", target.parent, exc)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def _export(path: Path) -> bytes:
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:
        raise ModelError(f"exporting the model to ONNX needs torch and transformers ({exc})") from None

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model: torch.nn.Module, names: list[str]) -> None:
            super().__init__()
            self.model, self.names = model, names

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(self.names, inputs))).last_hidden_state

    import warnings

    from transformers.utils import logging as transformers_logging

    log.info("exporting %s to ONNX (once; cached)", path)
    transformers_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if model.config.type_vocab_size > 0 else [])
    example = tuple(torch.ones((1, 4), dtype=torch.int64) for _ in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    buffer = io.BytesIO()
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shapes, about code paths not taken
            torch.onnx.export(
                LastHiddenState(model, names).eval(), example, buffer, input_names=names,
                output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=_OPSET, dynamo=False,
            )
    except Exception as exc:
        raise ModelError(f"cannot export {path} to ONNX: {exc}") from None
    graph = buffer.getvalue()
    _check_export(graph, model, names)
    return graph


def _check_export(graph: bytes, model: Any, names: list[str]) -> None:
    """The exported graph must give PyTorch's hidden states on a padded batch (the export traced an unpadded
    one: a graph that baked in that shape or mask would be wrong on every batch with padding)."""
    import onnxruntime
    import torch

    ids = torch.tensor([[1, 5, 7, 9, 11, 2], [1, 6, 2, 0, 0, 0]], dtype=torch.int64)  # ids any vocabulary has
    mask = (ids != 0).to(torch.int64)
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    model.eval()  # the exporter restores the training flag the module had: make sure dropout is off
    with torch.inference_mode():
        expected = model(**{name: inputs[name] for name in names}).last_hidden_state.numpy()
    session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
    got = session.run(None, {name: inputs[name].numpy() for name in names})[0]
    real = mask.numpy().astype(bool)
    if got.shape != expected.shape or not np.allclose(got[real], expected[real], atol=1e-4):
        raise ModelError("the ONNX export of the model does not reproduce PyTorch on a padded batch")
