"""Corpus management: documents added, updated and removed incrementally, and the answers follow."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from qa.cli import format_answer
from qa.cli import main as qa_main
from qa.config import DEFAULT_CORPUS
from qa.errors import CorpusError
from qa.ingest.loading import clean_text, load_corpus
from qa.pipeline import QAPipeline
from qa.serving.live import LivePipeline
from qa.serving.presentation import answer_html
from qa.store.corpus import add_paths, ensure_index, list_documents, remove_documents
from qa.store.index import load_index, read_manifest
from tests.pdf_factory import write_pdf
from tests.test_serving import kill_qa_midway

PARK_PAGE = (
    "Zhuhai Data Park opens\nSource:Press Office Date:2021-06-08\n\n"
    "The Zhuhai Data Park opened on June 8th. Its general manager is Chen Wei.\n\n"
    "The park hosts forty companies that trade data products."
)
QUESTION = "Who is the general manager of the Zhuhai Data Park?"


class CountingEmbedder:
    """The session's embedder, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner, self.texts = inner, 0
        self.name, self.dimension = inner.name, inner.dimension

    def encode(self, texts):
        self.texts += len(texts)
        return self.inner.encode(texts)


@pytest.fixture()
def settings(seminar_settings, tmp_path):
    return dataclasses.replace(seminar_settings, index_dir=tmp_path / "index", corpus=(str(DEFAULT_CORPUS),))


@pytest.fixture()
def park(tmp_path) -> Path:
    path = tmp_path / "pages" / "park.txt"
    path.parent.mkdir()
    path.write_text(PARK_PAGE)
    return path


def _pipeline(settings, embedder) -> QAPipeline:
    return QAPipeline.from_index(load_index(settings.index_dir), embedder, settings)


def test_added_page_is_answered_and_cited_and_only_it_is_embedded(settings, embedder, park):
    base = ensure_index(settings, embedder)
    counting = CountingEmbedder(embedder)
    update = add_paths(settings, counting, [park])
    assert update.changes.added == ["park"] and update.changes.unchanged == ["seminar-2020-12-17"]
    new_chunks = [c for c in update.index.chunks if c.doc_id == "park"]
    new_sentences = [s for s in update.index.sentences if s.doc_id == "park"]
    assert counting.texts == len(new_chunks) + len(new_sentences)  # nothing of the seminar page re-embedded
    # the seminar page's chunks keep their stable keys and vectors
    old_keys = [c.key for c in base.chunks]
    assert [c.key for c in update.index.chunks if c.doc_id != "park"] == old_keys
    for key in old_keys:
        assert np.allclose(update.index.chunk_vectors.reconstruct(key), base.chunk_vectors.reconstruct(key))

    answer = _pipeline(settings, embedder).ask(QUESTION)
    assert answer.answer == "Chen Wei"
    assert answer.citations[0].doc_id == "park" and answer.citations[0].date == "2021-06-08"
    entry = {e.doc_id: e for e in list_documents(load_index(settings.index_dir))}["park"]
    assert (entry.title, entry.source, entry.chunks) == ("Zhuhai Data Park opens", "Press Office", len(new_chunks))
    assert entry.added


def test_adding_the_same_file_twice_changes_nothing(settings, embedder, park):
    add_paths(settings, embedder, [park])
    version = read_manifest(settings.index_dir)["created"], load_index(settings.index_dir).version
    counting = CountingEmbedder(embedder)
    again = add_paths(settings, counting, [park, park])
    assert not again.changes.changed and counting.texts == 0
    assert (read_manifest(settings.index_dir)["created"], load_index(settings.index_dir).version) == version


def test_changed_file_replaces_its_chunks(settings, embedder, park):
    first = add_paths(settings, embedder, [park]).index
    old_keys = {c.key for c in first.chunks if c.doc_id == "park"}
    added = {d.doc_id: d.added for d in first.documents.values()}
    park.write_text(PARK_PAGE.replace("Chen Wei", "Liu Yang"))
    update = add_paths(settings, embedder, [park])
    assert update.changes.updated == ["park"] and not update.changes.added
    index = update.index
    new_keys = {c.key for c in index.chunks if c.doc_id == "park"}
    assert new_keys and not new_keys & old_keys
    live_keys = set(faiss.vector_to_array(index.chunk_vectors.id_map).tolist())
    assert not live_keys & old_keys and new_keys <= live_keys
    assert index.documents["park"].added == added["park"] and index.documents["park"].updated >= added["park"]
    answer = _pipeline(settings, embedder).ask(QUESTION)
    assert answer.answer == "Liu Yang"


