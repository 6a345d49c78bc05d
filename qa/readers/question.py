"""Question analysis: the answer type a question expects and the content terms it asks about."""

from __future__ import annotations

import string
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable

from qa.ingest import answer_types as rules
from qa.ingest.annotation import load_spacy
from qa.ingest.spelling import edits1


@dataclass(frozen=True)
class QuestionTerm:
    """A content word of the question: its lemma and its surface form, both lower-case."""

    lemma: str
    word: str


@dataclass(frozen=True)
class QuestionAnalysis:
    text: str
    answer_type: str
    wh: str  # the wh-phrase found ("how many", "who"), or "" when there is none
    head: str | None  # lemma of the head noun after "which"/"what", when there is one
    plural: bool | None  # the question asks for several things (True), one (False), or does not say (None)
    terms: tuple[QuestionTerm, ...]
    modifiers: frozenset[str]  # title modifiers the question itself uses ("vice", "deputy")
    # Words that narrow the head noun, which the answer's own name often contains: "which *Jiaotong* university",
    # "which research institute from *Hangzhou*" (lemmas and words, lower-case).
    descriptors: tuple[QuestionTerm, ...] = ()
    vocabulary: frozenset[str] = frozenset()  # every word and lemma of the question, function words included
    # Lemmas of terms that are only a guess at the corpus's word (a multilingual model's nearest word for a
    # Chinese one): they count as evidence, but their absence does not mark a near miss.
    guessed: frozenset[str] = frozenset()
    # Lemmas of the question's proper names ("Guangzhou", "Hong Kong"), titles aside: a sentence without one
    # of them is about something else (a near miss).
    names: frozenset[str] = frozenset()
    verbs: frozenset[str] = frozenset()  # lemmas of the question's verbs ("say" in "Who said ...?")
    # Lemmas of the body a title in the question belongs to: "the Director of *the SIC*", "*SIC*'s Director",
    # "the *SIC* Director" (for a Chinese question, every term that is not a title word).
    title_bodies: frozenset[str] = frozenset()
    negated: bool = False  # the question has a negation ("What does not define ...?")
    count: int | None = None  # how many things it asks for ("What are *three* classes ...?"), when it says

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(t.lemma for t in self.terms) | frozenset(t.word for t in self.terms)


