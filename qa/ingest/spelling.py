"""A visitor's slips of the keyboard, corrected before the question is read.

Visitors type fast: "whcih city was the enginering lab opend in". A word nobody knows reaches neither BM25 (no
document has it), nor the embedding, nor the readers' answer types intact: on the development questions with
one keyboard slip in one or two of each question's words, F1 falls by a quarter (docs/reader-and-training.md).

A word is *known* when the corpus has it, when the English lexicon has it (the words used at least five times in
the training articles, qa/data/english_words.txt, and the whole words of the embedding model's WordPiece
vocabulary, both ordered by how common they are, and the lemmas of spaCy's English lemmatizer, WordNet's), or
when one of the lemmatizer's suffix rules turns it into a lemma ("cultivating" →
"cultivate"). An unknown word is replaced by the likeliest known word one edit away (a letter dropped, added,
changed, or two neighbours swapped), the likeliest being the commonest by a prior that mixes how often the
corpus uses the word with its rank in the lexicon (Zipf's law), so that a slip becomes the corpus's word where
it has one ("opend" → "opened") and the common English word otherwise ("waht" → "what"). Nothing is changed
when no known word is one edit away, and only letters a to z are corrected (a corpus's "Hervé" is known as
"herve"). Names: a capitalised word inside the question, an upper-case acronym or a
word with digits is a name the bot may not know; capitalised words are only corrected to a word of the corpus
("Shenzen" → "Shenzhen"), the others never.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from qa.ingest.annotation import load_spacy

_WORD = re.compile(r"[^\W\d_]+")  # a run of letters, in any script
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# WordNet's lemmas that neither the word list nor the WordPiece vocabulary has rank after all of their words.
_WORDNET_RANK_OFFSET = 10_000


@dataclass(frozen=True)
class SpellingSettings:
    # Shorter words are left alone: a three-letter word is one edit from dozens, and lower-case acronyms ("gba")
    # are unknown words; on 14,135 training questions, 2 of the 4 corrections of three-letter words were wrong.
    min_word_chars: int = 4
    # The weight of the corpus's own word frequencies against the lexicon's in the prior of a correction.
    corpus_weight: float = 0.5


@dataclass(frozen=True)
class Correction:
    """One word replaced: ``question[start:end] == original`` in the question as asked."""

    original: str
    replacement: str
    start: int
    end: int


@dataclass(frozen=True)
class CorrectedQuestion:
    text: str
    corrections: tuple[Correction, ...] = ()
    # the message's greeting, request wording or background was set aside first (qa.ingest.question_focus)
    focused: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.corrections) or self.focused


@dataclass(frozen=True)
class Lexicon:
    """Known English words with their rank (1 the commonest), and the lemmatizer's suffix rules that turn an
    inflected form into a lemma."""

    ranks: dict[str, int]
    suffix_rules: tuple[tuple[str, str], ...] = ()
    lemmas: frozenset[str] = field(default=frozenset(), repr=False)

    def knows(self, word: str) -> bool:
        if word in self.ranks:
            return True
        return any(
            word.endswith(old) and (word[: len(word) - len(old)] + new) in self.lemmas
            for old, new in self.suffix_rules
            if len(word) > len(old)
        )

    def rank(self, word: str) -> int | None:
        return self.ranks.get(word)

    @classmethod
    def build(
        cls, common_words: Iterable[str], lemmas: Iterable[str], suffix_rules: Iterable[tuple[str, str]]
    ) -> Lexicon:
        """``common_words`` in order of how common they are; ``lemmas`` (any order) rank after them."""
        ranks: dict[str, int] = {}
        for word in common_words:
            ranks.setdefault(word, len(ranks) + 1)
        lemma_set = frozenset(lemmas)
        first_lemma_rank = len(ranks) + _WORDNET_RANK_OFFSET
        for word in sorted(lemma_set - ranks.keys()):
            ranks[word] = first_lemma_rank
        rules = tuple(dict.fromkeys((old, new) for old, new in suffix_rules if old))
        return cls(ranks, rules, lemma_set)


@lru_cache(maxsize=2)
def english_lexicon(word_list: str, vocabulary_file: str) -> Lexicon:
    """The lexicon of ``word_list`` (one word a line, the commonest first: qa/data/english_words.txt), of
    ``vocabulary_file`` (a WordPiece ``vocab.txt``: its whole lower-case words, in order) and of spaCy's English
    lemmatizer (its lemmas, irregular forms and suffix rules), ranked in that order."""
    lines = [
        *Path(word_list).read_text(encoding="utf-8").splitlines(),
        *Path(vocabulary_file).read_text(encoding="utf-8").splitlines(),
    ]
    common = [line for line in lines if line.isascii() and line.isalpha() and line.islower()]
    tables = load_spacy().get_pipe("lemmatizer").lookups
    lemmas: set[str] = set()
    for words in tables.get_table("lemma_index").values():
        lemmas.update(w for w in words if w.isascii() and w.isalpha())
    for forms in tables.get_table("lemma_exc").values():
        lemmas.update(w for w in forms if w.isascii() and w.isalpha())
    rules = [(old, new) for pairs in tables.get_table("lemma_rules").values() for old, new in pairs if old.isalpha()]
    return Lexicon.build(common, lemmas, rules)


def edits1(word: str) -> list[str]:
    """Every string one edit from ``word`` (``word`` itself may be among them): a letter dropped, two neighbours
    swapped, a letter changed, a letter added, in that order."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _LETTERS]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    return deletes + transposes + replaces + inserts


