"""What every section of the benchmark shares: paths, the run's configuration, the machine, percentiles,
tables, and the workloads (question sets with their own freshly built indexes).

The benchmark never touches the project's ``index/`` folder: every index it needs is built into a temporary
folder of its own (``BenchContext.work_dir``), which also keeps it independent of an index made stale by
edits to the library.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import faiss
import torch

from qa import Settings
from qa.evaluation.metrics import is_answerable, percentile, score
from qa.evaluation.questions import EvalQuestion, load_questions
from qa.pipeline import QAPipeline, ensure_index, make_embedder
from qa.store.embedding import Embedder

ROOT = Path(__file__).resolve().parent.parent
SEMINAR_QUESTIONS = ROOT / "eval" / "questions" / "seminar.jsonl"
SQUAD_SET = ROOT / "eval" / "benchmarks" / "squad2_dev_small.json"
STAGES = ("encode", "retrieve", "read", "total")
LIBRARIES = (
    "seminar-qa", "numpy", "faiss-cpu", "torch", "sentence-transformers", "transformers", "spacy",
    "langchain-text-splitters", "gradio", "fastapi", "uvicorn", "httpx",
)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM")

# Used only when eval/questions/seminar.jsonl is missing (then the seminar set has no gold answers).
BUILTIN_SEMINAR_QUESTIONS = (
    "When was the seminar held?",
    "Where was the seminar held?",
    "Who sponsored the seminar?",
    "Under whose guidance was the seminar held?",
    "Who is the Vice Mayor of the Shenzhen Municipal Government?",
    "Who is the Director of the Institute?",
    "Which universities sent experts?",
    "What did Ai Xuefeng point out?",
    "What did Zhou Min say?",
    "When did the SIC establish a strategic partnership with the Shenzhen Municipal Government?",
    "What topics did the keynote speeches cover?",
    "Which institute was opened at the seminar?",
    "Which laboratory was opened at the seminar?",
    "Who is Guo Ziping?",
    "Who is Liu Jiachen?",
    "Who is Zheng Hongbo?",
    "Who published the report?",
    "What is the Bay Area?",
    "What is data factor market cultivation?",
    "Who is the President of the State Information Center?",
)


@dataclass(frozen=True)
class BenchConfig:
    """Every knob of a run; ``for_run`` fills in the full or the ``--quick`` defaults."""

    quick: bool
    work_dir: Path
    max_questions: int | None  # per question set; None: all of them
    warmup: int
    http_seconds: float
    http_clients: tuple[int, ...]
    http_warmup_seconds: float
    startup_runs: int
    scale_sizes: tuple[int, ...]
    scale_queries: int
    scale_cluster_size: int
    hybrid_max_size: int
    hybrid_queries: int
    switch_budget_ms: float
    seed: int = 0

    @classmethod
    def for_run(cls, quick: bool, work_dir: Path, **overrides: Any) -> "BenchConfig":
        defaults: dict[str, Any] = {
            "max_questions": 15 if quick else None,
            "warmup": 3 if quick else 20,
            "http_seconds": 5.0 if quick else 30.0,
            "http_clients": (1, 8, 32),
            "http_warmup_seconds": 0.0,
            "startup_runs": 1 if quick else 3,
            "scale_sizes": (10_000, 50_000) if quick else (10_000, 100_000, 1_000_000),
            "scale_queries": 100 if quick else 200,
            "scale_cluster_size": 100,
            "hybrid_max_size": 100_000,
            "hybrid_queries": 40 if quick else 100,
            "switch_budget_ms": 5.0,
        }
        defaults.update({k: v for k, v in overrides.items() if v is not None})
        return cls(quick=quick, work_dir=work_dir, **defaults)


# -- figures ----------------------------------------------------------------------------------------------


def distribution(values: Sequence[float], quantiles: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    """Count, mean and percentiles (the project's own percentile function) of a list of timings."""
    summary: dict[str, float] = {"n": len(values), "mean": round(sum(values) / len(values), 3) if values else 0.0}
    summary.update({f"p{q}": round(percentile(values, q), 3) for q in quantiles})
    return summary


def stage_distributions(timings: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per-stage distributions of ``timings_ms``-like dicts (encode, retrieve, read, total)."""
    return {stage: distribution([t[stage] for t in timings]) for stage in STAGES}


def answer_quality(questions: Sequence[EvalQuestion], predictions: Sequence[str | None]) -> dict[str, Any]:
    """HasAns F1 and no-answer accuracy (%, official SQuAD v2 scoring; ``None`` = abstention)."""
    has, no = [], []
    for question, prediction in zip(questions, predictions, strict=True):
        em, f1 = score(question.answers, prediction)
        (has if is_answerable(question.answers) else no).append((em, f1))
    return {
        "n_has_ans": len(has),
        "n_no_ans": len(no),
        "has_ans_f1": round(100 * sum(f1 for _, f1 in has) / len(has), 2) if has else None,
        "no_ans_acc": round(100 * sum(em for em, _ in no) / len(no), 2) if no else None,
        "answered_rate": round(100 * sum(p is not None for p in predictions) / len(predictions), 2) if predictions else None,
    }


T = TypeVar("T")


def timed(function: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``function(*args, **kwargs)`` and its wall time in milliseconds."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def mib(size: int) -> float:
    """Bytes in MiB, rounded."""
    return round(size / 2**20, 1)


def spread(items: Sequence[T], count: int | None) -> list[T]:
    """At most ``count`` items taken evenly across ``items`` (all of them when ``count`` is None)."""
    if count is None or count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


# -- the machine ------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    meminfo = _read("/proc/meminfo")
    total_kb = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(total_kb / 2**20, 1),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "libraries": {name: _version(name) for name in LIBRARIES},
        "torch_threads": torch.get_num_threads(),
        "faiss_omp_threads": faiss.omp_get_max_threads(),
        "thread_environment": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


# -- tables -----------------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ") -> list[str]:
    """Aligned text columns: the first left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return [
        indent + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
        for row in cells
    ]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# -- workloads --------------------------------------------------------------------------------------------


@dataclass
class Workload:
    """A question set and the pipeline answering it, over an index built for this run."""

    name: str
    questions: list[EvalQuestion]
    graded: bool  # whether the questions carry gold answers
    settings: Settings
    pipeline: QAPipeline
    build_seconds: float

    @property
    def texts(self) -> list[str]:
        return [q.question for q in self.questions]


@dataclass
class BenchContext:
    """Loads the model once and builds each workload's index once per run, on first use."""

    config: BenchConfig
    _workloads: dict[str, Workload] = field(default_factory=dict)

    @cached_property
    def embedder(self) -> Embedder:
        return make_embedder(Settings.load())

    def workload(self, name: str) -> Workload:
        """``seminar`` (the seminar page) or ``squad`` (the SQuAD set, open book over its own paragraphs)."""
        if name not in self._workloads:
            self._workloads[name] = self._open(name)
        return self._workloads[name]

    def workloads(self) -> Iterator[Workload]:
        for name in ("seminar", "squad"):
            yield self.workload(name)

    def _open(self, name: str) -> Workload:
        if name == "seminar":
            corpus = list(Settings.load().corpus)
            graded = SEMINAR_QUESTIONS.is_file()
            questions = load_questions(SEMINAR_QUESTIONS) if graded else _builtin_questions()
        elif name == "squad":
            corpus, graded, questions = [str(SQUAD_SET)], True, load_questions(SQUAD_SET)
        else:
            raise ValueError(f"unknown workload {name!r}")
        settings = Settings.load(index_dir=self.config.work_dir / "index" / name, corpus=corpus)
        index, build_ms = timed(ensure_index, settings, self.embedder, corpus=corpus, force=True)
        pipeline = QAPipeline.from_index(index, self.embedder, settings)
        return Workload(name, spread(questions, self.config.max_questions), graded, settings, pipeline, build_ms / 1000)


def _builtin_questions() -> list[EvalQuestion]:
    return [EvalQuestion(f"builtin-{i:02d}", q, (), "builtin") for i, q in enumerate(BUILTIN_SEMINAR_QUESTIONS)]
