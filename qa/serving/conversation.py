"""Follow-up questions: "When was it held?" after "Where was the seminar held?" asks about the seminar.

A pronoun in a follow-up is replaced by the topic of the previous question: the last noun phrase that is
not the thing asked for (a name for he/she/his/her, anything else for it/its/they/there).
"""

from __future__ import annotations

import re
import threading

from qa.ingest.annotation import load_spacy

_THING_PRONOUNS = {"it": "{}", "its": "{}'s", "they": "{}", "them": "{}", "their": "{}'s", "there": "at {}"}
_PERSON_PRONOUNS = {"he": "{}", "she": "{}", "him": "{}", "his": "{}'s", "her": "{}'s"}
_LEADING_FILLER = re.compile(r"^(and|so|also|then|ok|okay|well)\b[\s,]*", re.IGNORECASE)
_WORD = re.compile(r"\b(\w+)\b")
_WH = {"who", "whom", "whose", "what", "which", "when", "where", "why", "how"}
_lock = threading.Lock()  # spaCy pipelines are not documented as thread-safe


def resolve_follow_up(question: str, previous_questions: list[str]) -> str:
    """``question`` made self-contained using the previous questions of the conversation (latest last)."""
    question = _LEADING_FILLER.sub("", question.strip()) or question.strip()
    if not previous_questions:
        return question
    words = [m.group(1).lower() for m in _WORD.finditer(question)]
    pronoun = next((w for w in words if w in _THING_PRONOUNS or w in _PERSON_PRONOUNS), None)
    if pronoun is None:
        return question
    topic = _topic(previous_questions[-1], person=pronoun in _PERSON_PRONOUNS)
    if topic is None:
        return question
    template = _PERSON_PRONOUNS.get(pronoun) or _THING_PRONOUNS[pronoun]
    replacement = template.format(topic)
    return re.sub(rf"\b{pronoun}\b", replacement, question, count=1, flags=re.IGNORECASE)


def _topic(previous: str, person: bool) -> str | None:
    with _lock:
        doc = load_spacy()(previous)
    if person:
        names = [e.text for e in doc.ents if e.label_ == "PERSON"]
        return names[-1] if names else None
    phrases = [
        chunk.text for chunk in doc.noun_chunks
        if chunk.root.lower_ not in _WH and chunk[0].lower_ not in _WH and chunk.root.pos_ != "PRON"
    ]
    return phrases[0] if phrases else None
