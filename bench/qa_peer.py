"""Section ``qa_peer``: the learned reader against plain transformers with the same weights, reading the same
passages.

transformers 5 no longer has a ``pipeline("question-answering")``, so the peer is what that pipeline did,
written with transformers alone (:class:`qa.readers.transformers.TransformersReader`):
``AutoModelForQuestionAnswering`` in PyTorch on the trained span model (``build/reader/model``, written by
``make train-reader``: the shipped ONNX graph is exported from it; where that is gone, the same weights rebuilt
from the shipped fp32 graph into ``build/reader-peer/model``, :mod:`bench.peer_weights`), each passage read in 384-token windows,
the best span taken, and no answer when the "no answer" score beats it (``handle_impossible_answer``). Its
time is the project's retrieval (``pipeline.retrieve``) plus that reading; the project's is ``pipeline.ask``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import Settings
from qa.errors import ModelError
from qa.readers.span_model import MODEL_FILE
from qa.readers.transformers import TransformersReader

from .common import ROOT, BenchContext, answer_quality, distribution, spread, table
from .peer_weights import is_rebuilt_from, matches_graph, rebuild_checkpoint

TRAINED_MODEL = ROOT / "build" / "reader" / "model"  # make train-reader's checkpoint
REBUILT_MODEL = ROOT / "build" / "reader-peer" / "model"  # the same weights, rebuilt from the shipped graph


def peer_model(settings: Settings) -> Path:
    """The training run's checkpoint where it holds the shipped graph's weights, else one rebuilt from the shipped
    fp32 graph and the architecture shipped beside it (once per graph: the rebuild records the graph's digest)."""
    graph = Path(settings.reader_model_dir) / MODEL_FILE
    if (TRAINED_MODEL / "config.json").exists() and matches_graph(TRAINED_MODEL, graph):
        return TRAINED_MODEL
    if not is_rebuilt_from(REBUILT_MODEL, graph):
        rebuild_checkpoint(graph, Path(settings.reader_model_dir), REBUILT_MODEL)
    return REBUILT_MODEL


def run(context: BenchContext) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for workload in context.workloads():
        pipeline = workload.pipeline
        try:
            weights = peer_model(pipeline.settings)
        except (ImportError, ModelError, OSError, ValueError) as exc:  # no PyTorch, no graph, weights that do not fit
            return {"skipped": f"no peer weights: {exc}"}
        peer = TransformersReader(str(weights), pipeline.index, threshold=0.5)

        def peer_answer(text: str) -> str | None:
            passages = pipeline.retrieve(text)
            prediction = peer.read(text, passages, np.zeros(0))
            if prediction is None or prediction.confidence < peer.threshold:
                return None
            return pipeline.document(prediction.doc_id).text[prediction.start : prediction.end]

        for text in spread(workload.texts, context.config.warmup):
            pipeline.ask(text)
            peer_answer(text)
        ours: dict[str, list[Any]] = {"ms": [], "predictions": []}
        theirs: dict[str, list[Any]] = {"ms": [], "predictions": []}
        for text in workload.texts:  # interleaved, so that both see the same machine state
            started = time.perf_counter()
            answer = pipeline.ask(text)
            ours["ms"].append((time.perf_counter() - started) * 1000)
            ours["predictions"].append(answer.answer)
            started = time.perf_counter()
            theirs["predictions"].append(peer_answer(text))
            theirs["ms"].append((time.perf_counter() - started) * 1000)
        figures = {
            system: {
                "latency_ms": distribution(runs["ms"]),
                "quality": answer_quality(workload.questions, runs["predictions"]) if workload.graded else None,
            }
            for system, runs in (("project", ours), ("plain_transformers", theirs))
        }
        p50 = {system: figures[system]["latency_ms"]["p50"] for system in figures}
        results[workload.name] = {
            "questions": len(workload.texts),
            "peer_weights": str(weights.relative_to(ROOT)),
            **figures,
            "speed_up_p50": round(p50["plain_transformers"] / p50["project"], 2),
        }
    return results


def render(result: dict[str, Any]) -> list[str]:
    if "skipped" in result:
        return [f"  skipped: {result['skipped']}"]
    rows = []
    for name, figures in result.items():
        for system in ("project", "plain_transformers"):
            latency, quality = figures[system]["latency_ms"], figures[system]["quality"] or {}
            rows.append([
                f"{name} ({figures['questions']} q)" if system == "project" else "",
                system, latency["p50"], latency["p95"], quality.get("has_ans_f1"), quality.get("no_ans_acc"),
            ])
    lines = table(["set", "system", "p50 ms", "p95 ms", "HasAns F1", "NoAns acc %"], rows)
    lines += [f"  {name}: the project is x{f['speed_up_p50']:.2f} faster at p50 (peer weights: {f['peer_weights']})"
              for name, f in result.items()]
    return lines
