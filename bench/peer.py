"""Section ``peer``: the project against a naive pipeline, side by side in one process, on the same questions.

The peer is what a first attempt looks like: langchain's ``RecursiveCharacterTextSplitter`` (default
separators, the project's chunk size and overlap) → the same MiniLM model → ``faiss.IndexFlatIP`` → the top
chunk → the chunk's sentence most similar to the question (the chunk's sentences are split with a naive
regular expression and embedded at query time) → that sentence is the answer. It never abstains.

Both read the same cleaned documents (the project's index's documents), so only the pipelines differ.
"""

from __future__ import annotations

import re
import time
from typing import Any, Iterable

import faiss
import numpy as np
from langchain_text_splitters import RecursiveCharacterTextSplitter

from qa import Settings
from qa.store.embedding import SentenceTransformerEmbedder
from qa.types import Document

from .common import BenchContext, answer_quality, spread, stage_distributions, table, timed

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


class NaivePeer:
    """Split, embed, index once; answer with the top chunk's sentence most similar to the question."""

    def __init__(self, documents: Iterable[Document], embedder: SentenceTransformerEmbedder, settings: Settings) -> None:
        splitter = RecursiveCharacterTextSplitter(chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap)
        self.embedder = embedder
        self.chunks = [piece for document in documents for piece in splitter.split_text(document.text)]
        self.index = faiss.IndexFlatIP(embedder.dimension)
        self.index.add(embedder.encode(self.chunks))

    def answer(self, question: str) -> tuple[str, dict[str, float]]:
        """The answer sentence and the time of each stage in milliseconds (as in ``Answer.timings_ms``)."""
        marks = [time.perf_counter()]
        vector = self.embedder.encode([question])
        marks.append(time.perf_counter())
        _, ids = self.index.search(vector, 1)
        marks.append(time.perf_counter())
        chunk = self.chunks[int(ids[0][0])]
        sentences = [s for s in _SENTENCE_BREAK.split(chunk.strip()) if s] or [chunk]
        best = sentences[int(np.argmax(self.embedder.encode(sentences) @ vector[0]))]
        marks.append(time.perf_counter())
        stages = {name: (b - a) * 1000 for name, a, b in zip(("encode", "retrieve", "read"), marks, marks[1:])}
        return best, {**stages, "total": (marks[-1] - marks[0]) * 1000}


def run(context: BenchContext) -> dict[str, Any]:
    embedder = SentenceTransformerEmbedder(Settings.load().embedding_model)
    results: dict[str, Any] = {}
    for workload in context.workloads():
        pipeline = workload.pipeline
        peer, build_ms = timed(NaivePeer, pipeline.index.documents.values(), embedder, workload.settings)
        for text in spread(workload.texts, context.config.warmup):
            pipeline.ask(text)
            peer.answer(text)
        ours: dict[str, list[Any]] = {"timings": [], "predictions": []}
        theirs: dict[str, list[Any]] = {"timings": [], "predictions": []}
        for text in workload.texts:  # interleaved, so that both see the same machine state
            answer = pipeline.ask(text)
            ours["timings"].append(answer.timings_ms)
            ours["predictions"].append(answer.answer)
            sentence, timings = peer.answer(text)
            theirs["timings"].append(timings)
            theirs["predictions"].append(sentence)
        figures = {
            system: {
                "latency_ms": stage_distributions(runs["timings"]),
                "quality": answer_quality(workload.questions, runs["predictions"]) if workload.graded else None,
            }
            for system, runs in (("project", ours), ("peer", theirs))
        }
        p50 = {system: figures[system]["latency_ms"]["total"]["p50"] for system in figures}
        p95 = {system: figures[system]["latency_ms"]["total"]["p95"] for system in figures}
        results[workload.name] = {
            "questions": len(workload.texts),
            **figures,
            "peer_chunks": len(peer.chunks),
            "project_chunks": len(pipeline.index.chunks),
            "peer_build_seconds": round(build_ms / 1000, 3),
            "ratio_p50_project_over_peer": round(p50["project"] / p50["peer"], 2),
            "ratio_p95_project_over_peer": round(p95["project"] / p95["peer"], 2),
        }
    return results


def render(result: dict[str, Any]) -> list[str]:
    rows = []
    for name, figures in result.items():
        for system in ("project", "peer"):
            latency, quality = figures[system]["latency_ms"]["total"], figures[system]["quality"] or {}
            rows.append([
                f"{name} ({figures['questions']} q)" if system == "project" else "",
                system, latency["p50"], latency["p95"], quality.get("has_ans_f1"), quality.get("no_ans_acc"),
            ])
    lines = table(["set", "system", "p50 ms", "p95 ms", "HasAns F1", "NoAns acc %"], rows)
    lines += [
        f"  {name}: project/peer latency p50 x{f['ratio_p50_project_over_peer']:.2f}, p95 x{f['ratio_p95_project_over_peer']:.2f}"
        for name, f in result.items()
    ]
    return lines
