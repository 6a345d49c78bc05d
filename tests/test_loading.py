from __future__ import annotations

import json
import os

import pytest

from qa.config import DEFAULT_CORPUS
from qa.errors import CorpusError
from qa.ingest.loading import clean_text, load_corpus, squad_paragraph_id


def test_seminar_page_is_cleaned_and_has_metadata():
    [document] = load_corpus([DEFAULT_CORPUS])
    assert "收藏" not in document.text and "设为首页" not in document.text and "•" not in document.text
    assert document.text.startswith("Guangdong-Hong Kong-Macao Greater Bay Area Big Data Center Construction")
    assert document.title.endswith("Cultivation Seminar Was Held")
    assert document.source == "Department of Big Data Development"
    assert document.date == "2020-12-17"
    assert "\u00a0" not in document.text and "  " not in document.text and "\n\n\n" not in document.text
    assert "On December 15th, the Guangdong-Hong Kong-Macao" in document.text


def test_clean_text_normalises_spaces_and_drops_navigation():
    raw = "• Home\n  • 收藏\nA Title\nSource:Some Office Date:2021-03-04\n\n\n\nBody\u00a0text  here.\u200b\r\n\tMore."
    text, meta = clean_text(raw)
    assert text == "A Title\nSource:Some Office Date:2021-03-04\n\nBody text here.\nMore."
    assert meta == {"title": "A Title", "source": "Some Office", "date": "2021-03-04"}


def test_bullet_sentences_are_content_not_navigation():
    text, _ = clean_text("Intro line.\n• The committee approved the budget for next year.\n• Contact us\n• Yes.")
    assert "The committee approved the budget" in text and "Yes." in text  # sentences stay
    assert "Contact us" not in text  # a short bullet without sentence punctuation is a navigation item


def test_html_drops_scripts_navigation_and_keeps_title(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Data Week</title><style>p{}</style></head><body><nav>Home | About</nav>"
        "<script>alert('x')</script><h1>Data Week opens</h1><p>The event opened on <b>May 2nd</b>.</p>"
        "<footer>Copyright</footer></body></html>"
    )
    [document] = load_corpus([page])
    assert document.title == "Data Week"
    assert "alert" not in document.text and "Home | About" not in document.text and "Copyright" not in document.text
    assert "The event opened on May 2nd." in document.text


def test_markdown_heading_is_the_title(tmp_path):
    (tmp_path / "a.md").write_text("# Launch notes\n\nThe lab launched in 2019.\n")
    [document] = load_corpus([tmp_path / "a.md"])
    assert document.title == "Launch notes"


def test_folder_loading_is_sorted_unique_and_stays_inside(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("Second document.")
    (folder / "sub" / "b.txt").write_text("Third document.")
    (folder / "a.md").write_text("First document.")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    outside = tmp_path / "secret.txt"
    outside.write_text("Outside the folder.")
    os.symlink(outside, folder / "link.txt")
    documents = load_corpus([folder])
    assert [d.text for d in documents] == ["First document.", "Second document.", "Third document."]
    assert len({d.doc_id for d in documents}) == 3


def test_squad_file_becomes_one_document_per_paragraph():
    from tests.conftest import SQUAD_SET

    documents = load_corpus([SQUAD_SET])
    data = json.loads(SQUAD_SET.read_text())
    assert len(documents) == sum(len(a["paragraphs"]) for a in data["data"]) == 87
    first = data["data"][0]["paragraphs"][0]["context"]
    assert documents[0].text == first and documents[0].title == "Normans"
    assert documents[0].doc_id == squad_paragraph_id("Normans", 0)


@pytest.mark.parametrize(
    "name, content, message",
    [("missing.txt", None, "no such file"), ("data.csv", "a,b", "unsupported file type"), ("bad.json", "{", "not a SQuAD")],
)
def test_unreadable_inputs_are_clear_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(CorpusError, match=message):
        load_corpus([path])


def test_oversized_file_is_refused(tmp_path, monkeypatch):
    import qa.ingest.loading

    monkeypatch.setattr(qa.ingest.loading, "MAX_DOCUMENT_BYTES", 10)
    path = tmp_path / "big.txt"
    path.write_text("x" * 11)
    with pytest.raises(CorpusError, match="limit"):
        load_corpus([path])


def test_non_utf8_text_is_decoded(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("研讨会在深圳举行。".encode("gb18030"))
    [document] = load_corpus([path])
    assert document.text == "研讨会在深圳举行。"
