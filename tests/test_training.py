"""The learned reader's recipe: negatives, the combiner's regression, and a few real training steps."""

from __future__ import annotations

import gzip
import json
import random

import numpy as np
import pytest

from qa.training.combiner import fit_logistic
from qa.training.data import Article, answerable_examples, split_articles
from qa.training.negatives import (
    ArticleParagraphs,
    make_negatives,
    negated,
    with_antonym,
    with_other_entity,
    with_other_number,
)


def test_negation_goes_after_the_auxiliary_or_contracts_it() -> None:
    assert negated("What was built by the Normans?") == "What wasn't built by the Normans?"
    assert negated("When did the quake happen?") == "When didn't the quake happen?"
    assert negated("How much money was dedicated to it?") == "How much money was not dedicated to it?"
    assert negated("What is not a river?") is None  # already negated
    assert negated("Who founded Rome?") is None  # no auxiliary to negate


def test_antonym_only_where_the_paragraph_lacks_the_opposite() -> None:
    context = "The largest city is Lagos."
    assert with_antonym("What is the largest city?", context) == "What is the smallest city?"
    assert with_antonym("What is the largest city?", context + " The smallest is Ife.") is None


def test_entity_and_number_swaps_leave_the_paragraph_without_the_new_words() -> None:
    rng = random.Random(0)
    context = "In 1066 William of Normandy invaded England with 7000 men."
    swapped = with_other_entity("Who invaded England in 1066?", context, ["Scotland", "Paris", "England"], rng)
    assert swapped in ("Who invaded Scotland in 1066?", "Who invaded Paris in 1066?")  # never England again
    numbered = with_other_number("Who invaded England in 1066?", context, rng)
    assert numbered is not None and "1066" not in numbered
    year = int(numbered.split()[-1].rstrip("?"))
    assert 1036 <= year <= 1096 and str(year) not in context


def _article(title: str, n: int) -> dict:
    paragraphs = []
    for p in range(3):
        context = (f"The {title} river number {p} flows through the town of Town{p}{n}. It was first mapped in "
                   f"{1800 + 10 * p + n} by Captain Smith{p}. The largest bridge over it is the Bridge{p}{n}.")
        qas = []
        for q, (question, answer) in enumerate([
            (f"Which town does river number {p} flow through?", f"Town{p}{n}"),
            (f"When was river number {p} of the {title} first mapped?", str(1800 + 10 * p + n)),
            (f"Who first mapped river number {p}?", f"Captain Smith{p}"),
            (f"What is the largest bridge over river number {p}?", f"the Bridge{p}{n}"),
        ]):
            qas.append({"id": f"{title}-{p}-{q}", "question": question, "is_impossible": False,
                        "answers": [{"text": answer, "answer_start": context.index(answer)}]})
        paragraphs.append({"context": context, "qas": qas})
    return {"title": title, "source": "test", "paragraphs": paragraphs}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("qa-train") / "tiny.json.gz"
    data = {"version": "v2.0", "data": [_article(f"Article{n}", n) for n in range(8)]}
    with gzip.open(path, "wt") as handle:
        json.dump(data, handle)
    return path


def test_negatives_are_made_of_every_kind_and_never_hold_the_answer(tiny_data) -> None:
    from qa.training.data import load_articles

    articles = load_articles(tiny_data)
    examples = answerable_examples(articles)
    negatives = make_negatives(articles, examples, 1.0, 1.0, seed=1)
    kinds = {n.kind for n in negatives}
    assert {"other_paragraph", "negation", "antonym", "number_swap"} <= kinds
    by_id = {e.qid: e for e in examples}
    for negative in negatives:
        assert not negative.answerable
        source = by_id[negative.qid[: -len(negative.kind) - 1]]
        if negative.kind == "other_paragraph":
            assert negative.question == source.question and source.answer_text not in negative.context
        else:
            assert negative.question != source.question and negative.context == source.context


def test_nearest_other_paragraph_is_the_most_similar_one() -> None:
    article = Article("t", "", [{"context": c, "qas": []} for c in (
        "Cats purr and sleep.", "Dogs bark at the mailman every morning.", "Dogs and cats bark? No: dogs bark.")])
    index = ArticleParagraphs(article)
    assert index.nearest_other("Why do dogs bark at the mailman?", own=1, answer="mailman") == 2
    assert index.nearest_other("Why do dogs bark?", own=2, answer="bark") is None  # the others hold "bark" or nothing


