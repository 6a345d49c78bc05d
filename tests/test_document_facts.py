"""Questions about the page itself are answered from its byline, cited where the byline stands."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from qa.ingest.definitions import find_definitions
from qa.readers.lookups import DATE, SOURCE, DocumentFactReader, _names, asked_fact, asked_short_name
from qa.types import Chunk, Document, Passage


@pytest.mark.parametrize(
    "question, fact",
    [
        ("When was this news report published?", DATE),
        ("On what date was the article posted?", DATE),
        ("What is the publication date of this page?", DATE),
        ("What is the source of the article?", SOURCE),
        ("Who published this report?", SOURCE),
        ("Which department released the news?", SOURCE),
        ("这篇文章是哪天发布的？", DATE),
        ("本文的发布日期是什么？", DATE),
        ("这篇报道的来源是哪个部门？", SOURCE),
        # Questions about what the page reports, not about the page.
        ("When was the seminar held?", None),
        ("Who delivered a keynote report?", None),
        ("What did the experts report?", None),
        ("When did SIC establish a strategic partnership with the Shenzhen Municipal Government?", None),
        ("研讨会是什么时候举行的？", None),
        ("哪家公司作了专题报告？", None),
        ("What is the date of this article?", DATE),
        ("When was this published?", DATE),
        ("本文发布于哪天？", DATE),
        # Other things' dates and sources (found by a review): never the page's byline.
        ("What is the release date of the new policy?", None),
        ("When was the report on the digital economy released?", None),
        ("Which company released the report?", None),
        ("Who is the author of the report on smart cities?", None),
        ("该公司什么时候发布了新产品？", None),
        ("这份白皮书的发布时间是？", None),
        ("政策的发布日期是什么？", None),
        ("该数据的来源是什么？", None),
    ],
)
def test_which_questions_ask_about_the_page(question, fact):
    assert asked_fact(question) == fact


@pytest.mark.parametrize(
    "question, answer",
    [("When was this news report published?", "2020-12-17"), ("What is the source of the article?", "Department of Big Data Development")],
)
def test_answered_from_the_byline_of_the_seminar_page(seminar_pipeline, question, answer):
    reply = seminar_pipeline.ask(question)
    assert reply.answer == answer and not reply.no_answer
    citation = reply.citations[0]
    text = seminar_pipeline.document(citation.doc_id).text
    assert text[citation.start : citation.end] == answer
    assert "Source:" in text[citation.passage_start : citation.passage_end]  # the byline is the cited passage
    assert reply.sentence is not None and answer in reply.sentence


def _index_of(document: Document) -> SimpleNamespace:
    chunk = Chunk(chunk_id=0, doc_id=document.doc_id, start=0, end=len(document.text), text=document.text)
    return SimpleNamespace(documents={document.doc_id: document}, chunks=[chunk])


def test_a_page_without_a_byline_is_left_to_the_reader():
    document = Document(doc_id="notes", text="Meeting notes.\nThe meeting was held on 3 May.", title="Notes")
    index = _index_of(document)
    passages = [Passage(chunk=index.chunks[0], score=1.0, rank=0)]
    reader = DocumentFactReader(index, confidence=0.9)  # type: ignore[arg-type]
    assert reader.read("When was this article published?", passages) is None
    assert reader.read("When was this article published?", []) is None


def test_the_answer_is_the_value_where_it_stands():
    # The date stands in the title too: the citation is the byline's.
    text = "Annual report 2024-03-01\nSource:Press Office Date:2024-03-01\n\nThe board met on 2024-03-01 again."
    document = Document(doc_id="r", text=text, source="Press Office", date="2024-03-01")
    index = _index_of(document)
    prediction = DocumentFactReader(index, confidence=0.9).read(  # type: ignore[arg-type]
        "When was this report published?", [Passage(chunk=index.chunks[0], score=1.0, rank=0)]
    )
    assert prediction is not None and prediction.confidence == 0.9
    assert text[prediction.start : prediction.end] == "2024-03-01" and prediction.start == text.index("Date:") + 5
    assert text[prediction.sentence_start : prediction.sentence_end] == "Source:Press Office Date:2024-03-01"


# -- names the page defines ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, name",
    [
        ("What does SIC stand for?", "SIC"),
        ('What does "the Bay Area" stand for in the article?', '"the Bay Area"'),
        ("What is the full name of the Institute?", "the Institute"),
        ("SIC stands for what?", "SIC"),
        ("What is SIC short for?", "SIC"),
        ("SIC的全称是什么？", "SIC"),
        ("SIC代表什么？", "SIC"),
        # Not a definition: what something does or is.
        ("What does the Institute do?", None),
        ("What is the SIC's role?", None),
        ("What did Zhou Min stand up for?", None),
    ],
)
def test_which_questions_ask_what_a_name_stands_for(question, name):
    assert asked_short_name(question) == name


def test_the_page_defines_an_acronym_and_two_short_names(seminar_pipeline, seminar_text):
    found = {d.short: seminar_text[d.start : d.end] for d in find_definitions(seminar_pipeline.index.sentences)}
    assert found == {
        "sic": "State Information Center",
        "bay area": "Guangdong-Hong Kong-Macao Greater Bay Area",  # "Area(hereinafter referred as the Bay Area)"
        "institute": "Guangdong-Hong Kong-Macao Greater Bay Area Big Data Institute",
    }


@pytest.mark.parametrize(
    "question, answer",
    [
        ("What does SIC stand for?", "State Information Center"),
        ("What is the full name of the Institute?", "Guangdong-Hong Kong-Macao Greater Bay Area Big Data Institute"),
        ("SIC的全称是什么？", "State Information Center"),
        ("What is the full name of the SIC?", "State Information Center"),  # "the SIC" is the acronym too
    ],
)
def test_a_defined_name_is_answered_with_its_long_form_where_it_is_defined(seminar_pipeline, seminar_text, question, answer):
    result = seminar_pipeline.ask(question)
    citation = result.citations[0]
    assert result.answer == answer == seminar_text[citation.start : citation.end]
    assert seminar_text[citation.end : citation.end + 8] in (" (SIC). ", "(hereina", " (herein")


def test_a_name_the_page_does_not_define_is_left_to_the_reader(seminar_pipeline):
    passages = seminar_pipeline.retrieve("What does NASA stand for?")
    assert seminar_pipeline.definitions.read("What does NASA stand for?", passages) is None
    assert seminar_pipeline.ask("What does NASA stand for?").no_answer


def test_an_acronym_is_asked_about_as_written_or_in_lower_case_if_no_common_word(seminar_pipeline):
    passages = seminar_pipeline.retrieve("What does SIC stand for?")
    assert seminar_pipeline.definitions.read("what does sic stand for", passages) is not None
    defined = [d for d in find_definitions(seminar_pipeline.index.sentences) if d.acronym]
    it = dataclasses.replace(defined[0], written="IT", short="it")  # a page defining "(IT)"
    assert not _names(it, "it") and _names(it, "IT")


@pytest.mark.parametrize(
    "question, answer",
    [
        # the page's title writes it whole; its first sentence breaks it with "(hereinafter ...)"
        ("What is the full name of the seminar?", "Guangdong-Hong Kong-Macao Greater Bay Area Big Data Center Construction and Data Factor Market Cultivation Seminar"),
        ("full name of the university", "China University of Political Science and Law"),  # not the Institute of it
        ("What is the full name of the commission?", "Development and Reform Commission of Shenzhen"),  # not "... and Zeng Jianpeng"
        ("What is the full name of the company?", "Hua Kong Tsing Jiao company"),
        ("What is the full name of the department?", "Department of Big Data Development"),  # not the byline's "Date:2020"
        ("What is the full name of the laboratory?", "Engineering Laboratory of Big Data Distribution and Exchange Technologies"),
    ],
)
def test_an_undefined_full_name_is_the_longest_name_written_around_the_word(seminar_pipeline, seminar_text, question, answer):
    result = seminar_pipeline.ask(question)
    citation = result.citations[0]
    assert result.answer == answer == seminar_text[citation.start : citation.end]


def test_a_full_name_question_about_a_word_the_page_never_names_is_left_to_the_reader(seminar_pipeline):
    passages = seminar_pipeline.retrieve("What is the full name of the museum?")
    assert seminar_pipeline.definitions.read("What is the full name of the museum?", passages) is None


def test_a_persons_full_name_is_no_lookup(seminar_pipeline):
    passages = seminar_pipeline.retrieve("What is the full name of Du Ping?")
    assert seminar_pipeline.definitions.read("What is the full name of Du Ping?", passages) is None  # not "SIC and Du Ping"


def test_the_full_name_asked_ends_before_what_the_question_says_of_it(seminar_pipeline):
    answer = seminar_pipeline.ask("What is the full name of the seminar held in Shenzhen?").answer
    assert answer.startswith("Guangdong-Hong Kong-Macao") and answer.endswith("Cultivation Seminar")


def test_full_names_found_stay_right_when_the_cache_is_renewed(seminar_pipeline, monkeypatch):
    import qa.readers.lookups

    monkeypatch.setattr(qa.readers.lookups, "FULL_NAME_WORDS_KEPT", 1)
    for question, answer in [
        ("What is the full name of the commission?", "Development and Reform Commission of Shenzhen"),
        ("What is the full name of the company?", "Hua Kong Tsing Jiao company"),
        ("What is the full name of the commission?", "Development and Reform Commission of Shenzhen"),
    ]:
        assert seminar_pipeline.ask(question).answer == answer
