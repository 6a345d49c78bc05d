"""``qa make-word-list``: the English words the spelling corrector knows, counted in the training data.

The corrector (:mod:`qa.ingest.spelling`) must know a word to leave it alone. The embedding model's WordPiece
vocabulary and WordNet's lemmas miss much of what people write today ("admin", "login", "username", "website"
is there but "websites" only by a rule): an unknown word one edit from a known one is "corrected" into it
("admin" → "admit"). The training articles (Wikipedia, news, Reddit, Amazon reviews) are a broad sample of
written English; every word their paragraphs use at least ``--min-count`` times is counted as known, in order of
frequency (the order is the corrector's prior). Only the training part is counted: the held-apart articles stay
unseen.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from qa.config import DEFAULT_WORD_LIST
from qa.training.data import load_articles, split_articles
from qa.training.train import DEFAULT_DATA, TrainingSettings

_WORD = re.compile(r"[A-Za-z]+")
DEFAULT_MIN_COUNT = 5  # a word seen fewer times may be someone's slip


def count_words(texts: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word.lower() for word in _WORD.findall(text))
    return counts


def training_texts(data: Path, settings: TrainingSettings) -> list[str]:
    """Every paragraph of the training part of ``data`` (the held-apart articles left out). Not the questions:
    crowd workers' slips repeat there ("waht" five times and more), much less in the published paragraphs."""
    train, _ = split_articles(load_articles(data), settings.held_apart_share, settings.seed)
    return [paragraph["context"] for article in train for paragraph in article.paragraphs]


def write_word_list(counts: Counter[str], min_count: int, out: Path) -> int:
    """One word a line, the commonest first (ties alphabetical); the number of words written."""
    words = sorted((w for w, n in counts.items() if n >= min_count and len(w) > 1), key=lambda w: (-counts[w], w))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{w}\n" for w in words), encoding="utf-8")
    return len(words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qa make-word-list", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--min-count", type=int, default=DEFAULT_MIN_COUNT)
    parser.add_argument("--out", type=Path, default=DEFAULT_WORD_LIST)
    args = parser.parse_args(argv)
    counts = count_words(training_texts(args.data, TrainingSettings()))
    written = write_word_list(counts, args.min_count, args.out)
    print(f"{written} words seen at least {args.min_count} times ({len(counts)} distinct) -> {args.out}")
    return 0
