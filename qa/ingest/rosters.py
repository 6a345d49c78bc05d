"""Who holds which title of which body, as a report's rosters say it.

Reports of meetings, the portal's kind of page, list who spoke or attended in one appositive run: "Guo Ziping,
Director-General of the Development and Reform Commission of Shenzhen and Zeng Jianpeng, Vice Director-General,
Liu Jiachen, Director-General of the Shenzhen Municipal Government Affairs Data Administration and Vice
Director-General Wang Yaowen, ... attended the Seminar." A span reader reading such a run answers "Who is the
Vice Director-General of the Development and Reform Commission?" with the wrong name of the list as often as
not. :func:`find_roster_entries` reads the run once, from the sentence's annotations, into one
:class:`RosterEntry` per person: the name, the title phrase written next to it (after it, "Zeng Jianpeng, Vice
Director-General"; or before it, "Vice Director-General Wang Yaowen"), and the body the title belongs to, as
written ("of the Development and Reform Commission of Shenzhen") or, where the run leaves it out, the one the run
last named (a list says a body once for its people: "Zeng Jianpeng, Vice Director-General" of the same
Commission), else the next one it names ("A, Director and B, Deputy Director of the X Bureau"). Every part keeps
its character offsets in the document, so an answer read from a roster is cited like any other.

A title is a capitalised phrase holding a title word (:data:`qa.ingest.answer_types.TITLE_WORDS`); a name is a
PERSON entity of the annotation. Nothing here knows any page's names or bodies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.ingest import answer_types as rules
from qa.types import Sentence

# What ends a title phrase that runs on: a comma, "and" before a lower-case word ("Vice Director-General and other
# relevant persons"), a relative pronoun; a verb ends it too ("Director of the Institute attended ...").
_RUN_ON_END = re.compile(r",|;|\s+and\s+(?=[a-z])|\s+(?:who|which|that)\s+")
_SEPARATOR_AT_END = re.compile(r"(?:,|\s+and|,\s*and)\s*$")
_LAST_SEPARATOR = re.compile(r".*(,\s*(?:and\s+)?|\s+and\s+)", re.DOTALL)
_OF = re.compile(r"\s+of\s+")
_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
# The most characters between a run and a body named after it that the run's titles may take as theirs.
FORWARD_BODY_CHARS = 80


@dataclass(frozen=True)
class RosterEntry:
    """One person of a roster, with document offsets: ``person``, the ``title`` phrase ("Vice Director-General"),
    the ``body`` it belongs to (written after the title, or the body the run names for it elsewhere; ``None``
    when the run names none), and ``role``, the title as written next to the name with its body when written
    there ("Director-General of the Development and Reform Commission of Shenzhen")."""

    doc_id: str
    sentence_id: int
    person: tuple[int, int]
    title: tuple[int, int]
    role: tuple[int, int]
    body: tuple[int, int] | None
    body_written: bool  # the body stands in the role itself (not taken from another entry)


def title_words(text: str) -> list[str]:
    """A title's or a question's words as compared: lower case, hyphenated words split ("director", "general")."""
    return [w for word in _WORD.findall(text.lower()) for w in word.split("-")]


def is_title(text: str) -> bool:
    """A capitalised phrase with a title word in it ("Vice Mayor", "District Mayor", "Director-General")."""
    words = _WORD.findall(text)
    return bool(words) and words[0][0].isupper() and any(
        w in rules.TITLE_WORDS and w not in rules.TITLE_MODIFIERS for w in title_words(text))


def find_roster_entries(sentences: list[Sentence], text_of: dict[str, str]) -> list[RosterEntry]:
    """Every person of every sentence whose name stands next to a title, in document order. ``text_of``: each
    document's text, by id."""
    entries: list[RosterEntry] = []
    for sentence in sentences:
        text = text_of[sentence.doc_id]
        people = sorted(p for p in (_bare_name(text, e.start, e.end) for e in sentence.entities if e.label == "PERSON")
                        if p is not None and not re.match(r"['’]s\b", text[p[1] : p[1] + 3]))  # not "Obama's adviser"
        if people:
            entries += _entries(sentence, people, text)
    return entries


