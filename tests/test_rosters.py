"""Who holds which title of which body: the rosters a report writes (qa.ingest.rosters) and the questions they
settle (qa.readers.rosters), on a made report and on the seminar page."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from qa.ingest.annotation import annotate_documents
from qa.ingest.rosters import find_roster_entries
from qa.pipeline import QAPipeline
from qa.readers.base import SpanPrediction
from qa.readers.rosters import RosterReader
from qa.types import Chunk, Document, Passage

# A made report (no name, title or body of the seminar page): the list shapes a meeting report writes.
FORUM = (
    "The Forum on River Basin Policy was held in Lyon on May 3rd. Marie Dubois, Director of the Regional Water "
    "Agency and Paul Martin, Deputy Director, Chen Jie, Secretary-General of the River Basin Council and Vice "
    "Secretary-General Anna Weber, attended the Forum. Peter Novak, Chairman and Olga Ivanova, Vice Chairman of the "
    "Danube Commission, spoke."
)


@pytest.fixture(scope="module")
def forum():
    document = Document(doc_id="forum", text=FORUM, title="Forum")
    sentences = annotate_documents([document])
    chunk = Chunk(chunk_id=0, doc_id="forum", start=0, end=len(FORUM), text=FORUM)
    index = SimpleNamespace(documents={"forum": document}, sentences=sentences, chunks=[chunk])
    return index, [Passage(chunk=chunk, score=1.0, rank=0)]


def _entries(sentences, text):
    return [
        (text[slice(*e.person)], text[slice(*e.title)], text[slice(*e.body)] if e.body else None, text[slice(*e.role)])
        for e in find_roster_entries(sentences, {sentences[0].doc_id: text})
    ]


def test_a_roster_is_read_into_name_title_and_body(forum):
    index, _ = forum
    assert _entries(index.sentences, FORUM) == [
        ("Marie Dubois", "Director", "the Regional Water Agency", "Director of the Regional Water Agency"),
        # the body a list says once for its people: the one it last named, else the next one
        ("Paul Martin", "Deputy Director", "the Regional Water Agency", "Deputy Director"),
        ("Chen Jie", "Secretary-General", "the River Basin Council", "Secretary-General of the River Basin Council"),
        ("Anna Weber", "Vice Secretary-General", "the River Basin Council", "Vice Secretary-General"),  # title first
        ("Peter Novak", "Chairman", "the Danube Commission", "Chairman"),
        ("Olga Ivanova", "Vice Chairman", "the Danube Commission", "Vice Chairman of the Danube Commission"),
    ]


def test_the_seminar_pages_rosters(seminar_pipeline, seminar_text):
    entries = _entries(seminar_pipeline.index.sentences, seminar_text)
    assert len(entries) == 12
    assert ("Du Ping", "Director", "the Institute", "Director of the Institute") in entries  # not "..., attended the"
    assert ("Wang Yaowen", "Vice Director-General", "the Shenzhen Municipal Government Affairs Data Administration",
            "Vice Director-General") in entries
    assert ("Huang Wei", "District Mayor", "the Futian District", "District Mayor") in entries
    assert ("Yu Shiyang", "Director-General", "the Department of Big Data Development of the SIC", "Director-General") in entries


@pytest.mark.parametrize(
    "question, answer",
    [
        ("Who is the Deputy Director of the Regional Water Agency?", "Paul Martin"),
        ("who is the vice director of the water agency", "Paul Martin"),  # "Vice" and "Deputy" alike
        ("river basin council secretary general", "Chen Jie"),
        ("Who is the Chairman?", "Peter Novak"),  # one Chairman, so no body needed
        ("Who is Marie Dubois?", "Director of the Regional Water Agency"),
        ("what's Weber's job", "Vice Secretary-General"),  # by surname
        ("Which organisation does Paul Martin work for?", "the Regional Water Agency"),
        ("Whose deputy is Olga Ivanova?", "Peter Novak"),
        ("who is chen jie's deputy", "Anna Weber"),
    ],
)
def test_questions_the_roster_settles(forum, question, answer):
    index, passages = forum
    prediction = RosterReader(index, confidence=0.9).read(question, passages)  # type: ignore[arg-type]
    assert prediction is not None and FORUM[prediction.start : prediction.end] == answer
    assert prediction.confidence == 0.9 and prediction.sentence_start <= prediction.start < prediction.end <= prediction.sentence_end


@pytest.mark.parametrize(
    "question",
    [
        "Who is the Director of the River Basin Council?",  # a title the Council's list does not have
        "Who is the Vice Chairman of the Rhine Commission?",  # a body the roster does not name
        "Who is the Secretary-General? And the Director?",  # two titles
        "What did Marie Dubois say about the drought?",  # something the roster does not say
        "Who is the Director-General of the Regional Water Agency?",  # the bare "Director" is not a Director-General
        "Who is the Chairman's deputy and the Director's deputy?",
        "Whose deputy is Marie Dubois?",  # she is no one's deputy
        "When was the Forum held?",
        "Who works for Paul Martin?",  # not what Paul Martin works for
        "Who is the Chairman's deputy?",  # a relation of a title, not the title's holder
        "Who attended with the Chairman?",  # someone beside the holder
        "Was Paul Martin present?",  # yes or no
        "martin",  # one lower-case name without a question word
    ],
)
def test_questions_the_roster_does_not_settle_are_left_to_the_reader(forum, question):
    index, passages = forum
    assert RosterReader(index, confidence=0.9).read(question, passages) is None  # type: ignore[arg-type]


def test_only_the_retrieved_passages_rosters_are_read(forum):
    index, _ = forum
    elsewhere = Chunk(chunk_id=1, doc_id="forum", start=0, end=60, text=FORUM[:60])  # the first sentence only
    reader = RosterReader(index, confidence=0.9)  # type: ignore[arg-type]
    assert reader.read("Who is the Chairman?", [Passage(chunk=elsewhere, score=1.0, rank=0)]) is None


def test_the_pipeline_asks_the_roster_where_the_reader_declines(seminar_pipeline):
    question = "sic big data department director general"  # a search box's words
    settings = dataclasses.replace(seminar_pipeline.settings, roster_lookups=False)
    without = QAPipeline.from_index(seminar_pipeline.index, seminar_pipeline.embedder, settings)
    assert without.ask(question).no_answer
    answer = seminar_pipeline.ask(question)
    assert (answer.answer, answer.no_answer) == ("Yu Shiyang", False)
    citation = answer.citations[0]
    assert seminar_pipeline.document(citation.doc_id).text[citation.start : citation.end] == "Yu Shiyang"
    # where the reader answers, its answer stands
    answered = "Who is the Vice Mayor of the Shenzhen Municipal Government?"
    assert seminar_pipeline.ask(answered).answer == without.ask(answered).answer


def test_the_roster_overrules_a_reader_that_names_another_listed_person(forum):
    index, passages = forum
    reader = RosterReader(index, confidence=0.9)  # type: ignore[arg-type]
    roster = reader.read("Who is the Deputy Director of the Regional Water Agency?", passages)
    assert roster is not None

    def naming(words: str) -> SpanPrediction:
        start = FORUM.index(words)
        return dataclasses.replace(roster, start=start, end=start + len(words), confidence=0.5)

    assert reader.names_another(roster, naming("Marie Dubois"))  # listed with another title
    assert not reader.names_another(roster, naming("Paul Martin"))  # the same person
    assert not reader.names_another(roster, naming("Lyon"))  # not a listed person: the reader may know better
    title = reader.read("Who is Marie Dubois?", passages)
    assert title is not None and not reader.names_another(title, naming("Chen Jie"))  # only a person by title overrules


def test_a_title_the_rosters_list_only_with_another_modifier_is_a_near_miss(forum):
    index, passages = forum
    reader = RosterReader(index, confidence=0.9)  # type: ignore[arg-type]
    answer = reader.read("Who is Olga Ivanova?", passages)
    start = FORUM.index("Olga Ivanova")
    olga = dataclasses.replace(answer, start=start, end=start + len("Olga Ivanova"))
    assert reader.lacks_the_title_asked("Who is the Chairman of the Danube Commission?", passages, olga) is False  # Peter Novak
    start = FORUM.index("Paul Martin")
    paul = dataclasses.replace(answer, start=start, end=start + len("Paul Martin"))
    assert reader.lacks_the_title_asked("Who is the Deputy Secretary-General?", passages, paul) is False  # other title
    assert reader.lacks_the_title_asked("Who is the Director of the Agency?", passages, paul) is False  # Marie Dubois is
    start = FORUM.index("Anna Weber")
    anna = dataclasses.replace(answer, start=start, end=start + len("Anna Weber"))
    assert reader.lacks_the_title_asked("Who is the Vice Secretary-General?", passages, anna) is False  # she is
    # a Deputy Director named for a Director the rosters do not list for that body
    assert reader.lacks_the_title_asked("Who is the Director of the Rhine Office?", passages, paul) is True
    assert reader.lacks_the_title_asked("What did the Director of the Rhine Office say?", passages, paul) is False
