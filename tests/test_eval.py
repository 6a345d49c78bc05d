"""The question set, the evaluation runner and its report."""

from __future__ import annotations

import collections
import json

from qa.evaluation.questions import load_questions
from qa.evaluation.report import write_report
from qa.evaluation.runner import evaluate, full_report
from tests.conftest import SEMINAR_QUESTIONS, SQUAD_SET

REQUIRED_KEYS = {
    "exact_match", "f1", "has_ans_f1", "has_ans_em", "no_ans_acc", "recall_at_k", "mrr", "citation_support",
    "latency_ms_p50", "latency_ms_p95", "n", "unsure_rate", "lead_recall", "false_leads", "lead_floor",
}


def test_seminar_question_set_is_complete_and_verbatim(seminar_text):
    questions = load_questions(SEMINAR_QUESTIONS)
    assert len(questions) >= 80
    assert len({q.qid for q in questions}) == len(questions)
    unanswerable = [q for q in questions if not q.answers]
    assert len(unanswerable) >= 20
    assert sum(1 for q in unanswerable if q.category == "near_miss") * 2 >= len(unanswerable)
    for question in questions:
        for answer in question.answers:
            assert answer in seminar_text, f"{question.qid}: {answer!r} is not verbatim in the page"
    categories = collections.Counter(q.category for q in questions)
    assert {"date", "place", "person", "role", "organisation", "list"} <= set(categories)


def test_squad_set_loads_with_paragraph_ids():
    questions = load_questions(SQUAD_SET)
    assert len(questions) == 626
    assert sum(1 for q in questions if not q.answers) == 333
    assert all(q.doc_id for q in questions)


def test_runner_report_has_every_figure(seminar_pipeline, tmp_path):
    questions = load_questions(SEMINAR_QUESTIONS)[:12]
    run = evaluate(seminar_pipeline, questions, name="seminar-sample")
    report = full_report(run)
    assert REQUIRED_KEYS <= set(report)
    assert set(report["recall_at_k"]) == {"1", "3", "5", "10"}
    assert report["n"] == 12 and report["categories"]
    assert {"always_abstain", "top_sentence"} == set(report["baselines"])
    assert len(report["threshold_sweep"]) == 19
    for failure in report["failures"]:
        assert {"question", "expected", "got", "cited_passage"} <= set(failure)
    write_report(report, run, tmp_path / "report")
    assert json.loads((tmp_path / "report" / "report.json").read_text())["n"] == 12
    assert (tmp_path / "report" / "confidence.png").read_bytes()[:4] == b"\x89PNG"
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "## By category" in markdown and "confidence.png" in markdown


def test_always_abstain_baseline_is_exact(seminar_pipeline):
    questions = load_questions(SEMINAR_QUESTIONS)
    run = evaluate(seminar_pipeline, questions[:30])
    baseline = full_report(run)["baselines"]["always_abstain"]
    share = 100.0 * sum(1 for q in questions[:30] if not q.answers) / 30
    assert baseline["exact_match"] == round(share, 2) and baseline["no_ans_acc"] in (100.0, None)


def _result(qid, answers, prediction=None, outcome="none", lead=None):
    from qa.evaluation.runner import QuestionResult, holds_answer

    holds = holds_answer(lead, answers) if lead is not None and answers else None
    return QuestionResult(qid, "q?", "c", answers, bool(answers), prediction, prediction, 0.2, 0, 0.0, 0.0, None,
                          None, None, 1.0, outcome=outcome, lead_sentence=lead, lead_holds_answer=holds)


def test_lead_recall_and_false_leads():
    from qa.evaluation.runner import holds_answer, summarize

    assert holds_answer("It was held in Shenzhen, China.", ["shenzhen"])  # normalised: case, punctuation
    assert not holds_answer("It was held in Shenzhen-Futian.", ["Futian District"])
    assert not holds_answer("The Shenzhenese spoke.", ["Shenzhen"])  # whole words only
    results = [
        _result("a", ["Shenzhen"], prediction="Shenzhen", outcome="answered"),
        _result("b", ["Shenzhen"], outcome="unsure", lead="The seminar was held in Shenzhen."),  # a good lead
        _result("c", ["Futian"], outcome="unsure", lead="The seminar was held in Shenzhen."),  # a lead that misses
        _result("d", ["Hetao"]),  # nothing shown
        _result("e", []),  # unanswerable, nothing shown: right
        _result("f", [], outcome="unsure", lead="Something near."),  # unanswerable with a lead: a false lead
    ]
    figures = summarize(results)
    assert figures["lead_recall"] == round(100 / 3, 2)  # of b, c, d (answerable, not answered): b
    assert figures["false_leads"] == 50.0 and figures["unsure_rate"] == round(300 / 6, 2)


def test_report_shows_leads(rules_pipeline, tmp_path):
    import dataclasses

    from qa.pipeline import QAPipeline

    leads = QAPipeline.from_index(rules_pipeline.index, rules_pipeline.embedder,
                                  dataclasses.replace(rules_pipeline.settings, lead_floor=0.1))
    questions = [q for q in load_questions(SEMINAR_QUESTIONS) if q.question == "engineering lab name"]
    run = evaluate(leads, questions, name="leads")
    report = full_report(run)
    assert report["lead_floor"] == 0.1 and report["unsure_rate"] == 100.0 and report["lead_recall"] == 100.0
    [failure] = report["failures"]
    assert failure["outcome"] == "unsure" and "Engineering Laboratory" in failure["lead"]
    write_report(report, run, tmp_path / "report")
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "lead recall | 100.00" in markdown and "(unsure; lead: " in markdown and "lead floor 0.1" in markdown