def _bare_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    """A PERSON entity without the title words the tagger took into it ("Mayor Ai Xuefeng" → "Ai Xuefeng")."""
    for match in _WORD.finditer(text[start:end]):
        if not all(w in rules.TITLE_WORDS for w in title_words(match.group())):
            return start + match.start(), end
    return None


def _entries(sentence: Sentence, people: list[tuple[int, int]], text: str) -> list[RosterEntry]:
    """The sentence's entries: each name's title (after it, or before it) split into title and body, then the
    bodies a run leaves out filled from its other entries."""
    found: list[tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int] | None]] = []
    title_before: tuple[int, int] | None = _title_before_first(sentence, people[0], text)
    for i, person in enumerate(people):
        after_start = person[1]
        after_end = people[i + 1][0] if i + 1 < len(people) else sentence.end
        role, next_title = _title_after(sentence, text, after_start, after_end, last=i + 1 == len(people))
        if role is not None:
            title, body = _split_role(text, role)
            found.append((person, title, role, body))
        elif title_before is not None:
            found.append((person, title_before, title_before, None))
        title_before = next_title
    entries: list[RosterEntry] = []
    for k, (person, title, role, body) in enumerate(found):
        written = body is not None
        if body is None:
            body = next((b for _, _, _, b in reversed(found[:k]) if b is not None), None)
        if body is None:
            body = next((b for _, _, _, b in found[k + 1 :] if b is not None), None) or _body_after_run(
                sentence, found[-1][2][1])
        entries.append(RosterEntry(sentence.doc_id, sentence.sentence_id, person, title, role, body, written))
    return entries


def _title_before_first(sentence: Sentence, person: tuple[int, int], text: str) -> tuple[int, int] | None:
    """A title written just before the sentence's first name ("Vice Mayor Ai Xuefeng said"): its capitalised
    words back to the first lower-case one."""
    before = text[sentence.start : person[0]]
    match = re.search(r"((?:[A-Z][\w-]*\s+)+)$", before)
    if match is None or not is_title(match.group(1)):
        return None
    return sentence.start + match.start(1), sentence.start + match.start(1) + len(match.group(1).rstrip())


def _title_after(sentence: Sentence, text: str, start: int, end: int, last: bool) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """The title written after a name (", Director of the X"), and a title the same stretch writes before the next
    name ("... and Vice Director-General [Wang Yaowen]"), as document offsets."""
    stretch = text[start:end]
    comma = re.match(r"\s*,\s*", stretch)
    next_title = None
    if not last and not _SEPARATOR_AT_END.search(stretch):
        tail = _LAST_SEPARATOR.match(stretch)
        if tail is not None:
            candidate = stretch[tail.end() :]
            if is_title(candidate):
                next_title = (start + tail.end(), start + tail.end() + len(candidate.rstrip()))
                stretch = stretch[: tail.start(1)]
    if comma is None:
        return None, next_title
    body = stretch[comma.end() :]
    cut = _RUN_ON_END.search(body)
    body = body[: cut.start()] if cut else body
    first = start + comma.end()
    verb = next((t.start for t in sentence.tokens if first <= t.start < first + len(body) and t.pos in ("VERB", "AUX")
                 and text[t.start].islower()), None)
    body = body[: verb - first] if verb is not None else body
    body = _SEPARATOR_AT_END.sub("", body).rstrip(" .")
    if not body or not is_title(body):
        return None, next_title
    return (first, first + len(body)), next_title


def _split_role(text: str, role: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """"Director-General of the X Commission" → the title and the body (after the first "of")."""
    written = text[role[0] : role[1]]
    match = _OF.search(written)
    if match is None:
        return role, None
    return (role[0], role[0] + match.start()), (role[0] + match.end(), role[1])


def _body_after_run(sentence: Sentence, run_end: int) -> tuple[int, int] | None:
    """The first organisation named soon after a run that names none ("A, Director and B, Deputy Director and
    others in charge of the X Bureau")."""
    for entity in sorted(sentence.entities, key=lambda e: e.start):
        if entity.label in ("ORG", "GPE") and run_end <= entity.start <= run_end + FORWARD_BODY_CHARS:
            between = [t for t in sentence.tokens if run_end <= t.start < entity.start]
            return None if any(t.pos in ("VERB", "AUX") for t in between) else (entity.start, entity.end)
    return None
