"""Unanswerable questions made from answerable ones, so that the reader learns when to say "no answer".

Two families, after Rajpurkar et al. (2018), who wrote SQuAD 2.0's unanswerable questions by hand:

* **other paragraph**: the question over the most similar other paragraph of its article (BM25), one that does
  not contain the answer. It teaches "this passage is about the same thing but does not say".
* **near misses** over the question's own paragraph, which then no longer answers it:
  ``negation`` ("What did X *not* build?"), ``antonym`` ("the *least*" for "the most", only when the paragraph
  lacks the opposite word), ``entity_swap`` (a proper name of the question replaced by another name of the
  same article that the paragraph does not hold) and ``number_swap`` (a number or year the paragraph has
  replaced by one it has not).

Every near miss changes a word that the paragraph contains for one it does not, so the paragraph cannot answer
the new question by the same words; the check is lexical and some near misses stay answerable in spirit,
which SQuAD 2.0's own crowd workers also produced.

Two more kinds of Rajpurkar et al. are made for the held-apart questions the combiner and the lead floors are
fitted on (not for the span model's training stream, which stays as it was trained): ``mutual_exclusion``
(the question asks for something *other than* the paragraph's answer: "Who founded the city other than
Romulus?") and ``impossible_condition`` (a time the paragraph does not reach: "... after 1950?" over a
paragraph whose years end in 1920).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter

from qa.ingest.answer_types import ANTONYMS
from qa.training.data import Article, Example

OTHER_PARAGRAPH = "other_paragraph"
NEGATION = "negation"
ANTONYM = "antonym"
ENTITY_SWAP = "entity_swap"
NUMBER_SWAP = "number_swap"
MUTUAL_EXCLUSION = "mutual_exclusion"
IMPOSSIBLE_CONDITION = "impossible_condition"
NEAR_MISS_KINDS = (NEGATION, ANTONYM, ENTITY_SWAP, NUMBER_SWAP)  # the span model's training stream
HELD_APART_NEAR_MISS_KINDS = (*NEAR_MISS_KINDS, MUTUAL_EXCLUSION, IMPOSSIBLE_CONDITION)
KINDS = (OTHER_PARAGRAPH, *HELD_APART_NEAR_MISS_KINDS)
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_SHORT_ANSWER_WORDS = 4  # "other than X" only for a short answer: a list or a clause would still be answered

_WORD = re.compile(r"\w+")
_AUXILIARY = re.compile(r"\b(is|are|was|were|did|does|do|can|could|will|would|has|have|had|should|may|might|must)\b")
# A run of capitalised words (with "of"/"the"/"de" inside), not the question's first word.
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w'-]+(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'-]+)*")
_NUMBER = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")
_STOP = frozenset(
    "the a an of in on at to for by with from and or is are was were be been what which who whom whose when where "
    "why how did do does that this these those it its as".split()
)
BM25_K1 = 1.2
BM25_B = 0.75


def content_terms(text: str) -> list[str]:
    """The words of ``text``, lower-cased, without the commonest function words."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


class ArticleParagraphs:
    """BM25 over the paragraphs of one article, and the article's proper names (for entity swaps)."""

    def __init__(self, article: Article) -> None:
        self.contexts = [p["context"] for p in article.paragraphs]
        self._counts = [Counter(content_terms(c)) for c in self.contexts]
        lengths = [sum(c.values()) for c in self._counts]
        self._mean_length = max(1.0, sum(lengths) / max(1, len(lengths)))
        self._lengths = lengths
        frequency = Counter(t for c in self._counts for t in c)
        n = len(self.contexts)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}
        self.names = sorted({m.group(0) for c in self.contexts for m in _NAME.finditer(c)})

    def nearest_other(self, question: str, own: int, answer: str) -> int | None:
        """The paragraph most similar to the question, other than ``own``, that does not contain ``answer``."""
        terms = content_terms(question)
        best, best_score = None, 0.0
        for i, counts in enumerate(self._counts):
            if i == own or answer.lower() in self.contexts[i].lower():
                continue
            score = 0.0
            norm = BM25_K1 * (1 - BM25_B + BM25_B * self._lengths[i] / self._mean_length)
            for t in terms:
                tf = counts.get(t, 0)
                if tf:
                    score += self._idf[t] * tf * (BM25_K1 + 1) / (tf + norm)
            if score > best_score:
                best, best_score = i, score
        return best


_CONTRACTED = {
    "is": "isn't", "are": "aren't", "was": "wasn't", "were": "weren't", "did": "didn't", "does": "doesn't",
    "do": "don't", "can": "can't", "could": "couldn't", "will": "won't", "would": "wouldn't", "has": "hasn't",
    "have": "haven't", "had": "hadn't", "should": "shouldn't", "must": "mustn't",
}
_QUESTION_WORDS = frozenset("what which who whom whose when where why how much many long far old often".split())


def negated(question: str) -> str | None:
    """The question negated at its first auxiliary: "What was built?" → "What was not built?", and where the
    subject follows the auxiliary, contracted: "When did the quake happen?" → "When didn't the quake happen?"."""
    if re.search(r"\b(not|n't|never|no)\b", question):
        return None
    match = _AUXILIARY.search(question)
    if match is None or match.group(0) not in _CONTRACTED:
        return None
    before = _WORD.findall(question[: match.start()].lower())
    if not before or before[-1] in _QUESTION_WORDS:
        return question[: match.start()] + _CONTRACTED[match.group(0)] + question[match.end() :]
    return question[: match.end()] + " not" + question[match.end() :]


