"""The metric code against hand-computed cases, including the official SQuAD v2 script's edge cases."""

from __future__ import annotations

import pytest

from qa.evaluation import metrics


def test_normalisation_follows_the_official_script():
    assert metrics.normalize_answer("The  Bay Area!") == "bay area"
    assert metrics.normalize_answer("an apple, a pear") == "apple pear"
    assert metrics.normalize_answer("Theatre") == "theatre"  # articles only as whole words


def test_exact_and_f1_hand_computed():
    assert metrics.score(["December 15th"], "December 15th") == (1, 1.0)
    assert metrics.score(["December 15th"], "On December 15th") == (0, pytest.approx(0.8))  # p=2/3, r=1
    assert metrics.score(["Ai Xuefeng"], "Zhou Min") == (0, 0.0)
    # max over gold answers
    assert metrics.score(["Shenzhen", "in Shenzhen"], "in Shenzhen") == (1, 1.0)
    # repeated tokens count with multiplicity: gold "a b b", pred "b b b" -> common 2, p=2/3, r=2/3 (articles aside)
    assert metrics.f1("x y y", "y y y") == pytest.approx(2 / 3)


def test_unanswerable_questions():
    # empty gold: only an abstention scores
    assert metrics.score([], None) == (1, 1.0)
    assert metrics.score([], "Shenzhen") == (0, 0.0)
    # an abstention on an answerable question scores nothing
    assert metrics.score(["Shenzhen"], None) == (0, 0.0)
    assert not metrics.is_answerable([]) and metrics.is_answerable(["x"])


def test_punctuation_only_gold_counts_as_no_answer():
    # the official script drops gold answers that normalise to "" and treats the question as unanswerable
    assert metrics.gold_answers(["...", "!"]) == [""]
    assert metrics.score(["..."], None) == (1, 1.0)
    assert metrics.score(["...", "Lisbon"], "Lisbon") == (1, 1.0)
    assert metrics.score(["the"], "the") == (1, 1.0)  # both normalise to empty


def test_duplicate_gold_answers_do_not_change_the_score():
    assert metrics.score(["France", "France", "France"], "France") == metrics.score(["France"], "France")
    assert metrics.score(["10th and 11th centuries"] * 3, "11th centuries") == metrics.score(["10th and 11th centuries"], "11th centuries")


def test_percentile_matches_numpy():
    import numpy as np

    values = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0]
    for q in (0, 50, 95, 100):
        assert metrics.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert metrics.percentile([], 50) == 0.0