class QuestionAnalyzer:
    """Analyses questions with spaCy's tagger and lemmatizer (no parser or NER: a few milliseconds).

    ``vocabulary`` is the corpus's words and lemmas; a question word outside it that is one edit away from a
    corpus word is read as that word ("semniar" → "seminar"). ``proper_nouns`` are the corpus's words that
    are parts of names (lower-case, titles excluded): a visitor typing "who is du ping" means the name the
    tagger only recognises in capitals.
    """

    def __init__(self, vocabulary: Iterable[str] = (), proper_nouns: Iterable[str] = ()) -> None:
        self.vocabulary = frozenset(vocabulary)
        self.proper_nouns = frozenset(proper_nouns) - rules.TITLE_WORDS
        self._nlp = load_spacy()
        self._light_pipes = [
            self._nlp.get_pipe(name) for name in ("tok2vec", "tagger", "attribute_ruler", "lemmatizer") if name in self._nlp.pipe_names
        ]
        self._lock = threading.Lock()  # spaCy components are not documented as thread-safe; this takes ~2 ms

    def analyse(self, question: str) -> QuestionAnalysis:
        with self._lock:
            doc = self._nlp.make_doc(question)
            for component in self._light_pipes:
                doc = component(doc)
        tokens = [t for t in doc if not t.is_space]
        lower = [self._correct_wh(t.lower_) if i == 0 else t.lower_ for i, t in enumerate(tokens)]

        answer_type, wh, wh_at = rules.DESCRIPTION, "", -1
        for i, word in enumerate(lower):
            if word in rules.WH_WORDS or (i == 0 and word in ("name", "list")):
                for phrase, phrase_type in rules.WH_PHRASES:
                    if tuple(lower[i : i + len(phrase)]) == phrase:
                        answer_type, wh, wh_at = phrase_type, " ".join(phrase), i
                        break
                break

        head: str | None = None
        plural: bool | None = None
        descriptors: tuple[QuestionTerm, ...] = ()
        if wh in ("what", "which", "name", "list"):
            head_token = self._head_noun(tokens, wh_at)
            if head_token is not None:
                head = head_token.lemma_.lower()
                plural = head_token.tag_ in ("NNS", "NNPS")
                answer_type = rules.HEAD_NOUN_TYPES.get(head, answer_type)
                descriptors = self._descriptors(tokens, wh_at, head_token)
        if not wh:
            answer_type, head = self._terse_query_type(tokens)
        if wh == "who" and self._asks_who_someone_is(tokens, wh_at):
            answer_type = rules.ROLE  # "Who is Du Ping?": the answer is what the person is
        if (
            wh == "what"
            and wh_at + 1 < len(lower)
            and lower[wh_at + 1] in ("do", "does", "did")
            and any(t.lemma_ == "do" for t in tokens[wh_at + 2 :])  # the tagger calls it AUX or VERB
        ):
            answer_type, head = rules.ACTION, None  # "What did the experts do?": what they did
        elif wh == "what" and wh_at + 1 < len(lower) and lower[wh_at + 1] in ("do", "does", "did"):
            # the last verb (the tagger may call "point" in "point out" a noun) is the one "what" is the object of
            verbs = [t.lemma_.lower() for t in tokens[wh_at + 2 :] if t.pos_ == "VERB" or t.lemma_.lower() in rules.REPORTING_VERBS]
            if verbs and verbs[-1] in rules.REPORTING_VERBS:
                answer_type, head = rules.SPEECH, None  # "What did Du Ping say (in his speech)?": his words
        after_wh = lower[wh_at + 1] if 0 <= wh_at < len(lower) - 1 else ""
        if after_wh in ("were", "are") or wh == "list":
            plural = True
        elif plural is None and after_wh in ("is", "was"):
            plural = False  # "Who is the ...", "What was the ..."

        terms: list[QuestionTerm] = []
        seen: set[str] = set()
        modifiers = frozenset(w for w in lower if w in rules.TITLE_MODIFIERS)
        for token, word in zip(tokens, lower):
            if token.is_punct or word in rules.WH_WORDS or word in rules.QUESTION_FILLER:
                continue
            if token.is_stop and word not in rules.TITLE_WORDS:
                continue
            if all(ch in string.punctuation for ch in word):
                continue
            lemma = token.lemma_.lower()
            lemma, word = self._correct(lemma), self._correct(word)
            if lemma in seen:
                continue
            seen.add(lemma)
            terms.append(QuestionTerm(lemma=lemma, word=word))
        term_lemmas = {t.lemma for t in terms}
        names = frozenset(
            lemma
            for token in tokens
            if token.pos_ == "PROPN"
            and (token.text[:1].isupper() or token.lower_ in self.proper_nouns)  # "wang yaowen position"
            and (lemma := self._correct(token.lemma_.lower())) in term_lemmas
            and lemma not in rules.TITLE_WORDS
            and lemma not in rules.TITLE_MODIFIERS
        )
        return QuestionAnalysis(
            text=question,
            answer_type=answer_type,
            wh=wh,
            head=head,
            plural=plural,
            terms=tuple(terms),
            modifiers=modifiers,
            descriptors=descriptors,
            vocabulary=frozenset(lower) | frozenset(t.lemma_.lower() for t in tokens),
            names=names,
            verbs=frozenset(form for t in tokens if t.pos_ == "VERB" for form in _verb_forms(t.lemma_.lower(), t.lower_)),
            title_bodies=_title_bodies(tokens, lower),
            negated=any(word in rules.NEGATIONS for word in lower),
            count=_asked_count(lower, wh_at) if answer_type not in rules.UNCOUNTED_TYPES else None,
        )

    @staticmethod
    def _terse_query_type(tokens: list) -> tuple[str, str | None]:  # type: ignore[type-arg]
        """A query without a wh-word ("seminar date", "sic vice president", "wang yaowen position"):
        its last noun says what it asks for; a title asks for the person holding it."""
        nouns = [t for t in tokens if t.pos_ in ("NOUN", "PROPN") or t.lower_ in rules.TITLE_WORDS]
        if not nouns:
            return rules.DESCRIPTION, None
        # "vice director general of big data development department": a title of a body asks for its holder
        title_run = 0
        while title_run < len(tokens) and tokens[title_run].lower_ in rules.TITLE_WORDS | rules.TITLE_MODIFIERS | {"-"}:
            title_run += 1
        run = {t.lower_ for t in tokens[:title_run]}
        holder = run & rules.TOP_TITLES or len(run - {"-"}) > 1  # not "count of participants"
        if holder and title_run < len(tokens) and tokens[title_run].lower_ == "of":
            return rules.PERSON, None
        last = nouns[-1].lemma_.lower()
        if nouns[-1].lower_ in rules.TITLE_WORDS or last in rules.TITLE_WORDS:
            return rules.PERSON, None
        if last in rules.HEAD_NOUN_TYPES:
            return rules.HEAD_NOUN_TYPES[last], last
        return rules.DESCRIPTION, None

    def _descriptors(self, tokens: list, wh_at: int, head_token) -> tuple[QuestionTerm, ...]:  # type: ignore[no-untyped-def, type-arg]
        """Content words between the wh-word and its head noun, and a "from/in/of NAME" right after the head."""
        head_at = next(k for k, t in enumerate(tokens) if t.i == head_token.i)
        between = tokens[wh_at + 1 : head_at]
        if any(t.pos_ in ("AUX", "VERB") for t in between):  # "What does a big O notation hide?": no wh-phrase
            return ()
        chosen = [t for t in between if t.pos_ in ("NOUN", "PROPN", "ADJ") and not t.is_stop]
        if head_at + 2 < len(tokens) and tokens[head_at + 1].lower_ in ("from",):
            k = head_at + 2
            while k < len(tokens) and tokens[k].pos_ == "PROPN":
                chosen.append(tokens[k])
                k += 1
        return tuple(
            QuestionTerm(lemma=self._correct(t.lemma_.lower()), word=self._correct(t.lower_))
            for t in chosen
            if t.lower_ not in rules.TITLE_WORDS
        )

    def _asks_who_someone_is(self, tokens: list, wh_at: int) -> bool:  # type: ignore[type-arg]
        """ "Who is/was NAME?": the wh-word, a form of "be", then only a proper name (in capitals or not)."""
        rest = [t for t in tokens[wh_at + 1 :] if not t.is_punct]
        return (
            len(rest) >= 2
            and rest[0].lemma_ == "be"
            and all(t.pos_ == "PROPN" or t.lower_ in self.proper_nouns for t in rest[1:])
        )

    @staticmethod
    def _head_noun(tokens: list, wh_at: int):  # type: ignore[no-untyped-def]
        """The noun a wh-word asks about: "which *university*", "what is the *name* of the *city*"."""
        if wh_at < 0:
            return None
        window = tokens[wh_at + 1 : wh_at + 7]
        for i, token in enumerate(window):
            if token.pos_ in ("NOUN", "PROPN"):
                # "the name of the city": the noun after "of" is the head.
                if token.lemma_.lower() in ("name", "kind", "type", "sort") and i + 1 < len(window):
                    rest = [t for t in window[i + 1 :] if t.pos_ in ("NOUN", "PROPN")]
                    if rest and window[i + 1].lower_ == "of":
                        return rest[0]
                # "which Shenzhen *commission*": the last noun of a compound is its head; "Zeng Jianpeng's
                # *title*": a possessor is not.
                while i + 1 < len(window) and window[i + 1].pos_ in ("NOUN", "PROPN"):
                    i += 1
                # "Which *university*'s institute": the wh-word itself picks the possessor
                asks_possessor = all(t.pos_ in ("DET", "ADJ", "NOUN", "PROPN") for t in window[:i])
                if not asks_possessor and i + 2 < len(window) and window[i + 1].lower_ in ("'s", "’s") and window[i + 2].pos_ in ("NOUN", "PROPN"):
                    i += 2
                    while i + 1 < len(window) and window[i + 1].pos_ in ("NOUN", "PROPN"):
                        i += 1
                return window[i]
            if token.pos_ not in ("DET", "ADJ", "ADV", "AUX", "NUM") and token.lower_ not in ("'s",):
                if i > 0:
                    return None
        return None

    def _correct_wh(self, word: str) -> str:
        if word in rules.WH_WORDS or word in self.vocabulary:
            return word
        for wh in ("when", "where", "what", "which", "who"):
            if _edit_distance_at_most_one(word, wh):
                return wh
        return word

    def _correct(self, word: str) -> str:
        if not self.vocabulary or word in self.vocabulary or len(word) < 5 or not word.isalpha():
            return word
        for candidate in edits1(word):
            if candidate in self.vocabulary:
                return candidate
        return word