def test_split_is_by_article_and_stable(tiny_data) -> None:
    from qa.training.data import load_articles

    articles = load_articles(tiny_data)
    train, held = split_articles(articles, 0.3, seed=5)
    assert {a.title for a in train}.isdisjoint({a.title for a in held}) and len(train) + len(held) == len(articles)
    assert {a.title for a in split_articles(list(reversed(articles)), 0.3, seed=5)[1]} == {a.title for a in held}


def test_logistic_regression_separates_what_is_separable() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - 2 * x[:, 2] > 0).astype(float)
    weights, bias = fit_logistic(x, y, l2=0.1)
    accuracy = ((x @ weights + bias > 0) == y.astype(bool)).mean()
    assert accuracy > 0.97 and weights[0] > 0 > weights[2] and abs(weights[1]) < abs(weights[0])


def test_training_runs_resumes_and_exports_a_servable_model(tiny_data, tmp_path) -> None:
    """A few real steps on the packaged MiniLM: the recipe works end to end (not a quality check)."""
    from qa.readers.span_model import OnnxSpanModel
    from qa.training.train import main

    out, ship = tmp_path / "run", tmp_path / "shipped"
    common = ["--data", str(tiny_data), "--out", str(out), "--ship-to", str(ship), "--batch-size", "4",
              "--max-length", "96", "--stride", "32", "--held-apart-share", "0.3", "--dev-questions", "4",
              "--checkpoint-every", "2", "--threads", "2", "--rendered-share", "0.5"]
    assert main([*common, "--max-steps", "2"]) == 0
    first = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in first] == [2] and {"dev_f1", "dev_auc", "loss"} <= set(first[0])
    assert main([*common, "--max-steps", "4"]) == 0  # continues from step 2
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert "dev_rendered_f1" in records[1]  # the dev questions rendered too, once rendering is on
    export = json.loads((out / "export.json").read_text())
    assert export["shipped"] in ("int8", "fp32") and export["model_bytes"] > 1_000_000
    model = OnnxSpanModel(ship)
    [window] = model.score("Which town does river number 1 flow through?", ["The river flows through Town11."])
    assert window.start_logits.shape == window.end_logits.shape == (len(window.offsets),)


def test_rendered_calibration_answers_by_margin_and_refuses_near_misses() -> None:
    """qa fit-rendered's fit: right spans have large margins, near misses small ones and a missing name."""
    from qa.training.data import Example
    from qa.training.rendered import RenderedRow, figures, fit

    rng = np.random.default_rng(1)
    rows = []
    for i in range(300):
        answerable = i % 2 == 0
        example = Example(f"q{i}", "Who?", "Ann Lee met Bo.", "Ann Lee" if answerable else "", 0 if answerable else -1,
                          "answerable" if answerable else "entity_swap", "a")
        margin = rng.normal(4.0 if answerable else 0.0, 1.5)
        rows.append(RenderedRow(example, {"margin": margin, "name_missing": float(not answerable and i % 4 == 1)}, "Ann Lee"))
    calibration = fit(rows, "synthetic rows")
    assert calibration.weights["margin"] > 0 and calibration.weights["name_missing"] < 0
    report = figures(rows, calibration)
    assert report["has_ans_f1"] > 80 and report["no_ans_accuracy"] > 80 and report["has_ans_f1_always_answering"] == 100.0


def test_batches_render_a_share_of_the_questions_from_the_given_step(tiny_data) -> None:
    from transformers import AutoTokenizer

    from qa.embedding import resolve_model_path
    from qa.training.data import load_articles
    from qa.training.train import TrainingSettings, batches

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("all-MiniLM-L6-v2"), local_files_only=True)
    stream = answerable_examples(load_articles(tiny_data))[:8]

    def questions(rendered_from_step: int) -> set[str]:
        settings = TrainingSettings(batch_size=2, max_length=96, stride=32, rendered_from_step=rendered_from_step,
                                    rendered_share=1.0)
        seen = set()
        for batch in batches(stream, tokenizer, settings):
            for feature in batch:
                first_sep = feature.input_ids.index(tokenizer.sep_token_id)
                seen.add(tokenizer.decode(feature.input_ids[1:first_sep]))
        return seen

    written = {tokenizer.decode(tokenizer(e.question, add_special_tokens=False)["input_ids"]) for e in stream}
    assert questions(rendered_from_step=1000) <= written  # before the step: as written
    rendered = questions(rendered_from_step=0)
    assert rendered and not rendered & written  # from it, every question (share 1.0) rendered
