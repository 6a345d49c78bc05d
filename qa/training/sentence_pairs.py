"""Training pairs for the sentence scorer: (question, sentence) → does the sentence hold the answer?

Made from the same examples as the span model (:mod:`qa.training.data`, :mod:`qa.training.negatives`,
:mod:`qa.training.rosters`, :mod:`qa.training.styles`), split into sentences by the product's own splitter
(:func:`qa.ingest.text.sentence_spans`), so that the scorer reads sentences as the index cuts them:

* **positive**: an answerable question and the sentence that holds its answer's start;
* **same paragraph**: the question and another sentence of its paragraph: the one that shares most of its
  terms (the hard case: on topic, but not the answer) and one at random;
* **near miss**: a made near miss (negation, antonym, swapped name or number, "other than", a time the
  paragraph does not reach; a roster that does not list the person) and the sentence that answered the
  question it was made from: the words are there, the answer is not;
* **other paragraph**: the question and the sentence sharing most of its terms in the most similar other
  paragraph of its article.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from qa.ingest.text import sentence_spans
from qa.training.data import Article, Example
from qa.training.negatives import HELD_APART_NEAR_MISS_KINDS, OTHER_PARAGRAPH, content_terms, make_negatives

POSITIVE = "positive"
SAME_PARAGRAPH_CLOSE = "same_paragraph_close"
SAME_PARAGRAPH_RANDOM = "same_paragraph_random"
NEAR_MISS = "near_miss"
OTHER_PARAGRAPH_CLOSE = "other_paragraph_close"


@dataclass(frozen=True)
class SentencePair:
    question: str
    sentence: str
    label: float  # 1: the sentence holds the answer
    kind: str  # POSITIVE or the kind of negative
    group: str  # the question the pair was made for (pairs of one group share a paragraph)


def sentences_of(context: str) -> list[tuple[int, int]]:
    return sentence_spans(context) or [(0, len(context))]


def answer_sentence(context: str, answer_start: int) -> tuple[int, int] | None:
    """The sentence of ``context`` that holds ``answer_start``."""
    for start, end in sentences_of(context):
        if start <= answer_start < end:
            return start, end
    return None


def closest(question: str, context: str, spans: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The span of ``spans`` sharing most of the question's terms (the first on ties), None when none shares any."""
    terms = set(content_terms(question))
    best, best_shared = None, 0
    for span in spans:
        shared = len(terms & set(content_terms(context[span[0] : span[1]])))
        if shared > best_shared:
            best, best_shared = span, shared
    return best


def pairs_for(example: Example, rng: random.Random) -> list[SentencePair]:
    """The positive and the same-paragraph negatives of an answerable example (none when its answer's sentence
    cannot be found)."""
    context = example.context
    gold = answer_sentence(context, example.answer_start)
    if gold is None:
        return []
    pairs = [SentencePair(example.question, context[gold[0] : gold[1]], 1.0, POSITIVE, example.qid)]
    others = [s for s in sentences_of(context) if s != gold and s[1] - s[0] > 1]
    close = closest(example.question, context, others)
    if close is not None:
        pairs.append(SentencePair(example.question, context[close[0] : close[1]], 0.0, SAME_PARAGRAPH_CLOSE,
                                  example.qid))
    rest = [s for s in others if s != close]
    if rest:
        pick = rng.choice(rest)
        pairs.append(SentencePair(example.question, context[pick[0] : pick[1]], 0.0, SAME_PARAGRAPH_RANDOM,
                                  example.qid))
    return pairs


def negative_pair(negative: Example, source: Example | None) -> SentencePair | None:
    """The pair of a made negative: a near miss with the sentence that answered its source question, an
    other-paragraph (or unsourced) negative with its context's sentence closest to the question."""
    context = negative.context
    if source is not None and negative.kind != OTHER_PARAGRAPH and source.answerable:
        span = answer_sentence(source.context, source.answer_start)
        context = source.context
    else:
        span = closest(negative.question, context, sentences_of(context))
    if span is None:
        return None
    kind = OTHER_PARAGRAPH_CLOSE if negative.kind == OTHER_PARAGRAPH else NEAR_MISS
    return SentencePair(negative.question, context[span[0] : span[1]], 0.0, kind, negative.qid)


def sentence_pairs(articles: list[Article], answerable: list[Example], extra: list[Example], seed: int,
                   other_paragraph_share: float, near_miss_share: float) -> list[SentencePair]:
    """Every pair for the answerable examples (with negatives made from them at the given shares) and for
    ``extra`` examples with their own answers or none (made rosters)."""
    rng = random.Random(f"sentence-pairs:{seed}")
    negatives = make_negatives(articles, answerable, other_paragraph_share, near_miss_share, seed,
                               near_miss_kinds=HELD_APART_NEAR_MISS_KINDS)
    by_id = {e.qid: e for e in answerable}
    pairs: list[SentencePair] = []
    for example in answerable + [e for e in extra if e.answerable]:
        pairs.extend(pairs_for(example, rng))
    for negative in negatives + [e for e in extra if not e.answerable]:
        pair = negative_pair(negative, by_id.get(negative.qid.rsplit("-", 1)[0]))
        if pair is not None:
            pairs.append(pair)
    return pairs
