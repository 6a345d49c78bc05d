"""Loading an exported graph with ONNX Runtime the way every learned model here is served: the int8 graph where
the folder has one and the CPU has VNNI (:mod:`qa.readers.cpu_features`), else the fp32 one; a fixed number of
threads that do not spin; and no memory arena (with an arena, every new input shape kept its buffers, and a
server under load grew by 160 MiB a minute).
"""

from __future__ import annotations

from pathlib import Path

from qa.errors import ModelError
from qa.readers import cpu_features


def open_graph(model_dir: Path, fp32_file: str, int8_file: str, threads: int, int8: bool | None, what: str):
    """The ONNX Runtime session and its precision ("int8" or "fp32"). ``int8``: that graph (True), the fp32 one
    (False), or the int8 one where it exists and the CPU has VNNI (None). ``what`` names the model in errors."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = False
    use_int8 = (model_dir / int8_file).is_file() and cpu_features.has_vnni() if int8 is None else int8
    graph = model_dir / (int8_file if use_int8 else fp32_file)
    try:
        session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a truncated, missing or foreign file
        raise ModelError(f"cannot load {what} {graph}: {exc}") from None
    return session, "int8" if use_int8 else "fp32"
