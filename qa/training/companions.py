"""Companion paragraphs, for training the span model with shared normalisation (Clark & Gardner, 2018).

The span model is trained one window at a time: a softmax over one window's tokens. Its scores then say which
span of *that* window is best, not whether it is better than another window's best; but serving reads five
passages and must choose among them. On the project's sets the span model's pick given only the passage that
holds the answer beats its pick over all five by 8–14 F1 points (docs/reader-and-training.md).

With shared normalisation each training question is read over two windows at once, its own paragraph's and a
companion's, and one softmax runs over the tokens of both, so that a span's score is comparable across
passages. The companion of an answerable question is the BM25-nearest other paragraph of its article that does
not contain the answer (the passage that retrieval would also hand the reader); a made negative's companion is
a paragraph of another article (a near paragraph of its own article might answer the question it was made
from), and so is the companion of a question whose article has no such paragraph. BM25 reads the question as
it is in the stream (restyled or rendered), as retrieval would.
"""

from __future__ import annotations

import random

from qa.training.data import Article, Example
from qa.training.negatives import ArticleParagraphs

COMPANION = "companion"


def companion_example(example: Example, context: str) -> Example:
    """``example``'s question over ``context``, which does not answer it."""
    return Example(f"{example.qid}-{COMPANION}", example.question, context, "", -1, COMPANION, example.article)


def with_companions(examples: list[Example], articles: list[Article], seed: int) -> list[tuple[Example, Example]]:
    """Each example with its companion: the same question over a paragraph that does not answer it."""
    rng = random.Random(f"companions:{seed}")
    pool = [(a.title, p["context"]) for a in articles for p in a.paragraphs]
    titles = {title for title, _ in pool}
    nearest = NearestParagraphs(articles)
    pairs = []
    for example in examples:
        context = nearest.other(example) if example.answerable else None
        if context is None:
            if not titles - {example.article}:
                raise ValueError("a companion from another article needs the paragraphs of at least two articles")
            while context is None:
                title, candidate = pool[rng.randrange(len(pool))]
                context = candidate if title != example.article else None
        pairs.append((example, companion_example(example, context)))
    return pairs


class NearestParagraphs:
    """The BM25-nearest other paragraph of an answerable example's article that does not hold its answer."""

    def __init__(self, articles: list[Article]) -> None:
        self._articles = {a.title: a for a in articles}
        self._indexes: dict[str, ArticleParagraphs] = {}

    def other(self, example: Example) -> str | None:
        article = self._articles.get(example.article)
        if article is None:  # a made paragraph (qa.training.rosters)
            return None
        if example.article not in self._indexes:
            self._indexes[example.article] = ArticleParagraphs(article)
        index = self._indexes[example.article]
        if example.context not in index.contexts:
            return None
        other = index.nearest_other(example.question, index.contexts.index(example.context), example.answer_text)
        return None if other is None else index.contexts[other]
