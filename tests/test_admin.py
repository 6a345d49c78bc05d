"""The editors' admin view: off without a token, guarded by it, and uploads and removals reach the answers."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi.testclient import TestClient

from qa.config import DEFAULT_CORPUS
from qa.pipeline import QAPipeline
from qa.serving.live import LivePipeline
from qa.store.corpus import ensure_index
from tests.pdf_factory import write_pdf
from tests.test_corpus import PARK_PAGE, QUESTION

TOKEN = "editor-secret-token"
AUTH = ("editor", TOKEN)  # HTTP Basic: any user name, the token as password


@pytest.fixture()
def settings(seminar_settings, tmp_path):
    return dataclasses.replace(
        seminar_settings, index_dir=tmp_path / "index", corpus=(str(DEFAULT_CORPUS),), admin_token=TOKEN,
        uploads_dir=tmp_path / "uploads", feedback_db=tmp_path / "app.sqlite3", rate_limit_per_minute=600,
        rate_limit_burst=200,
    )


def _client(settings, embedder) -> TestClient:
    import app as app_module

    live = LivePipeline(QAPipeline.from_index(ensure_index(settings, embedder), embedder, settings))
    return TestClient(app_module.create_app(live, settings))


def _form_token(page: str) -> str:
    return re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)


def test_admin_view_is_off_without_a_token(settings, embedder):
    client = _client(dataclasses.replace(settings, admin_token=""), embedder)
    assert client.get("/admin", auth=AUTH).status_code == 404
    assert client.post("/admin/remove", data={"doc_id": "x"}, auth=AUTH).status_code in (404, 405)


@pytest.mark.parametrize("auth", [None, ("editor", "wrong"), ("editor", "")])
def test_admin_view_needs_the_token(settings, embedder, auth):
    client = _client(settings, embedder)
    response = client.get("/admin", auth=auth)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")
    assert "error" in response.json()
    assert client.post("/admin/remove", data={"doc_id": "seminar-2020-12-17"}, auth=auth).status_code == 401


def test_editor_uploads_and_removes_a_page(settings, embedder, tmp_path):
    client = _client(settings, embedder)
    page = client.get("/admin", auth=AUTH)
    assert page.status_code == 200 and "seminar-2020-12-17" in page.text
    token = _form_token(page.text)
    before = client.get("/healthz").json()["corpus_version"]

    uploaded = client.post(
        "/admin/upload", files={"file": ("Park News.txt", PARK_PAGE.encode(), "text/plain")}, data={"token": token},
        auth=AUTH,
    )
    assert uploaded.status_code == 200 and "added park-news" in uploaded.text
    assert (settings.uploads_dir / "park-news.txt").read_text() == PARK_PAGE
    health = client.get("/healthz").json()
    assert health["corpus_version"] != before and health["documents"] == 2
    answer = client.post("/api/ask", json={"question": QUESTION}).json()
    assert answer["answer"] == "Chen Wei" and answer["citations"][0]["doc_id"] == "park-news"
    listed = client.get("/admin/api/documents", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert [d["doc_id"] for d in listed["documents"]] == ["seminar-2020-12-17", "park-news"]
    assert [(f["name"], f["size"], f["revisions"]) for f in listed["uploads"]] == [("park-news.txt", len(PARK_PAGE), 1)]

    # a corrected upload under the same name replaces the page
    fixed = PARK_PAGE.replace("Chen Wei", "Liu Yang").encode()
    replaced = client.post("/admin/upload", files={"file": ("Park News.txt", fixed)}, data={"token": token}, auth=AUTH)
    assert "updated park-news" in replaced.text
    assert client.post("/api/ask", json={"question": QUESTION}).json()["answer"] == "Liu Yang"

    removed = client.post("/admin/remove", data={"doc_id": "park-news", "token": token}, auth=AUTH)
    assert removed.status_code == 200 and "removed park-news" in removed.text
    answer = client.post("/api/ask", json={"question": QUESTION}).json()
    assert all(c["doc_id"] != "park-news" for c in answer["citations"])
    assert client.get("/healthz").json()["documents"] == 1


def test_upload_of_a_pdf_cites_its_page(settings, embedder, tmp_path):
    client = _client(settings, embedder)
    token = _form_token(client.get("/admin", auth=AUTH).text)
    pdf = write_pdf(tmp_path / "r.pdf", [["Cover page"], ["The harbour exchange opened on 3 May 2021."]])
    response = client.post(
        "/admin/upload", files={"file": ("report.pdf", pdf.read_bytes(), "application/pdf")}, data={"token": token},
        auth=AUTH,
    )
    assert response.status_code == 200
    answer = client.post("/api/ask", json={"question": "When did the harbour exchange open?"}).json()
    assert answer["answer"] == "3 May 2021" and answer["citations"][0]["page"] == 2


@pytest.mark.parametrize(
    "filename, content, status, message",
    [
        ("tool.exe", b"MZ", 415, "unsupported file type"),
        ("broken.pdf", b"%PDF-1.4 nothing", 422, "cannot read this PDF"),
        ("../../escape.txt", b"The escape page.", 200, "added escape"),
    ],
)
def test_bad_uploads_are_refused_clearly(settings, embedder, filename, content, status, message):
    client = _client(settings, embedder)
    token = _form_token(client.get("/admin", auth=AUTH).text)
    response = client.post("/admin/upload", files={"file": (filename, content)}, data={"token": token}, auth=AUTH)
    assert response.status_code == status and message in response.text
    assert not (settings.uploads_dir / "broken.pdf").exists()  # a file that failed is not kept
    assert not list(settings.uploads_dir.glob(".*"))  # nor its partial copy
    if "escape" in filename:  # the name is reduced to a file name inside the uploads folder
        assert (settings.uploads_dir / "escape.txt").is_file()
        assert not (settings.uploads_dir.parent / "escape.txt").exists()
        assert not (settings.uploads_dir.parent.parent / "escape.txt").exists()


def test_forms_need_the_page_token(settings, embedder):
    client = _client(settings, embedder)
    response = client.post("/admin/remove", data={"doc_id": "seminar-2020-12-17", "token": "forged"}, auth=AUTH)
    assert response.status_code == 403
    assert client.get("/healthz").json()["documents"] == 1


def test_document_text_in_the_admin_view_is_escaped(settings, embedder):
    client = _client(settings, embedder)
    token = _form_token(client.get("/admin", auth=AUTH).text)
    # the title's text is literally "<script>alert(1)</script>" (entities in the HTML source)
    hostile = b"<title>&lt;script&gt;alert(1)&lt;/script&gt;</title><p>The page has a hostile title.</p>"
    client.post("/admin/upload", files={"file": ("hostile.html", hostile)}, data={"token": token}, auth=AUTH)
    page = client.get("/admin", auth=AUTH).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_broken_re_upload_keeps_the_good_document(settings, embedder, tmp_path):
    client = _client(settings, embedder)
    token = _form_token(client.get("/admin", auth=AUTH).text)
    good = write_pdf(tmp_path / "r.pdf", [["The harbour exchange opened on 3 May 2021."]]).read_bytes()
    assert client.post("/admin/upload", files={"file": ("report.pdf", good)}, data={"token": token}, auth=AUTH).status_code == 200
    broken = client.post("/admin/upload", files={"file": ("report.pdf", b"%PDF-1.4 broken")}, data={"token": token}, auth=AUTH)
    assert broken.status_code == 422 and "could not read report.pdf" in broken.text
    assert (settings.uploads_dir / "report.pdf").read_bytes() == good
    # the document stays, also after the next change and a restart's re-read of the sources
    client.post("/admin/remove", data={"doc_id": "seminar-2020-12-17", "token": token}, auth=AUTH)
    assert "report" in ensure_index(settings, embedder).documents


def test_forms_post_to_absolute_paths_so_a_second_action_works(settings, embedder):
    client = _client(settings, embedder)
    token = _form_token(client.get("/admin", auth=AUTH).text)
    after_upload = client.post("/admin/upload", files={"file": ("a.txt", b"The first page.")}, data={"token": token}, auth=AUTH)
    assert 'action="/admin/remove"' in after_upload.text and 'action="/admin/upload"' in after_upload.text