def with_antonym(question: str, context: str) -> str | None:
    """A question word swapped for its opposite, when the paragraph lacks the opposite."""
    context_words = set(_WORD.findall(context.lower()))
    for match in _WORD.finditer(question):
        word = match.group(0).lower()
        opposite = ANTONYMS.get(word)
        if opposite and opposite not in context_words and word in context_words:
            replacement = opposite.capitalize() if match.group(0)[0].isupper() else opposite
            return question[: match.start()] + replacement + question[match.end() :]
    return None


def with_other_entity(question: str, context: str, names: list[str], rng: random.Random) -> str | None:
    """A proper name of the question (found in the paragraph) swapped for another of the article's names that
    the paragraph does not hold."""
    found = [m for m in _NAME.finditer(question) if m.group(0) in context and _is_name(m.group(0))]
    if not found:
        return None
    match = rng.choice(found)
    width = len(match.group(0).split())
    others = [n for n in names if n not in context and _is_name(n) and len(n.split()) == width]
    if not others:
        return None
    return question[: match.start()] + rng.choice(others) + question[match.end() :]


def _is_name(text: str) -> bool:
    """A capitalised run that reads as a name: three letters or more, not all capitals (roman numerals)."""
    return len(text) >= 3 and any(c.islower() for c in text)


def with_other_number(question: str, context: str, rng: random.Random) -> str | None:
    """A number of the question that the paragraph has, replaced by a near one it has not (a year by a year)."""
    found = [m for m in _NUMBER.finditer(question) if m.group(0) in context]
    if not found:
        return None
    match = rng.choice(found)
    text = match.group(0).replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return None
    for _ in range(10):
        if value.is_integer() and 1000 <= value <= 2100:
            candidate = str(int(value) + rng.choice([-1, 1]) * rng.randint(1, 30))
        elif value.is_integer():
            candidate = str(int(value) + rng.choice([-1, 1]) * rng.randint(1, max(2, int(value))))
        else:
            candidate = f"{value * rng.uniform(0.3, 3.0):.{len(text.split('.')[1])}f}"
        if candidate not in context and not candidate.startswith("-") and candidate != text:
            return question[: match.start()] + candidate + question[match.end() :]
    return None


def with_exclusion(question: str, answer: str, context: str) -> str | None:
    """The question asking for something other than its answer, when the answer is a name (capitalised, short,
    not a list) that the paragraph names once."""
    if not answer or not answer[0].isupper() or len(answer.split()) > _SHORT_ANSWER_WORDS:
        return None
    if re.search(r",|\band\b|\bor\b", answer):
        return None
    if context.count(answer) != 1 or not question.rstrip().endswith("?"):
        return None
    return question.rstrip()[:-1].rstrip() + f" other than {answer}?"


def with_impossible_condition(question: str, context: str, rng: random.Random) -> str | None:
    """The question limited to a time after the paragraph's last year (or before its first), when the question
    names no year itself."""
    years = [int(y) for y in _YEAR.findall(context)]
    if not years or _YEAR.search(question) or not question.rstrip().endswith("?"):
        return None
    if rng.random() < 0.5:
        condition = f"after {max(years) + rng.randint(5, 40)}"
    else:
        condition = f"before {min(years) - rng.randint(5, 40)}"
    return question.rstrip()[:-1].rstrip() + f" {condition}?"


def make_negatives(
    articles: list[Article],
    answerable: list[Example],
    other_paragraph_share: float,
    near_miss_share: float,
    seed: int,
    near_miss_kinds: tuple[str, ...] = NEAR_MISS_KINDS,
) -> list[Example]:
    """For each answerable example, with the given probabilities, an other-paragraph negative and a near miss
    (of a kind chosen at random among ``near_miss_kinds`` that apply to the question)."""
    rng = random.Random(seed)
    by_title = {a.title: a for a in articles}
    paragraphs: dict[str, ArticleParagraphs] = {}
    negatives: list[Example] = []
    for example in answerable:
        article = by_title[example.article]
        if example.article not in paragraphs:
            paragraphs[example.article] = ArticleParagraphs(article)
        index = paragraphs[example.article]
        if rng.random() < other_paragraph_share:
            own = index.contexts.index(example.context)
            other = index.nearest_other(example.question, own, example.answer_text)
            if other is not None:
                negatives.append(_negative(example, example.question, index.contexts[other], OTHER_PARAGRAPH))
        if rng.random() < near_miss_share:
            makers = {
                NEGATION: lambda: negated(example.question),
                ANTONYM: lambda: with_antonym(example.question, example.context),
                ENTITY_SWAP: lambda: with_other_entity(example.question, example.context, index.names, rng),
                NUMBER_SWAP: lambda: with_other_number(example.question, example.context, rng),
                MUTUAL_EXCLUSION: lambda: with_exclusion(example.question, example.answer_text, example.context),
                IMPOSSIBLE_CONDITION: lambda: with_impossible_condition(example.question, example.context, rng),
            }
            kinds = list(near_miss_kinds)
            rng.shuffle(kinds)
            # The rarer kinds first, when they apply: a negation applies to almost every question.
            kinds.sort(key=lambda k: k == NEGATION)
            for kind in kinds:
                question = makers[kind]()
                if question:
                    negatives.append(_negative(example, question, example.context, kind))
                    break
    return negatives


def _negative(example: Example, question: str, context: str, kind: str) -> Example:
    return Example(f"{example.qid}-{kind}", question, context, "", -1, kind, example.article)
