"""Section ``latency``: in-process latency of ``QAPipeline.ask``, overall and per stage (encode, retrieve,
read), over the seminar questions and the SQuAD questions; and the per-question cost of ``ask_many``."""

from __future__ import annotations

from typing import Any

from .common import STAGES, BenchContext, distribution, spread, stage_distributions, table, timed


def run(context: BenchContext) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for workload in context.workloads():
        pipeline, texts = workload.pipeline, workload.texts
        for text in spread(texts, context.config.warmup):
            pipeline.ask(text)
        timings, walls = [], []
        for text in texts:
            answer, wall_ms = timed(pipeline.ask, text)
            timings.append(answer.timings_ms)
            walls.append(wall_ms)
        stages = stage_distributions(timings)
        _, batch_ms = timed(pipeline.ask_many, texts)
        results[workload.name] = {
            "questions": len(texts),
            "index_chunks": len(pipeline.index.chunks),
            "index_sentences": len(pipeline.index.sentences),
            "index_build_seconds": round(workload.build_seconds, 2),
            "stages_ms": stages,
            "wall_ms": distribution(walls),
            "share_of_total_pct": {
                stage: round(100 * stages[stage]["mean"] / stages["total"]["mean"], 1) for stage in STAGES[:-1]
            },
            "ask_many_ms_per_question": round(batch_ms / len(texts), 3),
        }
    return results


def render(result: dict[str, Any]) -> list[str]:
    rows = []
    for name, figures in result.items():
        for stage in STAGES:
            d = figures["stages_ms"][stage]
            share = figures["share_of_total_pct"].get(stage, 100.0)
            label = f"{name} ({figures['questions']} q)" if stage == "encode" else ""
            rows.append([label, stage, d["p50"], d["p95"], d["p99"], f"{share:.0f}%"])
    lines = table(["set", "stage", "p50 ms", "p95 ms", "p99 ms", "share"], rows)
    lines += [
        f"  {name}: wall p50 {f['wall_ms']['p50']:.2f} ms; ask_many {f['ask_many_ms_per_question']:.2f} ms/question; "
        f"index {f['index_chunks']} chunks"
        for name, f in result.items()
    ]
    return lines
