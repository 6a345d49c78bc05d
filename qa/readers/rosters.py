"""Questions about who holds which title, answered from the rosters a report writes (:mod:`qa.ingest.rosters`).

Three kinds, each answered only when the roster settles it, and left to the reader otherwise (``None``):

* a person by title: "Who is the Vice Director-General of the Shenzhen Municipal Government Affairs Data
  Administration?", "district mayor", "sic big data department director general": the entries whose title the
  question names, word for word with the same modifier ("Vice" and "Deputy" alike; the bare "President" is not a
  "Vice President"), and whose body holds the question's other words; answered when one entry fits best;
* a person's title: "Who is Du Ping?", "what's Zheng's job", "What does Huang Wei do?": the title as written next
  to the name, with its body where it is written there;
* a person's body: "Which organisation does Zeng Jianpeng work for?": the body the roster gives the title;
* a person's superior or deputy: "Whose deputy is Zeng Jianpeng?", "who is liu jiachen's deputy": the one person
  of the same body whose title is the named person's without its modifier ("Vice"), or with one.

And one near miss they show: asked who holds a title that no roster read lists, a reader that names a person
listed with that title and another modifier ("Who is the President of the SIC?" answered with its Vice
President) is wrong (:meth:`RosterReader.lacks_the_title_asked`).

A person is named in full, or by one of their names where it names no one else in the rosters read (written
capitalised, or of four letters or more: "zheng", not "du"). A question with a word that neither the entry nor
the short list of words such questions use (:data:`QUESTION_WORDS`) accounts for asks something else ("Who is
the Vice Mayor of Guangzhou?", "What did Zhou Min say about the Institute?") and goes to the reader. Only the
rosters of the retrieved passages' sentences are read, so a corpus of many reports asks the ones retrieved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from qa.ingest import answer_types as rules
from qa.ingest.rosters import RosterEntry, find_roster_entries, title_words
from qa.readers.base import SpanPrediction
from qa.readers.lookups import LookupReader
from qa.retrieval.hybrid import STOPWORDS
from qa.types import Chunk, Passage

# Words a question about a roster uses beside the names, titles and bodies it asks about.
QUESTION_WORDS = frozenset(
    [
        "who", "whom", "whose", "what", "which", "is", "was", "are", "were", "s", "the", "a", "an", "name", "names",
        "title", "titles", "position", "job", "role", "post", "rank", "capacity", "designation", "occupation", "do",
        "does", "did", "work", "works", "worked", "working", "for", "at", "from", "come", "comes", "came", "represent",
        "represents", "represented", "body", "organisation", "organization", "institution", "department", "agency",
        "authority", "office", "unit", "seminar", "event", "meeting", "conference", "forum", "attend", "attends",
        "attended", "attending", "listed", "list", "mentioned", "named", "article", "page", "report", "official",
        "officials", "person", "there", "serve", "serves", "served", "serving", "as", "hold", "holds", "held",
        "current", "currently", "exactly", "full", "his", "her", "mr", "ms", "mrs", "dr", "tell", "me", "of", "in",
        "on", "this", "that", "one", "present", "presented", "participate", "participated", "whos", "whats"
    ]
)
_ROLE_ASKED = re.compile(
    r"\b(?:title|position|job|role|post|rank|capacity|designation|occupation)\b|\bwhat\s+(?:does|did|do)\b.*\bdo\b"
    r"|^\s*who\s+(?:is|was)\b",
    re.IGNORECASE,
)
_BODY_ASKED = re.compile(
    r"\b(?:which|what)\s+(?:body|organi[sz]ation|institution|department|agency|authority|office|bureau|unit|government)\b"
    r"|\bwork(?:s|ed)?\s+(?:for|at)\b|\bcom(?:e|es)\s+from\b|\bcame\s+from\b|\brepresent(?:s|ed)?\b",
    re.IGNORECASE,
)
# A person's superior or deputy: the entry of the same body whose title is theirs without, or with, a modifier.
_SUPERIOR_ASKED = re.compile(
    r"\bwhose\s+(?:deputy|vice|assistant|number\s+two)\b|\b(?:boss|superior|supervisor)\b|\breports?\s+to\b", re.IGNORECASE)
_DEPUTY_ASKED = re.compile(r"\b(?:deputy|vice|assistant|number\s+two|second[\s-]in[\s-]command)\b", re.IGNORECASE)
RELATION_WORDS = frozenset(
    ["boss", "superior", "supervisor", "reports", "report", "vice", "assistant", "number", "two", "second", "command"]
)
# A relation asked of a title, not of a named person ("the Vice Mayor's deputy"): not a title's holder.
_RELATION_OF_TITLE = re.compile(r"(?:'s|\b(?:his|her|their|whose))\s+(?:deputy|vice|assistant|boss|superior)\b|\bdeputy\s+(?:of|to)\b",
                                re.IGNORECASE)
# Someone asked beside a title's holder ("Who attended with the District Mayor?"): not the holder.
_BESIDE = re.compile(r"\b(?:with|besides|beside|alongside|except|after|before|than|apart\s+from|other\s+than)\b", re.IGNORECASE)
# A yes-or-no question ("Was Zhou Min present?"): no title answers it.
_YES_NO = re.compile(r"^\s*(?:is|was|are|were|did|does|do|has|have|had|can|could|will|would)\b", re.IGNORECASE)
_PERSON_ASKED = re.compile(r"\bwho(?:m)?\b|\bname\b|\bwhich\s+(?:person|official|leader|one)\b", re.IGNORECASE)
_WH = re.compile(r"\b(?:who|whom|whose|what|which|when|where|why|how)\b", re.IGNORECASE)
_NAME_WORD = re.compile(r"[A-Za-z]+")
# Title modifiers compared as one: "Vice Director-General" and "Deputy Director-General" are the same post.
_SAME_MODIFIER = {"deputy": "vice"}
_MODIFIERS = rules.TITLE_MODIFIERS | {"vice"}
SHORT_NAME_CHARS = 4  # a single name in lower case counts from this length ("zheng"; "du" must be "Du")


@dataclass
class RosterReader(LookupReader):
    """Answers questions of a person by title, of a person's title, and of a person's body from the rosters."""

    @cached_property
    def _entries(self) -> dict[str, list[RosterEntry]]:
        """Every roster entry of the corpus, by document: a question reads those of its retrieved documents only."""
        texts = {doc_id: document.text for doc_id, document in self.index.documents.items()}
        by_document: dict[str, list[RosterEntry]] = {}
        for entry in find_roster_entries(self.index.sentences, texts):
            by_document.setdefault(entry.doc_id, []).append(entry)
        return by_document

    def read(self, question: str, passages: list[Passage]) -> SpanPrediction | None:
        entries = self._retrieved(passages)
        if not entries or (_YES_NO.match(question) and not _WH.search(question)):
            return None
        words = _compared(title_words(question))
        named = self._named(question, entries, passages)
        if len(named) > 1:
            return None  # a question about two people ("Whose deputy is ...?") is the reader's
        if named:
            entry = named[0]
            relation = _SUPERIOR_ASKED.search(question) or _DEPUTY_ASKED.search(question)
            if relation is not None:
                return self._related(words, entry, entries, superior=relation.re is _SUPERIOR_ASKED, passages=passages)
            body_asked = _BODY_ASKED.search(question)
            if body_asked is not None and entry.body is not None:
                if self._unexplained(words, entry) or not self._subject(question, entry, body_asked):
                    return None
                return self._answer(entry, entry.body, passages, "ROSTER_BODY")
            if _ROLE_ASKED.search(question) or not _WH.search(question):
                if self._unexplained(words, entry):
                    return None
                return self._answer(entry, entry.role, passages, "ROSTER_TITLE")
            return None
        if (_WH.search(question) and not _PERSON_ASKED.search(question)) or _RELATION_OF_TITLE.search(question) \
                or _BESIDE.search(question):
            return None
        return self._person_by_title(words, entries, passages)

    def _subject(self, question: str, entry: RosterEntry, body_asked: re.Match[str]) -> bool:
        """Whether the named person is who the body is asked of: "Which body does Zeng work for?", "Zeng works for
        which body?", not "Who works for Zeng?"."""
        if body_asked.group(0).lower().startswith(("which", "what")):
            return True
        first_name_at = min((m.start() for part in self._text(entry, entry.person).lower().split()
                             for m in re.finditer(rf"\b{re.escape(part)}\b", question.lower())), default=len(question))
        return first_name_at < body_asked.start()

    def names_another(self, roster_answer: SpanPrediction, prediction: SpanPrediction) -> bool:
        """Whether ``prediction`` (a reader's) names a listed person other than the one the roster answers with:
        the roster says who holds the title asked, and the reader gave someone listed with another."""
        if roster_answer.label != "ROSTER_PERSON":
            return False
        answer = self.index.documents[roster_answer.doc_id].text[roster_answer.start : roster_answer.end]
        return any(self._text(e, e.person) != answer
                   for e in self._listed_at(prediction, self._entries.get(prediction.doc_id, [])))

    def lacks_the_title_asked(self, question: str, passages: list[Passage], prediction: SpanPrediction) -> bool:
        """A near miss the rosters show: the question asks who holds a title, the rosters read list no one with
        it, and ``prediction`` (a reader's) names a person they list with that title and another modifier (the
        "Vice President" for "Who is the President of the SIC?")."""
        entries = self._retrieved(passages)
        if not entries or self._named(question, entries, passages) or (_WH.search(question) and not _PERSON_ASKED.search(question)):
            return False
        words = _compared(title_words(question))
        asked = {w for w in words if w in rules.TITLE_WORDS}
        core = asked - _MODIFIERS
        if not core or self._person_by_title(words, entries, passages) is not None:
            return False
        for entry in self._listed_at(prediction, entries):
            title = set(_compared(title_words(self._text(entry, entry.title))))
            if title - _MODIFIERS == core and title != asked:
                return True
        return False

    def _person_by_title(self, words: list[str], entries: list[RosterEntry], passages: list[Passage]) -> SpanPrediction | None:
        asked_titles = {w for w in words if w in rules.TITLE_WORDS}
        fitting = []
        for entry in entries:
            title = set(_compared(title_words(self._text(entry, entry.title))))
            title_asked = {w for w in title if w in rules.TITLE_WORDS or w in rules.TITLE_MODIFIERS}
            if not title <= set(words) or title_asked != asked_titles:
                continue
            body = set(title_words(self._text(entry, entry.body))) - STOPWORDS if entry.body else set()
            if self._unexplained(words, entry):
                continue
            fitting.append((len(body & set(words)), entry))
        if not fitting:
            return None
        best = max(score for score, _ in fitting)
        top = [entry for score, entry in fitting if score == best]
        if len({self._text(e, e.person) for e in top}) != 1 or (best == 0 and len(fitting) > 1):
            return None
        return self._answer(top[0], top[0].person, passages, "ROSTER_PERSON")

    def _related(self, words: list[str], entry: RosterEntry, entries: list[RosterEntry], superior: bool,
                 passages: list[Passage]) -> SpanPrediction | None:
        """The superior (the same title without its modifier) or the deputy (with one) of the entry's person in
        the same body, when there is exactly one."""
        if entry.body is None:
            return None
        title = _compared(title_words(self._text(entry, entry.title)))
        body = self._text(entry, entry.body)
        wanted = [w for w in title if w != "vice"] if superior else ["vice", *title]
        if superior == ("vice" not in title):
            return None  # a superior asked of someone without a modifier, or a deputy of a deputy
        if self._unexplained(words, entry, RELATION_WORDS):
            return None
        related = {self._text(e, e.person): e for e in entries
                   if e.body is not None and self._text(e, e.body) == body
                   and sorted(_compared(title_words(self._text(e, e.title)))) == sorted(wanted)}
        if len(related) != 1:
            return None
        other = next(iter(related.values()))
        return self._answer(other, other.person, passages, "ROSTER_PERSON")

    def _named(self, question: str, entries: list[RosterEntry], passages: list[Passage]) -> list[RosterEntry]:
        """The entries of the people the question names (one entry per person: the first). One name names a
        person only where no one else listed in the retrieved documents has it ("Wei": Wei Ying or Huang Wei)."""
        asked = {w.lower(): w for w in _NAME_WORD.findall(question)}
        names = {self._text(e, e.person): e for e in reversed(entries)}
        documents = {p.chunk.doc_id for p in passages}
        by_word: dict[str, set[str]] = {}
        for name in {self._text(e, e.person) for d in documents for e in self._entries.get(d, [])}:
            for word in name.lower().split():
                by_word.setdefault(word, set()).add(name)
        named = set()
        for name in names:
            parts = name.lower().split()
            if all(p in asked for p in parts):
                named.add(name)
                continue
            for part in parts:
                written = asked.get(part)
                if (written is not None and by_word[part] == {name} and part not in STOPWORDS
                        and (written[:1].isupper() or (len(part) >= SHORT_NAME_CHARS and _WH.search(question)))):
                    named.add(name)
        return [names[n] for n in sorted(named)]

    def _unexplained(self, words: list[str], entry: RosterEntry, also: frozenset[str] = frozenset()) -> bool:
        """Whether the question has a word that neither the entry (its name, title and body) nor the words such
        questions use (and ``also``) account for: then it asks something the roster does not say."""
        known = set(also)
        for part in (entry.person, entry.role, entry.body):
            if part is not None:
                known |= set(_compared(title_words(self._text(entry, part))))
        return any(w not in known and w not in QUESTION_WORDS and w not in STOPWORDS for w in words)

    def _retrieved(self, passages: list[Passage]) -> list[RosterEntry]:
        """The entries whose sentence the passages hold (a part of it is enough)."""
        def held(entry: RosterEntry, chunk: Chunk) -> bool:
            sentence = self.index.sentences[entry.sentence_id]
            return chunk.doc_id == entry.doc_id and chunk.start < sentence.end and sentence.start < chunk.end

        documents = dict.fromkeys(p.chunk.doc_id for p in passages)  # in retrieval order, once each
        return [e for d in documents for e in self._entries.get(d, []) if any(held(e, p.chunk) for p in passages)]

    @staticmethod
    def _listed_at(prediction: SpanPrediction, entries: list[RosterEntry]) -> list[RosterEntry]:
        """The entries whose person's name the prediction's span touches."""
        return [e for e in entries
                if e.doc_id == prediction.doc_id and e.person[0] < prediction.end and prediction.start < e.person[1]]

    def _text(self, entry: RosterEntry, span: tuple[int, int]) -> str:
        return self.index.documents[entry.doc_id].text[span[0] : span[1]]

    def _answer(self, entry: RosterEntry, span: tuple[int, int], passages: list[Passage], label: str) -> SpanPrediction | None:
        sentence = self.index.sentences[entry.sentence_id]
        score = passages[0].score if passages else 0.0
        return self._prediction(entry.doc_id, span, (sentence.start, sentence.end), score, label, "roster")


def _compared(words: list[str]) -> list[str]:
    """Words as titles are compared: "deputy" as "vice"."""
    return [_SAME_MODIFIER.get(w, w) for w in words]
