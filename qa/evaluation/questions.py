"""Question sets: the project's JSONL format and SQuAD v2 JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from qa.errors import CorpusError
from qa.ingest.loading import squad_paragraph_id


@dataclass(frozen=True)
class EvalQuestion:
    qid: str
    question: str
    answers: tuple[str, ...]  # empty: the documents do not answer it
    category: str
    doc_id: str | None = None  # the paragraph a SQuAD question was written on


def is_squad_set(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def load_questions(path: Path) -> list[EvalQuestion]:
    """Load a JSONL set (``{"id", "question", "answers", "category"}`` a line) or a SQuAD v2 file."""
    if not path.is_file():
        raise CorpusError(f"{path}: no such question set")
    return _load_squad(path) if is_squad_set(path) else _load_jsonl(path)


def _load_jsonl(path: Path) -> list[EvalQuestion]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            questions.append(
                EvalQuestion(
                    qid=str(row["id"]),
                    question=str(row["question"]),
                    answers=tuple(str(a) for a in row["answers"]),
                    category=str(row.get("category", "")),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CorpusError(f"{path}:{number}: not a question record ({exc})") from None
    return questions


def _load_squad(path: Path) -> list[EvalQuestion]:
    try:
        articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CorpusError(f"{path}: not a SQuAD v2 JSON file ({exc})") from None
    questions = []
    for article in articles:
        title = str(article.get("title", path.stem)).replace("_", " ")
        for i, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                impossible = qa.get("is_impossible", False)
                answers = () if impossible else tuple(a["text"] for a in qa["answers"])
                questions.append(
                    EvalQuestion(
                        qid=str(qa["id"]),
                        question=qa["question"],
                        answers=answers,
                        category=title,
                        doc_id=squad_paragraph_id(title, i),
                    )
                )
    return questions
