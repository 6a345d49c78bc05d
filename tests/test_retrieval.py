"""BM25 scores match the Okapi formula, computed here independently, term by term."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qa.retrieval.hybrid import BM25, lexical_terms

TEXTS = [
    "The Riverside Data Lab opened on May 1st in Lisbon.",
    "Its director is Ana Costa; the lab studies data pricing.",
    "The seminar was held in Shenzhen. Data, data and more data.",
    "",
]


def okapi(texts: list[str], query: str, k1: float = 1.2, b: float = 0.75) -> list[float]:
    docs = [lexical_terms(t) for t in texts]
    average = sum(map(len, docs)) / len(docs)
    scores = []
    for doc in docs:
        score = 0.0
        for term in set(lexical_terms(query)):
            df = sum(term in d for d in docs)
            if not df:
                continue
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            tf = doc.count(term)
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / average))
        scores.append(score)
    return scores


@pytest.mark.parametrize("query", ["data lab", "Who is the director of the lab?", "Shenzhen data data", "unknown words", ""])
def test_bm25_matches_the_formula(query):
    assert np.allclose(BM25(TEXTS).scores(query), okapi(TEXTS, query))


def test_bm25_of_no_texts():
    assert BM25([]).scores("data").shape == (0,)


def test_a_defined_acronym_also_searches_for_its_long_name(seminar_pipeline):
    retriever = seminar_pipeline.retriever
    assert retriever.lexical_query("What does SIC stand for?") == "What does SIC stand for? State Information Center"
    assert retriever.lexical_query("what does sic mean?") == "what does sic mean?"  # only as the page writes it
    top = seminar_pipeline.retrieve("What does SIC stand for?", k=5)
    assert any("State Information Center (SIC)" in p.chunk.text for p in top)
