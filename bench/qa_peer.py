"""Section ``qa_peer``: the learned reader against plain transformers with the same weights, reading the same
passages.

transformers 5 no longer has a ``pipeline("question-answering")``, so the peer is what that pipeline did,
written with transformers alone (:class:`qa.readers.transformers.TransformersReader`):
``AutoModelForQuestionAnswering`` in PyTorch on the trained span model (``build/reader/model``, written by
``make train-reader``: the shipped ONNX graph is exported from it), each passage read in 384-token windows,
the best span taken, and no answer when the "no answer" score beats it (``handle_impossible_answer``). Its
time is the project's retrieval (``pipeline.retrieve``) plus that reading; the project's is ``pipeline.ask``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from qa.readers.transformers import TransformersReader

from .common import ROOT, BenchContext, answer_quality, distribution, spread, table

PEER_MODEL = ROOT / "build" / "reader" / "model"


def run(context: BenchContext) -> dict[str, Any]:
    if not (PEER_MODEL / "config.json").exists():
        return {"skipped": f"no PyTorch weights in {PEER_MODEL}: run `make train-reader` first"}
    results: dict[str, Any] = {}
    for workload in context.workloads():
        pipeline = workload.pipeline
        peer = TransformersReader(str(PEER_MODEL), pipeline.index, threshold=0.5)

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
    lines += [f"  {name}: the project is x{f['speed_up_p50']:.2f} faster at p50" for name, f in result.items()]
    return lines
