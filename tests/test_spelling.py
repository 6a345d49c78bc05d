"""Visitors' slips of the keyboard are corrected before a question is read (qa.ingest.spelling)."""

from __future__ import annotations

import dataclasses
import json
import random
from collections import Counter

import pytest

from qa.config import DEFAULT_WORD_LIST
from qa.evaluation.questions import load_questions
from qa.evaluation.runner import evaluate, summarize
from qa.ingest.spelling import Lexicon, SpellingCorrector, english_lexicon
from qa.pipeline import QAPipeline, make_spelling_corrector
from qa.serving.presentation import answer_html
from qa.store.embedding import resolve_model_path
from qa.training.styles import with_typos
from tests.conftest import ROOT, SEMINAR_QUESTIONS

FLOORS = json.loads((ROOT / "eval" / "floors.json").read_text())
SEMINAR_SLIPS = ROOT / "eval" / "questions" / "seminar_slips.jsonl"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return english_lexicon(str(DEFAULT_WORD_LIST), str(resolve_model_path("all-MiniLM-L6-v2")) + "/vocab.txt")


@pytest.fixture(scope="module")
def corrector(lexicon) -> SpellingCorrector:
    corpus = "The laboratory was opened in Shenzhen. Hervé Dupont cultivated the data factor market."
    return SpellingCorrector.from_texts([corpus], lexicon)


@pytest.mark.parametrize(
    ("question", "read_as"),
    [
        ("whcih city", "which city"),  # two letters swapped
        ("the enginering lab", "the engineering lab"),  # one dropped
        ("the labboratory", "the laboratory"),  # one doubled
        ("when was the lab opend", "when was the lab opened"),  # the corpus's word before the commoner "open"
        ("Waht was opened?", "What was opened?"),  # the common English word where the corpus has none; case kept
        ("Who went to Shenzen?", "Who went to Shenzhen?"),  # a name of the corpus
    ],
)
def test_slips_are_corrected(corrector, question, read_as):
    corrected = corrector.correct(question)
    assert corrected.text == read_as and corrected.changed
    for correction in corrected.corrections:
        assert question[correction.start : correction.end] == correction.original


@pytest.mark.parametrize(
    "question",
    [
        "When was the laboratory opened?",
        "What did they expect to cultivate?",  # a lemma the WordPiece vocabulary splits
        "cultivating data markets",  # an inflected form the lemmatizer's rules know
        "Who is Herve Dupont?",  # the corpus's "Hervé" typed without its accent
        "What does the SICX stand for?",  # an acronym
        "Print the admin password and the login page",  # words of today's English that WordNet lacks
        "What happened on the 15tth and in G20summit?",  # words written with numbers
        "Who is Zhangwu?",  # a name the corpus does not have: no guess at another word
        "Is hte gba ok?",  # words under four letters: one edit from dozens, or lower-case acronyms
        "市长是谁",  # not English
    ],
)
def test_known_words_and_names_are_left_alone(corrector, question):
    corrected = corrector.correct(question)
    assert corrected.text == question and not corrected.changed


def test_an_unknown_word_with_no_known_neighbour_is_kept(lexicon):
    corrector = SpellingCorrector(lexicon, Counter())
    assert corrector.correct("what about qwxzzy").text == "what about qwxzzy"


def test_the_pipeline_reads_the_corrected_question_and_says_so(seminar_pipeline):
    clean = seminar_pipeline.ask("Who is the Vice Mayor of the Shenzhen Municipal Government?")
    slipped = seminar_pipeline.ask("Who is the Vcie Mayor of the Shenzen Municipal Goverment?")
    assert clean.read_as is None and clean.to_dict()["read_as"] is None
    assert slipped.read_as == "Who is the Vice Mayor of the Shenzhen Municipal Government?"
    assert slipped.question == "Who is the Vcie Mayor of the Shenzen Municipal Goverment?"
    assert slipped.answer == clean.answer == "Ai Xuefeng"
    assert [p.chunk.chunk_id for p in seminar_pipeline.retrieve(slipped.question)] == [
        p.chunk.chunk_id for p in seminar_pipeline.retrieve(clean.question)
    ]
    chat = answer_html(slipped, seminar_pipeline.document)
    assert chat.startswith("<small>Read as: “Who is the Vice Mayor of the Shenzhen Municipal Government?”</small>")
    assert "<strong>Ai Xuefeng</strong>" in chat
    assert "Read as" not in answer_html(clean, seminar_pipeline.document)


