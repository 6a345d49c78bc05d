"""The question inside a visitor's message (qa.ingest.question_focus), and the pipeline reading it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from qa.ingest.question_focus import focus
from qa.pipeline import QAPipeline
from qa.serving.presentation import answer_html
from qa.training.styles import WORDY_FRAMES

ROOT = Path(__file__).resolve().parent.parent
VISITORS = ROOT / "eval" / "questions" / "seminar_visitors.jsonl"


@pytest.mark.parametrize(
    "question",
    [
        "When was the seminar held?",
        "who is du ping",
        "When did Dyrrachium  fall to the Normans?",  # spacing kept as typed
        "Name the co-sponsors.",
        "Is this the report of the seminar?",
        "Do you know Du Ping?",  # "do you know" only goes before a question word
        "It was held in Shenzhen. Who hosted it?",  # the question refers back: both sentences stay
        "hi",
        "thanks",
        "'; DROP TABLE feedback; --",  # punctuation at the ends is the visitor's
        "Who is Dr. Du?",  # no sentence ends after an abbreviation
        "What happened at 10 a.m. on Dec 15?",
        "Which U.S. universities attended?",
        "Who said thank you?",  # thanks are set aside after a comma, or as a sentence of their own
        "A question arose: who spoke?",
        "Hi-tech companies: which attended?",
    ],
)
def test_a_plain_question_is_read_as_written(question):
    assert focus(question) == question


@pytest.mark.parametrize(
    "message, question",
    [
        ("hi, who is Du Ping", "who is Du Ping"),
        ("Good morning! When was the seminar held?", "When was the seminar held?"),
        ("who is du ping please", "who is du ping"),
        ("Could you tell me who hosted the seminar?", "who hosted the seminar?"),
        ("I'd like to know where the seminar was held.", "where the seminar was held."),
        ("Any idea who spoke first?", "who spoke first?"),
        ("I’d like to know who spoke.", "who spoke."),  # a phone's curly apostrophe
        ("Could you tell me please who spoke?", "who spoke?"),
        ("im writing a report. who spoke at the seminar? thanks", "who spoke at the seminar?"),
        ("Do you happen to know when the Institute opened?", "when the Institute opened?"),
        (
            ("Hi, I'm writing a piece on local government for a civics class. Could you tell me who the District "
             "Mayor was? Thanks in advance!"),
            "who the District Mayor was?",
        ),
        (
            "I'm researching data flows and a friend said it came up at the event. Which speaker raised it?",
            "I'm researching data flows and a friend said it came up at the event. Which speaker raised it?",
        ),
        ("Hello! Sorry to bother you. Which body sponsored it?", "Which body sponsored it?"),  # a pleasantry is no antecedent
        ("I have a question about the report. Tell me the date of the seminar.", "the date of the seminar."),
    ],
)
def test_greetings_requests_background_and_thanks_are_set_aside(message, question):
    assert focus(message) == question


@pytest.mark.parametrize("frame", WORDY_FRAMES)
def test_every_long_winded_frame_of_the_training_styles_comes_off(frame):
    assert focus(frame.format(q="Who opened the laboratory?")) == "Who opened the laboratory?"


def test_the_development_set_of_visitors_questions_is_well_formed():
    """eval/questions/seminar_visitors.jsonl: visitors' styles written from the page alone; every answer a verbatim
    span of the page."""
    page = (ROOT / "qa" / "data" / "seminar_2020-12-17.txt").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in VISITORS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 100 and len({r["id"] for r in rows}) == len(rows)
    assert {r["category"] for r in rows} >= {"terse", "typo", "wordy", "paraphrase", "unanswerable-near"}
    assert all(answer in page for r in rows for answer in r["answers"])


def test_the_pipeline_reads_the_question_inside_the_message_and_says_so(seminar_pipeline):
    plain = seminar_pipeline.ask("Who is the Vice Mayor of the Shenzhen Municipal Government?")
    message = seminar_pipeline.ask(
        "Hello, I'm preparing a briefing on Hong Kong and Beijing data policy for my team. Could you tell me who "
        "is the Vice Mayor of the Shenzhen Municipal Government? Thank you very much!"
    )
    assert message.read_as == "who is the Vice Mayor of the Shenzhen Municipal Government?"
    assert (message.answer, message.no_answer) == (plain.answer, plain.no_answer)
    assert "Read as" in answer_html(message, seminar_pipeline.document)
    settings = dataclasses.replace(seminar_pipeline.settings, question_focus=False)
    whole = QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, settings)
    assert whole.ask("hi, who is Du Ping?").read_as is None
