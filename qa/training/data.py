"""Training examples for the span reader: the answerable questions of ``qa_train`` and the negatives made here.

The data (SQuAD v2 JSON, gzip) has no unanswerable question; :mod:`qa.training.negatives` makes them. The
articles are split once, by a seeded hash of their title, into a training part and a held-apart part (dev F1
during training, and the combiner's fit): no paragraph is in both.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Answers whose offset the data set guessed among several occurrences (right ~80 % of the time): left out.
UNCERTAIN_OFFSETS = "heuristic"
# An "article" with more paragraphs than this is a collection of independent texts (split by paragraph).
COLLECTION_PARAGRAPHS = 500


@dataclass(frozen=True)
class Example:
    """A question over a paragraph: an answer span in it, or none (``answer_start`` -1)."""

    qid: str
    question: str
    context: str
    answer_text: str
    answer_start: int
    kind: str  # "answerable", or the kind of negative (qa.training.negatives.KINDS)
    article: str

    @property
    def answerable(self) -> bool:
        return self.answer_start >= 0


@dataclass(frozen=True)
class Article:
    title: str
    source: str
    paragraphs: list[dict]


def load_articles(path: Path) -> list[Article]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)["data"]
    return [Article(a["title"], a.get("source", ""), a["paragraphs"]) for a in data]


def is_held_apart(title: str, share: float, seed: int) -> bool:
    """Whether an article belongs to the held-apart part: a hash, so the split never depends on the order."""
    digest = hashlib.sha256(f"{seed}:{title}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def split_articles(articles: list[Article], share: float, seed: int,
                   collection_paragraphs: int = COLLECTION_PARAGRAPHS) -> tuple[list[Article], list[Article]]:
    """The training part and the held-apart part. An article is held apart whole, except a collection (more
    than ``collection_paragraphs`` paragraphs, such as SQuADShifts' one "article" of 2,035 Reddit posts),
    whose paragraphs are split one by one: held apart whole, a source would be either all trained on or never.
    """
    train, held = [], []
    for article in articles:
        if len(article.paragraphs) <= collection_paragraphs:
            (held if is_held_apart(article.title, share, seed) else train).append(article)
            continue
        apart = [is_held_apart(f"{article.title}#{i}", share, seed) for i in range(len(article.paragraphs))]
        for part, keep in ((train, False), (held, True)):
            paragraphs = [p for p, a in zip(article.paragraphs, apart) if a == keep]
            if paragraphs:
                part.append(Article(article.title, article.source, paragraphs))
    return train, held


def answerable_examples(articles: list[Article]) -> list[Example]:
    examples = []
    for article in articles:
        for paragraph in article.paragraphs:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                if not qa["answers"]:
                    continue
                answer = qa["answers"][0]
                if qa.get("answer_start_source") == UNCERTAIN_OFFSETS:
                    continue
                examples.append(
                    Example(qa["id"], qa["question"], context, answer["text"], answer["answer_start"],
                            "answerable", article.title)
                )
    return examples


def shuffled(examples: list[Example], seed: int) -> list[Example]:
    order = list(examples)
    random.Random(seed).shuffle(order)
    return order


def kind_counts(examples: list[Example]) -> dict[str, int]:
    return dict(Counter(e.kind for e in examples).most_common())
