"""Section ``cluster``: ``POST /api/ask`` through nginx to one and to two replicas sharing PostgreSQL
(``deploy/cluster.py``, as ``make cluster`` runs them), against one replica asked directly.

Every configuration runs on this machine's cores: two replicas share the two cores one replica had, so the
figures show what nginx and the second process cost, not what a second machine would add. The database's share
is the CPU time PostgreSQL's processes spent over the measured time (the question log's inserts; an answer
itself never waits for the database) against the CPU time of everything serving: replicas, nginx, PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import httpx

from deploy.cluster import Cluster, free_port

from .common import BenchContext, table
from .http_load import CHINESE_WARMUP_QUESTION, CHINESE_WARMUP_TIMEOUT_S, _load

CLIENTS = 8
UNLIMITED = "1000000000"


def _processes() -> list[tuple[int, int, str, float]]:
    """(pid, parent pid, comm, user + system CPU seconds) of every live process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1: stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()  # fields 3.. of stat(5): state, ppid, ..., utime (14), stime (15)
        found.append((int(entry.name), int(fields[1]), comm, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")))
    return found


def _cpu_by_part(cluster: Cluster) -> dict[str, float]:
    """CPU seconds so far of the replicas, nginx (master and workers) and PostgreSQL (every postgres process)."""
    processes = _processes()
    replicas = {r.process.pid for r in cluster.replicas if r.process is not None}
    nginx = {cluster.nginx.process.pid} if cluster.nginx.process is not None else set()
    parts = {"replicas": 0.0, "nginx": 0.0, "postgresql": 0.0}
    for pid, parent, comm, cpu in processes:
        if pid in replicas:
            parts["replicas"] += cpu
        elif pid in nginx or parent in nginx:
            parts["nginx"] += cpu
        elif comm in ("postgres", "postmaster"):
            parts["postgresql"] += cpu
    return parts


def _level(url: str, texts: list[str], seconds: float, cluster: Cluster) -> dict[str, Any]:
    """One measured run at :data:`CLIENTS` clients, after as long a warm-up, with the CPU time of each part."""
    asyncio.run(_load(url, texts, CLIENTS, seconds))  # warm-up: the first answers of each replica are slow
    before = _cpu_by_part(cluster)
    result = asyncio.run(_load(url, texts, CLIENTS, seconds))
    used = {name: cpu - before[name] for name, cpu in _cpu_by_part(cluster).items()}
    answers = max(1, result["outcomes"].get("200", 0))
    total = sum(used.values()) or 1.0
    result["cpu_ms_per_answer"] = {name: round(cpu * 1000 / answers, 2) for name, cpu in used.items()}
    result["database_share_of_cpu"] = round(used["postgresql"] / total, 4)
    return result


def run(context: BenchContext) -> dict[str, Any]:
    workload = context.workload("seminar")
    seconds = context.config.http_seconds
    env = {"QA_RATE_LIMIT_PER_MINUTE": UNLIMITED, "QA_RATE_LIMIT_BURST": UNLIMITED}
    results = []
    for replicas in (1, 2):
        # A folder of its own that PostgreSQL's user can reach when we run as root (the work folder is private).
        directory = Path(tempfile.mkdtemp(prefix=f"seminar-qa-bench-cluster-{replicas}-"))
        directory.chmod(0o755)
        cluster = Cluster(directory, replicas=replicas, port=free_port(), env=env,
                          seed_index=Path(workload.settings.index_dir))
        cluster.start()
        try:
            for replica in cluster.replicas:  # the Chinese reader ready, so that its warm-up is not measured
                with httpx.Client(base_url=replica.url, timeout=CHINESE_WARMUP_TIMEOUT_S, trust_env=False) as client:
                    client.post("/api/ask", json={"question": CHINESE_WARMUP_QUESTION})
            if replicas == 1:
                direct = _level(cluster.replicas[0].url, workload.texts, seconds, cluster)
                results.append({"route": "one replica, direct", "replicas": 1, **direct})
            through = _level(cluster.url, workload.texts, seconds, cluster)
            results.append({"route": f"nginx, {replicas} replica{'s' if replicas > 1 else ''}", "replicas": replicas, **through})
        finally:
            cluster.stop()
            shutil.rmtree(directory, ignore_errors=True)
    return {"clients": CLIENTS, "seconds": seconds, "levels": results}


def render(result: dict[str, Any]) -> list[str]:
    rows = [
        [level["route"], level["requests_per_s"], level["latency_ms"]["p50"], level["latency_ms"]["p95"], level["errors"],
         level["cpu_ms_per_answer"]["replicas"], level["cpu_ms_per_answer"]["nginx"],
         level["cpu_ms_per_answer"]["postgresql"], f"{100 * level['database_share_of_cpu']:.1f} %"]
        for level in result["levels"]
    ]
    lines = table(["route", "answers/s", "p50 ms", "p95 ms", "errors", "CPU ms/answer: app", "nginx", "PostgreSQL",
                   "database share"], rows)
    lines.append(f"  {result['clients']} clients, {result['seconds']:.0f} s each (after as long a warm-up), all on this "
                 "machine's cores: two replicas share them, so the figures show the overhead, not the gain")
    return lines
