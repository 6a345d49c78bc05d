"""Serving an index that may be rebuilt underneath: the live pipeline is swapped when a new build lands.

``qa build`` (or another process) writes a new version and replaces ``index/CURRENT`` atomically. A
:class:`LivePipeline` notices (a cheap read of ``CURRENT`` every few seconds, in a background thread), loads the
new version completely, checks it, and only then swaps the reference that requests use. Requests in flight
finish on the old pipeline; a new version that fails to load is reported and the old one keeps serving.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from qa.errors import QAError
from qa.pipeline import QAPipeline
from qa.store.embedding import Embedder
from qa.store.index import live_version_name, load_index

log = logging.getLogger(__name__)


class LivePipeline:
    def __init__(self, pipeline: QAPipeline, poll_seconds: float = 2.0) -> None:
        self._pipeline = pipeline
        self._embedder: Embedder = pipeline.embedder
        self._directory = Path(pipeline.settings.index_dir)
        self._poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._refresh_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    @property
    def current(self) -> QAPipeline:
        return self._pipeline

    def refresh(self) -> bool:
        """Swap in the live version of the index if it is not the one being served. True when swapped.

        One refresh at a time (the watcher and an editor's update may both call it), so an older version can
        never replace a newer one. When the served pipeline answers Chinese questions, the new one is made ready
        for them before it serves, so that no visitor's question waits for that work.
        """
        with self._refresh_lock:
            name = live_version_name(self._directory)
            if name is None or Path(self._pipeline.index.location).name == name:
                return False
            try:
                index = load_index(self._directory)
            except QAError as exc:  # a broken build is never served; the old index keeps answering
                self.last_error = str(exc)
                log.error("new index version %s not loaded: %s", name, exc)
                return False
            pipeline = QAPipeline.from_index(index, self._embedder, self._pipeline.settings)
            if self._pipeline.has_chinese_reader():
                try:
                    pipeline.chinese_reader()
                except QAError as exc:
                    log.warning("questions in Chinese cannot be answered from %s: %s", index.location, exc)
            self._pipeline = pipeline
            self.last_error = None
            log.info("now serving index %s", index.location)
            return True

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="index-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self.refresh()
            except Exception:  # keep watching whatever happens: serving must not stop
                log.exception("index watcher")
