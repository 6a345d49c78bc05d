"""Section ``http``: ``POST /api/ask`` on the app run as a subprocess, at 1, 8 and 32 concurrent clients.

Each level runs for a fixed time: every client (an asyncio task sharing one ``httpx.AsyncClient`` with as
many connections as clients) sends its next question as soon as the previous answer arrives, cycling through
the seminar questions, and stops at the deadline. Throughput counts 200 responses; anything else is an error.
The client runs on the same two cores as the server, so it takes some of the CPU the server could use.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from typing import Any, Sequence

import httpx

from .common import BenchContext, distribution, mib, table
from .server import serve

REQUEST_TIMEOUT_S = 60.0
WARMUP_REQUESTS = 5


async def _load(url: str, questions: Sequence[str], clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
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
                outcomes[outcome] += 1
                if outcome == "200":
                    latencies.append((time.perf_counter() - started) * 1000)

        for question in questions[:WARMUP_REQUESTS]:
            await client.post("/api/ask", json={"question": question})
        started = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(one_client(started + seconds) for _ in range(clients))), seconds + REQUEST_TIMEOUT_S + 10
        )
        elapsed = time.perf_counter() - started
    ok = outcomes.get("200", 0)
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": sum(outcomes.values()),
        "requests_per_s": round(ok / elapsed, 2),
        "latency_ms": distribution(latencies),
        "errors": sum(outcomes.values()) - ok,
        "outcomes": dict(outcomes),
    }


def run(context: BenchContext) -> dict[str, Any]:
    workload = context.workload("seminar")
    levels = []
    with serve(workload.settings.index_dir, context.config.work_dir) as server:
        for clients in context.config.http_clients:
            levels.append(asyncio.run(_load(server.url, workload.texts, clients, context.config.http_seconds)))
        memory = {"rss_mib_after_load": mib(server.rss_bytes()), "peak_rss_mib": mib(server.peak_rss_bytes())}
    return {"seconds_per_level": context.config.http_seconds, "levels": levels, "server": memory}


def render(result: dict[str, Any]) -> list[str]:
    rows = [
        [level["clients"], level["requests_per_s"], level["latency_ms"]["p50"], level["latency_ms"]["p95"], level["errors"]]
        for level in result["levels"]
    ]
    lines = table(["clients", "req/s", "p50 ms", "p95 ms", "errors"], rows)
    lines.append(f"  {result['seconds_per_level']:.0f} s per level; server peak RSS {result['server']['peak_rss_mib']:.0f} MiB")
    return lines