class SpellingCorrector:
    """Corrects the unknown words of a question against a corpus's words and the English lexicon."""

    def __init__(self, lexicon: Lexicon, corpus_counts: Counter[str], settings: SpellingSettings | None = None):
        self.lexicon = lexicon
        self.settings = settings or SpellingSettings()
        self._corpus = corpus_counts
        self._corpus_total = max(1, sum(corpus_counts.values()))
        # Zipf: the word of rank r has a share 1 / (r * H) of running text, H the harmonic number of the ranks.
        self._harmonic = math.log(max(2, len(lexicon.ranks))) + 0.5772

    @classmethod
    def from_texts(
        cls, texts: Iterable[str], lexicon: Lexicon, settings: SpellingSettings | None = None
    ) -> SpellingCorrector:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(_folded(m.group()) for m in _WORD.finditer(text))
        return cls(lexicon, counts, settings)

    def knows(self, word: str) -> bool:
        return word in self._corpus or self.lexicon.knows(word)

    def correct(self, question: str) -> CorrectedQuestion:
        pieces: list[str] = []
        corrections: list[Correction] = []
        at = 0
        for match in _WORD.finditer(question):
            if _beside_digit(question, match.start(), match.end()):
                continue  # "5th", "G20summit": a number's part, or a code
            replacement = self._replacement(match.group(), inside=match.start() > 0)
            if replacement is None:
                continue
            pieces += [question[at : match.start()], replacement]
            corrections.append(Correction(match.group(), replacement, match.start(), match.end()))
            at = match.end()
        if not corrections:
            return CorrectedQuestion(question)
        return CorrectedQuestion("".join(pieces) + question[at:], tuple(corrections))

    def _replacement(self, word: str, inside: bool) -> str | None:
        lower = word.lower()
        if len(word) < self.settings.min_word_chars or not word.isascii() or self.knows(lower):
            return None
        if word.isupper() and len(word) > 1:
            return None  # an acronym
        corpus_only = inside and word[0].isupper()  # a name: only the corpus's names are worth a guess
        candidates = [
            w
            for w in set(edits1(lower)) - {lower}
            if len(w) >= self.settings.min_word_chars
            and (w in self._corpus or (not corpus_only and self.lexicon.rank(w)))
        ]
        if not candidates:
            return None
        best = max(candidates, key=lambda w: (self._prior(w), w))
        return _same_case(best, word)

    def _prior(self, word: str) -> float:
        corpus = self._corpus.get(word, 0) / self._corpus_total
        rank = self.lexicon.rank(word)
        general = 1.0 / (rank * self._harmonic) if rank else 0.0
        weight = self.settings.corpus_weight
        return weight * corpus + (1 - weight) * general


def _beside_digit(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit())


def _folded(word: str) -> str:
    """``word`` in lower case without its accents, as a visitor types it ("Hervé" → "herve")."""
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()


def _same_case(word: str, like: str) -> str:
    if like[0].isupper():
        return word[0].upper() + word[1:]
    return word
