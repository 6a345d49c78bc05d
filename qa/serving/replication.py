"""Every replica's index follows the corpus changes in the shared database.

An upload or removal through any replica is first appended to the database's ordered corpus changes
(:class:`qa.persistence.corpus_events.CorpusEventLog`), then applied by each replica to its own index, in order:
the replica that took the change at once, the others when they next look (every ``corpus_poll_seconds``). An
applied change is a new index version made live atomically (:mod:`qa.store.corpus`), so requests in flight
finish on the old one. The number of the last change applied is kept beside the index, so a restarted replica
resumes where it stopped; a replica with a fresh index applies every change from the first, and changes
already in its index change nothing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Callable

from qa.config import Settings
from qa.errors import QAError
from qa.persistence import DatabaseUnavailable
from qa.persistence.corpus_events import ADD, CorpusEvent, CorpusEventLog
from qa.store.corpus import CorpusUpdate, add_paths, remove_documents
from qa.store.embedding import Embedder
from qa.store.index import live_version_name

log = logging.getLogger(__name__)

STATE_FILE = "corpus-changes.json"  # in the index folder: the last change applied to that index
_KEPT_RESULTS = 100


class CorpusFollower:
    """Applies the database's corpus changes to this replica's index; ``on_change`` is called after each batch."""

    def __init__(
        self, settings: Settings, events: CorpusEventLog, embedder: Callable[[], Embedder],
        on_change: Callable[[], object], origin: str,
    ) -> None:
        self.settings = settings
        self.events = events
        self.origin = origin
        self._embedder = embedder
        self._on_change = on_change
        self._lock = threading.Lock()
        self._results: dict[int, CorpusUpdate | QAError] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._state = self._read_state()
        self.applied = int(self._state.get("applied", 0))
        self._checked = False  # whether the last change applied is still in the database (checked at the first sync)

    def upload(self, name: str, content: bytes) -> CorpusUpdate:
        """Record an uploaded file (already checked to be readable) and apply it here; the other replicas follow.

        Raises :class:`DatabaseUnavailable` only when the change could not be recorded (then nothing changed
        anywhere); once recorded, any failure to apply it here is a :class:`QAError` saying it is recorded.
        """
        return self._applied(self.events.append_upload(name, content, self.origin))

    def remove(self, doc_id: str) -> CorpusUpdate:
        return self._applied(self.events.append_removal(doc_id, self.origin))

    def sync(self) -> int:
        """Apply every change not applied yet, in order; returns how many were applied.

        A change that fails for want of resources (disk full, the database away) stops the sync without being
        counted as applied: the next sync retries it, and nothing after it is applied out of order.
        """
        count = 0
        try:
            with self._lock:
                self._check_state()
                # One change at a time: an upload carries its file (up to 20 MB).
                while batch := self.events.after(self.applied, limit=1):
                    event = batch[0]
                    self._results[event.seq] = self._apply(event)
                    self.applied = event.seq
                    self._write_state(event)
                    count += 1
                    for seq in sorted(self._results)[:-_KEPT_RESULTS]:
                        del self._results[seq]
        finally:
            if count:
                self._on_change()
        return count

    def start(self) -> None:
        """Look for changes every ``corpus_poll_seconds`` in a background thread (and once now)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._follow, name="corpus-follower", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _applied(self, seq: int) -> CorpusUpdate:
        try:
            self.sync()
        except Exception as exc:  # recorded, so every replica will apply it; here it waits for the next try
            log.exception("corpus change %d recorded but not applied here yet", seq)
            raise QAError(f"the change is recorded and will be applied shortly (not yet here: {exc})") from exc
        result = self._results.get(seq)
        if isinstance(result, QAError):
            raise result
        if result is None:  # applied by the background thread and already forgotten: cannot happen in practice
            raise QAError(f"corpus change {seq} was applied, but its outcome is no longer known: reload the page")
        return result

    def _apply(self, event: CorpusEvent) -> CorpusUpdate | QAError:
        try:
            if event.kind == ADD:
                target = self._write_upload(event)
                update = add_paths(self.settings, self._embedder(), [target])
            else:
                update = remove_documents(self.settings, self._embedder(), [event.name])
        except QAError as exc:  # e.g. removing a document this replica does not hold: nothing to do here
            # (other errors, such as a full disk, propagate: the change is retried, not skipped)
            log.warning("corpus change %d (%s %s from %s) not applied here: %s", event.seq, event.kind, event.name,
                        event.origin, exc)
            return exc
        log.info("corpus change %d applied: %s %s (from %s)", event.seq, event.kind, event.name, event.origin)
        return update

    def _write_upload(self, event: CorpusEvent) -> Path:
        """The uploaded file, in this replica's uploads folder (replaced atomically: never read half-written)."""
        folder = Path(self.settings.uploads_dir)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(event.name).name
        partial = folder / f".{uuid.uuid4().hex}-{target.name}"
        partial.write_bytes(event.content or b"")
        os.replace(partial, target)
        return target

    def _follow(self) -> None:
        while True:
            try:
                if self.events.latest() > self.applied:
                    self.sync()
                if self._failing:
                    log.warning("corpus changes: following %s again", self.events.database.target)
                    self._failing = False
            except DatabaseUnavailable as exc:
                if not self._failing:
                    log.warning("corpus changes cannot be read until the database is back: %s", exc)
                    self._failing = True
            except Exception:  # keep following whatever happens (serving must not stop); said once per streak
                if not self._failing:
                    log.exception("corpus follower: a change could not be applied; retrying every %s s",
                                  self.settings.corpus_poll_seconds)
                    self._failing = True
            if self._stop.wait(self.settings.corpus_poll_seconds):
                return

    def _state_path(self) -> Path:
        return Path(self.settings.index_dir) / STATE_FILE

    def _read_state(self) -> dict:
        """What was applied to this index (empty when the index is not the one the state was written for)."""
        try:
            state = json.loads(self._state_path().read_text())
        except (OSError, ValueError):
            return {}
        same_index = state.get("index_version") == live_version_name(Path(self.settings.index_dir))
        same_database = state.get("database") == self.events.database.target
        return state if same_index and same_database and isinstance(state.get("applied"), int) else {}

    def _check_state(self) -> None:
        """Start from the first change when the database no longer holds the last one applied here as it was
        (a database recreated under the same address numbers its changes from 1 again)."""
        if self._checked or not self.applied:
            self._checked = True
            return
        event = self.events.get(self.applied)
        if event is None or [event.time, event.kind, event.name] != self._state.get("event"):
            log.warning("the database's corpus changes are not the ones applied to %s: applying them from the first",
                        self.settings.index_dir)
            self.applied = 0
        self._checked = True

    def _write_state(self, event: CorpusEvent) -> None:
        path = self._state_path()
        self._state = {"applied": self.applied, "event": [event.time, event.kind, event.name],
                       "database": self.events.database.target,
                       "index_version": live_version_name(Path(self.settings.index_dir))}
        state = self._state
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        partial.write_text(json.dumps(state))
        os.replace(partial, path)