def _title_bodies(tokens: list, lower: list[str]) -> frozenset[str]:  # type: ignore[type-arg]
    """The words of the bodies the question's titles belong to: after "<title> of (the)" or a verb that
    stands for a title ("heads the Institute"), and the proper nouns right before a title ("the SIC
    Director", "SIC's Director")."""
    bodies: set[str] = set()
    for i, word in enumerate(lower):
        # "Who heads the Institute?": the verb stands for the top title, its object for the body
        heading = tokens[i].pos_ == "VERB" and tokens[i].lemma_.lower() in rules.HEAD_TITLE_TERMS
        if word not in rules.TITLE_WORDS and not heading:
            continue
        j = i + 1
        while j < len(lower) and lower[j] in rules.TITLE_WORDS | {"-"}:  # "Director - General"
            j += 1
        if heading or (j < len(lower) and lower[j] == "of"):
            j += 0 if heading else 1
            while j < len(tokens) and (tokens[j].pos_ in ("PROPN", "NOUN", "ADJ", "DET", "PART") or lower[j] in ("and", "of", "'s")):
                if tokens[j].pos_ in ("PROPN", "NOUN", "ADJ"):
                    bodies.add(tokens[j].lemma_.lower())
                j += 1
        k = i - 1
        while k >= 0 and (lower[k] in rules.TITLE_WORDS or lower[k] in rules.TITLE_MODIFIERS):
            k -= 1
        if k >= 0 and lower[k] == "'s":
            k -= 1
        while k >= 0 and tokens[k].pos_ == "PROPN" and lower[k] not in rules.TITLE_WORDS:
            bodies.add(tokens[k].lemma_.lower())
            k -= 1
    return frozenset(bodies)


def _verb_forms(lemma: str, word: str) -> set[str]:
    """A verb's lemma, and the stems of its "-ed" form where the lemmatizer may miss ("hoped" → "hop")."""
    forms = {lemma}
    if word.endswith("ed"):
        forms |= {word[:-1], word[:-2]}  # "hoped" → "hope"; "pointed" → "point"
    return forms


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    return a == b or a in set(edits1(b))


def _asked_count(lower: list[str], wh_at: int) -> int | None:
    """The number of things asked for: a number word or figure (2-10) right after the wh-word ("What two
    resources", "Name three"), or after "are/were (the)" ("What are the three classes"); not "the two sides"
    elsewhere in the question, nor a compound ("two-year")."""
    if wh_at < 0:
        return None
    at = wh_at + 1
    if at < len(lower) and lower[at] in ("are", "were"):
        at += 1
        if at < len(lower) and lower[at] == "the":
            at += 1
    if at >= len(lower) or (at + 1 < len(lower) and lower[at + 1] == "-"):
        return None
    word = lower[at]
    return rules.COUNT_WORDS.get(word) or (int(word) if word.isdigit() and 2 <= int(word) <= 10 else None)
