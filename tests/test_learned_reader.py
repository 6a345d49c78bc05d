"""The learned reader: the shipped span model and combiner load with ONNX Runtime and answer the seminar page."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from qa.config import Settings
from qa.errors import ModelError
from qa.evaluation.metrics import f1
from qa.pipeline import QAPipeline
from qa.readers import LearnedReader, RuleReader
from qa.readers.combiner import COMBINER_FILE, FEATURES, Combiner, LinearModel
from qa.readers.span_model import OnnxSpanModel
from qa.readers.spans import best_spans, null_score

MODEL_DIR = Settings().reader_model_dir


@pytest.fixture(scope="module")
def learned_pipeline(seminar_pipeline):
    settings = dataclasses.replace(seminar_pipeline.settings, reader="learned")
    return QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, settings)


def test_the_learned_reader_loads_the_shipped_model_and_combiner(learned_pipeline) -> None:
    assert isinstance(learned_pipeline.reader, LearnedReader)
    assert learned_pipeline.answer_threshold == Combiner.load(MODEL_DIR / COMBINER_FILE).threshold
    assert "held-apart training articles" in Combiner.load(MODEL_DIR / COMBINER_FILE).fitted_on


@pytest.mark.parametrize(
    "question, expected",
    [
        ("When was the seminar held?", "December 15th"),
        ("Where was the seminar held?", "Shenzhen"),
        ("Who is the Vice Mayor of the Shenzhen Municipal Government?", "Ai Xuefeng"),
        ("When did the SIC establish a strategic partnership with the Shenzhen Municipal Government?", "November 2018"),
        # in a "Name, Title of Body, Name, ..." list (the step-3,100 model answered "SIC and Du Ping")
        ("Which organisation is Zhou Min the Vice President of?", "SIC"),
    ],
)
def test_answers_seminar_questions_with_exact_citations(learned_pipeline, question, expected) -> None:
    answer = learned_pipeline.ask(question)
    assert not answer.no_answer, (question, answer.candidate, answer.confidence)
    assert f1(expected, answer.answer) >= 0.5, (question, answer.answer)
    [citation] = answer.citations
    text = learned_pipeline.document(citation.doc_id).text
    assert text[citation.start : citation.end] == citation.quote == answer.answer
    assert citation.passage_start <= citation.start < citation.end <= citation.passage_end


def test_abstains_where_the_page_does_not_say(learned_pipeline) -> None:
    answer = learned_pipeline.ask("What is the population of Shenzhen?")
    assert answer.no_answer and answer.answer is None and not answer.citations


def test_rules_stay_available(seminar_pipeline) -> None:
    settings = dataclasses.replace(seminar_pipeline.settings, reader="rules")
    pipeline = QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, settings)
    assert isinstance(pipeline.reader, RuleReader)
    assert pipeline.answer_threshold == settings.answer_threshold
    assert pipeline.ask("When was the seminar held?").answer == "December 15th"


def test_the_threshold_can_be_overridden(learned_pipeline) -> None:
    settings = dataclasses.replace(learned_pipeline.settings, reader_answer_threshold=1.0)
    pipeline = QAPipeline.from_index(learned_pipeline.index, learned_pipeline.embedder, settings)
    assert pipeline.ask("When was the seminar held?").no_answer


def test_the_early_exit_is_the_combiners_unless_set(learned_pipeline) -> None:
    """The rest of the passages are read under the early exit fitted with the combiner; the setting overrides it,
    and a combiner file written before the early exit was fitted loads with the old fixed value."""
    from qa.readers.combiner import DEFAULT_EARLY_EXIT

    fitted = Combiner.load(MODEL_DIR / "combiner.json")
    assert learned_pipeline.reader.early_exit == fitted.early_exit
    assert fitted.threshold <= fitted.early_exit <= DEFAULT_EARLY_EXIT
    settings = dataclasses.replace(learned_pipeline.settings, reader_early_exit=1.0)
    pipeline = QAPipeline.from_index(learned_pipeline.index, learned_pipeline.embedder, settings)
    assert pipeline.reader.early_exit == 1.0
    assert pipeline.ask("When was the seminar held?").answer == learned_pipeline.ask("When was the seminar held?").answer
    # a raised threshold raises it: a first reading's choice that would be refused never stops the reading
    settings = dataclasses.replace(learned_pipeline.settings, reader_answer_threshold=0.8)
    raised = QAPipeline.from_index(learned_pipeline.index, learned_pipeline.embedder, settings)
    assert raised.reader.early_exit == fitted.early_exit and raised.reader.reads_on_under == 0.8


def test_each_way_of_reading_has_its_own_combiner(learned_pipeline, tmp_path) -> None:
    from qa.readers.combiner import SENTENCE_WINDOWS_COMBINER_FILE

    settings = dataclasses.replace(learned_pipeline.settings, reader_sentence_windows=True)
    packed = QAPipeline.from_index(learned_pipeline.index, learned_pipeline.embedder, settings)
    fitted = Combiner.load(MODEL_DIR / SENTENCE_WINDOWS_COMBINER_FILE)
    assert packed.answer_threshold == fitted.threshold and "one window of the best sentences" in fitted.fitted_on
    assert packed.reader.combiner.confidence == fitted.confidence != learned_pipeline.reader.combiner.confidence
    # a model folder without it: a clear error that names the file
    folder = tmp_path / "model"
    folder.mkdir()
    for f in MODEL_DIR.iterdir():
        if f.name != SENTENCE_WINDOWS_COMBINER_FILE:
            (folder / f.name).symlink_to(f)
    settings = dataclasses.replace(settings, reader_model_dir=folder)
    with pytest.raises(ModelError, match=SENTENCE_WINDOWS_COMBINER_FILE):
        QAPipeline.from_index(learned_pipeline.index, learned_pipeline.embedder, settings)


def test_the_precision_setting_picks_the_graph_and_both_answer(learned_pipeline) -> None:
    """The shipped int8 graph (loaded where the CPU has VNNI) and the fp32 one answer alike; a wrong word is a
    clear error."""
    from qa.readers import cpu_features

    answers = {}
    # int8 is shipped for CPUs with VNNI; elsewhere ONNX Runtime's u8s8 kernels may saturate, so it is not checked
    precisions = ("fp32", "int8") if cpu_features.has_vnni() else ("fp32",)
    for precision in precisions:
        settings = dataclasses.replace(learned_pipeline.settings, reader_precision=precision)
        pipeline = QAPipeline.from_index(learned_pipeline.index, learned_pipeline.embedder, settings)
        assert pipeline.reader.span_model.precision == precision
        answers[precision] = pipeline.ask("Who is the Vice Mayor of the Shenzhen Municipal Government?").answer
    assert answers == dict.fromkeys(precisions, "Ai Xuefeng")
    settings = dataclasses.replace(learned_pipeline.settings, reader_precision="fp16")
    with pytest.raises(ValueError, match="reader_precision: use auto, int8, fp32"):
        QAPipeline.from_index(learned_pipeline.index, learned_pipeline.embedder, settings)


def test_span_model_reads_long_passages_in_windows() -> None:
    model = OnnxSpanModel(MODEL_DIR)
    long_text = " ".join(f"Sentence {i} says that the river number {i} flows north." for i in range(80))
    windows = model.score("Where does river number 70 flow?", [long_text, "A short one."])
    assert {w.text_index for w in windows} == {0, 1}
    first = [w for w in windows if w.text_index == 0]
    assert len(first) > 1 and all(len(w.offsets) <= model.max_length for w in first)
    # every context token's offsets point into the text
    for w in first:
        for i in np.flatnonzero(w.context):
            a, b = w.offsets[i]
            assert 0 <= a < b <= len(long_text)


def test_a_very_long_question_still_leaves_room_for_the_passage() -> None:
    model = OnnxSpanModel(MODEL_DIR)
    windows = model.score("where " * 600, ["The seminar was held in Shenzhen."])
    assert windows and windows[0].context.any()


def test_an_incomplete_model_folder_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="incomplete"):
        OnnxSpanModel(tmp_path)


def test_best_spans_stay_in_the_context_and_within_length() -> None:
    starts = np.array([9.0, 0.0, 5.0, 1.0, 0.0, 0.0])
    ends = np.array([9.0, 0.0, 0.0, 4.0, 6.0, 0.0])
    context = np.array([False, False, True, True, True, True])
    spans = best_spans(starts, ends, context, count=3, max_tokens=3)
    assert spans[0].start == 2 and spans[0].end == 4 and spans[0].score == 11.0  # not the [CLS] token's 18
    assert all(context[s.start] and context[s.end] and 0 <= s.end - s.start < 3 for s in spans)
    assert [s.score for s in spans] == sorted((s.score for s in spans), reverse=True)
    assert null_score(starts, ends) == 18.0
    assert best_spans(starts, ends, np.zeros(6, dtype=bool)) == []


def test_combiner_round_trips_and_refuses_unknown_features(tmp_path) -> None:
    from qa.readers.combiner import DEFAULT_EARLY_EXIT

    names = FEATURES[:3]
    chooser = LinearModel({"span_vs_null": 1.0}, 0.0, {"span_vs_null": 0.0}, {"span_vs_null": 1.0})
    confidence = LinearModel({n: 1.0 for n in names}, -0.5, {n: 0.0 for n in names}, {n: 2.0 for n in names})
    combiner = Combiner(chooser, confidence, 0.4, "test")
    combiner.save(tmp_path / "c.json")
    loaded = Combiner.load(tmp_path / "c.json")
    assert loaded == combiner
    features = {"span_score": 2.0, "span_vs_best": 0.0, "span_vs_null": 1.0}
    assert loaded.probability(features) == pytest.approx(1 / (1 + np.exp(-(-0.5 + 1.0 + 0.5))))
    bad = json.loads((tmp_path / "c.json").read_text())
    bad["chooser"]["weights"] = {"shoe_size": 1.0}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ModelError, match="shoe_size"):
        Combiner.load(tmp_path / "bad.json")
    old = json.loads((tmp_path / "c.json").read_text())
    del old["early_exit"]  # a file fitted before the early exit was
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert Combiner.load(tmp_path / "old.json").early_exit == DEFAULT_EARLY_EXIT
    for broken in ("{", '{"weights": {}, "bias": 0, "means": {}, "scales": {}, "threshold": 0.5}'):  # the old flat form too
        (tmp_path / "broken.json").write_text(broken)
        with pytest.raises(ModelError, match="cannot load"):
            Combiner.load(tmp_path / "broken.json")


def test_the_chooser_picks_and_the_confidence_model_scores_the_pick() -> None:
    """The candidate given is the chooser's highest, even where the confidence model would rate another higher;
    its probability is the confidence model's."""
    one = {"span_vs_null": 1.0}
    chooser = LinearModel({"span_vs_null": 1.0}, 0.0, {"span_vs_null": 0.0}, {"span_vs_null": 1.0})
    confidence = LinearModel({"coverage": 1.0}, 0.0, {"coverage": 0.0}, {"coverage": 1.0})
    combiner = Combiner(chooser, confidence, 0.5)
    candidates = [{**one, "span_vs_null": 3.0, "coverage": -1.0}, {**one, "span_vs_null": 0.0, "coverage": 4.0}]
    assert combiner.choose(candidates) == 0
    assert combiner.probability(candidates[0]) == pytest.approx(1 / (1 + np.exp(1.0)))
    assert combiner.choose([]) is None


