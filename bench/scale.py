"""Section ``scale``: how retrieval would cope with a much larger corpus.

* Synthetic unit vectors (dimension 384, float32, fixed seed): random normal, then L2-normalised. Pure
  random vectors in 384 dimensions have no neighbourhoods (all but the nearest stored vector sit at cosine
  ~0.2 from a query, at random), so by default they are drawn around random normal centres, ``cluster_size``
  vectors per centre (cosine ~0.5 within a cluster, ~0 across); ``--scale-cluster-size 0`` gives the pure
  random set. Queries are stored vectors plus noise, renormalised (cosine ~0.9 to their source).
* ``faiss.IndexFlatIP`` (what the project uses) against HNSW (``IndexHNSWFlat``, M 32, efConstruction 40,
  efSearch the smallest of 16/32/64/128 reaching recall@10 >= 0.95; 256 and 512 are tried only when none
  does). HNSW was chosen over IVF because it builds faster here: an ``IndexIVFFlat`` with nlist 4·√n needs a
  k-means over thousands of centroids, several minutes at 1M on two cores, before the first vector is added.
* The project's whole retrieval stage (``HybridRetriever``: FAISS + BM25, fused) over n chunks, with the flat
  and the HNSW index: the SQuAD chunks' texts repeated up to n (pessimistic for BM25: every term's postings
  grow with n) and the synthetic vectors. Only up to ``hybrid_max_size`` chunks: BM25 keeps a Counter a chunk.
* The real pipeline's build throughput: ``ensure_index(..., force=True)`` of the SQuAD set into a temporary
  folder, chunks per second, and where the build's time goes.
"""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any, Sequence

import faiss
import numpy as np

from qa import Settings
from qa.index import CorpusIndex
from qa.retrieval import HybridRetriever, RetrievalSettings
from qa.types import Chunk

from .common import SQUAD_SET, BenchContext, distribution, mib, spread, table, timed

DIMENSION = 384
K = 10
HNSW_M = 32
EF_CONSTRUCTION = 40
EF_SEARCH = (16, 32, 64, 128)
EF_SEARCH_EXTRA = (256, 512)  # tried only when the grid above misses the recall target
RECALL_TARGET = 0.95
QUERY_NOISE = 0.5  # noise norm relative to the unit vector it perturbs
WITHIN_CLUSTER_NOISE = 1.0  # per-coordinate, like the centres: cosine ~0.5 between two vectors of a cluster
BLOCK = 100_000


def synthetic_vectors(n: int, cluster_size: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors, random normal (around random normal centres when ``cluster_size`` > 0)."""
    vectors = np.empty((n, DIMENSION), dtype=np.float32)
    centres = rng.standard_normal((max(1, n // cluster_size), DIMENSION), dtype=np.float32) if cluster_size else None
    for start in range(0, n, BLOCK):  # in blocks: no second n x 384 temporary
        block = vectors[start : start + BLOCK]
        block[:] = rng.standard_normal(block.shape, dtype=np.float32) * WITHIN_CLUSTER_NOISE
        if centres is not None:
            block += centres[rng.integers(0, len(centres), len(block))]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return vectors


def perturbed_queries(vectors: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Stored vectors plus Gaussian noise of norm ~``QUERY_NOISE``, renormalised."""
    sources = vectors[rng.integers(0, len(vectors), count)]
    noise = rng.standard_normal(sources.shape, dtype=np.float32) * (QUERY_NOISE / np.sqrt(DIMENSION))
    queries = sources + noise
    return np.ascontiguousarray(queries / np.linalg.norm(queries, axis=1, keepdims=True), dtype=np.float32)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found.tolist(), truth.tolist())]))


def single_query_ms(index: faiss.Index, queries: np.ndarray) -> list[float]:
    return [timed(index.search, queries[i : i + 1], K)[1] for i in range(len(queries))]


def index_figures(index: faiss.Index, build_ms: float) -> dict[str, Any]:
    return {"build_s": round(build_ms / 1000, 3), "mib": mib(faiss.serialize_index(index).nbytes)}


