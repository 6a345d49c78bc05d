"""The chat app: the Gradio chat at ``/``, a JSON API, a health check and the portal's embeddable widget.

    python app.py [--host H] [--port P] [--index DIR]      (or QA_HOST, QA_PORT, QA_INDEX_DIR)

The model and the index load once, at start-up (the index is built first when missing or stale).
Routes: ``/`` chat page · ``POST /api/ask`` · ``GET /healthz`` · ``/gradio.js`` web component script ·
the Gradio API (``gradio_client.Client(url).predict(question, api_name="/ask")``) · ``/admin``, the editors'
document list, upload and removal, and their Questions page (only when ``QA_ADMIN_TOKEN`` is set).
Every answered question goes to the question log (qa.serving.question_log) unless ``QA_QUESTION_LOG=off``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import ctypes
import hashlib
import hmac
import io
import json
import logging
import math
import socket
import threading
import uuid
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, AsyncIterator, Literal

import gradio as gr
import uvicorn
from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa import QAPipeline, Settings
from qa.chinese.language import CHINESE, ENGLISH, detect_language
from qa.errors import InvalidQuestionError, ModelError, QAError
from qa.persistence import Database, DatabaseUnavailable, open_app_database
from qa.persistence.corpus_events import CorpusEventLog
from qa.ingest.loading import MAX_DOCUMENT_BYTES, SUPPORTED_NAMES, SUPPORTED_SUFFIXES, load_file, slugify
from qa.serving.conversation import resolve_follow_up
from qa.serving.feedback import FeedbackStore
from qa.serving.insights import STATUSES, per_day, records_by_status, write_csv
from qa.serving.live import LivePipeline
from qa.serving.presentation import (
    MESSAGES,
    admin_page_html,
    answer_html,
    escape_text,
    in_language,
    questions_page_html,
)
from qa.serving.question_log import LoggedQuestion, QuestionLog, open_question_log, read_questions
from qa.serving.replication import CorpusFollower
from qa.serving.ratelimit import RateLimiter
from qa.store.corpus import CorpusUpdate, list_documents
from qa.types import Answer

log = logging.getLogger("seminar-qa")

GRADIO_JS = Path(gr.__file__).parent / "templates" / "frontend" / "gradio.js"
WEB = Path(__file__).resolve().parent / "web"  # the chat's accessibility styles and script (WCAG 2.1 AA)
# Gradio's default theme, with a primary colour whose buttons meet AA contrast (white on red-700 is 6.5:1; the
# default white on orange-500 is 2.8:1) in the light and the dark scheme.
CHAT_THEME = gr.themes.Default(primary_hue="red").set(
    button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_dark="*primary_700", button_primary_background_fill_hover_dark="*primary_800",
    button_primary_text_color="white", button_primary_text_color_dark="white",
    button_primary_border_color="*primary_700", button_primary_border_color_dark="*primary_700",
)
EXAMPLES = [
    "When was the seminar held?",
    "Where was the seminar held?",
    "Who is the Vice Mayor of the Shenzhen Municipal Government?",
    "Who sponsored the seminar?",
    "Who is the Director of the Institute?",
    "Which universities sent experts?",
]
# Questions in Chinese are answered with the English page's words (qa.chinese.reader); the chat speaks the question's language.
EXAMPLES_ZH = ["研讨会是什么时候举行的？", "研讨会在哪里举行？", "深圳市副市长是谁？", "杜平是谁？"]


# What /healthz shows anyone: status, counts and versions. Paths and other internals are in /admin/api/status.
PUBLIC_HEALTH = ("model", "reader", "documents", "chunks", "corpus_fingerprint", "corpus_version", "built")
try:
    APP_VERSION = version("seminar-qa")
except PackageNotFoundError:
    APP_VERSION = "unknown"


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr
    k: StrictInt | None = None


def _log_answer(via: str, answer: Answer) -> None:
    """One log line per answer: the question and the time it took, never who asked (no client address)."""
    log.info(
        "%s: answered in %.1f ms (%s, confidence %.2f): %s", via, answer.timings_ms.get("total", 0.0),
        answer.outcome, answer.confidence, json.dumps(answer.question[:300], ensure_ascii=False),
    )


class SecurityHeaders:
    """Adds the security headers to every response: a plain ASGI middleware (Starlette's ``@app.middleware``
    runs each request through an extra task and stream, about a millisecond of CPU an answer)."""

    def __init__(self, app: Any, frame_ancestors: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", f"frame-ancestors {frame_ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in self.headers}
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message = {**message, "headers": kept + self.headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _remember(questions: QuestionLog | None, answer: dict[str, Any], language: str) -> str | None:
    """Queue an answered question for the question log (never who asked); its reference, None when off."""
    return questions.record(LoggedQuestion.from_answer(answer, language)) if questions is not None else None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def create_app(
    pipeline: QAPipeline | LivePipeline, settings: Settings, feedback: FeedbackStore | None = None,
    questions: QuestionLog | None = None, corpus: CorpusFollower | None = None,
) -> FastAPI:
    """The whole service on one FastAPI app: API routes, then the Gradio chat mounted at ``/``.

    ``questions``: the question log that every answer is written to (None: not logged). ``corpus``: where the
    admin view records uploads and removals, for every replica to apply (None: the app's database, see
    :func:`follow_corpus`, applied here only when made).

    Every request takes the pipeline that is live when it starts (see :class:`qa.serving.live.LivePipeline`).
    """
    live = pipeline if isinstance(pipeline, LivePipeline) else LivePipeline(pipeline)
    if corpus is None and settings.admin_token:
        corpus = follow_corpus(settings, live, open_app_database(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # Stopping (SIGTERM, Ctrl-C), after the last answer: its question is written before the process ends.
        if questions is not None and not await asyncio.to_thread(questions.drain):
            log.warning("question log: stopped with writes still pending")

    app = FastAPI(title="seminar-qa", docs_url=None, redoc_url=None, lifespan=lifespan)
    limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    origins = list(settings.allowed_origins)
    frame_ancestors = " ".join(["'self'", *origins])

    app.add_middleware(SecurityHeaders, frame_ancestors=frame_ancestors)
    # Added after the header middleware, so it runs first and answers CORS preflights itself.
    app.add_middleware(
        CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"], allow_headers=["*"], max_age=600
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg', 'invalid')}" for e in exc.errors()
        )
        return _error(422, f"invalid request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.post("/api/ask")
    def api_ask(body: AskRequest, request: Request) -> Any:
        retry_after = limiter.acquire(request.client.host if request.client else "unknown")
        if retry_after is not None:
            return _error(429, "too many requests: slow down", {"Retry-After": str(math.ceil(retry_after))})
        if len(body.question) > settings.max_question_chars:
            return _error(413, f"the question is too long (the limit is {settings.max_question_chars} characters)")
        try:
            answer = live.current.ask(body.question, k=body.k)
        except InvalidQuestionError as exc:
            return _error(422, str(exc))
        except ModelError as exc:  # a Chinese question where the multilingual model cannot load
            return _error(503, str(exc))
        _log_answer("api", answer)
        payload = answer.to_dict()
        _remember(questions, payload, detect_language(answer.question, settings.chinese_share))
        return JSONResponse(payload)  # plain JSON types already: no jsonable_encoder pass

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        info = live.current.info()
        return {"status": "ok", "index_loaded": True, **{key: info[key] for key in PUBLIC_HEALTH},
                "version": APP_VERSION, "reload_failed": live.last_error is not None,
                **({"corpus_change": corpus.applied} if corpus is not None else {})}

    if settings.admin_token:
        assert corpus is not None
        add_admin_routes(app, live, settings, questions, corpus)

    @app.get("/gradio.js", include_in_schema=False)
    def gradio_js() -> FileResponse:
        if not GRADIO_JS.is_file():
            raise HTTPException(404, "gradio.js is not shipped by this gradio version")
        return FileResponse(GRADIO_JS, media_type="application/javascript")

    demo = build_chat(live, settings, feedback, questions)
    return gr.mount_gradio_app(
        app, demo, path="/", footer_links=["api"], theme=CHAT_THEME, css=(WEB / "chat.css").read_text(),
        js=(WEB / "chat.js").read_text(),
    )


def follow_corpus(settings: Settings, live: LivePipeline, database: Database) -> CorpusFollower:
    """The corpus changes recorded in ``database``, applied to ``live``'s index (call ``start`` to follow other
    replicas' changes too)."""
    origin = settings.replica_name or f"{socket.gethostname()}:{settings.port}"
    return CorpusFollower(settings, CorpusEventLog(database), lambda: live.current.embedder, live.refresh, origin)


