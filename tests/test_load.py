"""The load test's short form (``make loadtest`` is the 60 s one; both are ``bench/http_load.py``).

The real server (``app.py``) on a free loopback port, 64 concurrent clients for 10 s after 5 s of warm-up:
every response is a 200 (or a 429 of the rate limit), none is an error or a time-out, and the server's
memory stays flat. The figures (answers/s, p50/p95, memory) are printed at the end of the pytest run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.http_load import RSS_GROWTH_BOUND_MIB
from tests.conftest import ROOT

pytestmark = pytest.mark.load
CLIENTS, SECONDS, WARMUP_SECONDS = 64, 10, 5


def test_64_clients_no_errors_flat_memory(tmp_path, report_figure):
    out = tmp_path / "loadtest.json"
    command = [
        sys.executable, str(ROOT / "bench" / "benchmark.py"), "--sections", "http", "--http-clients", str(CLIENTS),
        "--http-seconds", str(SECONDS), "--http-warmup-seconds", str(WARMUP_SECONDS), "--out", str(out),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [level] = json.loads(out.read_text())["http"]["levels"]
    memory = level["memory"]
    report_figure(
        f"load test, {CLIENTS} clients x {level['seconds']:.0f} s: {level['requests_per_s']:.1f} answers/s, "
        f"p50 {level['latency_ms']['p50']:.0f} ms, p95 {level['latency_ms']['p95']:.0f} ms, "
        f"{level['errors']} errors, {level['rate_limited']} 429s, server RSS {memory['warm_mib']:.0f} -> "
        f"{memory['end_mib']:.0f} MiB (max {memory['max_mib']:.0f})"
    )
    assert level["clients"] == CLIENTS and level["seconds"] >= SECONDS
    assert level["errors"] == 0, level["outcomes"] | level["outcomes_in_warmup"]
    assert set(level["outcomes"]) <= {"200", "429"}
    assert level["outcomes"].get("200", 0) >= CLIENTS  # every client was answered, not just refused
    assert level["latency_ms"]["n"] == level["outcomes"]["200"] and level["latency_ms"]["p95"] > 0
    assert memory["samples"] >= SECONDS  # sampled every 0.5 s through warm-up and run
    assert memory["growth_mib"] <= RSS_GROWTH_BOUND_MIB and memory["flat"], memory