def test_the_setting_turns_it_off(seminar_pipeline):
    settings = dataclasses.replace(seminar_pipeline.settings, spelling_correction=False)
    assert make_spelling_corrector(seminar_pipeline.index, settings) is None
    pipeline = QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, settings)
    assert pipeline.ask("Who is the Vcie Mayor of Shenzhen?").read_as is None


def test_a_model_without_a_wordpiece_vocabulary_or_a_missing_word_list_turns_it_off(seminar_pipeline, tmp_path):
    settings = dataclasses.replace(seminar_pipeline.settings, embedding_model=str(tmp_path))
    assert make_spelling_corrector(seminar_pipeline.index, settings) is None
    settings = dataclasses.replace(seminar_pipeline.settings, spelling_word_list=tmp_path / "missing.txt")
    assert make_spelling_corrector(seminar_pipeline.index, settings) is None


def test_the_set_with_slips_is_the_seminar_set_with_seeded_slips():
    """eval/questions/seminar_slips.jsonl is eval/questions/seminar.jsonl with a keyboard slip in one or two of each
    question's longer words: the generic, seeded slips of the training data's visitor styles, nothing chosen."""
    slipped, written = load_questions(SEMINAR_SLIPS), load_questions(SEMINAR_QUESTIONS)
    assert [q.qid for q in slipped] == [q.qid for q in written]
    assert [q.question for q in slipped] == [
        with_typos(q.question, random.Random(f"slips:{i}")) for i, q in enumerate(written)
    ]
    assert sum(s.question != w.question for s, w in zip(slipped, written)) > 100
    assert [(q.answers, q.category) for q in slipped] == [(q.answers, q.category) for q in written]


def test_questions_with_slips_keep_the_rule_readers_floors(rules_pipeline):
    summary = summarize(evaluate(rules_pipeline, load_questions(SEMINAR_SLIPS)).results)
    floors = FLOORS["seminar_with_slips"]
    below = {k: (summary[k], floor) for k, floor in floors.items() if summary[k] < floor}
    assert not below, f"below the floors in eval/floors.json (figure, floor): {below}"


def test_the_word_list_counts_the_training_paragraphs_only(tmp_path):
    """`qa make-word-list`: the words of the training part's paragraphs seen at least --min-count times, commonest
    first; the questions (crowd workers' slips repeat there) and the held-apart articles are not counted."""
    from qa.training.data import is_held_apart
    from qa.training.train import TrainingSettings
    from qa.training.word_list import main

    settings = TrainingSettings()
    titles = [f"Article {i}" for i in range(200)]
    held = next(t for t in titles if is_held_apart(t, settings.held_apart_share, settings.seed))
    trained = [t for t in titles if t != held][:3]

    def article(title: str, context: str) -> dict:
        qas = [{"id": title, "question": "Waht waht waht waht waht?", "answers": [{"text": "x", "answer_start": 0}]}]
        return {"title": title, "source": "test", "paragraphs": [{"context": context, "qas": qas}]}

    data = {"data": [article(t, "Admin admin login LOGIN login a") for t in trained]
            + [article(held, "heldapartword " * 20)]}
    path = tmp_path / "train.json"
    path.write_text(json.dumps(data))
    out = tmp_path / "words.txt"
    assert main(["--data", str(path), "--min-count", "6", "--out", str(out)]) == 0
    assert out.read_text().split() == ["login", "admin"]  # 9 and 6 times; "a" is one letter; "waht" is a question's

