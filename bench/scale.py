"""Section ``scale``: how retrieval would cope with a much larger corpus.

* Synthetic unit vectors (dimension 384, float32, fixed seed): random normal, then L2-normalised. Pure
  random vectors in 384 dimensions have no neighbourhoods (all but the nearest stored vector sit at cosine
  ~0.2 from a query, at random), so by default they are drawn around random normal centres, ``cluster_size``
  vectors per centre (cosine ~0.5 within a cluster, ~0 across); ``--scale-cluster-size 0`` gives the pure
  random set. Queries are stored vectors plus noise, renormalised (cosine ~0.9 to their source).
* ``faiss.IndexFlatIP`` (what the project uses up to ``Settings.approximate_index_above`` chunks) against HNSW
  (``IndexHNSWFlat`` with the project's own ``hnsw_m`` and ``hnsw_ef_construction``, what it uses above that
  size; efSearch the smallest of 16/32/64/128 reaching recall@10 >= 0.95; 256 and 512 are tried only when none
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
import textwrap
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Iterator

import faiss
import numpy as np

from qa import Settings
from qa.ingest.annotation import annotate_documents, load_spacy
from qa.ingest.chunking import Chunker
from qa.ingest.loading import load_corpus
from qa.retrieval.hybrid import HybridRetriever, RetrievalSettings
from qa.store.corpus import chunking_settings, ensure_index
from qa.store.index import CorpusIndex
from qa.types import Chunk

from .common import SQUAD_SET, BenchContext, distribution, mib, spread, table, timed

DIMENSION = 384
K = 10
HNSW_M = Settings().hnsw_m
EF_CONSTRUCTION = Settings().hnsw_ef_construction
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


@contextmanager
def faiss_threads(count: int) -> Iterator[None]:
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def search_latency(index: faiss.Index, queries: np.ndarray) -> dict[str, dict[str, float]]:
    """Single-query latency (ms) with FAISS's default OpenMP threads, and with one thread."""

    def one_by_one() -> dict[str, float]:
        return distribution([timed(index.search, queries[i : i + 1], K)[1] for i in range(len(queries))], (50, 95))

    latency = {"threads_default": one_by_one()}
    with faiss_threads(1):
        latency["threads_1"] = one_by_one()
    return latency


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
        sweep.append({"ef_search": ef, "recall_at_10": round(recall, 4), "latency_ms": search_latency(index, queries)})
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
    # The synthetic vector indexes number their vectors 0..n-1: those are the chunks' keys.
    chunks = [Chunk(i, "synthetic", 0, len(texts[i % len(texts)]), texts[i % len(texts)], key=i) for i in range(n)]
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
                       "latency_ms": search_latency(flat, queries)}
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
    """Chunks per second of a full build of the SQuAD index; unless ``--quick``, where the build's time goes
    (its steps timed again one by one)."""
    load_spacy()  # loaded once per process: not part of a build's throughput
    corpus = [str(SQUAD_SET)]
    settings = Settings.load(index_dir=context.config.work_dir / "build-throughput", corpus=corpus)
    index, total_ms = timed(ensure_index, settings, context.embedder, corpus=corpus, force=True)
    figures: dict[str, Any] = {
        "documents": len(index.documents),
        "chunks": len(index.chunks),
        "sentences": len(index.sentences),
        "seconds": round(total_ms / 1000, 2),
        "chunks_per_s": round(len(index.chunks) / (total_ms / 1000), 2),
    }
    if context.config.quick:
        return figures
    documents, load_ms = timed(load_corpus, corpus)
    sentences, annotate_ms = timed(annotate_documents, documents)
    chunks, chunk_ms = timed(Chunker(chunking_settings(settings)).chunk, documents, sentences)
    _, chunk_vectors_ms = timed(context.embedder.encode, [c.text for c in chunks])
    _, sentence_vectors_ms = timed(context.embedder.encode, [s.text for s in sentences])
    stages = {"load": load_ms, "annotate (spaCy)": annotate_ms, "chunk": chunk_ms,
              "embed chunks": chunk_vectors_ms, "embed sentences": sentence_vectors_ms}
    stages["rest (save, checksums)"] = max(0.0, total_ms - sum(stages.values()))
    figures["stages_s"] = {name: round(ms / 1000, 2) for name, ms in stages.items()}
    return figures


