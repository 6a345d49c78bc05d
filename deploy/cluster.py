"""The whole deployment on one machine: PostgreSQL, replicas of app.py, and nginx in front, on loopback.

``make cluster`` runs ``python -m deploy.cluster start``: Debian's PostgreSQL (a server of its own in
``build/cluster/postgres``), two replicas (ports 7861 and 7862, each with its own index folder, built once and
copied), and nginx on port 8080 balancing ``/api/`` over both and keeping a browser's chat on one replica. It
stays in the foreground, restarts a replica whose ``/healthz`` fails, and stops everything cleanly on Ctrl-C or
``make cluster-stop``. The tests (``tests/test_cluster.py``) use the same pieces.

As root (a container, CI), PostgreSQL runs as the ``postgres`` user, which the Debian package creates: it
refuses to run as root.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_DIRECTORY = ROOT / "build" / "cluster"
NGINX_TEMPLATE = Path(__file__).with_name("nginx.conf.template")
STARTUP_TIMEOUT_S = 300.0
HEALTH_EVERY_S = 2.0
HEALTH_FAILURES_BEFORE_RESTART = 3
POSTGRES_USER = "postgres"  # the OS user PostgreSQL runs as when we are root
DATABASE = "qa"

log = logging.getLogger("cluster")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), or None when they are not installed."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def nginx_bin() -> Path | None:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)
    return Path(found) if found else None


class PostgresServer:
    """A PostgreSQL server of our own in ``directory`` (made by initdb the first time), on a loopback port."""

    def __init__(self, directory: Path, port: int | None = None, durable: bool = True) -> None:
        binaries = postgres_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL's server programs are not installed (apt-get install postgresql)")
        self.bin = binaries
        self.directory = Path(directory)
        self.data = self.directory / "data"
        self.port = port or free_port()
        self.durable = durable  # False (tests): no fsync, faster, and a power cut may lose the database
        self.as_postgres = os.geteuid() == 0

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://qa@{HOST}:{self.port}/{database}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(self.directory, POSTGRES_USER, POSTGRES_USER)
            reachable = subprocess.run(["runuser", "-u", POSTGRES_USER, "--", "test", "-w", str(self.directory)])
            if reachable.returncode != 0:
                raise RuntimeError(f"the {POSTGRES_USER} user cannot reach {self.directory}: every folder above it must be "
                                   "searchable by others (chmod o+x), e.g. not under a private temporary folder")
        if not (self.data / "PG_VERSION").is_file():
            self._run("initdb", "-D", str(self.data), "-U", "qa", "--auth=trust", "-E", "UTF8", "--no-instructions")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-w", "-t", "60", "-o",
                  f"-p {self.port} -c listen_addresses={HOST} -k {self.directory}" + ("" if self.durable else " -c fsync=off"),
                  "start")
        self.create_database(DATABASE)

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as connection:
            if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                connection.execute(f'CREATE DATABASE "{name}"')

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", POSTGRES_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")


@dataclass
class Replica:
    """One app.py process on a loopback port, with its own index and uploads folders."""

    name: str
    port: int
    directory: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def index_dir(self) -> Path:
        return self.directory / "index"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ, "QA_HOST": HOST, "QA_PORT": str(self.port), "QA_INDEX_DIR": str(self.index_dir),
            "QA_UPLOADS_DIR": str(self.directory / "uploads"), "QA_FEEDBACK_DB": str(self.directory / "unused.sqlite3"),
            "QA_REPLICA_NAME": self.name, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
            "NO_PROXY": HOST, "no_proxy": HOST, **self.env,
        }
        log_file = open(self.directory / "app.log", "ab")
        # A session of its own: Ctrl-C reaches the supervisor only, which stops the pieces in order.
        self.process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=log_file,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        log_file.close()

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                tail = (self.directory / "app.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"replica {self.name} exited:\n{tail}")
            if self.healthy():
                return
            time.sleep(0.2)
        raise TimeoutError(f"replica {self.name} not healthy after {timeout:.0f} s ({self.directory / 'app.log'})")

    def healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=2.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait()


class Nginx:
    """nginx in the foreground (``daemon off``), configured from ``nginx.conf.template`` for ``replicas``."""

    def __init__(self, directory: Path, port: int, replicas: list[Replica]) -> None:
        binary = nginx_bin()
        if binary is None:
            raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
        self.binary = binary
        self.directory = Path(directory)
        self.port = port
        self.replicas = replicas
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def write_config(self) -> Path:
        (self.directory / "tmp").mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server {HOST}:{r.port} max_fails=1 fail_timeout=5s;" for r in self.replicas)
        config = Template(NGINX_TEMPLATE.read_text()).substitute(
            prefix=self.directory, host=HOST, port=self.port, servers=servers,
            user="user root;" if os.geteuid() == 0 else "",  # workers must read the prefix we made as root
        )
        path = self.directory / "nginx.conf"
        path.write_text(config)
        return path

    def start(self) -> None:
        config = self.write_config()
        test = subprocess.run([str(self.binary), "-t", "-p", str(self.directory), "-c", str(config)],
                              capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx configuration rejected: {test.stderr.strip()}")
        self.process = subprocess.Popen([str(self.binary), "-p", str(self.directory), "-c", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=open(self.directory / "stderr.log", "ab"),
                                        start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2.0, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.directory / 'error.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        raise TimeoutError("nginx did not answer /healthz")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: requests in flight finish
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Cluster:
    """PostgreSQL, ``replicas`` app processes and nginx, started in that order and stopped in reverse."""

    def __init__(self, directory: Path = DEFAULT_DIRECTORY, replicas: int = 2, port: int = 8080,
                 replica_ports: list[int] | None = None, env: dict[str, str] | None = None,
                 postgres_port: int | None = None, seed_index: Path | None = None, durable: bool = True) -> None:
        self.directory = Path(directory)
        self.seed_index = seed_index  # an index folder to copy to each replica (default: built once here)
        self.postgres = PostgresServer(self.directory / "postgres", postgres_port, durable)
        ports = replica_ports or [free_port() for _ in range(replicas)]
        shared = {"QA_DATABASE_URL": self.postgres.url(), **(env or {})}
        self.replicas = [Replica(f"replica-{chr(ord('a') + i)}", p, self.directory / f"replica-{chr(ord('a') + i)}", shared)
                         for i, p in enumerate(ports)]
        self.nginx = Nginx(self.directory / "nginx", port, self.replicas)

    @property
    def url(self) -> str:
        return self.nginx.url

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.postgres.start()
        seed = self._seed_index()
        for replica in self.replicas:
            if not (replica.index_dir / "CURRENT").exists():
                shutil.copytree(seed, replica.index_dir, dirs_exist_ok=True)  # built once, copied: same vectors
            replica.start()
        for replica in self.replicas:
            replica.wait_healthy()
        self.nginx.start()

    def stop(self) -> None:
        self.nginx.stop()
        for replica in self.replicas:
            replica.stop()
        self.postgres.stop()

    def watch(self, stop: "list[bool]") -> None:
        """Restart a replica that died or failed :data:`HEALTH_FAILURES_BEFORE_RESTART` health checks in a row
        (nginx stops sending it requests at its first failed request, and tries it again after 5 s). A replica
        just restarted is given :data:`STARTUP_TIMEOUT_S` to become healthy before its checks count again."""
        failures = {r.name: 0 for r in self.replicas}
        starting_until = {r.name: 0.0 for r in self.replicas}
        while not stop:
            time.sleep(HEALTH_EVERY_S)
            for replica in self.replicas:
                if stop:
                    return
                healthy = replica.healthy()
                if healthy:
                    starting_until[replica.name] = 0.0
                elif time.monotonic() < starting_until[replica.name] and replica.alive():
                    continue  # still starting
                failures[replica.name] = 0 if healthy else failures[replica.name] + 1
                if not stop and (not replica.alive() or failures[replica.name] >= HEALTH_FAILURES_BEFORE_RESTART):
                    log.warning("%s is down: restarting it", replica.name)
                    replica.kill()
                    replica.start()
                    failures[replica.name] = 0
                    starting_until[replica.name] = time.monotonic() + STARTUP_TIMEOUT_S

    def _seed_index(self) -> Path:
        if self.seed_index is not None:
            return self.seed_index
        seed = self.directory / "seed-index"
        if not (seed / "CURRENT").exists():
            log.info("building the index once for every replica (%s)", seed)
            subprocess.run([sys.executable, "-m", "qa.cli", "build", "--index", str(seed)], cwd=ROOT, check=True)
        return seed


def _start(args: argparse.Namespace) -> int:
    env = {"QA_ADMIN_TOKEN": args.admin_token} if args.admin_token else {}
    cluster = Cluster(Path(args.directory), args.replicas, args.port, args.replica_ports, env, args.postgres_port)
    pid_file = Path(args.directory) / "cluster.pid"
    stop: list[bool] = []

    def on_signal(signum: int, frame: object) -> None:
        stop.append(True)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        cluster.start()
        pid_file.write_text(str(os.getpid()))
        print(f"cluster up: {cluster.url}/ (replicas {', '.join(r.url for r in cluster.replicas)}; "
              f"database {cluster.postgres.url()}); Ctrl-C or `make cluster-stop` stops it", flush=True)
        cluster.watch(stop)
    finally:
        print("stopping the cluster…", flush=True)
        cluster.stop()
        pid_file.unlink(missing_ok=True)
    return 0


def _stop(args: argparse.Namespace) -> int:
    pid_file = Path(args.directory) / "cluster.pid"
    if not pid_file.is_file():
        print("no cluster is running", file=sys.stderr)
        return 1
    pid = int(pid_file.read_text())
    try:
        running = b"deploy.cluster" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        running = False
    if not running:  # a stale file (the supervisor was killed): never signal whatever has that pid now
        pid_file.unlink(missing_ok=True)
        print("no cluster is running (removed a stale pid file)", file=sys.stderr)
        return 1
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 90
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    print("cluster stopped" if not pid_file.exists() else "the cluster is still stopping", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--directory", default=str(DEFAULT_DIRECTORY), help="state: database, index folders, logs")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start the cluster and keep it running (foreground)")
    start.add_argument("--replicas", type=int, default=2)
    start.add_argument("--port", type=int, default=int(os.environ.get("QA_CLUSTER_PORT", 8080)), help="nginx's port")
    start.add_argument("--replica-ports", type=lambda s: [int(p) for p in s.split(",")], default=[7861, 7862])
    start.add_argument("--postgres-port", type=int, default=5433)
    start.add_argument("--admin-token", default=os.environ.get("QA_ADMIN_TOKEN", ""), help="turns /admin on")
    start.set_defaults(run=_start)
    commands.add_parser("stop", help="stop a running cluster").set_defaults(run=_stop)
    args = parser.parse_args(argv)
    if args.command == "start" and len(args.replica_ports) < args.replicas:
        args.replica_ports = [*args.replica_ports, *(free_port() for _ in range(args.replicas - len(args.replica_ports)))]
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