def test_removed_page_is_no_longer_answered(settings, embedder, park):
    add_paths(settings, embedder, [park])
    counting = CountingEmbedder(embedder)
    update = remove_documents(settings, counting, ["park"])
    assert update.changes.removed == ["park"] and counting.texts == 0
    index = load_index(settings.index_dir)
    assert "park" not in index.documents and all(c.doc_id != "park" for c in index.chunks)
    assert index.chunk_vectors.ntotal == len(index.chunks)
    answer = _pipeline(settings, embedder).ask(QUESTION)
    assert all(c.doc_id != "park" for c in answer.citations)
    assert _pipeline(settings, embedder).ask("When was the seminar held?").answer == "December 15th"
    # the file is still on disk, but removal sticks: the next start-up does not bring it back
    assert "park" not in ensure_index(settings, embedder).documents


def test_removing_a_document_of_a_folder_keeps_the_folder_and_re_adding_restores_it(settings, embedder, park):
    (park.parent / "other.md").write_text("# Other page\n\nThe other page mentions the harbour.")
    add_paths(settings, embedder, [park.parent])
    remove_documents(settings, embedder, ["other"])
    assert set(load_index(settings.index_dir).documents) == {"seminar-2020-12-17", "park"}
    (park.parent / "new.txt").write_text("A new page about the data exchange.")
    assert ensure_index(settings, embedder).documents.keys() == {"seminar-2020-12-17", "park", "new"}
    add_paths(settings, embedder, [park.parent / "other.md"])
    assert "other" in load_index(settings.index_dir).documents


def test_unknown_document_id_removes_nothing(settings, embedder):
    before = ensure_index(settings, embedder).version
    with pytest.raises(CorpusError, match="no such document: nope"):
        remove_documents(settings, embedder, ["nope", "seminar-2020-12-17"])
    index = load_index(settings.index_dir)
    assert index.version == before and "seminar-2020-12-17" in index.documents


def test_unreadable_file_is_reported_and_the_rest_are_added(settings, embedder, park, tmp_path):
    broken = tmp_path / "pages" / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not really a pdf")
    binary = tmp_path / "pages" / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02 not text")
    update = add_paths(settings, embedder, [broken, park, binary, tmp_path / "missing.txt"])
    assert update.changes.added == ["seminar-2020-12-17", "park"]  # the configured corpus, then the new page
    reasons = dict(update.failures)
    assert set(reasons) == {str(broken), str(binary), str(tmp_path / "missing.txt")}
    assert "cannot read this PDF" in reasons[str(broken)] and "not a text file" in reasons[str(binary)]
    paths = read_manifest(settings.index_dir)["corpus"]["paths"]
    assert str(park) in paths and str(broken) not in paths  # a file that failed is not recorded as a source


def test_pdf_answers_cite_their_page(settings, embedder, tmp_path):
    pdf = write_pdf(
        tmp_path / "report.pdf",
        [["Harbour Data Institute annual report", "The institute was founded in 2018."],
         ["Professor Zhao Min is the director of the Harbour Data Institute.", "It employs sixty researchers."]],
        title="Harbour Data Institute Annual Report",
    )
    add_paths(settings, embedder, [pdf])
    answer = _pipeline(settings, embedder).ask("Who is the director of the Harbour Data Institute?")
    assert answer.answer and "Zhao Min" in answer.answer
    citation = answer.citations[0]
    assert citation.doc_id == "report" and citation.page == 2
    assert "page 2 · document report" in answer_html(answer, load_index(settings.index_dir).documents.__getitem__)
    assert "page 2, document report" in format_answer(answer)
    assert citation.title == "Harbour Data Institute Annual Report"
    assert _pipeline(settings, embedder).ask("When was the Harbour Data Institute founded?").citations[0].page == 1


def test_portal_boilerplate_does_not_become_chunks(tmp_path):
    page = tmp_path / "news.html"
    page.write_text(
        "<html><head><title>Data forum held</title></head><body><div class='nav'>• Home\n• English</div>"
        "<h1>Data forum held</h1><p>Source: Press Office Date: 2021-07-01</p>"
        "<p>The data forum was held in Foshan on July 1st.</p>"
        "<div>Share to: WeChat Weibo</div><div>【打印】【关闭】</div><div>Print</div>"
        "<div>上一篇：某某会议</div><div>Copyright © 2021 State Information Center. All rights reserved.</div>"
        "</body></html>",
        encoding="utf-8",
    )
    [document] = load_corpus([page])
    assert document.text.splitlines()[-1] == "The data forum was held in Foshan on July 1st."
    assert (document.title, document.source, document.date) == ("Data forum held", "Press Office", "2021-07-01")


