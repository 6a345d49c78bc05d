"""Export the trained span model to ONNX, quantise it to int8, and check what quantisation costs.

The fp32 graph is exported with ``torch.onnx`` (TorchScript exporter, as for the embedder) and quantised with
ONNX Runtime's dynamic int8 quantisation: the weights of the MatMuls, per channel, with the span head (the last
MatMul, whose two outputs are the logits) kept in fp32. The embeddings stay in fp32 (quantising their lookup
cost the step-12,000 model a point of dev F1). Both graphs are scored through the serving code
(:class:`qa.readers.span_model.OnnxSpanModel`) on the held-apart dev questions. Where int8 loses more than
``max_f1_loss`` points, the feed-forward output MatMuls (where a BERT's activations have their outliers:
Bondarenko et al., 2021) are kept in fp32 one at a time, greedily, the one whose exclusion scores best first,
until int8 is within ``max_f1_loss`` or ``MAX_FP32_FEED_FORWARDS`` are kept. The fp32 graph is always shipped;
the int8 graph beside it only if it ends within ``max_f1_loss`` points, and the serving code loads it where the
CPU has VNNI.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.evaluation.metrics import f1
from qa.readers.span_model import INT8_MODEL_FILE, MODEL_FILE, SETTINGS_FILE, TOKENIZER_FILE, OnnxSpanModel
from qa.readers.spans import best_spans
from qa.training.data import Example

OPSET = 17
MAX_FP32_FEED_FORWARDS = 2  # feed-forward outputs kept in fp32 at most: past that, int8 saves little
# Shipped beside the graph, unused when serving: the architecture and the tokenizer's special tokens, so that
# transformers can rebuild the model from the graph whatever base it was trained from (bench.peer_weights).
TRANSFORMERS_FILES = ("config.json", "tokenizer_config.json")


def export_onnx(model_dir: Path, target: Path) -> None:
    """The fine-tuned transformers model in ``model_dir`` as an ONNX graph (start and end logits)."""
    import torch
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(str(model_dir), local_files_only=True).eval()

    class Logits(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            output = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return output.start_logits, output.end_logits

    example = torch.ones((2, 16), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in
            ("input_ids", "attention_mask", "token_type_ids", "start_logits", "end_logits")}
    target.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            Logits(model), (example, example, torch.zeros_like(example)), str(target),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["start_logits", "end_logits"], dynamic_axes=axes, opset_version=OPSET, dynamo=False,
        )


def span_head_nodes(graph: Path) -> list[str]:
    """The nodes of the span head (``qa_outputs``): kept in fp32, where int8 costs the logits most."""
    import onnx

    return [node.name for node in onnx.load(str(graph)).graph.node if "qa_outputs" in node.name]


def feed_forward_output_nodes(graph: Path) -> list[str]:
    """Each layer's feed-forward output MatMul (``layer.N/output/dense``), in layer order."""
    import onnx

    return [node.name for node in onnx.load(str(graph)).graph.node
            if node.op_type == "MatMul" and "/output/dense/" in node.name and "/attention/" not in node.name]


def quantise(source: Path, target: Path, fp32_nodes: tuple[str, ...] = ()) -> None:
    """Dynamic int8 of the MatMul weights, per channel; the span head and ``fp32_nodes`` stay in fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], nodes_to_exclude=[*span_head_nodes(source), *fp32_nodes])


def write_model_dir(graph: Path, tokenizer_dir: Path, target: Path, max_length: int, stride: int,
                    max_question_tokens: int) -> None:
    """A model folder the serving code loads: the graph, ``tokenizer.json`` and the window settings."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(graph, target / MODEL_FILE)
    shutil.copyfile(tokenizer_dir / TOKENIZER_FILE, target / TOKENIZER_FILE)
    settings = {"max_length": max_length, "stride": stride, "max_question_tokens": max_question_tokens}
    (target / SETTINGS_FILE).write_text(json.dumps(settings, indent=1) + "\n")


