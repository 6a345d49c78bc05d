"""The benchmark runs (a short form of `make bench` and `make loadtest`): every section it runs reports, no errors."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_benchmark_smoke(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "benchmark.py"), "--quick", "--sections", "latency,peer,http",
            "--questions", "20", "--http-clients", "1,8", "--http-seconds", "3", "--out", str(out),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert {"meta", "latency", "peer", "http"} <= set(figures)
    levels = figures["http"]["levels"]
    assert [level["clients"] for level in levels] == [1, 8]
    assert all(level["errors"] == 0 and level["requests"] > 0 for level in levels)