def _candidates(pipeline, question):
    passages = pipeline.retrieve(question)
    return pipeline.reader.candidates(question, passages, pipeline.embedder.encode([question])[0])


def test_candidates_carry_the_rule_readers_sentence_evidence(learned_pipeline) -> None:
    [best] = [c for c in _candidates(learned_pipeline, "Who is the Vice Mayor of the Shenzhen Municipal Government?")
              if learned_pipeline.document(c.doc_id).text[c.start : c.end] == "Ai Xuefeng"]
    assert set(best.features) == set(FEATURES)
    assert best.features["coverage"] > 0.5 and best.features["dense"] > 0.2 and best.features["name_missing"] == 0.0
    assert best.features["type_fit"] > 0.5  # a person for "Who"
    near_miss = _candidates(learned_pipeline, "Who is the Vice Mayor of Guangzhou?")
    assert any(c.features["name_missing"] == 1.0 for c in near_miss)  # Guangzhou is nowhere on the page


def test_the_byline_is_never_a_candidate(learned_pipeline) -> None:
    """The page's publication date looks like an answer to any "when" question to the span model; the lookups
    answer questions about the page itself, so the reader never proposes the byline's values."""
    from qa.ingest.loading import byline_offsets

    [document] = learned_pipeline.index.documents.values()
    byline = byline_offsets(document.text)
    assert byline, "the seminar page has a byline"
    for question in ("What time did the seminar start?", "When was the seminar held?", "What is the date of the report?"):
        candidates = _candidates(learned_pipeline, question)
        assert candidates and not any(c.start < e and c.end > s for c in candidates for s, e in byline.values())
    assert learned_pipeline.ask("When was this article published?").answer == "2020-12-17"  # the lookup's