def add_admin_routes(
    app: FastAPI, live: LivePipeline, settings: Settings, questions: QuestionLog | None, corpus: CorpusFollower,
) -> None:
    """``/admin``: the editors' document list, upload and removal, and the Questions page (what visitors ask,
    from the question log), behind ``settings.admin_token``.

    The browser sends the token as the password of HTTP Basic authentication (any user name), a script as
    ``Authorization: Bearer <token>``. Forms carry a token derived from the admin token, so that another site
    cannot make a logged-in editor's browser post to them.
    """
    form_token = hmac.new(settings.admin_token.encode(), b"admin-form", hashlib.sha256).hexdigest()

    def authorise(request: Request) -> None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        supplied = credentials.strip()
        if scheme.lower() == "basic":
            try:
                supplied = base64.b64decode(supplied, validate=True).decode("utf-8").partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                supplied = ""
        elif scheme.lower() != "bearer":
            supplied = ""
        if not (supplied and hmac.compare_digest(supplied.encode(), settings.admin_token.encode())):
            raise HTTPException(401, "the admin view needs the admin token", {"WWW-Authenticate": 'Basic realm="seminar-qa admin"'})

    def check_form(token: str) -> None:
        if not hmac.compare_digest(token.encode(), form_token.encode()):
            raise HTTPException(403, "this form has expired: reload the admin page")

    def page(request: Request, message: str = "", status: int = 200) -> HTMLResponse:
        index = live.current.index
        base = f"{request.scope.get('root_path', '')}/admin"  # the page is also the answer to its forms' posts
        body = admin_page_html(list_documents(index), form_token, base, message, index.version)
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    def after_update(update: CorpusUpdate) -> str:
        live.refresh()
        done = [f"added {', '.join(update.changes.added)}" if update.changes.added else "",
                f"updated {', '.join(update.changes.updated)}" if update.changes.updated else "",
                f"removed {', '.join(update.changes.removed)}" if update.changes.removed else ""]
        skipped = [f"could not read {Path(path).name}: {reason}" for path, reason in update.failures]
        return "; ".join(p for p in done + skipped if p) or "nothing changed"

    @app.get("/admin", include_in_schema=False)
    def admin(request: Request) -> HTMLResponse:
        authorise(request)
        return page(request)

    def logged(days: int) -> list[LoggedQuestion]:
        if questions is not None:
            questions.flush()  # this app's answers so far are on the page
        try:
            return read_questions(corpus.events.database, days)
        except DatabaseUnavailable as exc:
            raise HTTPException(503, f"cannot read the question log: {exc}") from None

    def grouped(days: int, statuses: tuple[str, ...] = STATUSES) -> tuple[list[LoggedQuestion], dict[str, list[dict[str, Any]]]]:
        entries = logged(days)
        return entries, records_by_status(entries, live.current.embedder.encode, settings, statuses)

    Days = Query(30, ge=1, le=3650, description="the last N days")

    @app.get("/admin/questions", include_in_schema=False)
    def admin_questions(request: Request, days: int = Days) -> HTMLResponse:
        authorise(request)
        entries, records = grouped(days)
        today = datetime.now(timezone.utc).date()
        base = f"{request.scope.get('root_path', '')}/admin"
        body = questions_page_html(records, per_day(entries, days, today), days, base, questions is not None)
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})

    @app.get("/admin/questions.csv", include_in_schema=False)
    def admin_questions_csv(request: Request, days: int = Days) -> Response:
        authorise(request)
        out = io.StringIO()
        write_csv(out, grouped(days)[1])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="questions-{days}-days.csv"'})

    @app.get("/admin/api/questions")
    def admin_api_questions(
        request: Request, status: Literal["unanswered", "unsure", "low_confidence", "disliked"] = "unanswered", days: int = Days,
    ) -> JSONResponse:
        authorise(request)
        return JSONResponse(grouped(days, (status,))[1][status])

    @app.get("/admin/api/status")
    def admin_status(request: Request) -> dict[str, Any]:
        authorise(request)
        return {**live.current.info(), "version": APP_VERSION, "reload_error": live.last_error,
                "question_log": questions.target if questions is not None else None,
                "database": corpus.events.database.target, "corpus_change": corpus.applied}

    @app.get("/admin/api/documents")
    def admin_documents(request: Request) -> dict[str, Any]:
        authorise(request)
        index = live.current.index
        try:  # the uploaded files as the database keeps them: latest version, size, checksum, how many uploads
            uploads: list[dict[str, Any]] | None = [asdict(f) for f in corpus.events.files()]
        except DatabaseUnavailable:
            uploads = None
        return {"version": index.version, "corpus_change": corpus.applied,
                "documents": [asdict(e) for e in list_documents(index)], "uploads": uploads}

    @app.post("/admin/upload", include_in_schema=False)
    def admin_upload(request: Request, file: UploadFile = File(...), token: str = Form("")) -> HTMLResponse:
        authorise(request)
        check_form(token)
        name = Path(file.filename or "").name
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            return page(request, f"{name or 'that file'}: unsupported file type; use {SUPPORTED_NAMES}", 415)
        data = file.file.read(MAX_DOCUMENT_BYTES + 1)
        if len(data) > MAX_DOCUMENT_BYTES:
            return page(request, f"{name}: over the {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB limit for one document", 413)
        settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        stored_name = f"{slugify(Path(name).stem)}{suffix}"
        # Read once before it is recorded: a broken re-upload of a file never replaces the good one on any
        # replica. The recorded file is written to each replica's uploads folder when it applies the change.
        partial = settings.uploads_dir / f".{uuid.uuid4().hex}-{stored_name}"
        partial.write_bytes(data)
        try:
            load_file(partial)
        except QAError as exc:
            return page(request, f"could not read {name}: {exc}".replace(str(partial), name), 422)
        finally:
            partial.unlink(missing_ok=True)
        try:
            update = corpus.upload(stored_name, data)
        except DatabaseUnavailable as exc:
            log.error("upload of %s not recorded: %s", stored_name, exc)
            return page(request, f"{name}: the document store cannot be reached; nothing was changed, try again shortly", 503)
        except QAError as exc:
            return page(request, str(exc), 422)
        return page(request, after_update(update), 422 if update.failures else 200)

    @app.post("/admin/remove", include_in_schema=False)
    def admin_remove(request: Request, doc_id: str = Form(...), token: str = Form("")) -> HTMLResponse:
        authorise(request)
        check_form(token)
        if doc_id not in live.current.index.documents:
            return page(request, f"no such document: {doc_id} (see the list)", 404)
        try:
            update = corpus.remove(doc_id)
        except DatabaseUnavailable as exc:
            log.error("removal of %s not recorded: %s", doc_id, exc)
            return page(request, f"{doc_id}: the document store cannot be reached; nothing was changed, try again shortly", 503)
        except QAError as exc:
            live.refresh()
            if doc_id not in live.current.index.documents:  # removed by a replica sharing this index folder
                return page(request, f"removed {doc_id}")
            return page(request, str(exc), 404)
        return page(request, after_update(update))


