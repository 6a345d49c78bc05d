"""What the question log tells editors: paraphrases grouped, and the groups to act on.

Questions are grouped by their embedding (the pipeline's embedder), agglomeratively with average linkage,
while the cosine similarity stays at least ``question_group_similarity``, and only among questions with the same
question word: the English model puts "When was the seminar held?" and "Where was the seminar held?" at 0.97.
Each group has a representative (its most asked wording), a count, its first and last time asked and the share
answered. ``select`` picks the groups of one kind: questions the documents did not answer, questions given a lead
instead of an answer (unsure), answers given with a low confidence, answers visitors disliked.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO, Any, Callable, Sequence

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from qa.config import Settings
from qa.serving.question_log import LoggedQuestion

STATUSES = ("unanswered", "unsure", "low_confidence", "disliked")
CSV_COLUMNS = ("status", "question", "count", "matching", "first_asked", "last_asked", "answered_share", "answer",
               "confidence", "doc_id", "passage", "examples")
MAX_EXAMPLES = 5

Encode = Callable[[list[str]], np.ndarray]  # texts -> L2-normalised rows

_ENGLISH_QUESTION_WORD = re.compile(r"\b(who|whom|whose|what|when|where|which|why|how)\b", re.IGNORECASE)
# Longer words first: 什么时候 (when) before 什么 (what), 在哪 (where) before 哪 (which).
_CHINESE_QUESTION_WORDS = ("什么时候", "何时", "哪天", "哪里", "在哪", "为什么", "怎么", "如何", "多少", "谁", "几", "什么", "哪")
_SPACE = re.compile(r"\s+")


def question_word(text: str) -> str:
    """The question's first question word ("who", "何时"), "" for none: questions are grouped only within one."""
    english = _ENGLISH_QUESTION_WORD.search(text)
    chinese = [(text.find(w), w) for w in _CHINESE_QUESTION_WORDS if w in text]
    found = ([(english.start(), english.group(1).lower())] if english else []) + chinese
    return min(found, key=lambda f: (f[0], -len(f[1])))[1] if found else ""


def _wording(text: str) -> str:
    """The same question typed differently (case, spaces, final punctuation) is one wording."""
    return _SPACE.sub(" ", text).strip().rstrip("?？!！.。 ").casefold()


@dataclass(frozen=True)
class QuestionGroup:
    """Paraphrases of one question, each ask of them (oldest first)."""

    entries: tuple[LoggedQuestion, ...]

    @property
    def wordings(self) -> list[str]:
        """The distinct wordings, most asked first (then first asked)."""
        counts = Counter(_wording(e.question) for e in self.entries)
        first: dict[str, str] = {}
        for e in self.entries:
            first.setdefault(_wording(e.question), e.question)
        return [first[key] for key, _ in counts.most_common()]

    @property
    def question(self) -> str:
        return self.wordings[0]

    @property
    def answered_share(self) -> float:
        return sum(e.answered for e in self.entries) / len(self.entries)


def group_questions(entries: Sequence[LoggedQuestion], encode: Encode, similarity: float, limit: int) -> list[QuestionGroup]:
    """Group paraphrases (see the module's doc) among the ``limit`` most asked wordings; most asked group first."""
    by_wording: dict[str, list[LoggedQuestion]] = {}
    for entry in entries:
        by_wording.setdefault(_wording(entry.question), []).append(entry)
    kept = sorted(by_wording.values(), key=len, reverse=True)[:limit]
    if not kept:
        return []
    vectors = encode([asks[0].question for asks in kept])
    by_word: dict[str, list[int]] = {}
    for i, asks in enumerate(kept):
        by_word.setdefault(question_word(asks[0].question), []).append(i)
    groups = []
    for members in by_word.values():
        labels = _clusters(vectors[members], similarity)
        for label in sorted(set(labels)):
            asks = [e for m, lab in zip(members, labels) if lab == label for e in kept[m]]
            groups.append(QuestionGroup(tuple(sorted(asks, key=lambda e: e.time))))
    return sorted(groups, key=lambda g: (-len(g.entries), g.entries[-1].time))


def _clusters(vectors: np.ndarray, similarity: float) -> list[int]:
    if len(vectors) == 1:
        return [1]
    tree = linkage(vectors.astype(np.float64), method="average", metric="cosine")
    return [int(label) for label in fcluster(tree, t=1.0 - similarity, criterion="distance")]


def select(groups: Sequence[QuestionGroup], status: str, low_confidence: float) -> list[dict[str, Any]]:
    """The groups of one status as the API's records, the most matching asks first.

    ``matching`` counts the asks of that status (abstentions, leads shown, low-confidence answers, dislikes);
    ``answer``,
    ``confidence``, ``doc_id`` and ``passage`` are those of the latest of them (the lowest-confidence one for
    ``low_confidence``).
    """
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    matches: Callable[[LoggedQuestion], bool] = {
        "unanswered": lambda e: not e.answered and e.outcome != "unsure",
        "unsure": lambda e: e.outcome == "unsure",
        "low_confidence": lambda e: e.answered and e.confidence < low_confidence,
        "disliked": lambda e: e.feedback == "dislike",
    }[status]
    records = []
    for group in groups:
        matching = [e for e in group.entries if matches(e)]
        if not matching:
            continue
        shown = min(matching, key=lambda e: e.confidence) if status == "low_confidence" else matching[-1]
        records.append({
            "question": group.question, "count": len(group.entries), "matching": len(matching),
            "first_asked": group.entries[0].time, "last_asked": group.entries[-1].time,
            "answered_share": round(group.answered_share, 4), "examples": group.wordings[:MAX_EXAMPLES],
            "answer": shown.answer, "confidence": round(shown.confidence, 4), "doc_id": shown.doc_id,
            "passage": shown.sentence,
        })
    return sorted(records, key=lambda r: (-r["matching"], -r["count"]))


def records_by_status(
    entries: Sequence[LoggedQuestion], encode: Encode, settings: Settings, statuses: Sequence[str] = STATUSES
) -> dict[str, list[dict[str, Any]]]:
    """The entries grouped once, then the groups of each status (see :func:`select`)."""
    groups = group_questions(entries, encode, settings.question_group_similarity, settings.question_group_limit)
    return {status: select(groups, status, settings.low_confidence) for status in statuses}


@dataclass(frozen=True)
class DayCount:
    day: str  # YYYY-MM-DD
    answered: int
    unanswered: int


def per_day(entries: Sequence[LoggedQuestion], days: int, today: date) -> list[DayCount]:
    """Questions asked each day of the last ``days`` days (up to ``today``, UTC), answered and not."""
    answered: Counter[str] = Counter(e.time[:10] for e in entries if e.answered)
    unanswered: Counter[str] = Counter(e.time[:10] for e in entries if not e.answered)
    span = [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]
    return [DayCount(d, answered[d], unanswered[d]) for d in span]


def write_csv(out: IO[str], records_by_status: dict[str, list[dict[str, Any]]]) -> int:
    """The records as CSV, one line per group with its status. Cells a spreadsheet would run as a formula
    (visitors type the questions) start with an apostrophe. Returns the number of groups written."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for status, records in records_by_status.items():
        for record in records:
            row = {**record, "status": status, "examples": " | ".join(record["examples"])}
            writer.writerow([_cell(row[column]) for column in CSV_COLUMNS])
            count += 1
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
