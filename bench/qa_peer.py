"""Section ``qa_peer``: the learned reader against a plain transformers question-answering pipeline with the
same weights, reading the same passages.

The peer is what one would write with transformers alone: ``pipeline("question-answering")`` on the trained
span model in PyTorch (``build/reader/model``, written by ``make train-reader``: the shipped ONNX graph is
exported from it), asked with ``handle_impossible_answer=True`` over the passages the project's retriever
returns for the question, the most probable answer of them taken (empty = no answer). Its time is the
project's retrieval (``pipeline.retrieve``) plus the pipeline's reading. The project's is ``pipeline.ask``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .common import ROOT, BenchContext, answer_quality, distribution, spread, table

PEER_MODEL = ROOT / "build" / "reader" / "model"


class TransformersQAPeer:
    def __init__(self, model_dir: Path, max_length: int, stride: int) -> None:
        from transformers import pipeline

        self.qa = pipeline("question-answering", model=str(model_dir), tokenizer=str(model_dir), device="cpu")
        self.max_length, self.stride = max_length, stride

    def answer(self, question: str, texts: list[str]) -> str | None:
        results = self.qa(
            question=[question] * len(texts), context=texts, handle_impossible_answer=True,
            max_seq_len=self.max_length, doc_stride=self.stride, top_k=1,
        )
        results = results if isinstance(results, list) else [results]
        best = max(results, key=lambda r: r["score"])
        return best["answer"] or None


def run(context: BenchContext) -> dict[str, Any]:
    if not (PEER_MODEL / "config.json").exists():
        return {"skipped": f"no PyTorch weights in {PEER_MODEL}: run `make train-reader` first"}
    results: dict[str, Any] = {}
    for workload in context.workloads():
        pipeline = workload.pipeline
        model = pipeline.reader.span_model
        peer = TransformersQAPeer(PEER_MODEL, model.max_length, model.stride)
        for text in spread(workload.texts, context.config.warmup):
            pipeline.ask(text)
            peer.answer(text, [p.chunk.text for p in pipeline.retrieve(text)])
        ours: dict[str, list[Any]] = {"ms": [], "predictions": []}
        theirs: dict[str, list[Any]] = {"ms": [], "predictions": []}
        for text in workload.texts:  # interleaved, so that both see the same machine state
            started = time.perf_counter()
            answer = pipeline.ask(text)
            ours["ms"].append((time.perf_counter() - started) * 1000)
            ours["predictions"].append(answer.answer)
            started = time.perf_counter()
            passages = pipeline.retrieve(text)
            theirs["predictions"].append(peer.answer(text, [p.chunk.text for p in passages]))
            theirs["ms"].append((time.perf_counter() - started) * 1000)
        figures = {
            system: {
                "latency_ms": distribution(runs["ms"]),
                "quality": answer_quality(workload.questions, runs["predictions"]) if workload.graded else None,
            }
            for system, runs in (("project", ours), ("transformers_pipeline", theirs))
        }
        p50 = {system: figures[system]["latency_ms"]["p50"] for system in figures}
        results[workload.name] = {
            "questions": len(workload.texts),
            **figures,
            "speed_up_p50": round(p50["transformers_pipeline"] / p50["project"], 2),
        }
    return results


def render(result: dict[str, Any]) -> list[str]:
    if "skipped" in result:
        return [f"  skipped: {result['skipped']}"]
    rows = []
    for name, figures in result.items():
        for system in ("project", "transformers_pipeline"):
            latency, quality = figures[system]["latency_ms"], figures[system]["quality"] or {}
            rows.append([
                f"{name} ({figures['questions']} q)" if system == "project" else "",
                system, latency["p50"], latency["p95"], quality.get("has_ans_f1"), quality.get("no_ans_acc"),
            ])
    lines = table(["set", "system", "p50 ms", "p95 ms", "HasAns F1", "NoAns acc %"], rows)
    lines += [f"  {name}: the project is x{f['speed_up_p50']:.2f} faster at p50" for name, f in result.items()]
    return lines