def build_chat(
    live: LivePipeline, settings: Settings, feedback: FeedbackStore | None, questions: QuestionLog | None = None
) -> gr.Blocks:
    info = live.current.info()
    documents = [live.current.document(doc_id) for doc_id in list(live.current.index.documents)[:3]]
    known = "; ".join(
        escape_text(" · ".join(p for p in (d.title, d.source, d.date) if p)) for d in documents if d.title
    ) or f"{info['documents']} documents"
    hints = {
        ENGLISH: "You can ask, for example: " + " · ".join(f"“{escape_text(q)}”" for q in EXAMPLES[:3]),
        CHINESE: "例如可以问：" + " · ".join(f"“{escape_text(q)}”" for q in EXAMPLES_ZH[:3]),
    }

    def respond(message: str, history: list[dict], records: list[dict]):  # type: ignore[no-untyped-def]
        history = list(history or [])
        records = list(records or [])
        language = detect_language(message or "", settings.chinese_share)
        shown_question = in_language(escape_text(message or ""), language)
        try:
            question = resolve_follow_up(message or "", [r["question"] for r in records])
            pipeline = live.current
            answer = pipeline.ask(question)
            _log_answer("chat", answer)
            reply = answer_html(answer, pipeline.document, no_answer_hint=hints[language], language=language)
            record = answer.to_dict()
            records.append({**record, "log_ref": _remember(questions, record, language)})
        except InvalidQuestionError as exc:
            reply = in_language(MESSAGES[language].invalid.format(reason=escape_text(str(exc))), language)
            records.append({"question": message or "", "answer": None, "no_answer": True, "confidence": 0.0, "citations": []})
        except QAError as exc:
            log.warning("could not answer: %s", exc)
            reply = in_language(MESSAGES[language].unavailable, language)
            records.append({"question": message or "", "answer": None, "no_answer": True, "confidence": 0.0, "citations": []})
        history += [{"role": "user", "content": shown_question}, {"role": "assistant", "content": reply}]
        return "", history, records

    def ask_api(question: str) -> dict[str, Any]:
        try:
            answer = live.current.ask(question)
        except InvalidQuestionError as exc:
            echo = question.encode("utf-8", "replace").decode() if isinstance(question, str) else None  # JSON-safe
            return {"question": echo, "error": str(exc)}
        _log_answer("gradio api", answer)
        payload = answer.to_dict()
        _remember(questions, payload, detect_language(answer.question, settings.chinese_share))
        return payload

    def on_feedback(records: list[dict], data: gr.LikeData) -> None:
        if data.liked not in (True, False):
            return
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        position = int(index) // 2  # user and assistant messages alternate
        if not 0 <= position < len(records):
            return
        verdict = "like" if data.liked else "dislike"
        if feedback is not None:
            feedback.record(records[position], verdict)
        if questions is not None and records[position].get("log_ref"):
            questions.set_feedback(records[position]["log_ref"], verdict)

    with gr.Blocks(title="Seminar Q&A") as demo:
        gr.HTML(
            "<h2>Ask the seminar report · <span lang=\"zh\">研讨会报道问答</span></h2>"
            f"<p>Answers are quoted word for word from: {known}. Each answer cites its passage; "
            "when the documents don't say, the bot says so.</p>"
            "<p lang=\"zh\">可以用中文提问：答案逐字引自英文原文，并附出处；文档中没有的内容，机器人会如实说明。</p>"
        )
        chatbot = gr.Chatbot(
            label="Answers",
            height=460,
            sanitize_html=True,
            render_markdown=True,
            allow_tags=False,
            feedback_options=("Like", "Dislike"),
            buttons=["copy", "copy_all"],  # not "share" (to Hugging Face), an icon button Gradio leaves unnamed
            placeholder="Ask about the seminar: when and where it was held, who spoke, who sponsored it… · 也可以用中文提问",
        )
        records = gr.State([])
        with gr.Row():
            box = gr.Textbox(
                label="Your question · 您的问题", placeholder="Type a question and press Enter", scale=8,
                max_length=settings.max_question_chars,  # focused on the chat's own page only: web/chat.js
            )
            send = gr.Button("Ask · 提问", variant="primary", scale=1)
            clear = gr.Button("Clear · 清除", scale=1)
        gr.Examples(EXAMPLES, inputs=box, label="Examples")
        gr.Examples(EXAMPLES_ZH, inputs=box, label="中文示例")
        for trigger in (box.submit, send.click):
            trigger(respond, [box, chatbot, records], [box, chatbot, records], api_visibility="private", show_progress="minimal")
        clear.click(lambda: ("", [], []), None, [box, chatbot, records], api_visibility="private")
        chatbot.like(on_feedback, [records], None, api_visibility="private")
        gr.api(ask_api, api_name="ask")
    demo.queue(default_concurrency_limit=settings.queue_concurrency)
    return demo