def has_answer_f1(model: OnnxSpanModel, examples: list[Example]) -> float:
    """HasAns F1 (0..100) of the best span given the gold paragraph, through the serving code."""
    scores = []
    for example in examples:
        if not example.answerable:
            continue
        best, text = -np.inf, ""
        for window in model.score(example.question, [example.context]):
            for span in best_spans(window.start_logits, window.end_logits, window.context):
                if span.score > best:
                    best = span.score
                    text = example.context[window.offsets[span.start][0] : window.offsets[span.end][1]]
        scores.append(f1(example.answer_text, text))
    return round(100 * float(np.mean(scores)), 2) if scores else 0.0


def export(model_dir: Path, work_dir: Path, target: Path, max_length: int, stride: int, max_question_tokens: int,
           dev: list[Example], max_f1_loss: float = 1.0) -> dict:
    """Export, quantise, compare on ``dev``, and write the shipped model folder ``target``."""
    fp32_dir, int8_dir = work_dir / "onnx-fp32", work_dir / "onnx-int8"
    export_onnx(model_dir, work_dir / "fp32.onnx")
    write_model_dir(work_dir / "fp32.onnx", model_dir, fp32_dir, max_length, stride, max_question_tokens)
    fp32_f1 = has_answer_f1(OnnxSpanModel(fp32_dir, threads=2, int8=False), dev)

    def write_int8(fp32_nodes: tuple[str, ...]) -> None:
        quantise(work_dir / "fp32.onnx", work_dir / "int8.onnx", fp32_nodes)
        write_model_dir(work_dir / "int8.onnx", model_dir, int8_dir, max_length, stride, max_question_tokens)

    def int8_f1(fp32_nodes: tuple[str, ...]) -> float:
        write_int8(fp32_nodes)
        return has_answer_f1(OnnxSpanModel(int8_dir, threads=2, int8=False), dev)

    fp32_nodes, scored = keep_in_fp32(fp32_f1, int8_f1, feed_forward_output_nodes(work_dir / "fp32.onnx"),
                                      max_f1_loss)
    write_int8(fp32_nodes)  # the chosen graph is the one shipped, whichever was tried last
    figures = {"fp32_dev_f1": fp32_f1, "int8_dev_f1": scored[fp32_nodes], "int8_fp32_nodes": list(fp32_nodes),
               "int8_trials": {" + ".join(nodes) or "span head only": f1 for nodes, f1 in scored.items()}}
    with_int8 = figures["fp32_dev_f1"] - figures["int8_dev_f1"] <= max_f1_loss
    figures["shipped"] = "fp32 + int8 (VNNI)" if with_int8 else "fp32"
    target.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, TOKENIZER_FILE, SETTINGS_FILE):
        shutil.copyfile(fp32_dir / name, target / name)
    for name in TRANSFORMERS_FILES:
        shutil.copyfile(model_dir / name, target / name)
    (target / INT8_MODEL_FILE).unlink(missing_ok=True)
    if with_int8:
        shutil.copyfile(int8_dir / MODEL_FILE, target / INT8_MODEL_FILE)
    figures["model_bytes"] = (target / MODEL_FILE).stat().st_size
    figures["int8_model_bytes"] = (target / INT8_MODEL_FILE).stat().st_size if with_int8 else 0
    return figures


def keep_in_fp32(fp32_f1: float, int8_f1: Callable[[tuple[str, ...]], float], candidates: list[str],
                 max_f1_loss: float) -> tuple[tuple[str, ...], dict[tuple[str, ...], float]]:
    """The nodes to keep in fp32 (greedy: each round adds the candidate whose exclusion scores best) and the
    dev F1 of every graph tried. Stops within ``max_f1_loss`` of ``fp32_f1``, at ``MAX_FP32_FEED_FORWARDS``, or
    when no node kept in fp32 scores better than the graph so far (it is kept, not a worse one)."""
    kept: tuple[str, ...] = ()
    scored = {kept: int8_f1(kept)}
    while fp32_f1 - scored[kept] > max_f1_loss and len(kept) < MAX_FP32_FEED_FORWARDS:
        trials = {(*kept, node): int8_f1((*kept, node)) for node in candidates if node not in kept}
        scored.update(trials)
        best = max(trials, key=lambda nodes: trials[nodes], default=None)
        if best is None or trials[best] <= scored[kept]:
            break
        kept = best
    return kept, scored
