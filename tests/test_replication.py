"""Replicas following the corpus changes in the database: an upload taken by one is applied by the other, in
order, once; two replicas sharing one index folder apply a change at the same time without harm; a restarted
replica resumes where it stopped. (SQLite here: the same code runs on PostgreSQL in tests/test_cluster.py.)"""

from __future__ import annotations

import logging
import shutil
import threading

import pytest

from qa.config import DEFAULT_CORPUS, Settings
from qa.errors import CorpusError
from qa.persistence import open_database
from qa.persistence.corpus_events import CorpusEventLog
from qa.pipeline import QAPipeline
from qa.serving.live import LivePipeline
from qa.serving.replication import STATE_FILE, CorpusFollower
from qa.store.index import live_version_name, load_index
from tests.test_corpus import PARK_PAGE, QUESTION


@pytest.fixture()
def seed(seminar_pipeline, tmp_path):
    """An index of the seminar page, built once and copied to each replica (as make cluster does)."""
    shutil.copytree(seminar_pipeline.settings.index_dir, tmp_path / "seed")
    return tmp_path / "seed"


def _replica(name, seed, tmp_path, embedder, folder=None):
    """A replica with its own index and uploads folders, or those in ``folder`` shared with another."""
    folder = folder or tmp_path / name
    index_dir = folder / "index"
    if not (index_dir / "CURRENT").exists():
        shutil.copytree(seed, index_dir)
    settings = Settings.load(index_dir=index_dir, uploads_dir=folder / "uploads", corpus=[str(DEFAULT_CORPUS)])
    live = LivePipeline(QAPipeline.from_index(load_index(index_dir), embedder, settings))
    database = open_database(tmp_path / "shared.sqlite3")
    follower = CorpusFollower(settings, CorpusEventLog(database), lambda: embedder, live.refresh, name)
    return live, follower


def test_an_upload_on_one_replica_is_applied_by_the_other(seed, embedder, tmp_path):
    live_a, a = _replica("a", seed, tmp_path, embedder)
    live_b, b = _replica("b", seed, tmp_path, embedder)
    update = a.upload("park-news.txt", PARK_PAGE.encode())
    assert update.changes.added == ["park-news"] and a.applied == 1
    assert live_a.current.ask(QUESTION).answer == "Chen Wei"
    assert live_b.current.ask(QUESTION).answer != "Chen Wei"  # not yet: b has not looked
    assert b.sync() == 1 and b.applied == 1
    assert live_b.current.ask(QUESTION).answer == "Chen Wei"
    assert (tmp_path / "b" / "uploads" / "park-news.txt").read_text() == PARK_PAGE
    assert b.sync() == 0  # nothing new

    b.remove("park-news")
    assert a.sync() == 1 and "park-news" not in live_a.current.index.documents
    with pytest.raises(CorpusError):
        a.remove("no-such-document")  # recorded, applied nowhere, reported to the editor who asked
    assert b.sync() == 1 and b.applied == a.applied == 3


def test_two_replicas_sharing_an_index_folder_apply_a_change_once(seed, embedder, tmp_path, caplog):
    live_a, a = _replica("a", seed, tmp_path, embedder, tmp_path / "shared")
    live_b, b = _replica("b", seed, tmp_path, embedder, tmp_path / "shared")
    shared = tmp_path / "shared" / "index"
    before = live_version_name(shared)
    CorpusEventLog(open_database(tmp_path / "shared.sqlite3")).append_upload("park-news.txt", PARK_PAGE.encode(), "editor")
    errors = []

    def follow(follower):
        try:
            follower.sync()
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=follow, args=(f,)) for f in (a, b)]
    with caplog.at_level(logging.INFO, logger="qa.store.corpus"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == [] and a.applied == b.applied == 1
    writes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("index v-")]
    assert len(writes) == 1 and "1 added" in writes[0]  # the second found the work done under the lock
    assert live_version_name(shared) != before
    index = load_index(shared)  # complete and consistent: its checksums pass
    assert list(index.documents) == ["seminar-2020-12-17", "park-news"]
    assert live_a.current.ask(QUESTION).answer == live_b.current.ask(QUESTION).answer == "Chen Wei"


def test_a_restarted_replica_resumes_where_it_stopped(seed, embedder, tmp_path):
    _, a = _replica("a", seed, tmp_path, embedder)
    a.upload("park-news.txt", PARK_PAGE.encode())
    _, again = _replica("a", seed, tmp_path, embedder)  # same index folder, new process
    assert again.applied == 1 and again.sync() == 0
    (tmp_path / "a" / "index" / STATE_FILE).write_text("{not json")
    _, confused = _replica("a", seed, tmp_path, embedder)
    assert confused.applied == 0 and confused.sync() == 1  # replays from the first change: nothing changes
    assert list(load_index(tmp_path / "a" / "index").documents) == ["seminar-2020-12-17", "park-news"]


def test_a_change_that_fails_for_want_of_resources_is_retried_not_skipped(seed, embedder, tmp_path, monkeypatch):
    import qa.serving.replication as replication

    live, a = _replica("a", seed, tmp_path, embedder)
    events = CorpusEventLog(open_database(tmp_path / "shared.sqlite3"))
    events.append_upload("park-news.txt", PARK_PAGE.encode(), "b")
    events.append_upload("second.txt", b"Second page\n\nThe second page says little.", "b")
    real = replication.add_paths
    calls = []

    def full_disk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(replication, "add_paths", full_disk)
    with pytest.raises(OSError):
        a.sync()
    assert a.applied == 0  # neither the failed change nor the one after it
    assert a.sync() == 2 and a.applied == 2
    assert live.current.ask(QUESTION).answer == "Chen Wei"


def test_a_recreated_database_is_followed_from_its_first_change(seed, embedder, tmp_path):
    _, a = _replica("a", seed, tmp_path, embedder)
    a.upload("park-news.txt", PARK_PAGE.encode())
    a.upload("second.txt", b"Second page\n\nThe second page says little.")
    for path in tmp_path.glob("shared.sqlite3*"):
        path.unlink()  # a new database under the same name: its changes are numbered from 1 again
    CorpusEventLog(open_database(tmp_path / "shared.sqlite3")).append_removal("park-news", "b")
    live, again = _replica("a", seed, tmp_path, embedder)
    assert again.applied == 2  # what the state file says, until the database is asked
    assert again.sync() == 1 and again.applied == 1
    assert "park-news" not in live.current.index.documents