def steady_malloc(threshold: int = 128 * 1024) -> bool:
    """Keep the server's memory flat under load (glibc only; elsewhere a no-op returning False).

    glibc raises its mmap threshold whenever a large block is freed, so the embedder's activations, sized by
    each batch (1 to 64 questions, padded to the longest), soon come from the heap instead of mmap, fragment
    it, and are never given back: under 64 clients the server's RSS climbed ~35 MiB a minute. A fixed
    threshold (setting it turns the adjustment off) keeps blocks over 128 KiB in mmap, returned when freed.
    """
    try:
        return ctypes.CDLL("libc.so.6").mallopt(-3, threshold) == 1  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def _prepare_chinese(pipeline: QAPipeline) -> None:
    """Load the multilingual model and the corpus's multilingual vectors before the first Chinese question
    (computing them takes seconds to minutes once; then they are read from the index folder)."""
    try:
        pipeline.chinese_reader()
    except QAError as exc:
        log.warning("questions in Chinese cannot be answered here: %s", exc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the seminar-qa chat and API.")
    parser.add_argument("--host", default=None, help="address to bind (default 127.0.0.1, or $QA_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860, or $QA_PORT)")
    parser.add_argument("--index", dest="index_dir", default=None, help="index folder (default index/, or $QA_INDEX_DIR)")
    args = parser.parse_args(argv)
    steady_malloc()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.load(host=args.host, port=args.port, index_dir=args.index_dir)
    try:
        pipeline = QAPipeline.open(settings)
    except QAError as exc:
        raise SystemExit(f"app: error: {exc}") from None
    threading.Thread(target=_prepare_chinese, args=(pipeline,), name="chinese-warm-up", daemon=True).start()
    live = LivePipeline(pipeline)
    live.start()  # picks up a rebuilt index (qa build) without a restart
    database = open_app_database(settings)  # SQLite by default; PostgreSQL with QA_DATABASE_URL
    corpus = follow_corpus(settings, live, database)
    corpus.start()  # the uploads and removals made through other replicas (and any missed while stopped)
    questions = open_question_log(settings, database)
    app = create_app(live, settings, FeedbackStore(database), questions, corpus)
    log.info("serving %s documents on http://%s:%s/", pipeline.info()["documents"], settings.host, settings.port)
    # No client addresses in the access log: questions and timings are logged by the app, nothing more.
    # Idle keep-alive connections are kept 75 s, longer than a client or a reverse proxy keeps them (httpx 5 s,
    # nginx's upstream keepalive_timeout 60 s): the other side closes first, so a request is never sent on a
    # connection the server is closing at that moment (with uvicorn's 5 s, a load test saw 3 resets in 10,000).
    uvicorn.run(
        app, host=settings.host, port=settings.port, access_log=False, timeout_graceful_shutdown=10,
        timeout_keep_alive=75,
    )


if __name__ == "__main__":
    main()
