"""Running the app as users run it (``python app.py``), on loopback; and section ``startup``: the time from
launching it to a healthy ``/healthz`` with the index already built, and the process's peak RSS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx

from .common import ROOT, BenchContext, distribution, mib, table

HOST = "127.0.0.1"
UNLIMITED = "1000000000"  # requests a minute and burst: the rate limiter never refuses a request
STARTUP_TIMEOUT_S = 300.0


@dataclass
class AppServer:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    startup_seconds: float

    def peak_rss_bytes(self) -> int:
        """The process's peak resident set size so far (``VmHWM``)."""
        return _status_kb(self.process.pid, "VmHWM") * 1024

    def rss_bytes(self) -> int:
        return _status_kb(self.process.pid, "VmRSS") * 1024

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far, user + system (``/proc/PID/stat`` utime + stime)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14 and 15 of stat(5)


def loopback_client(**options: Any) -> httpx.Client:
    """An HTTP client that ignores proxy settings: traffic goes to 127.0.0.1 and nowhere else."""
    return httpx.Client(trust_env=False, **options)


@contextmanager
def serve(index_dir: Path, work_dir: Path) -> Iterator[AppServer]:
    """Start ``app.py`` on a free loopback port, wait until it is healthy, and terminate it on exit."""
    port = _free_port()
    log_path = work_dir / f"app-{port}.log"
    env = {
        **os.environ,
        "QA_RATE_LIMIT_PER_MINUTE": UNLIMITED,
        "QA_RATE_LIMIT_BURST": UNLIMITED,
        "QA_FEEDBACK_DB": str(work_dir / "feedback.sqlite3"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "NO_PROXY": HOST,
        "no_proxy": HOST,
    }
    command = [sys.executable, str(ROOT / "app.py"), "--host", HOST, "--port", str(port), "--index", str(index_dir)]
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield AppServer(process, url, log_path, time.perf_counter() - started)
    finally:
        _stop(process)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with loopback_client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"app.py exited with status {process.returncode}:\n{tail}")
            try:
                if client.get(url + "/healthz").json().get("index_loaded"):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.05)
    raise TimeoutError(f"app.py was not healthy after {STARTUP_TIMEOUT_S:.0f} s (log: {log_path})")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


# -- section "startup" ------------------------------------------------------------------------------------


def run(context: BenchContext) -> dict[str, Any]:
    index_dir = context.workload("seminar").settings.index_dir
    launches = []
    for _ in range(context.config.startup_runs):
        with serve(index_dir, context.config.work_dir) as server:
            launches.append({"seconds": round(server.startup_seconds, 3), "peak_rss_mib": mib(server.peak_rss_bytes())})
    seconds = [launch["seconds"] for launch in launches]
    return {
        "launches": launches,
        "seconds": distribution(seconds, quantiles=(50,)) | {"min": min(seconds), "max": max(seconds)},
        "peak_rss_mib_max": max(launch["peak_rss_mib"] for launch in launches),
    }


def render(result: dict[str, Any]) -> list[str]:
    rows = [[f"launch {i + 1}", launch["seconds"], launch["peak_rss_mib"]] for i, launch in enumerate(result["launches"])]
    return table(["app.py", "to healthy s", "peak RSS MiB"], rows)
