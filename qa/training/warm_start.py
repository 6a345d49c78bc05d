"""The weights of a shipped ONNX span model, back in the PyTorch model: a run whose checkpoint folder was lost
goes on from the last committed model instead of from the base model.

The TorchScript exporter keeps most parameters under their module names (``inner.bert....``), but stores the
weight of every ``Linear`` transposed as an anonymous ``onnx::MatMul_N`` initialiser; the MatMul node that
reads it is named after the module (``/inner/bert/encoder/layer.0/attention/self/query/MatMul``), which
gives the name back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

EXPORT_PREFIX = "inner."  # qa.training.export wraps the model in a module whose attribute is ``inner``


def onnx_state(path: Path) -> dict[str, np.ndarray]:
    """Parameter name → array, for every parameter of the exported model."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    initialisers = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    state = {name[len(EXPORT_PREFIX):]: array for name, array in initialisers.items()
             if name.startswith(EXPORT_PREFIX)}
    for node in graph.node:
        if node.op_type != "MatMul":
            continue
        weights = [name for name in node.input if name in initialisers and not name.startswith(EXPORT_PREFIX)]
        if len(weights) != 1:
            continue
        module = node.name.strip("/").removesuffix("/MatMul").replace("/", ".")
        state[module.removeprefix(EXPORT_PREFIX) + ".weight"] = initialisers[weights[0]].T
    return state


def load_onnx_weights(model, path: Path, torch) -> None:
    """Copy the exported weights into ``model`` (a transformers span model of the same architecture); every
    parameter the model trains must be found, with its shape."""
    state = onnx_state(path)
    own = model.state_dict()
    missing = [name for name in own if name not in state and not name.startswith("bert.pooler")]
    if missing:
        raise ValueError(f"{path} lacks {len(missing)} of the model's parameters, e.g. {missing[:3]}")
    for name, tensor in own.items():
        if name in state:
            if tuple(state[name].shape) != tuple(tensor.shape):
                raise ValueError(f"{path}: {name} has shape {state[name].shape}, the model {tuple(tensor.shape)}")
            tensor.copy_(torch.from_numpy(np.array(state[name], copy=True)))
