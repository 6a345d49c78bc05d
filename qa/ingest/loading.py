"""Loading and cleaning documents: plain text, Markdown, HTML, PDF (text layer) and SQuAD v2 JSON.

Cleaning keeps the document's words exactly as published (answers are quoted verbatim) and removes only
what is not content: the portal's navigation lines, non-breaking and zero-width spaces, stray whitespace.
A "Source: ... Date: YYYY-MM-DD" byline and the headline above it become metadata (they stay in the text,
so that a question about them can still be answered with a quote).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, Iterator

from qa.errors import CorpusError
from qa.types import Document

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES | PDF_SUFFIXES
SUPPORTED_NAMES = ".txt, .md, .html, .pdf or SQuAD .json"
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
# Tried when detection fails: the portal's Chinese pages, then Western pages.
_FALLBACK_ENCODINGS = ("gb18030", "cp1252")
_WESTERN_CODE_PAGES = {"cp1250", "cp1252", "latin_1", "iso8859_2", "iso8859_15", "mac_roman", "cp1254", "cp1257"}
_DECLARED_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.IGNORECASE)

# Characters that render as a space but are not one.
_SPACE_LIKE = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000\t\f\v]")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
_RUNS_OF_SPACES = re.compile(r" {2,}")
_BULLET = "•·▪◦●*-–"
# A navigation item: a bullet followed by a few words and no sentence punctuation ("• English", "• 收藏").
_NAV_LINE = re.compile(rf"^[{re.escape(_BULLET)}]\s*[^.!?。！？]{{0,30}}$")
_BYLINE = re.compile(
    r"Source\s*[:：]\s*(?P<source>.+?)\s*Date\s*[:：]\s*(?P<date>\d{4}-\d{1,2}-\d{1,2})", re.IGNORECASE
)
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*$")
# Page chrome that is not content wherever it appears on its own line: share and print links, copyright and
# footer lines, "previous/next article" links, in English and Chinese.
_BOILERPLATE_LINE = re.compile(
    r"""^(?:
        (?:share(?:\s+(?:this|to|on))?|print(?:\s+this\s+page)?|close(?:\s+window)?|back\s+to\s+top)
            (?:\s*[:：].{0,60})?
      | (?:copyright\s*)?(?:©|\(c\)\s*(?:19|20)\d\d|copyright\s*[:：]).{0,160}
      | all\s+rights\s+reserved\.?
      | (?:previous|next)\s+(?:article|page|post)\s*[:：].{0,160}
      | (?:分享到|上一篇|下一篇)\s*[:：]?.{0,160}
      | (?:版权所有|返回顶部).{0,160}
      | (?:\s*[【\[](?:打印|关闭|收藏|打印本页|关闭窗口|字体|大|中|小|print|close)[】\]]\s*)+
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


def byline_offsets(text: str) -> dict[str, tuple[int, int]]:
    """Where a cleaned page's byline gives its ``source`` and ``date`` (character spans), if it has one.

    Like :func:`clean_text`, only the first four non-empty lines are searched: a byline tops the page.
    """
    end, seen = 0, 0
    while end < len(text) and seen < 4:  # line by line from the top: never the whole text (readers call this per question)
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        seen += bool(text[end:line_end].strip())
        end = line_end + 1
    match = _BYLINE.search(text, 0, end)
    return {field: match.span(field) for field in ("source", "date")} if match else {}


def clean_text(raw: str) -> tuple[str, dict[str, str]]:
    """Return the cleaned text of a page and the metadata found in it (``title``, ``source``, ``date``)."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = _INVISIBLE.sub("", _SPACE_LIKE.sub(" ", text))
    lines = [_RUNS_OF_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    lines = [line for line in lines if not _NAV_LINE.match(line) and not _BOILERPLATE_LINE.match(line)]

    metadata: dict[str, str] = {}
    content = [i for i, line in enumerate(lines) if line]
    for position, i in enumerate(content):
        byline = _BYLINE.search(lines[i])
        if byline:
            metadata["source"] = byline.group("source").strip()
            metadata["date"] = byline.group("date")
            if position > 0:
                metadata["title"] = lines[content[position - 1]]
            break
        if position >= 3:  # a byline belongs to the top of the page
            break
    if "title" not in metadata and content:
        first = lines[content[0]]
        heading = _MARKDOWN_HEADING.match(first)
        if heading:
            metadata["title"] = heading.group("title")
        elif len(first) <= 200 and not first.endswith((".", "。")):
            metadata["title"] = first

    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs), metadata


def checksum_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slugify(value: str) -> str:
    slug = re.sub(r"[^0-9A-Za-z]+", "-", value).strip("-").lower()
    return slug or "doc"


def squad_paragraph_id(title: str, paragraph_index: int) -> str:
    """The document id of one SQuAD context paragraph (shared by loading and evaluation)."""
    return f"{slugify(title)}-{paragraph_index:03d}"


def make_document(raw: str, doc_id: str, path: str = "", **metadata: str) -> Document:
    """Clean ``raw`` and wrap it as a document; explicit metadata wins over what cleaning found."""
    text, found = clean_text(raw)
    found.update({k: v for k, v in metadata.items() if v})
    return Document(
        doc_id=doc_id,
        text=text,
        title=found.get("title", ""),
        source=found.get("source", ""),
        date=found.get("date", ""),
        path=path,
        checksum=checksum_text(text),
    )


class _HTMLText(HTMLParser):
    """Collects the visible text of an HTML page, dropping scripts, styles and page chrome."""

    SKIP = {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg"}
    BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "table",
             "ul", "ol", "blockquote", "pre", "hr", "dd", "dt", "main", "body", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self._skip_depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip_depth += 1
        elif tag == "title":
            self._in_title = True
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skip_depth:
            self._skip_depth -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif not self._skip_depth:
            self.parts.append(data.replace("\n", " "))


def html_to_text(html: str) -> tuple[str, str]:
    """The visible text of an HTML page and its ``<title>``."""
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts), " ".join("".join(parser.title_parts).split())


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise CorpusError(f"{path}: {size} bytes is over the {MAX_DOCUMENT_BYTES}-byte limit for one document")
        return path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror or exc})") from None


def decode_text(data: bytes, name: str = "the file") -> str:
    """Text from bytes in an unknown encoding: UTF-16 by its byte-order mark, UTF-8, a charset the page declares,
    then charset-normalizer's guess (GB18030 and Windows-1252 when it has none). Binary data is refused."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusError(f"{name}: this is not a text file (it contains binary data)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise CorpusError(f"{name}: the file says it is UTF-16 but is not") from None
    declared = _DECLARED_CHARSET.search(data[:4096])
    for encoding in ("utf-8-sig", *([declared.group(1).decode("ascii")] if declared else [])):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    guess = best.encoding if best is not None else None
    # On short texts the detector cannot tell Western code pages apart (it calls Windows-1252 "cp1250"): take the
    # common one. A Chinese page it cannot place is most likely GB18030, this portal's own encoding.
    candidates = ["cp1252"] if guess in _WESTERN_CODE_PAGES else [guess] if guess else []
    for encoding in [*candidates, *_FALLBACK_ENCODINGS]:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise CorpusError(f"{name}: cannot tell which text encoding this file uses")


def _read_text(path: Path) -> str:
    return decode_text(_read_bytes(path), str(path))


def load_pdf(path: Path, doc_id: str) -> Document:
    """The text layer of a PDF, page by page; the document records where each page starts."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    data = _read_bytes(path)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorpusError(f"{path}: the PDF is password-protected")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise CorpusError(f"{path}: cannot read this PDF ({exc})") from None
    texts: list[str] = []
    starts: list[int] = []
    metadata: dict[str, str] = {}
    offset = 0
    for raw in pages:
        text, found = clean_text(raw)
        for key, value in found.items():
            metadata.setdefault(key, value)
        starts.append(offset)
        texts.append(text)
        offset += len(text) + 2  # the "\n\n" that joins pages
    text = "\n\n".join(texts)
    if not text.strip():
        raise CorpusError(f"{path}: the PDF has no text layer (a scanned PDF needs OCR first)")
    return Document(
        doc_id=doc_id,
        text=text,
        title=title or metadata.get("title", ""),
        source=metadata.get("source", ""),
        date=metadata.get("date", ""),
        path=str(path),
        checksum=checksum_text(text),
        page_starts=tuple(starts),
    )


def is_squad_file(path: Path) -> bool:
    return path.suffix.lower() in JSON_SUFFIXES


def load_squad_documents(path: Path) -> list[Document]:
    """Each context paragraph of a SQuAD v2 file becomes a document titled by its article."""
    try:
        data = json.loads(_read_text(path))
        articles = data["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CorpusError(f"{path}: not a SQuAD v2 JSON file ({exc})") from None
    documents = []
    for article in articles:
        title = str(article.get("title", path.stem)).replace("_", " ")
        for i, paragraph in enumerate(article.get("paragraphs", [])):
            context = paragraph["context"]
            documents.append(
                Document(
                    doc_id=squad_paragraph_id(title, i),
                    text=context,  # kept byte-for-byte: SQuAD answer offsets point into it
                    title=title,
                    source=path.name,
                    path=str(path),
                    checksum=checksum_text(context),
                )
            )
    return documents


def load_file(path: Path, doc_id: str | None = None) -> list[Document]:
    """The documents in one file (one for text/Markdown/HTML, one per paragraph for SQuAD JSON)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise CorpusError(f"{path}: unsupported file type {suffix or '(none)'}; use {SUPPORTED_NAMES}")
    if suffix in JSON_SUFFIXES:
        return load_squad_documents(path)
    doc_id = doc_id or slugify(path.stem)
    if suffix in PDF_SUFFIXES:
        return [load_pdf(path, doc_id)]
    raw = _read_text(path)
    if suffix in HTML_SUFFIXES:
        text, title = html_to_text(raw)
        return [make_document(text, doc_id, str(path), title=title)]
    return [make_document(raw, doc_id, str(path))]


def _files_under(folder: Path) -> Iterator[Path]:
    """Supported files below ``folder``, sorted, never following a symlink out of it."""
    root = folder.resolve()
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or not path.is_file():
            continue
        if not path.resolve().is_relative_to(root):
            continue
        yield path


@dataclass
class LoadResult:
    """The documents read from some paths, and the files that could not be read (path, reason)."""

    documents: list[Document] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def load_documents(paths: Iterable[str | Path]) -> LoadResult:
    """Load every document under ``paths`` (files or folders), skipping and reporting what cannot be read.

    Document ids are unique: a repeated id gets a numeric suffix, in path order, so ids are stable as long as the
    list of paths only grows at its end.
    """
    result = LoadResult()
    seen: set[str] = set()
    seen_files: set[Path] = set()
    for raw_path in paths:
        path = Path(raw_path)
        if not path.exists():
            result.failures.append((str(path), "no such file or folder"))
            continue
        for file in list(_files_under(path)) if path.is_dir() else [path]:
            if file.resolve() in seen_files:  # named twice (a file and its folder): read once
                continue
            seen_files.add(file.resolve())
            try:
                loaded = load_file(file)
            except CorpusError as exc:
                result.failures.append((str(file), str(exc)))
                continue
            for document in loaded:
                doc_id, n = document.doc_id, 2
                while doc_id in seen:
                    doc_id, n = f"{document.doc_id}-{n}", n + 1
                seen.add(doc_id)
                result.documents.append(document if doc_id == document.doc_id else replace(document, doc_id=doc_id))
    return result


def load_corpus(paths: Iterable[str | Path]) -> list[Document]:
    """Load every document under ``paths``; any file that cannot be read is an error."""
    result = load_documents(paths)
    if result.failures:
        path, reason = result.failures[0]
        raise CorpusError(reason if reason.startswith(path) else f"{path}: {reason}")
    if not result.documents:
        raise CorpusError(f"the corpus is empty: no {SUPPORTED_NAMES} file found")
    return result.documents


def corpus_fingerprint(documents: Iterable[Document]) -> str:
    """A checksum of the whole corpus: ids and cleaned texts, in order."""
    digest = hashlib.sha256()
    for document in documents:
        digest.update(document.doc_id.encode())
        digest.update(b"\0")
        digest.update(document.checksum.encode())
        digest.update(b"\0")
    return digest.hexdigest()
