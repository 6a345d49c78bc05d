"""What the browser tests share: Debian's Chromium, the app started as a process, a static second origin.

Used by tests/test_browser.py and tests/test_accessibility.py (their fixtures are in conftest.py)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
NO_CHROMIUM = "Debian's chromium is not installed (.ci/run installs it)"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            tail = process.stderr.read()[-2000:] if process.stderr else ""
            raise RuntimeError(f"the app exited with {process.returncode}: {tail}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if json.load(response)["index_loaded"]:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("the app did not become healthy")


@contextmanager
def running_app(folder: Path, index_dir: Path, **env: str) -> Iterator[str]:
    """``python app.py`` on a free loopback port serving ``index_dir``, with extra ``QA_*`` settings; its log
    and feedback database in ``folder`` (a file, not a pipe: the app logs every answer and must never block)."""
    port = free_port()
    env = {**os.environ, "QA_INDEX_DIR": str(index_dir), "QA_FEEDBACK_DB": str(folder / "feedback.sqlite3"), **env}
    log_path = folder / "app.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_healthy(url, process)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{log_path.read_text()[-2000:]}") from None
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


class StaticServer:
    """Serves a folder on a loopback port in a thread (a second origin)."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *args: None  # type: ignore[method-assign]
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