def test_content_lines_that_look_like_chrome_are_kept():
    lines = [
        "Print media covered the forum.", "Copyright law was discussed.", "Next year the forum moves.",
        "(c) The exchange opens in 2022.", "Next: Keynote by Du Ping", "主办单位：国家信息中心",
    ]
    text, _ = clean_text("\n".join(lines))
    assert text == "\n".join(lines)


@pytest.mark.parametrize(
    "encoding, text",
    [("cp1252", "The café’s “open data” day was held in Macau."), ("gb18030", "研讨会在深圳举行。"),
     ("utf-16", "The forum was held in Foshan."), ("cp1251", "Форум данных прошёл в Москве в среду вечером.")],
)
def test_encodings_are_detected(tmp_path, encoding, text):
    path = tmp_path / "page.txt"
    path.write_bytes(text.encode(encoding))
    [document] = load_corpus([path])
    assert document.text == text


def test_interrupted_update_leaves_the_previous_index_serving(settings, embedder, tmp_path):
    before = ensure_index(settings, embedder)
    live = LivePipeline(QAPipeline.from_index(before, embedder, settings))
    kill_qa_midway("add", settings.index_dir, tmp_path / "big", PARK_PAGE)
    assert live.refresh() is False and load_index(settings.index_dir).version == before.version
    assert live.current.ask("When was the seminar held?").answer == "December 15th"
    # the lock died with the process: the next update goes through and cleans up
    assert remove_documents(settings, embedder, ["seminar-2020-12-17"]).changes.removed == ["seminar-2020-12-17"]
    assert not [p for p in settings.index_dir.iterdir() if p.name.startswith(".tmp-")]


def test_cli_add_list_remove(settings, park, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QA_CORPUS", str(DEFAULT_CORPUS))
    flags = ["--index", str(settings.index_dir)]
    assert qa_main(["add", *flags, str(park), str(tmp_path / "missing.txt")]) == 1
    out, err = capsys.readouterr()
    assert "added\tseminar-2020-12-17" in out and "added\tpark" in out and "skipped" in err and "missing.txt" in err
    assert qa_main(["list", *flags, "--json"]) == 0
    listed = {row["doc_id"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(listed) == {"seminar-2020-12-17", "park"} and listed["park"]["chunks"] >= 1
    assert qa_main(["add", *flags, str(park)]) == 0 and "nothing changed" in capsys.readouterr().err
    assert qa_main(["remove", *flags, "park"]) == 0 and "removed\tpark" in capsys.readouterr().out
    assert qa_main(["remove", *flags, "park"]) == 2 and "no such document" in capsys.readouterr().err
    assert qa_main(["list", *flags]) == 0
    assert "park" not in capsys.readouterr().out


def test_large_corpus_switches_to_hnsw_and_back(settings, embedder, park):
    from qa.store.index import is_approximate

    exact = ensure_index(settings, embedder)
    assert not is_approximate(exact.chunk_vectors)
    small_threshold = dataclasses.replace(settings, approximate_index_above=len(exact.chunks))
    update = add_paths(small_threshold, embedder, [park])  # one chunk more than the threshold
    assert is_approximate(update.index.chunk_vectors) and update.index.chunk_vectors.ntotal == len(update.index.chunks)
    for key in (c.key for c in exact.chunks):  # the stored vectors moved over unchanged
        assert np.allclose(update.index.chunk_vectors.reconstruct(key), exact.chunk_vectors.reconstruct(key))
    approximate = QAPipeline.from_index(load_index(settings.index_dir), embedder, small_threshold)
    assert is_approximate(approximate.index.chunk_vectors)
    assert approximate.ask(QUESTION).answer == "Chen Wei"
    assert approximate.ask("When was the seminar held?").answer == "December 15th"
    back = remove_documents(small_threshold, embedder, ["park"]).index  # at the threshold again: exact search
    assert not is_approximate(back.chunk_vectors) and back.chunk_vectors.ntotal == len(exact.chunks)
