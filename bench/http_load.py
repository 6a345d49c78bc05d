"""Section ``http``: ``POST /api/ask`` on the app run as a subprocess, at 1, 8 and 32 concurrent clients; and
the load test (``make loadtest``, and its short form in ``tests/test_load.py``): 64 clients, one level.

Each level runs for a fixed time, after an optional warm-up under the same load: every client (an asyncio
task sharing one ``httpx.AsyncClient`` with as many connections as clients) sends its next question as soon
as the previous answer arrives, cycling through the seminar questions, and stops at the deadline. Throughput
and latency count the 200 responses of the measured time; 429s (the rate limit) are counted apart; anything
else, at any time, warm-up included, is an error. The server's RSS is sampled throughout, and the level says
whether memory stayed flat (see :func:`memory_verdict`). The client runs on the same two cores as the
server, so it takes some of the CPU the server could use.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections import Counter
from typing import Any, Callable, Sequence

import httpx

from .common import BenchContext, distribution, mib, table
from .server import serve

REQUEST_TIMEOUT_S = 60.0
WARMUP_REQUESTS = 5
RSS_SAMPLE_S = 0.5
# Memory is "flat" when the server's RSS at the end is within this much of its RSS after the warm-up (each
# the median of the samples of the phase's last 2 s). Measured at 64 clients on these 2 cores: with the
# server's fixed malloc threshold (app.steady_malloc) RSS wanders within ~6 MiB either way for 60 s; without
# it, it climbed 25 MiB in 15 s and ~35-130 MiB a minute. A leak of the requests' data grows as fast: an
# answer with its passages is ~10-20 kB, retained at ~45-75 answers/s. The bound is 4x the noise.
RSS_GROWTH_BOUND_MIB = 24.0
RSS_SETTLE_S = 2.0
OK, RATE_LIMITED = "200", "429"
# After start-up the app prepares its Chinese reader in a background thread (the multilingual model and the
# corpus's vectors: seconds to minutes, and RSS grows meanwhile). A Chinese question waits for it to finish,
# so the load that follows meets a server at rest.
CHINESE_WARMUP_QUESTION = "研讨会是什么时候举行的？"
CHINESE_WARMUP_TIMEOUT_S = 600.0


async def _load(
    url: str, questions: Sequence[str], clients: int, seconds: float, warmup_seconds: float = 0.0,
    rss: Callable[[], int] | None = None, cpu: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """One level: ``clients`` concurrent clients for ``warmup_seconds`` + ``seconds``; figures of the latter.

    ``cpu`` (the server's CPU seconds so far), when given, yields the server's CPU time per answer over the
    measured time: what an answer costs whatever the machine's other load does to its latency.
    """
    records: list[tuple[float, str, float]] = []  # (finished at, outcome, latency ms)
    samples: list[tuple[float, float]] = []  # (time, server RSS MiB)
    turn = itertools.count()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S, limits=limits, trust_env=False) as client:

        async def one_client(deadline: float) -> None:
            while time.perf_counter() < deadline:
                question = questions[next(turn) % len(questions)]
                started = time.perf_counter()
                try:
                    response = await client.post("/api/ask", json={"question": question})
                    outcome = str(response.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                finished = time.perf_counter()
                records.append((finished, outcome, (finished - started) * 1000))

        cpu_at_start: list[float] = []

        async def mark_cpu() -> None:
            await asyncio.sleep(max(0.0, measured_from - time.perf_counter()))
            if cpu is not None:
                cpu_at_start.append(cpu())

        async def sample_rss(until: float) -> None:
            while rss is not None and time.perf_counter() < until:
                samples.append((time.perf_counter(), mib(rss())))
                await asyncio.sleep(RSS_SAMPLE_S)

        for question in questions[:WARMUP_REQUESTS]:
            await client.post("/api/ask", json={"question": question})
        started = time.perf_counter()
        measured_from = started + warmup_seconds
        deadline = measured_from + seconds
        await asyncio.wait_for(
            asyncio.gather(mark_cpu(), sample_rss(deadline), *(one_client(deadline) for _ in range(clients))),
            warmup_seconds + seconds + REQUEST_TIMEOUT_S + 10,
        )
        ended = time.perf_counter()
        cpu_used = cpu() - cpu_at_start[0] if cpu is not None and cpu_at_start else None
        if rss is not None:
            samples.append((ended, mib(rss())))
    measured = [(outcome, ms) for finished, outcome, ms in records if finished >= measured_from]
    outcomes = Counter(outcome for outcome, _ in measured)
    everywhere = Counter(outcome for _, outcome, _ in records)
    elapsed = ended - measured_from
    return {
        "clients": clients,
        "warmup_seconds": warmup_seconds,
        "seconds": round(elapsed, 2),
        "requests": len(measured),
        "requests_per_s": round(outcomes.get(OK, 0) / elapsed, 2),
        "latency_ms": distribution([ms for outcome, ms in measured if outcome == OK]),
        "rate_limited": everywhere.get(RATE_LIMITED, 0),
        "errors": sum(count for outcome, count in everywhere.items() if outcome not in (OK, RATE_LIMITED)),
        **({"server_cpu_ms_per_answer": round(cpu_used * 1000 / max(1, outcomes.get(OK, 0)), 2)} if cpu_used is not None else {}),
        "outcomes": dict(outcomes),
        "outcomes_in_warmup": dict(everywhere - outcomes),
        **({"memory": memory_verdict(samples, measured_from)} if samples else {}),
    }


def memory_verdict(samples: Sequence[tuple[float, float]], measured_from: float) -> dict[str, Any]:
    """The server's RSS after the warm-up and at the end (medians of the last :data:`RSS_SETTLE_S` of each),
    its trend over the measured time, and whether it stayed flat (grew by at most :data:`RSS_GROWTH_BOUND_MIB`)."""
    warm = [rss for t, rss in samples if measured_from - RSS_SETTLE_S <= t <= measured_from] or [samples[0][1]]
    end = [rss for t, rss in samples if t >= samples[-1][0] - RSS_SETTLE_S]
    measured = [(t, rss) for t, rss in samples if t >= measured_from]
    warm_mib, end_mib = statistics.median(warm), statistics.median(end)
    return {
        "warm_mib": round(warm_mib, 1),
        "end_mib": round(end_mib, 1),
        "max_mib": round(max(rss for _, rss in samples), 1),
        "growth_mib": round(end_mib - warm_mib, 1),
        "slope_mib_per_min": round(_slope(measured) * 60, 2),
        "bound_mib": RSS_GROWTH_BOUND_MIB,
        "flat": end_mib - warm_mib <= RSS_GROWTH_BOUND_MIB,
        "samples": len(samples),
        "series": [[round(t - measured_from, 1), round(rss, 1)] for t, rss in samples[:: max(1, len(samples) // 60)]],
    }


def _slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of ``(t, y)`` points (per second); 0 for fewer than two points."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (y - mean_y) for t, y in points) / spread if spread else 0.0


def run(context: BenchContext) -> dict[str, Any]:
    workload = context.workload("seminar")
    config = context.config
    levels = []
    with serve(workload.settings.index_dir, config.work_dir) as server:
        with httpx.Client(base_url=server.url, timeout=CHINESE_WARMUP_TIMEOUT_S, trust_env=False) as client:
            client.post("/api/ask", json={"question": CHINESE_WARMUP_QUESTION})  # 200, or 503 without the model
        for clients in config.http_clients:
            level = _load(
                server.url, workload.texts, clients, config.http_seconds, config.http_warmup_seconds, server.rss_bytes,
                server.cpu_seconds,
            )
            levels.append(asyncio.run(level))
        memory = {"rss_mib_after_load": mib(server.rss_bytes()), "peak_rss_mib": mib(server.peak_rss_bytes())}
    return {"seconds_per_level": config.http_seconds, "levels": levels, "server": memory}


def render(result: dict[str, Any]) -> list[str]:
    rows = [
        [
            level["clients"], level["requests_per_s"], level["latency_ms"]["p50"], level["latency_ms"]["p95"],
            level["errors"], level["rate_limited"], level.get("server_cpu_ms_per_answer", "-"),
            _memory_cell(level.get("memory")),
        ]
        for level in result["levels"]
    ]
    lines = table(["clients", "req/s", "p50 ms", "p95 ms", "errors", "429s", "CPU ms/answer", "RSS MiB warm -> end"], rows)
    lines.append(f"  {result['seconds_per_level']:.0f} s per level; server peak RSS {result['server']['peak_rss_mib']:.0f} MiB")
    return lines


def _memory_cell(memory: dict[str, Any] | None) -> str:
    if not memory:
        return "-"
    verdict = "flat" if memory["flat"] else f"NOT FLAT (bound +{memory['bound_mib']:.0f})"
    return f"{memory['warm_mib']:.0f} -> {memory['end_mib']:.0f} ({memory['slope_mib_per_min']:+.1f}/min, {verdict})"
