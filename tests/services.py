"""Real servers for the tests of several replicas: a PostgreSQL of the test session's own (initdb and pg_ctl
in a temporary folder, a free loopback port), and nginx. Missing programs skip those tests with a reason that
`make test` repeats on its last line; `.ci/run` installs both."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from deploy.cluster import PostgresServer, nginx_bin, postgres_bin

NO_POSTGRES = "PostgreSQL's server programs are not installed"
NO_NGINX = "nginx is not installed"


def needs_postgres() -> None:
    if postgres_bin() is None:
        pytest.skip(f"{NO_POSTGRES} (apt-get install postgresql)")


def needs_nginx() -> None:
    if nginx_bin() is None:
        pytest.skip(f"{NO_NGINX} (apt-get install nginx-light)")


def scratch_folder(prefix: str) -> Path:
    """A folder the ``postgres`` user can reach when the tests run as root (pytest's tmp_path is private)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def start_postgres() -> PostgresServer:
    needs_postgres()
    server = PostgresServer(scratch_folder("seminar-qa-pg-") / "postgres", durable=False)
    atexit.register(server.stop, "immediate")  # a session cut short leaves no server behind (runs before the rmtree)
    server.start()
    return server


def new_database(server: PostgresServer) -> str:
    """The URL of a new, empty database on ``server``."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    server.create_database(name)
    return server.url(name)