def crossing(size: int, latency_ms: float, budget_ms: float) -> int | None:
    """The size at which a search taking ``latency_ms`` at ``size`` vectors takes ``budget_ms``, extrapolating
    linearly through the origin (a flat search and BM25 scoring both scan every item); two significant figures."""
    per_item_ms = latency_ms / size
    return int(float(f"{budget_ms / per_item_ms:.2g}")) if per_item_ms > 0 else None


def recommendation(sizes: list[dict[str, Any]], build: dict[str, Any], budget_ms: float) -> dict[str, Any]:
    """When to switch: the size at which a single flat search (one FAISS thread) exceeds the budget at p95,
    the same point for the hybrid retrieval stage with HNSW (i.e. for BM25), and what HNSW adds to a build."""
    largest = sizes[-1]
    flat_at = crossing(largest["n"], largest["flat"]["latency_ms"]["threads_1"]["p95"], budget_ms)
    hybrid = [s for s in sizes if "hybrid_retrieve" in s]
    bm25_at = crossing(hybrid[-1]["n"], hybrid[-1]["hybrid_retrieve"]["hnsw"]["p95"], budget_ms) if hybrid else None
    flat, hnsw = largest["flat"]["latency_ms"]["threads_1"], largest["hnsw"]["latency_ms"]["threads_1"]
    build_share = 100 * build["chunks_per_s"] / (largest["n"] / largest["hnsw"]["build_s"])
    text = (
        f"A single flat search (one FAISS thread) exceeds {budget_ms:g} ms at p95 above ~{flat_at:,} vectors (chunks): "
        f"switch to HNSW above that. At {largest['n']:,}: flat p95 {flat['p95']:.1f} ms, HNSW (efSearch "
        f"{largest['hnsw']['ef_search']}) p95 {hnsw['p95']:.2f} ms at recall@10 {largest['hnsw']['recall_at_10']:.2f}"
        f"{'' if largest['hnsw']['target_reached'] else f' (target {RECALL_TARGET} not reached: raise efConstruction or M at this size)'}. "
        f"HNSW's build adds under {build_share:.1f}% to a pipeline build ({build['chunks_per_s']:.1f} chunks/s)."
    )
    threaded = largest["flat"]["latency_ms"]["threads_default"]["p50"]
    if threaded > 1.2 * flat["p50"]:
        text += (
            f" With FAISS's default {faiss.omp_get_max_threads()} OpenMP threads the same flat search takes "
            f"{threaded:.1f} ms (p50) instead of {flat['p50']:.1f} ms: give single-question searches one FAISS thread."
        )
    if bm25_at is not None:
        text += (
            f" The BM25 half of the hybrid retriever crosses the same {budget_ms:g} ms at ~{bm25_at:,} chunks"
            + (", before FAISS does: it needs replacing (vectorised scoring, a partial sort) before the vector index"
               " matters." if flat_at is None or bm25_at < flat_at else ".")
        )
    return {"budget_ms": budget_ms, "flat_exceeds_budget_above": flat_at, "bm25_exceeds_budget_above": bm25_at, "text": text}


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
            latency = figures["latency_ms"]
            hybrid = size.get("hybrid_retrieve", {}).get(name, {})
            rows.append([
                f"{size['n']:,}" if name == "flat" else "",
                name if name == "flat" else f"hnsw ef{figures['ef_search']}{'' if figures['target_reached'] else '*'}",
                figures["build_s"], figures["mib"], figures["recall_at_10"],
                latency["threads_1"]["p50"], latency["threads_1"]["p95"], latency["threads_default"]["p50"],
                hybrid.get("p50"), hybrid.get("p95"),
            ])
    headers = ["n", "index", "build s", "MiB", "recall@10", "p50 ms", "p95 ms", "p50 omp", "retr. p50", "retr. p95"]
    lines = table(headers, rows)
    build = result["pipeline_build"]
    stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in build.get("stages_s", {}).items())
    lines += [
        f"  p50/p95: one query at a time, one FAISS thread; p50 omp: FAISS's default OpenMP threads; "
        f"*: recall@10 {RECALL_TARGET} not reached",
        "  retr.: the project's whole retrieval stage (FAISS + BM25, fused) over n chunks, as it runs now (ms)",
        f"  pipeline build (SQuAD, {build['chunks']} chunks): {build['seconds']:.1f} s = {build['chunks_per_s']:.1f} chunks/s"
        + (f" ({stages} s)" if stages else ""),
        *textwrap.wrap(result["recommendation"]["text"], 108, initial_indent="  => ", subsequent_indent="     "),
    ]
    return lines
