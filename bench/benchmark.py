"""The seminar-qa benchmark: prints a short table per section and writes every figure to a JSON file.

    .venv/bin/python bench/benchmark.py [--quick] [--sections latency,peer,qa_peer,http,startup,scale,cluster] [--out FILE]

Sections (all by default): ``latency`` (in-process ``ask``, per stage), ``peer`` (against a naive
langchain + FAISS pipeline: latency and quality), ``qa_peer`` (the learned reader against a transformers
question-answering pipeline with the same weights over the same passages), ``http`` (the app under 1/8/32 concurrent clients),
``startup`` (launch to healthy, peak RSS), ``scale`` (flat vs HNSW up to 1M vectors, the hybrid retriever at
scale, the pipeline's build throughput, and when to switch). ``--quick`` shrinks every section (~2 minutes).
Indexes are built into a temporary folder; the project's ``index/`` is never touched.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Protocol

if __package__ in (None, ""):  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cluster_load, http_load, latency, peer, qa_peer, scale, server  # noqa: E402
from bench.common import BenchConfig, BenchContext, machine  # noqa: E402


class Section(Protocol):
    def run(self, context: BenchContext) -> dict[str, Any]: ...

    def render(self, result: dict[str, Any]) -> list[str]: ...


SECTIONS: dict[str, tuple[str, Section]] = {
    "latency": ("in-process latency of pipeline.ask, by stage", latency),
    "peer": ("the project against a naive peer pipeline (same questions, same process)", peer),
    "qa_peer": ("the learned reader against plain transformers, same weights and passages", qa_peer),
    "http": ("POST /api/ask on app.py at concurrent clients", http_load),
    "startup": ("app.py launch to healthy /healthz (index already built)", server),
    "scale": ("vector search at scale: flat vs HNSW (single queries, 384-d)", scale),
    "cluster": ("POST /api/ask through nginx to 1 and 2 replicas sharing PostgreSQL (make cluster)", cluster_load),
}
DEFAULT_SECTIONS = [name for name in SECTIONS if name != "cluster"]
DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", default=",".join(DEFAULT_SECTIONS),
                        help=f"comma-separated, from {','.join(SECTIONS)} (default: all but cluster, which needs PostgreSQL and nginx)")
    parser.add_argument("--quick", action="store_true", help="shrink every section (a smoke test: ~2 minutes)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})")
    parser.add_argument("--work-dir", type=Path, help="where to build indexes and keep server logs (default: a temporary folder, removed)")
    parser.add_argument("--questions", type=int, dest="max_questions", help="at most this many questions per set")
    parser.add_argument("--http-seconds", type=float, help="duration of each concurrency level")
    parser.add_argument("--http-clients", type=_ints, help="concurrency levels, e.g. 1,8,32")
    parser.add_argument("--http-warmup-seconds", type=float, help="load before each level's measured time (default 0)")
    parser.add_argument("--scale-sizes", type=_ints, help="numbers of vectors, e.g. 10000,100000,1000000")
    parser.add_argument("--scale-cluster-size", type=int, help="vectors per synthetic cluster (0: pure random normal)")
    parser.add_argument("--switch-budget-ms", type=float, help="search time per question that calls for an approximate index")
    args = parser.parse_args(argv)
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    return args


def _ints(value: str) -> tuple[int, ...]:
    return tuple(int(v.replace("_", "")) for v in value.split(",") if v.strip())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [name for name in SECTIONS if name in args.sections.split(",")]
    with tempfile.TemporaryDirectory(prefix="seminar-qa-bench-") as temporary:
        work_dir = (args.work_dir or Path(temporary)).resolve()
        work_dir.mkdir(parents=True, exist_ok=True)
        overrides = {k: getattr(args, k) for k in ("max_questions", "http_seconds", "http_clients", "http_warmup_seconds",
                                                    "scale_sizes", "scale_cluster_size", "switch_budget_ms")}
        config = BenchConfig.for_run(args.quick, work_dir, **overrides)
        return run_sections(names, config, args.out)


def run_sections(names: list[str], config: BenchConfig, out: Path) -> int:
    started = time.perf_counter()
    context = BenchContext(config)
    results: dict[str, Any] = {
        "meta": {
            "machine": machine(),
            "command": sys.argv,
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(config).items()},
            "load_average_at_start": _load_average(),
            "section_seconds": {},
        }
    }
    print(f"seminar-qa benchmark{' (quick)' if config.quick else ''}: {results['meta']['machine']['nproc']} x "
          f"{results['meta']['machine']['cpu_model']}, {results['meta']['machine']['date']}", flush=True)
    failed = []
    for name in names:
        title, section = SECTIONS[name]
        section_started = time.perf_counter()
        try:
            results[name] = section.run(context)
            lines = section.render(results[name])
        except Exception as exc:  # report the failure, run the other sections, exit non-zero
            traceback.print_exc()
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            lines = [f"  FAILED: {results[name]['error']}"]
            failed.append(name)
        seconds = round(time.perf_counter() - section_started, 1)
        results["meta"]["section_seconds"][name] = seconds
        print(f"\n{name}: {title}  [{seconds:.0f} s]", *lines, sep="\n", flush=True)
    results["meta"]["load_average_at_end"] = _load_average()
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\n{results['meta']['seconds']:.0f} s in all; figures in {out}", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def _load_average() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


if __name__ == "__main__":
    sys.exit(main())
