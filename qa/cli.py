"""The ``qa`` command line: build an index, ask questions, evaluate.

Errors a user can fix (no index, unreadable file, empty question) are one line on stderr and exit status 2;
set ``QA_DEBUG=1`` to see a traceback for anything unexpected.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from typing import TYPE_CHECKING, Any, Sequence

from qa.config import Settings
from qa.errors import QAError
from qa.ingest.loading import SUPPORTED_NAMES
from qa.types import Answer, Citation

if TYPE_CHECKING:
    from qa.store.corpus import CorpusUpdate

EXIT_USAGE = 2
EXIT_INTERNAL = 70


# Training commands (PyTorch and transformers, at training time only), each with its own flags.
TRAINING_COMMANDS = {
    "train-reader": "qa.training.train",  # fine-tune the span model, export it to ONNX (int8) into <out>/candidate
    "train-sentence-scorer": "qa.training.sentence_training",  # the cross-encoder whose score the combiner weighs
    "fit-combiner": "qa.training.combiner",  # fit the combiner and its threshold on held-apart training articles
    "fit-rendered": "qa.training.rendered",  # calibrate the span model on rendered questions (the Chinese path)
    "fit-leads": "qa.training.leads",  # fit each reader's lead floor (unsure outcomes) on held-apart training articles
    "make-word-list": "qa.training.word_list",  # the English words the spelling corrector knows (qa/data/english_words.txt)
}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in TRAINING_COMMANDS:
        import importlib

        return int(importlib.import_module(TRAINING_COMMANDS[arguments[0]]).main(arguments[1:]) or 0)
    parser = _parser()
    args = parser.parse_args(arguments)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s", stream=sys.stderr)
    try:
        return int(args.handler(args) or 0)
    except QAError as exc:
        print(f"qa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line, and the traceback only on request
        if os.environ.get("QA_DEBUG"):
            raise
        print(f"qa: internal error: {type(exc).__name__}: {exc} (set QA_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qa", description="Cited, extractive answers from a portal's documents.",
        epilog="Training: qa train-reader [--help], qa train-sentence-scorer [--help], qa fit-combiner [--help], qa fit-rendered [--help], qa fit-leads [--help], qa make-word-list [--help] (see the model card, qa/models/reader/).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is being done")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="build (or rebuild) an index from documents")
    build.add_argument("paths", nargs="*", help=f"files or folders ({SUPPORTED_NAMES}); default: the index's own sources, else the seminar page")
    _add_settings_flags(build)
    build.set_defaults(handler=_build)

    add = commands.add_parser("add", help="add files or folders to the index (a changed file replaces its old version)")
    add.add_argument("paths", nargs="+", help=f"files or folders ({SUPPORTED_NAMES})")
    _add_settings_flags(add)
    add.set_defaults(handler=_add)

    remove = commands.add_parser("remove", help="remove documents from the index, by id (see qa list)")
    remove.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="document ids")
    _add_settings_flags(remove)
    remove.set_defaults(handler=_remove)

    listing = commands.add_parser("list", help="list the documents in the index")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")
    _add_settings_flags(listing)
    listing.set_defaults(handler=_list)

    ask = commands.add_parser("ask", help="answer a question (or one per line from stdin)")
    ask.add_argument("question", nargs="?", help="the question; omit it to read questions from stdin, one per line")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON (always JSON for stdin)")
    ask.add_argument("-k", type=int, default=None, help="passages to read (default: the top_k setting)")
    _add_settings_flags(ask)
    ask.set_defaults(handler=_ask)

    evaluate = commands.add_parser("eval", help="evaluate on a question set (JSONL) or a SQuAD v2 file")
    evaluate.add_argument("questions", help="a JSONL question set, or a SQuAD v2 JSON file")
    evaluate.add_argument("--corpus", nargs="+", default=None, help="documents to index for this evaluation")
    evaluate.add_argument("--report", default=None, help="write report.json, report.md and charts to this folder")
    evaluate.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    evaluate.add_argument("-k", type=int, default=None, help="passages to read per question")
    evaluate.add_argument("--limit", type=int, default=None, help="evaluate only the first N questions")
    _add_settings_flags(evaluate)
    evaluate.set_defaults(handler=_eval)

    feedback = commands.add_parser("feedback", help="visitors' like/dislike feedback")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", required=True, metavar="ACTION")
    export = feedback_commands.add_parser("export", help="write all feedback as CSV")
    export.add_argument("--db", default=None, help="feedback database: a SQLite file or a PostgreSQL URL (default: QA_DATABASE_URL, else the feedback_db setting)")
    export.add_argument("-o", "--output", default="-", help="CSV file to write (default: stdout)")
    export.set_defaults(handler=_feedback_export)

    insights = commands.add_parser("insights", help="what visitors ask: unanswered, unsure, low-confidence or disliked questions, grouped")
    insights.add_argument("--status", choices=("unanswered", "unsure", "low_confidence", "disliked"), default="unanswered",
                          help="which questions (default: unanswered)")
    insights.add_argument("--days", type=_positive_int, default=30, help="the last N days (default 30)")
    insights.add_argument("--json", action="store_true", help="print the groups as JSON")
    insights.add_argument("--db", default=None, help="the app's database: a SQLite file or a PostgreSQL URL (default: QA_DATABASE_URL, else the feedback_db setting)")
    insights.add_argument("--model", dest="embedding_model", default=None, help="embedding model: local path or packaged name")
    insights.set_defaults(handler=_insights)
    return parser


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, at least 1, not {text!r}")
    return int(text)


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", dest="index_dir", default=None, help="index folder (default: index/, or $QA_INDEX_DIR)")
    parser.add_argument("--model", dest="embedding_model", default=None, help="embedding model: local path or packaged name")
    parser.add_argument("--threshold", dest="answer_threshold", type=float, default=None, help="confidence below which the bot abstains")
    parser.add_argument(
        "--reader", default=None, help='"learned" (the default), "rules", or a local transformers QA checkpoint'
    )
    parser.add_argument("--lead-floor", dest="lead_floor", type=float, default=None,
                        help="below the threshold, the confidence that still shows the best sentence as a lead "
                             "(default: the reader's fitted floor; 1: no leads)")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(
        index_dir=args.index_dir,
        embedding_model=args.embedding_model,
        answer_threshold=args.answer_threshold,
        reader_answer_threshold=args.answer_threshold,
        reader=args.reader,
        lead_floor=args.lead_floor,
    )


def _build(args: argparse.Namespace) -> int:
    from qa.pipeline import QAPipeline

    settings = _settings(args)
    pipeline = QAPipeline.open(settings, corpus=list(args.paths) or list(settings.corpus), rebuild=True)
    info = pipeline.info()
    print(f"built {info['index']}: {info['documents']} documents, {info['chunks']} chunks, model {info['model']}")
    return 0


def _add(args: argparse.Namespace) -> int:
    from qa.pipeline import make_embedder
    from qa.store.corpus import add_paths

    settings = _settings(args)
    return _report_update(add_paths(settings, make_embedder(settings), args.paths))


def _remove(args: argparse.Namespace) -> int:
    from qa.pipeline import make_embedder
    from qa.store.corpus import remove_documents

    settings = _settings(args)
    return _report_update(remove_documents(settings, make_embedder(settings), args.doc_ids))


def _report_update(update: "CorpusUpdate") -> int:
    """One line per change, unreadable files on stderr; exit 1 when a file was skipped."""
    changes = update.changes
    for label, ids in (("added", changes.added), ("updated", changes.updated), ("removed", changes.removed)):
        for doc_id in ids:
            print(f"{label}\t{doc_id}")
    for path, reason in update.failures:
        print(f"qa: skipped {path}: {reason}", file=sys.stderr)
    if changes.changed:
        print(f"index {update.version}: {changes.embedded_chunks} chunks embedded", file=sys.stderr)
    else:
        print("nothing changed", file=sys.stderr)
    return 1 if update.failures else 0


def _list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from qa.store.corpus import list_documents
    from qa.store.index import load_index

    entries = list_documents(load_index(_settings(args).index_dir))
    if args.json:
        print(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=1))
        return 0
    print("\t".join(("id", "title", "source", "date", "chunks", "added")))
    for e in entries:
        print("\t".join((e.doc_id, e.title, e.source, e.date, str(e.chunks), e.added)))
    return 0


def _ask(args: argparse.Namespace) -> int:
    from qa.pipeline import QAPipeline

    # The default index is built on first use; a folder named with --index must already hold one.
    pipeline = QAPipeline.open(_settings(args), build_missing=args.index_dir is None)
    if args.question is not None:
        answer = pipeline.ask(args.question, k=args.k)
        print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else format_answer(answer))
        return 0
    failures = 0
    for line in sys.stdin:
        question = line.rstrip("\n")
        if not question.strip():
            continue
        try:
            record: dict[str, Any] = pipeline.ask(question, k=args.k).to_dict()
        except QAError as exc:
            failures += 1
            record = {"question": question, "error": str(exc)}
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return 1 if failures else 0


def format_answer(answer: Answer) -> str:
    """A readable answer with its citation, for a terminal."""
    if answer.lead is not None:
        lines = [f"Not sure (confidence {answer.confidence:.2f}). This sentence may answer it; the likeliest words are "
                 f"“{answer.lead.citation.quote}”:", ""]
        return "\n".join(lines + _quoted(answer.lead.sentence) + _cited([answer.lead.citation], "candidate"))
    if answer.no_answer or not answer.citations:
        return "The documents don't say. (No passage answers this question with enough confidence.)"
    lines = [f"{answer.answer}    (confidence {answer.confidence:.2f})", ""]
    if answer.sentence:
        lines += _quoted(answer.sentence)
    return "\n".join(lines + _cited(answer.citations, "answer"))


def _quoted(sentence: str) -> list[str]:
    return textwrap.wrap(f"“{sentence}”", width=100, initial_indent="  ", subsequent_indent="  ") + [""]


def _cited(citations: list[Citation], span: str) -> list[str]:
    lines = []
    for n, c in enumerate(citations, 1):
        where = " · ".join(part for part in (c.title, c.source, c.date) if part)
        lines.append(f"[{n}] {where}")
        page = f"page {c.page}, " if c.page else ""
        lines.append(f"    {page}document {c.doc_id}, {span} at characters {c.start}-{c.end}, passage {c.passage_start}-{c.passage_end}")
    return lines


def _feedback_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from qa.errors import CorpusError
    from qa.persistence import database_target, is_postgres
    from qa.serving.feedback import FeedbackStore

    target = args.db or database_target(Settings.load())
    if not is_postgres(target) and not Path(target).is_file():
        raise CorpusError(f"no feedback database at {target}")
    store = FeedbackStore(target)
    if args.output == "-":
        count = store.export_csv(sys.stdout)
    else:
        with open(args.output, "w", newline="", encoding="utf-8") as out:
            count = store.export_csv(out)
    print(f"exported {count} feedback records", file=sys.stderr)
    return 0


def _insights(args: argparse.Namespace) -> int:
    from qa.persistence import database_target
    from qa.pipeline import make_embedder
    from qa.serving.insights import records_by_status
    from qa.serving.question_log import read_questions

    settings = Settings.load(embedding_model=args.embedding_model)
    entries = read_questions(args.db or database_target(settings), args.days)
    encode = lambda texts: make_embedder(settings).encode(texts)  # noqa: E731 (the model loads only for questions)
    records = records_by_status(entries, encode, settings, (args.status,))[args.status]
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=1))
        return 0
    print(f"{len(records)} groups of {args.status.replace('_', '-')} questions in the last {args.days} days ({len(entries)} questions asked)")
    for r in records:
        answer = f"  → {r['answer']} ({r['confidence']:.2f})" if r["answer"] else ""
        print(f"{r['matching']:>5} of {r['count']:<5} {r['question']}{answer}    last {r['last_asked']}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from qa.evaluation.command import run_cli

    return run_cli(args, _settings(args))


if __name__ == "__main__":
    sys.exit(main())