def build_flat(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(DIMENSION)
    index.add(vectors)
    return index


def build_hnsw(vectors: np.ndarray) -> faiss.IndexHNSWFlat:
    index = faiss.IndexHNSWFlat(DIMENSION, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.add(vectors)
    return index


def tune_hnsw(index: faiss.IndexHNSWFlat, queries: np.ndarray, truth: np.ndarray) -> tuple[list[dict[str, Any]], int]:
    """Recall and single-query latency at each efSearch, and the smallest efSearch reaching the target."""
    sweep = []
    for ef in EF_SEARCH + EF_SEARCH_EXTRA:
        if ef in EF_SEARCH_EXTRA and any(row["recall_at_10"] >= RECALL_TARGET for row in sweep):
            break
        index.hnsw.efSearch = ef
        recall = recall_at_k(index.search(queries, K)[1], truth)
        sweep.append({"ef_search": ef, "recall_at_10": round(recall, 4), "latency_ms": distribution(single_query_ms(index, queries), (50, 95))})
    reached = [row["ef_search"] for row in sweep if row["recall_at_10"] >= RECALL_TARGET]
    chosen = reached[0] if reached else sweep[-1]["ef_search"]
    index.hnsw.efSearch = chosen
    return sweep, chosen


def hybrid_retrieval(context: BenchContext, vector_indexes: dict[str, faiss.Index], queries: np.ndarray) -> dict[str, Any]:
    """The project's retrieve stage over ``ntotal`` chunks (SQuAD chunk texts repeated), per vector index."""
    squad = context.workload("squad").pipeline
    settings = squad.settings
    n = next(iter(vector_indexes.values())).ntotal
    texts = [c.text for c in squad.index.chunks]
    chunks = [Chunk(i, "synthetic", 0, len(texts[i % len(texts)]), texts[i % len(texts)]) for i in range(n)]
    corpus = CorpusIndex({}, chunks, [], vector_indexes["flat"], np.zeros((0, DIMENSION), np.float32), {})
    retriever, bm25_ms = timed(HybridRetriever, corpus, RetrievalSettings(settings.candidate_depth, settings.rrf_k))
    questions = spread(context.workload("squad").texts, len(queries))
    figures: dict[str, Any] = {"chunks": n, "bm25_build_s": round(bm25_ms / 1000, 2), "queries": len(questions)}
    for name, vector_index in vector_indexes.items():
        retriever.index = replace(corpus, chunk_vectors=vector_index)  # same BM25, other vector index
        latencies = [timed(retriever.retrieve, q, v, settings.top_k)[1] for q, v in zip(questions, queries)]
        figures[name] = distribution(latencies, (50, 95))
    lexical = [timed(retriever.bm25.scores, q)[1] for q in questions]
    figures["bm25_scores_only"] = distribution(lexical, (50, 95))
    return figures


def vector_scale(context: BenchContext, n: int) -> dict[str, Any]:
    config = context.config
    rng = np.random.default_rng([config.seed, n])
    vectors = synthetic_vectors(n, config.scale_cluster_size, rng)
    queries = perturbed_queries(vectors, config.scale_queries, rng)
    flat, flat_ms = timed(build_flat, vectors)
    truth = flat.search(queries, K)[1]
    figures: dict[str, Any] = {"n": n, "vectors_mib": mib(vectors.nbytes)}
    figures["flat"] = {**index_figures(flat, flat_ms), "recall_at_10": 1.0,
                       "latency_ms": distribution(single_query_ms(flat, queries), (50, 95))}
    hnsw, hnsw_ms = timed(build_hnsw, vectors)
    del vectors
    gc.collect()
    sweep, chosen = tune_hnsw(hnsw, queries, truth)
    best = next(row for row in sweep if row["ef_search"] == chosen)
    figures["hnsw"] = {**index_figures(hnsw, hnsw_ms), "ef_search": chosen, "recall_at_10": best["recall_at_10"],
                       "target_reached": best["recall_at_10"] >= RECALL_TARGET, "latency_ms": best["latency_ms"],
                       "sweep": sweep}
    if n <= config.hybrid_max_size:
        hybrid_queries = queries[: config.hybrid_queries]
        figures["hybrid_retrieve"] = hybrid_retrieval(context, {"flat": flat, "hnsw": hnsw}, hybrid_queries)
    del flat, hnsw
    gc.collect()
    return figures


def pipeline_build(context: BenchContext) -> dict[str, Any]:
    """Chunks per second of a full build of the SQuAD index, and where the build's time goes."""
    from qa.annotation import annotate_documents, load_spacy
    from qa.chunking import Chunker
    from qa.loading import load_corpus
    from qa.pipeline import chunking_settings, ensure_index

    load_spacy()  # loaded once per process: not part of a build's throughput
    corpus = [str(SQUAD_SET)]
    settings = Settings.load(index_dir=context.config.work_dir / "build-throughput", corpus=corpus)
    index, total_ms = timed(ensure_index, settings, context.embedder, corpus=corpus, force=True)
    documents, load_ms = timed(load_corpus, corpus)
    sentences, annotate_ms = timed(annotate_documents, documents)
    chunks, chunk_ms = timed(Chunker(chunking_settings(settings)).chunk, documents, sentences)
    _, chunk_vectors_ms = timed(context.embedder.encode, [c.text for c in chunks])
    _, sentence_vectors_ms = timed(context.embedder.encode, [s.text for s in sentences])
    stages = {"load": load_ms, "annotate (spaCy)": annotate_ms, "chunk": chunk_ms,
              "embed chunks": chunk_vectors_ms, "embed sentences": sentence_vectors_ms}
    return {
        "documents": len(documents),
        "chunks": len(index.chunks),
        "sentences": len(index.sentences),
        "seconds": round(total_ms / 1000, 2),
        "chunks_per_s": round(len(index.chunks) / (total_ms / 1000), 2),
        "stages_s": {name: round(ms / 1000, 2) for name, ms in stages.items()}
        | {"rest (save, checksums)": round(max(0.0, total_ms - sum(stages.values())) / 1000, 2)},
    }


def crossing(sizes: Sequence[int], latencies: Sequence[float], budget_ms: float) -> int | None:
    """The size at which the latency reaches ``budget_ms``, extrapolating linearly (through the origin: a
    search scans every vector) from the largest size measured; two significant figures. None: no sizes."""
    if not sizes:
        return None
    per_item_ms = latencies[-1] / sizes[-1]
    return int(float(f"{budget_ms / per_item_ms:.2g}")) if per_item_ms > 0 else None


def recommendation(sizes: list[dict[str, Any]], build: dict[str, Any], budget_ms: float) -> dict[str, Any]:
    """When to switch: the size at which the flat search's p95 exceeds the budget, next to the same point for
    the whole hybrid retrieval stage, and what HNSW would add to a build."""
    ns = [s["n"] for s in sizes]
    flat_at = crossing(ns, [s["flat"]["latency_ms"]["p95"] for s in sizes], budget_ms)
    hybrid = [s for s in sizes if "hybrid_retrieve" in s]
    hybrid_at = crossing([s["n"] for s in hybrid], [s["hybrid_retrieve"]["flat"]["p95"] for s in hybrid], budget_ms)
    largest = sizes[-1]
    hnsw_vectors_per_s = largest["n"] / largest["hnsw"]["build_s"]
    text = (
        f"Flat search p95 exceeds {budget_ms:g} ms per question above ~{flat_at:,} vectors (chunks); "
        f"switch to HNSW above that (at {largest['n']:,}: flat p95 {largest['flat']['latency_ms']['p95']:.1f} ms, "
        f"HNSW p95 {largest['hnsw']['latency_ms']['p95']:.2f} ms at recall@10 {largest['hnsw']['recall_at_10']:.2f}). "
        f"HNSW inserts {hnsw_vectors_per_s:,.0f} vectors/s against a pipeline build of {build['chunks_per_s']:.1f} chunks/s, "
        f"so it adds under {100 * build['chunks_per_s'] / hnsw_vectors_per_s:.1f}% to a build."
        if flat_at is not None else "Flat search never exceeded the budget at the sizes measured."
    )
    if hybrid_at is not None:
        text += (
            f" But the BM25 half of the hybrid retriever exceeds the same budget already at ~{hybrid_at:,} chunks "
            "whichever vector index is used: it must be replaced (vectorised scoring, partial sort) before, "
            "or together with, the switch."
        )
    return {"budget_ms": budget_ms, "flat_exceeds_budget_above": flat_at, "hybrid_exceeds_budget_above": hybrid_at, "text": text}


def run(context: BenchContext) -> dict[str, Any]:
    sizes = [vector_scale(context, n) for n in context.config.scale_sizes]
    build = pipeline_build(context)
    return {
        "dimension": DIMENSION,
        "queries": context.config.scale_queries,
        "cluster_size": context.config.scale_cluster_size,
        "hnsw": {"M": HNSW_M, "ef_construction": EF_CONSTRUCTION, "recall_target": RECALL_TARGET},
        "sizes": sizes,
        "pipeline_build": build,
        "recommendation": recommendation(sizes, build, context.config.switch_budget_ms),
    }


def render(result: dict[str, Any]) -> list[str]:
    rows = []
    for size in result["sizes"]:
        for name in ("flat", "hnsw"):
            figures = size[name]
            hybrid = size.get("hybrid_retrieve", {}).get(name, {})
            rows.append([
                f"{size['n']:,}" if name == "flat" else "",
                name if name == "flat" else f"hnsw ef{figures['ef_search']}",
                figures["build_s"], figures["mib"], figures["latency_ms"]["p50"], figures["latency_ms"]["p95"],
                figures["recall_at_10"], hybrid.get("p50"), hybrid.get("p95"),
            ])
    lines = table(["n", "index", "build s", "MiB", "p50 ms", "p95 ms", "recall@10", "retrieve p50", "retrieve p95"], rows)
    build = result["pipeline_build"]
    stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in build["stages_s"].items())
    lines.append(f"  retrieve = the project's hybrid retrieval (FAISS + BM25) over n chunks, ms")
    lines.append(f"  pipeline build (SQuAD, {build['chunks']} chunks): {build['seconds']:.1f} s = {build['chunks_per_s']:.1f} chunks/s ({stages} s)")
    lines.append(f"  => {result['recommendation']['text']}")
    return lines