def test_best_sentences_packed_in_one_window_map_back_to_the_document(learned_pipeline) -> None:
    """The packed text is whole sentences of the document; every token the split windows count as passage
    maps back to the same characters of the document; the reader answers from it with exact citations."""
    from qa.readers.sentence_windows import pack, split

    reader, question = learned_pipeline.reader, "Who is the Vice Mayor of the Shenzhen Municipal Government?"
    passages = learned_pipeline.retrieve(question)
    analysis = reader.rules.analyse(question)
    assessment = reader.rules.assess(analysis, passages, learned_pipeline.embedder.encode([question])[0],
                                     learned_pipeline.index.sentence_vectors)
    budget = reader.span_model.passage_budget(question)
    text, pieces = pack(learned_pipeline.index, passages, assessment.sentence_evidence, reader.span_model.token_count,
                        budget)
    assert pieces and reader.span_model.token_count(text) <= budget + len(pieces)  # separators may add a token each
    document = learned_pipeline.document(pieces[0].passage.chunk.doc_id).text
    for piece in pieces:
        chunk = piece.passage.chunk
        assert document[chunk.start : chunk.end] == chunk.text == text[piece.packed_start : piece.packed_start + len(chunk.text)]
    windows = split(reader.span_model.score(question, [text]), pieces)
    for window in windows:
        chunk = pieces[window.text_index].passage.chunk
        for i in np.flatnonzero(window.context):
            a, b = window.offsets[i]
            assert document[chunk.start + a : chunk.start + b] == chunk.text[a:b] and b > a
    settings = dataclasses.replace(learned_pipeline.settings, reader_sentence_windows=True)
    packed = QAPipeline.from_index(learned_pipeline.index, learned_pipeline.embedder, settings)
    answer = packed.ask(question)
    assert f1("Ai Xuefeng", answer.answer or answer.candidate or "") >= 0.5  # the person, from the packed window
    citation = (answer.citations or [answer.lead.citation if answer.lead else None])[0]
    if citation is not None:
        assert document[citation.start : citation.end] == citation.quote
        assert citation.passage_start <= citation.start < citation.end <= citation.passage_end
    # the combiner is fit on what the reader reads: with sentence windows, the packed window's candidates only
    vector = learned_pipeline.embedder.encode([question])[0]
    candidates = packed.reader.candidates(question, passages, vector)
    model_spans = [c for c in candidates if c.label != "RULES"]  # the rule reader's own may lie outside the window
    assert model_spans and all(any(p.passage.chunk.start <= c.start < c.end <= p.passage.chunk.end for p in pieces)
                               for c in model_spans)
    best = candidates[packed.reader.combiner.choose([c.features for c in candidates])]
    assert document[best.start : best.end] == packed.ask(question).candidate
