"""Extractive readers: pick the answer span in the retrieved passages, or abstain.

``RuleReader`` is the built-in reader (no pretrained QA model can be installed here): it analyses the
question (answer type, content terms), ranks the sentences of the retrieved passages by how much of the
question they contain, generates candidate spans of the expected type from the best sentences (entities,
lists of entities, titles, noun phrases, reported clauses) and scores each by type fit, closeness to the
question's terms and novelty (an answer does not repeat the question). ``TransformersReader`` plugs in a
transformers extractive-QA checkpoint from a local path instead.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Protocol

import numpy as np

from . import answer_types as rules
from .definitions import ALIAS_BRACKET
from .index import CorpusIndex
from .question import QuestionAnalysis, QuestionAnalyzer
from .types import Chunk, Passage, Sentence, Token


@dataclass(frozen=True)
class SpanPrediction:
    """A reader's best span: offsets into the document, its sentence, the passage it came from."""

    doc_id: str
    start: int
    end: int
    sentence_start: int
    sentence_end: int
    passage: Passage
    confidence: float
    label: str = ""
    features: dict[str, float] = field(default_factory=dict)  # the evidence behind the confidence


class Reader(Protocol):
    def read(self, question: str, passages: list[Passage], question_vector: np.ndarray) -> SpanPrediction | None:
        """The best span in ``passages`` with a confidence in 0..1 (``None`` when there is no candidate)."""
        ...


@dataclass(frozen=True, slots=True)
class _Candidate:
    first: int  # token index of the first token
    last: int  # token index after the last token
    label: str
    is_list: bool = False
    # Lemmas of the nouns this span gives examples of ("the fundamental *issues* ... such as [cross-border
    # data flow, ...]"): the span is of the kind they name.
    examples_of: frozenset[str] = frozenset()


@dataclass(slots=True)
class _SentenceFacts:
    """What the reader derives from a sentence whatever the question: computed once, then reused."""

    words: list[str]  # each token's text, lower-cased
    neighbours: list[list[int]]  # the dependency tree as adjacency lists
    candidates: dict[str, list[_Candidate]] = field(default_factory=dict)  # by answer type
    distances: dict[int, list[int]] = field(default_factory=dict)  # tree distances, by source token

    @classmethod
    def of(cls, sentence: Sentence) -> "_SentenceFacts":
        n = len(sentence.tokens)
        neighbours: list[list[int]] = [[] for _ in range(n)]
        for i, token in enumerate(sentence.tokens):
            if token.head != i and 0 <= token.head < n:
                neighbours[i].append(token.head)
                neighbours[token.head].append(i)
        return cls([_word(sentence, t) for t in sentence.tokens], neighbours)

    @property
    def negated(self) -> bool:
        return any(word in rules.NEGATIONS for word in self.words)

    def tree_distances(self, source: int) -> list[int]:
        """Edges on the dependency tree from token ``source`` to every token of the sentence."""
        if source not in self.distances:
            distance = [len(self.words)] * len(self.words)
            distance[source] = 0
            frontier = [source]
            while frontier:
                following = []
                for i in frontier:
                    for j in self.neighbours[i]:
                        if distance[j] > distance[i] + 1:
                            distance[j] = distance[i] + 1
                            following.append(j)
                frontier = following
            self.distances[source] = distance
        return self.distances[source]


class RuleReader:
    """The built-in extractive reader. All its rules and weights are in :mod:`qa.answer_types`."""

    # Sentences whose facts are kept (~10-35 kB each with three answer types' candidates: some 20-70 MB);
    # past this the cache starts afresh. The seminar page has 90 sentences, the SQuAD set 374.
    facts_kept = 2_000

    def __init__(self, index: CorpusIndex, weights: rules.ReaderWeights | None = None) -> None:
        self.index = index
        self._facts: dict[int, _SentenceFacts] = {}
        self.weights = weights or rules.ReaderWeights()
        document_frequency: dict[str, int] = {}
        vocabulary: set[str] = set()
        proper_nouns: set[str] = set()
        for sentence in index.sentences:
            words = [_word(sentence, t) for t in sentence.tokens]
            seen = {t.lemma for t in sentence.tokens} | set(words)
            vocabulary |= seen
            proper_nouns.update(word for word, t in zip(words, sentence.tokens) if t.pos == "PROPN")
            for lemma in seen:
                document_frequency[lemma] = document_frequency.get(lemma, 0) + 1
        n = max(1, len(index.sentences))
        self._idf = {w: math.log((n + 1) / (f + 0.5)) for w, f in document_frequency.items()}
        self._unseen_idf = math.log((n + 1) / 0.5)
        self.analyzer = QuestionAnalyzer(vocabulary, proper_nouns)
        # "SIC" → the words it stands for, from the page's "State Information Center (SIC)"; a token stands
        # for them only when written the same ("SIC", not "sic"; an "(IT)" never makes every "it" match)
        self.acronyms = {d.written: d.lemmas for d in index.definitions if d.acronym}

    def analyse(self, question: str) -> QuestionAnalysis:
        return self.analyzer.analyse(question)

    def read(self, question: str, passages: list[Passage], question_vector: np.ndarray) -> SpanPrediction | None:
        return self.read_analysed(self.analyzer.analyse(question), passages, question_vector, self.index.sentence_vectors)

    def read_analysed(
        self, analysis: QuestionAnalysis, passages: list[Passage], question_vector: np.ndarray, sentence_vectors: np.ndarray
    ) -> SpanPrediction | None:
        """Read an analysed question; ``sentence_vectors`` (one row per index sentence) are in the space of
        ``question_vector`` (the index's own, or a multilingual model's for a question in another language)."""
        w = self.weights
        idf = {t.lemma: self._idf.get(t.lemma, self._idf.get(t.word, self._unseen_idf)) for t in analysis.terms}
        total_idf = sum(idf.values()) or 1.0

        # Sentences of the passages, each with the best rank of a passage that holds it.
        sentence_rank: dict[int, tuple[int, Passage]] = {}
        for passage in passages:
            for sid in passage.chunk.sentence_ids:
                if sid not in sentence_rank:
                    sentence_rank[sid] = (passage.rank, passage)
        # The question's rarest term that the corpus has: missing from a sentence, it marks a near miss
        # ("the Mayor" where the page has only a "Vice Mayor"). Words the corpus never uses are paraphrases.
        known = [lemma for lemma in idf if idf[lemma] < self._unseen_idf and lemma not in analysis.guessed]
        rarest = max(known, key=lambda lemma: idf[lemma]) if known else None
        # A title modifier the question names ("the *Vice* Director") must be in the sentence, modifying a
        # title the question names: otherwise the sentence is about another office (a near miss).
        asks_title = any(word in rules.TITLE_WORDS and word not in rules.TITLE_MODIFIERS for word in analysis.words)
        modifiers = {lemma for lemma in idf if lemma in analysis.modifiers} if asks_title else set()
        scored = []
        for sid, (rank, passage) in sentence_rank.items():
            sentence = self.index.sentences[sid]
            matches = self._term_matches(sentence, analysis)
            found = set(matches)
            coverage = sum(idf[lemma] for lemma in matches) / total_idf
            previous = self._previous_in_paragraph(sentence)
            if previous is not None:  # "Ai Xuefeng pointed out ... . We hope that ...": the subject is one sentence back
                carried = set(self._term_matches(previous, analysis)) - found
                coverage += w.previous_sentence * sum(idf[lemma] for lemma in carried) / total_idf
                found |= carried
            dense = float(sentence_vectors[sid] @ question_vector)
            evidence = w.coverage * coverage + w.dense * dense + w.passage_rank / (1 + rank)
            near_miss_flags = {
                "rarest_term": 1.0 if rarest is not None and rarest in found else 0.0,
                "modifier_missing": 0.0 if modifiers <= found else 1.0,
                "name_missing": 0.0 if analysis.names <= found else 1.0,
                "negation_missing": float(analysis.negated and not self._sentence_facts(sentence).negated),
                "antonym_present": float(_says_the_opposite(self._sentence_facts(sentence).words, analysis.vocabulary)),
            }
            scored.append((evidence, sid, passage, matches, coverage, dense, near_miss_flags))
        scored.sort(key=lambda item: (-item[0], item[1]))

        # An acronym whose every word the question has repeats it: "SIC" for "the State Information Center".
        repeated_acronyms = {a.lower() for a, expansion in self.acronyms.items() if expansion <= analysis.words}
        ranked: list[tuple[float, Sentence, _Candidate, Passage, dict[str, float]]] = []
        asks_speaker = analysis.answer_type == rules.PERSON and bool(analysis.verbs & rules.REPORTING_VERBS)
        for evidence, sid, passage, matches, coverage, dense, near_miss_flags in scored[: w.sentences_searched]:
            sentence = self.index.sentences[sid]
            sentence_evidence = {"coverage": coverage, "dense": dense}
            speaker = self._reported_by(sentence, passage) if asks_speaker else None
            if speaker is not None:  # "Who said ...?": whoever the paragraph reports, cited where named
                speaker_sentence, speaker_name, speaker_passage = speaker
                # as close to the question's words as the reported sentence holds them
                score = evidence + w.type_fit + w.reported_speaker * coverage
                span_evidence = {"type_fit": 1.0, "proximity": coverage, "anchor": 0.0}
                features = {**sentence_evidence, **span_evidence, **near_miss_flags}
                ranked.append((score, speaker_sentence, speaker_name, speaker_passage, features))
            for candidate, fit, proximity, anchor, span_score in self._score_candidates(
                sentence, analysis, matches, idf, total_idf, repeated_acronyms
            ):
                span_evidence = {"type_fit": fit, "proximity": proximity, "anchor": anchor}
                features = {**sentence_evidence, **span_evidence, **near_miss_flags}
                ranked.append((evidence + span_score, sentence, candidate, passage, features))
        if not ranked:
            return None
        ranked.sort(key=lambda item: -item[0])
        score, sentence, candidate, passage, features = ranked[0]
        start, end = sentence.tokens[candidate.first].start, sentence.tokens[candidate.last - 1].end
        # How far ahead the best span is of the best other answer (a span elsewhere, not overlapping it).
        runner_up = next(
            (
                other[0]
                for other in ranked[1:]
                if other[1].doc_id != sentence.doc_id
                or other[1].tokens[other[2].last - 1].end <= start
                or other[1].tokens[other[2].first].start >= end
            ),
            score - 1.0,
        )
        features["margin"] = min(1.0, score - runner_up)
        features["count_mismatch"] = float(analysis.count is not None and _items(sentence, candidate) != analysis.count)
        features["title_elsewhere"] = float(
            _names_another_title(sentence, candidate, self._term_matches(sentence, analysis), analysis.title_bodies)
        )
        logit = w.conf_bias + sum(w.confidence[name] * value for name, value in features.items())
        return SpanPrediction(
            doc_id=sentence.doc_id,
            start=start,
            end=end,
            sentence_start=sentence.start,
            sentence_end=sentence.end,
            passage=passage,
            confidence=1.0 / (1.0 + math.exp(-logit)),
            label=candidate.label,
            features=features,
        )

    # -- evidence -------------------------------------------------------------------------------------------

    def _sentence_facts(self, sentence: Sentence) -> _SentenceFacts:
        facts = self._facts.get(sentence.sentence_id)
        if facts is None:
            if len(self._facts) >= self.facts_kept:
                self._facts = {}
            facts = self._facts[sentence.sentence_id] = _SentenceFacts.of(sentence)
        return facts

    def _previous_in_paragraph(self, sentence: Sentence) -> Sentence | None:
        if sentence.sentence_id == 0:
            return None
        previous = self.index.sentences[sentence.sentence_id - 1]
        if previous.doc_id != sentence.doc_id:
            return None
        document = self.index.documents[sentence.doc_id]
        return None if "\n" in document.text[previous.end : sentence.start] else previous

    def _reported_by(self, sentence: Sentence, passage: Passage) -> tuple[Sentence, _Candidate, Passage] | None:
        """The person whose words ``sentence`` (read in ``passage``) reports: named next to a reporting verb
        ("Zhou Min said", "said Li Qiang") in it or in one of the few sentences before it in its paragraph
        ("Zhou Min said that ... . ... . SIC will ... help transform ..."), with a passage that holds the name
        (``passage``, or the chunk of the name's sentence)."""
        current: Sentence | None = sentence
        for _ in range(self.weights.reported_speech_reach + 1):
            if current is None:
                return None
            for entity in current.entities:
                rng = _token_range(current, entity.start, entity.end) if entity.label == "PERSON" else None
                if rng is None:
                    continue
                first, last = rng
                around = current.tokens[last : last + 2] + current.tokens[max(0, first - 1) : first]
                if any(t.pos == "VERB" and t.lemma in rules.REPORTING_VERBS for t in around):
                    return self._cited_name(current, _Candidate(first, last, "PERSON"), passage)
            current = self._previous_in_paragraph(current)
        return None

    def _cited_name(self, sentence: Sentence, name: _Candidate, passage: Passage) -> tuple[Sentence, _Candidate, Passage] | None:
        start, end = sentence.tokens[name.first].start, sentence.tokens[name.last - 1].end
        if passage.chunk.doc_id == sentence.doc_id and passage.chunk.start <= start and end <= passage.chunk.end:
            return sentence, name, passage
        chunk = next((c for c in self._chunks_of_sentence.get(sentence.sentence_id, ()) if c.start <= start and end <= c.end), None)
        return (sentence, name, dataclasses.replace(passage, chunk=chunk)) if chunk is not None else None

    @cached_property
    def _chunks_of_sentence(self) -> dict[int, list[Chunk]]:
        """The chunks each sentence overlaps; built on the first question that needs it."""
        chunks: dict[int, list[Chunk]] = {}
        for chunk in self.index.chunks:
            for sid in chunk.sentence_ids:
                chunks.setdefault(sid, []).append(chunk)
        return chunks

    def _term_matches(self, sentence: Sentence, analysis: QuestionAnalysis) -> dict[str, list[int]]:
        """Token positions in ``sentence`` of each question term (by lemma), titles checked for modifiers."""
        by_lemma = {t.lemma: t for t in analysis.terms}
        by_word = {t.word: t for t in analysis.terms}
        words = self._sentence_facts(sentence).words
        # "Who heads the Institute?": "heads" stands for the Institute's top title, "Director"
        head_title = (
            next((t for t in analysis.terms if t.lemma in rules.HEAD_TITLE_TERMS), None)
            if analysis.answer_type == rules.PERSON  # not "What led to ...?" nor "the chief goal"
            else None
        )
        matches: dict[str, list[int]] = {}
        for i, token in enumerate(sentence.tokens):
            term = by_lemma.get(token.lemma) or by_word.get(words[i])
            if term is None and head_title is not None and (token.lemma in rules.TOP_TITLES or words[i] in rules.TOP_TITLES):
                term = head_title
            if term is None:
                # "SIC" stands for each question term its definition has ("State Information Center (SIC)")
                for word in self.acronyms.get(sentence.text[token.start - sentence.start : token.end - sentence.start], ()):
                    expanded = by_lemma.get(word) or by_word.get(word)
                    if expanded is not None and i not in matches.get(expanded.lemma, ()):
                        matches.setdefault(expanded.lemma, []).append(i)
                continue
            if (term.lemma in rules.TITLE_WORDS or term is head_title) and self._modified_title(sentence, i, analysis):
                continue
            if term.lemma in rules.TITLE_MODIFIERS and self._modifies_other_title(sentence, i, analysis):
                continue
            matches.setdefault(term.lemma, []).append(i)
        return matches

    @staticmethod
    def _modifies_other_title(sentence: Sentence, i: int, analysis: QuestionAnalysis) -> bool:
        """Whether the modifier at ``i`` ("Vice") belongs to a title the question does not ask about.

        "Who is the Vice Director of the Institute?" does not find its "vice" in "Zhou Min, Vice President of
        the SIC" (the title "Vice" modifies there is "President"), nor in "Vice Director-General": every title
        word after the modifier in the same compound must be in the question.
        """
        tokens = sentence.tokens
        j = i + 1
        while j < len(tokens) and (tokens[j].start == tokens[j - 1].end or tokens[j].pos in ("PROPN", "NOUN", "ADJ")):
            word = _word(sentence, tokens[j])
            if word in rules.TITLE_WORDS and word not in rules.TITLE_MODIFIERS:
                if word not in analysis.words and tokens[j].lemma not in analysis.words:
                    return True
            j += 1  # on through the compound ("Deputy District *Mayor*"); "of" and punctuation end it
        return False

    @staticmethod
    def _modified_title(sentence: Sentence, i: int, analysis: QuestionAnalysis) -> bool:
        """Whether the title word at ``i`` is part of a longer title the question does not name.

        "Vice Mayor", "District Mayor" and "Vice Director-General" are other offices than "Mayor" and
        "Director-General": a word before the title in the same compound ("Vice", "District") must be in
        the question too.
        """
        tokens = sentence.tokens
        first = i
        while first > 0:
            previous = tokens[first - 1]
            hyphenated = previous.end == tokens[first].start
            if hyphenated or (previous.pos in ("PROPN", "NOUN", "ADJ") and _word(sentence, previous).isalpha()):
                first -= 1
            else:
                break
        question_words = analysis.words | analysis.modifiers
        for j in range(first, i):
            word = _word(sentence, tokens[j])
            if word.isalpha() and word not in question_words and tokens[j].lemma not in question_words:
                if word in rules.TITLE_MODIFIERS or word not in rules.TITLE_WORDS:
                    return True
        return False

    def _score_candidates(self, sentence, analysis, matches, idf, total_idf, repeated_acronyms):  # type: ignore[no-untyped-def]
        """Yield ``(candidate, type fit, proximity, anchor, span score)`` for every admissible span of ``sentence``."""
        w = self.weights
        fits = rules.LABEL_FIT[analysis.answer_type]
        facts = self._sentence_facts(sentence)
        words = facts.words
        candidates = facts.candidates.get(analysis.answer_type)
        if candidates is None:
            candidates = facts.candidates[analysis.answer_type] = _candidates(sentence, analysis.answer_type)
        same_kind_positions: dict[str, list[tuple[int, int]]] = {}
        for c in candidates:
            if not c.is_list:
                same_kind_positions.setdefault(c.label, []).append((c.first, c.last))
        question_words = analysis.words - ({analysis.head} if analysis.head else set())
        repeats = question_words | analysis.words | repeated_acronyms  # its head noun too: not "the concept"
        tree_distances = {p: facts.tree_distances(p) for positions in matches.values() for p in positions}
        matched_positions = set(tree_distances)
        person_positions = {i for a, b in same_kind_positions.get("PERSON", ()) for i in range(a, b)}
        speech = analysis.answer_type == rules.SPEECH  # what someone said is as long as they made it
        for c in candidates:
            fit = fits.get(c.label, 0.0)
            if fit <= 0.0 or (c.is_list and c.label == "PERSON" and analysis.plural is False):
                continue  # "Who is the host?" asks for one person
            root = _root(sentence, c)
            root_kind = rules.HEAD_NOUN_TYPES.get(sentence.tokens[root].lemma)
            # only against a class the question names ("which city"): "Where did he study?" may be a university
            if analysis.head and root_kind != analysis.answer_type and {root_kind, analysis.answer_type} <= _RIVAL_CLASS_TYPES:
                fit *= w.other_class
            content = [
                (t.lemma, words[i])
                for i, t in enumerate(sentence.tokens[c.first : c.last], c.first)
                if not t.is_stop and t.pos not in ("PUNCT", "SYM", "DET")
            ]
            if not content:
                continue
            if all(lemma in repeats or word in repeats for lemma, word in content):
                continue  # the span only repeats the question ("which complexity class" → "complexity classes")
            # Words narrowing the head noun belong inside the answer's name ("which Jiaotong university" →
            # "Beijing Jiaotong University"): they earn credit there instead of an overlap penalty.
            span_words = {lemma for lemma, _ in content} | {word for _, word in content}
            described = [d for d in analysis.descriptors if d.lemma in span_words or d.word in span_words]
            descriptor_words = {d.lemma for d in described} | {d.word for d in described}
            repeated_outside = sum(
                1 for lemma, word in content
                if (lemma in question_words or word in question_words)
                and not (lemma in descriptor_words or word in descriptor_words)
            )
            overlap = repeated_outside / len(content)
            if c.label == "VP" and overlap > 0.5:
                continue  # what X did is not mostly X again ("consider the ... algorithm quicksort")
            described_share = len(described) / len(analysis.descriptors) if analysis.descriptors else 0.0
            proximity = 0.0
            for lemma, positions in matches.items():
                best_closeness = 0.0
                for p in positions:
                    if c.first <= p < c.last:
                        continue
                    distance = c.first - p if p < c.first else p - c.last + 1
                    blockers = sum(
                        1 for a, b in same_kind_positions.get(c.label, ()) if (p < a and b <= c.first) or (c.last <= a and b <= p)
                    )
                    closeness = max(
                        math.exp(-distance / w.proximity_decay), math.exp(-tree_distances[p][root] / w.tree_decay)
                    ) * (w.blocked**blockers)
                    if _bound_elsewhere(words, c, p, p in person_positions):
                        closeness *= w.bound_elsewhere
                    best_closeness = max(best_closeness, closeness)
                proximity += idf[lemma] * best_closeness
            proximity /= total_idf
            length = c.last - c.first
            anchor = _anchor(
                sentence, words, c, analysis, matched_positions,
                backward=not _after_someone_elses_title(words, c, same_kind_positions.get("PERSON", ())),
            )
            head_match = analysis.head is not None and (
                analysis.head in c.examples_of
                or (
                    analysis.answer_type in _CLASS_HEAD_TYPES
                    and sentence.tokens[root].lemma == analysis.head
                    # a list's root is its first item's: the last one must be of the class too
                    and (not c.is_list or sentence.tokens[c.last - 1].lemma == analysis.head)
                )
            )
            span_score = (
                w.type_fit * fit
                + w.proximity * proximity
                - w.overlap * overlap
                - (w.length * max(0, length - w.preferred_length) if c.label in _CHOSEN_LENGTH_LABELS and not speech else 0.0)
                + (w.list_fit[analysis.plural] if c.is_list else 0.0)
                + w.anchor * anchor
                + (w.head_match if head_match else 0.0)
                + w.described * described_share
            )
            yield c, fit, proximity, anchor, span_score


# Answer types whose head noun names the class of the answer ("which *river*" → "the river Seine").
_CLASS_HEAD_TYPES = frozenset({rules.DESCRIPTION, rules.ORGANISATION, rules.PLACE})

# Answer types a span's own head noun can contradict ("which city" → "... Data *Institute*").
_RIVAL_CLASS_TYPES = frozenset({rules.ORGANISATION, rules.PLACE})

# Labels whose extent the reader chooses (so shorter is better); an entity's extent is given by the text.
_CHOSEN_LENGTH_LABELS = frozenset({"NP", "CLAUSE", "ROLE", "VP"})


def _word(sentence: Sentence, token: Token) -> str:
    return sentence.text[token.start - sentence.start : token.end - sentence.start].lower()


def _bound_elsewhere(words: list[str], candidate: _Candidate, p: int, term_is_name: bool = False) -> bool:
    """Whether the term at ``p`` belongs to a neighbour of the candidate in a "Name, Title" list.

    In "A, Vice Mayor of X, B, Vice President of Y and C, Director of Z" a title follows its name: the words
    before a name (past "," or "and") are the previous person's, and a name after a title (past "," or
    "and") is the next title's, as is a name after the body its title names (``term_is_name``: "Y" is B's,
    not C's).
    """
    if candidate.label == "ROLE" or (term_is_name and candidate.label not in ("PERSON", "PROPN")):
        between = words[candidate.last : p] if p >= candidate.last else []
    else:
        between = words[p + 1 : candidate.first] if p < candidate.first else []
    return "," in between or "and" in between


def _after_someone_elses_title(words: list[str], candidate: _Candidate, people: Iterable[tuple[int, int]]) -> bool:
    """Whether a person's name follows another person's title: "Zheng Hongbo, Secretary of the Futian
    District, [Huang Wei], District Mayor": the words just before the name are Zheng Hongbo's."""
    if candidate.label != "PERSON" or candidate.first < 2 or words[candidate.first - 1] != ",":
        return False
    comma = candidate.first - 2
    while comma >= 0 and words[comma] != ",":
        comma -= 1
    if comma < 1 or not set(words[comma + 1 : candidate.first - 1]) & rules.TITLE_WORDS:
        return False
    return any(last == comma for _, last in people)


def _names_another_title(
    sentence: Sentence, candidate: _Candidate, matches: dict[str, list[int]], bodies: frozenset[str]
) -> bool:
    """Whether the person found holds the question's title, but of another body than the question names.

    In "Zhou Min, Vice President of the SIC and Du Ping, Director of the Institute", "Who is the Director of
    the SIC?" finds "Director" in Du Ping's title and "SIC" only in Zhou Min's: a near miss.
    """
    if candidate.label != "PERSON":
        return False
    words = [_word(sentence, t) for t in sentence.tokens]
    people = sorted(rng for e in sentence.entities if e.label == "PERSON" and (rng := _token_range(sentence, e.start, e.end)))
    starts = {first for first, _ in people}
    titles: dict[int, tuple[int, int]] = {}  # a person's first token → their title after ", "
    for first, last in people:
        if last < len(words) and words[last] == ",":
            end = last + 1
            while end < len(words) and words[end] not in (",", ";", ".", "(", ")") and end not in starts:
                if words[end] == "and" and end + 1 in starts:
                    break
                end += 1
            titles[first] = (last + 1, end)
    own = titles.get(candidate.first)
    if own is None:
        return False
    # A title of its own body: "Director of the *Institute*", not "Vice Director-General" (of the body named
    # before it) nor "District Mayor" where the question says "district" too.
    question_words = {lemma for lemma in matches}
    own_body = [
        t for t in sentence.tokens[own[0] : own[1]]
        if t.pos in ("PROPN", "NOUN") and t.lemma not in rules.TITLE_WORDS and t.lemma not in question_words
    ]
    if not own_body:
        return False
    title_terms = [lemma for lemma in matches if lemma in rules.TITLE_WORDS or lemma in rules.HEAD_TITLE_TERMS]
    if not any(own[0] <= p < own[1] for lemma in title_terms for p in matches[lemma]):
        return False
    others = [rng for first, rng in titles.items() if first != candidate.first]
    for lemma, positions in matches.items():
        if lemma not in bodies or any(own[0] <= p < own[1] for p in positions):
            continue  # only the body the question gives its title ("the Director of *the SIC*") counts
        if any(a <= p < b for p in positions for a, b in others):
            return True
    return False


def _anchor(
    sentence: Sentence, words: list[str], candidate: _Candidate, analysis: QuestionAnalysis, matched: set[int],
    backward: bool = True,
) -> float:
    """How much of the question the words right next to the span repeat, in 0..1.

    "... to promote the development of [big data technology]" answers "What did he want it to promote the
    development of?": the run of question words (punctuation passed over) just before or after a span
    anchors it; only matched content terms count (a "Vice Director-General" does not match "Director-General").
    Without ``backward``, only the run after the span counts.
    """
    tokens = sentence.tokens
    best = 0
    for step, start in ((-1, candidate.first - 1), (1, candidate.last)) if backward else ((1, candidate.last),):
        content, i = 0, start
        while 0 <= i < len(tokens):
            token = tokens[i]
            in_question = token.lemma in analysis.vocabulary or words[i] in analysis.vocabulary
            if not in_question and token.pos != "PUNCT":
                break
            content += i in matched
            i += step
        best = max(best, content)
    return min(best, 3) / 3


def _root(sentence: Sentence, candidate: _Candidate) -> int:
    """The token of a span whose dependency head lies outside it (the span's syntactic head)."""
    for i in range(candidate.first, candidate.last):
        head = sentence.tokens[i].head
        if head == i or not candidate.first <= head < candidate.last:
            return i
    return candidate.last - 1


def _token_range(sentence: Sentence, start: int, end: int) -> tuple[int, int] | None:
    first = next((i for i, t in enumerate(sentence.tokens) if t.end > start), None)
    if first is None:
        return None
    last = first
    while last < len(sentence.tokens) and sentence.tokens[last].start < end:
        last += 1
    return (first, last) if last > first else None


_QUOTES = frozenset({'"', "“", "”"})
# Words a span never ends with: a conjunction, a possessive ("Hisao Yamada['s] paper").
_TRAILING_WORDS = frozenset({"and", "or", "'s", "’s", "'"})


def _trim(sentence: Sentence, first: int, last: int) -> tuple[int, int]:
    """Drop leading and trailing punctuation, conjunctions and determiners from a token range."""
    tokens = sentence.tokens
    while first < last and (tokens[first].pos in ("PUNCT", "CCONJ", "SYM") or _word(sentence, tokens[first]) in ("and", "or")):
        first += 1
    while last > first and (
        tokens[last - 1].pos in ("PUNCT", "CCONJ", "DET", "ADP", "SYM") or _word(sentence, tokens[last - 1]) in _TRAILING_WORDS
    ):
        last -= 1
    # A quotation mark the span opens is closed in it: 'the "growth energy"', not 'the "growth energy'.
    if last > first and sum(_word(sentence, t) in _QUOTES for t in tokens[first:last]) % 2:
        if last < len(tokens) and _word(sentence, tokens[last]) in _QUOTES:
            last += 1
        elif first > 0 and _word(sentence, tokens[first - 1]) in _QUOTES:
            first -= 1
    return first, last


def _candidates(sentence: Sentence, answer_type: str) -> list[_Candidate]:
    """Candidate answer spans of a sentence, as token ranges with a label."""
    tokens = sentence.tokens
    # A span may stand under several labels (spaCy calls "Ana Costa" a place, it is also a proper name;
    # "District Mayor" an organisation, it is also a title): each is scored, the best fit wins.
    found: dict[tuple[int, int, str], _Candidate] = {}

    # "(hereinafter referred to as the Institute)" gives a name's short form: another name for what stands
    # before it, never an answer of its own ("Where was it held?" is not "the Bay Area" of such a bracket).
    aliases = [(m.start(), m.end()) for m in ALIAS_BRACKET.finditer(sentence.text)]

    def add(first: int, last: int, label: str, is_list: bool = False, examples_of: frozenset[str] = frozenset()) -> None:
        first, last = _trim(sentence, first, last)
        key = (first, last, "EXAMPLES" if examples_of else label)
        if last <= first or key in found:
            return
        start, end = tokens[first].start - sentence.start, tokens[last - 1].end - sentence.start
        if not any(a <= start and end <= b for a, b in aliases):
            found[key] = _Candidate(first, last, label, is_list, examples_of)

    compounds = _proper_compounds(sentence)
    entities: list[_Candidate] = []
    for entity in sentence.entities:
        rng = _token_range(sentence, entity.start, entity.end)
        if rng is None:
            continue
        first, last = rng
        if entity.label != "PERSON":  # "Hong Kong-" → "Guangdong-Hong Kong-Macao Greater Bay Area Big Data Institute"
            for a, b in compounds:
                if a < last and first < b:
                    first, last = min(first, a), max(last, b)
        if entity.label == "ORG":  # "the Development and Reform Commission" + " of Shenzhen"
            while last + 1 < len(tokens) and _word(sentence, tokens[last]) == "of" and tokens[last + 1].pos == "PROPN":
                last += 1
                while last < len(tokens) and tokens[last].pos == "PROPN":
                    last += 1
        entities.append(_Candidate(first, last, entity.label))
        add(first, last, entity.label)
        if entity.label == "ORG":  # "Research Institute of [China University of Political Science and Law]"
            for k in range(first + 1, last - 1):
                named = _word(sentence, tokens[k]) == "of" and tokens[k + 1].pos == "PROPN"
                if named and any(rules.HEAD_NOUN_TYPES.get(t.lemma) == rules.ORGANISATION for t in tokens[k + 1 : last]):
                    add(k + 1, last, "ORG")
                    break
        if entity.label in ("DATE", "TIME") and _is_duration(sentence, first, last):
            add(first, last, "DURATION")  # "two years": how long, not when
        if entity.label == "DATE" and any(_word(sentence, t) in rules.WEEKDAYS for t in tokens[first:last]):
            add(first, last, "WEEKDAY")
    entity_ranges = {(e.first, e.last) for e in entities}

    # Proper-noun compounds ("King Harold II"): names the entity recogniser missed or mislabelled.
    for i, j in compounds:
        if not any(e.first <= i and j <= e.last and e.label == "PERSON" for e in entities):
            add(i, j, "PROPN")
            if (i, j) not in entity_ranges and not any(e.first <= i and j <= e.last for e in entities):
                entities.append(_Candidate(i, j, "PROPN"))
    entities.sort(key=lambda c: (c.first, -c.last))

    # Lists: entities of one kind joined by ", " / " and " / ", and ".
    run: list[_Candidate] = []
    for entity in entities + [None]:  # type: ignore[list-item]
        if entity is not None and run and entity.label == run[-1].label and _joins_list(sentence, run[-1], entity):
            run.append(entity)
            continue
        if len(run) > 1:
            add(run[0].first, run[-1].last, run[0].label, is_list=True)
            # The items that share a class noun ("Tsinghua University, Beijing Jiaotong University" in a list
            # of universities, associations and institutes) answer "which universities".
            heads = [sentence.tokens[_root(sentence, item)].lemma for item in run]
            start = 0
            for n in range(1, len(run) + 1):
                if n == len(run) or heads[n] != heads[start]:
                    if 1 < n - start < len(run):
                        add(run[start].first, run[n - 1].last, run[0].label, is_list=True)
                    start = n
        run = [entity] if entity is not None else []
    # Lists whose items the entity recogniser labelled differently ("Hetao, Shenzhen and Hong Kong", with
    # Hetao taken for a person): of the kind most of them are.
    run = []
    for entity in entities + [None]:  # type: ignore[list-item]
        if (
            entity is not None
            and run
            and entity.first > run[-1].last  # a separator between them, not a name cut in two
            and _joins_list(sentence, run[-1], entity)
        ):
            run.append(entity)
            continue
        labels = [item.label for item in run if item.label != "PROPN"]
        mixed = len(set(labels)) > 1 or len(labels) < len(run)
        if len(run) > 1 and labels and mixed:
            label, count = Counter(labels).most_common(1)[0]
            if count * 2 > len(labels):
                add(run[0].first, run[-1].last, label, is_list=True)
        run = [entity] if entity is not None else []

    # People listed with their titles: "Ai Xuefeng, Vice Mayor of ..., Zhou Min, Vice President of the SIC and
    # Du Ping, Director of the Institute" answers "Who delivered speeches?" whole.
    if answer_type == rules.PERSON:
        for first, last in _people_with_titles(sentence, entities):
            add(first, last, "PERSON", is_list=True)

    # Titles (even where the entity recogniser saw an organisation: "District Mayor") and reported clauses.
    if answer_type in (rules.ROLE, rules.DESCRIPTION, rules.ACTION):
        for first, last in _title_phrases(sentence, entities):
            add(first, last, "ROLE")
    if answer_type in (rules.REASON, rules.DESCRIPTION, rules.SPEECH):
        for first, last in _clauses(sentence, answer_type):
            add(first, last, "CLAUSE")
    if answer_type == rules.ACTION:
        for first, last in _verb_phrases(sentence):
            add(first, last, "VP")

    # Examples ("issues such as [X, Y and Z]", "fields including [X, Y and Z]"): the nouns they follow name their kind.
    for first, last, kinds in _examples(sentence):
        add(first, last, "NP", is_list=True, examples_of=kinds)

    noun_phrases = [rng for chunk in sentence.noun_chunks if (rng := _token_range(sentence, chunk.start, chunk.end))]
    # A name ending in its class noun ("Hua Kong Tsing Jiao company", "the Seine river"), which the entity
    # recogniser leaves out: it is of the kind the noun names.
    for first, last in noun_phrases:
        label = rules.CLASS_NOUN_LABELS.get(rules.HEAD_NOUN_TYPES.get(tokens[last - 1].lemma, ""))
        if label and tokens[last - 1].pos == "NOUN" and last - 1 > first and tokens[last - 2].pos == "PROPN":
            add(first, last, label)
    for first, last in noun_phrases:
        partitive = tokens[last - 1].lemma in rules.PARTITIVE_NOUNS and last < len(tokens) and _word(sentence, tokens[last]) == "of"
        if not partitive:
            add(first, last, "NP")
    # "analysis of algorithms", "time or space": two noun phrases joined by "of", "and" or "or".
    for (first, last), (next_first, next_last) in zip(noun_phrases, noun_phrases[1:]):
        joiner = [_word(sentence, t) for t in tokens[last:next_first]]
        if joiner in (["of"], ["and"], ["or"], [",", "and"]):
            add(first, next_last, "NP")
    # Lists of noun phrases: "big data technology, policy research and industrial incubator".
    run_start = 0
    for n in range(1, len(noun_phrases) + 1):
        joined = n < len(noun_phrases) and [_word(sentence, t) for t in tokens[noun_phrases[n - 1][1] : noun_phrases[n][0]]] in (
            [","], ["and"], ["or"], [",", "and"], [",", "or"]
        )
        if not joined:
            if n - run_start > 2:  # two are covered above; a list has three or more
                add(noun_phrases[run_start][0], noun_phrases[n - 1][1], "NP", is_list=True)
            run_start = n
    return list(found.values())


def _examples(sentence: Sentence) -> list[tuple[int, int, frozenset[str]]]:
    """Spans of examples and the nouns before them that name their kind: after "such as", "including" or
    "like", up to the clause's next verb or its end; the kinds are the nouns within a few words before."""
    tokens = sentence.tokens
    found = []
    for i, token in enumerate(tokens):
        word = _word(sentence, token)
        if word == "as" and i > 0 and _word(sentence, tokens[i - 1]) == "such":
            marker_start = i - 1
        elif word in rules.EXAMPLE_MARKERS and (word != "like" or token.pos == "ADP"):  # not "would like to"
            marker_start = i
        else:
            continue
        last = i + 1
        while last < len(tokens) and not _ends_examples(sentence, last):
            # a preposition that attaches outside the examples says something of the whole clause ("... a
            # school [during the spring]"); one that attaches to an item is part of it ("authorities [of] ...")
            if tokens[last].pos == "ADP" and not i < tokens[last].head < last:
                break
            last += 1
        kinds = set()
        for j in range(marker_start - 1, max(-1, marker_start - 1 - rules.EXAMPLE_KIND_REACH), -1):
            if tokens[j].pos in ("VERB", "AUX") or _word(sentence, tokens[j]) in (";", ":"):
                break
            if tokens[j].pos == "NOUN":
                kinds.add(tokens[j].lemma)
        if last > i + 1 and kinds:
            found.append((i + 1, last, frozenset(kinds)))
    return found


def _ends_examples(sentence: Sentence, j: int) -> bool:
    """Whether token ``j`` starts what follows a run of examples: a verb (not one the tagger made of a
    modifier: "alternating Turing machines"), a pronoun, "to" before a verb, or the clause's end."""
    tokens = sentence.tokens
    token, following = tokens[j], tokens[j + 1] if j + 1 < len(tokens) else None
    word = _word(sentence, token)
    if token.pos == "VERB":
        modifier = following is not None and following.pos in ("NOUN", "PROPN", "VERB", "ADJ")
        return not (modifier or sentence.text[token.start - sentence.start].isupper())
    return (
        token.pos in ("AUX", "PRON")
        or word in (".", ";", ":", ")", "which", "that", "who")
        or (word == "to" and following is not None and following.pos == "VERB")
    )


def _says_the_opposite(words: list[str], question_words: frozenset[str]) -> bool:
    """Whether a sentence has the opposite of a question word without the word ("most" for "least")."""
    present = set(words)
    return any(w not in present and rules.ANTONYMS[w] in present for w in question_words if w in rules.ANTONYMS)


def _items(sentence: Sentence, candidate: _Candidate) -> int:
    """How many things a span lists: its entities of the span's own kind ("Ai Xuefeng, Vice Mayor of ...,
    Zhou Min, ... and Du Ping": three people), else its separators ("X, Y and Z": three, "time or space": two)."""
    start, end = sentence.tokens[candidate.first].start, sentence.tokens[candidate.last - 1].end
    entities = sum(1 for e in sentence.entities if e.label == candidate.label and start <= e.start and e.end <= end)
    if entities:
        return entities
    words = [_word(sentence, t) for t in sentence.tokens[candidate.first : candidate.last]]
    joins = sum(1 for n, w in enumerate(words) if w in ("and", "or") and (n == 0 or words[n - 1] != ","))
    return words.count(",") + joins + 1


def _is_duration(sentence: Sentence, first: int, last: int) -> bool:
    """Whether a date or time expression says how long: a unit after a number or quantity word ("After two
    years", "several months"), not a point in time ("December 15th", "November 2018")."""
    tokens = sentence.tokens
    if any(_word(sentence, t) in rules.RELATIVE_TIME_WORDS for t in tokens[first:last]):
        return False
    for i in range(first + 1, last):
        if tokens[i].lemma in rules.DURATION_UNITS:
            before = tokens[i - 1]
            if before.pos == "NUM" or _word(sentence, before) in rules.DURATION_QUANTIFIERS:
                return True
    return False


def _proper_compounds(sentence: Sentence) -> list[tuple[int, int]]:
    """Maximal runs of proper nouns, hyphens between them included ("Guangdong-Hong Kong-Macao ... Institute")."""
    tokens = sentence.tokens
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if tokens[i].pos != "PROPN":
            i += 1
            continue
        j = i + 1
        while j < len(tokens):
            if tokens[j].pos == "PROPN":
                j += 1
            elif (
                _word(sentence, tokens[j]) == "-"
                and j + 1 < len(tokens)
                and tokens[j + 1].pos == "PROPN"
                and tokens[j - 1].end == tokens[j].start == tokens[j].end - 1
                and tokens[j].end == tokens[j + 1].start
            ):
                j += 2
            else:
                break
        runs.append((i, j))
        i = j
    return runs


def _people_with_titles(sentence: Sentence, entities: list[_Candidate]) -> list[tuple[int, int]]:
    """Runs of two or more people, each but the last followed by ", Title," (or ", Title and")."""
    people = [e for e in entities if e.label == "PERSON"]
    runs: list[tuple[int, int]] = []
    run: list[_Candidate] = []
    for person in people + [None]:  # type: ignore[list-item]
        if person is not None and run and _title_between(sentence, run[-1].last, person.first):
            run.append(person)
            continue
        if len(run) > 1:
            runs.append((run[0].first, run[-1].last))
        run = [person] if person is not None else []
    return runs


def _title_between(sentence: Sentence, start: int, end: int) -> bool:
    """Whether tokens ``start:end`` are ", Title" followed by "," / "and" / ", and", with no verb."""
    gap = sentence.tokens[start:end]
    words = [_word(sentence, t) for t in gap]
    if not words or words[0] != "," or len(words) > rules.TITLE_GAP_MAX_TOKENS:
        return False
    if not (words[-1] in (",", "and") and len(words) > 2):
        return False
    has_title = any(w in rules.TITLE_WORDS or t.lemma in rules.TITLE_WORDS for w, t in zip(words, gap))
    return has_title and not any(t.pos in ("VERB", "AUX") for t in gap)


def _joins_list(sentence: Sentence, left: _Candidate, right: _Candidate) -> bool:
    between = sentence.text[sentence.tokens[left.last - 1].end - sentence.start : sentence.tokens[right.first].start - sentence.start]
    return between.strip().lower() in (",", "and", ", and", "or", ", or", "、") or between.strip() == ""


def _title_phrases(sentence: Sentence, entities: list[_Candidate]) -> list[tuple[int, int]]:
    """Title phrases: a stretch between commas that holds a title word, cut before the next person's name."""
    tokens = sentence.tokens
    person_starts = {e.first for e in entities if e.label == "PERSON"}
    phrases = []
    first = 0
    for i in range(len(tokens) + 1):
        if i == len(tokens) or _word(sentence, tokens[i]) in (",", ";", "(", ")"):
            segment_end = i
            # cut at the start of a name ("... of Shenzhen and Zeng Jianpeng")
            for j in range(first + 1, segment_end):
                if j in person_starts:
                    segment_end = j
                    break
            if first not in person_starts:
                # The whole stretch, each part before an "and" that ends the title ("Vice Director-General and
                # other persons ..."), and the part after one that starts another ("Director-General of X and
                # Vice Director-General Wang Yaowen"); an "and" inside a name stays ("the Development and
                # Reform Commission").
                ands = [j for j in range(first + 1, segment_end) if _ends_title(sentence, j, segment_end)]
                parts = [(first, j) for j in ands] + [(first, segment_end)] + [(j + 1, segment_end) for j in ands]
                for start, end in parts:
                    words = {_word(sentence, t) for t in tokens[start:end]} | {t.lemma for t in tokens[start:end]}
                    if words & rules.TITLE_WORDS:
                        phrases.append((start, end))
            first = i + 1
    return phrases


def _ends_title(sentence: Sentence, j: int, segment_end: int) -> bool:
    """Whether the token at ``j`` is an "and" between a title and what follows it, not one inside a name.

    It is when a lower-case word follows it ("and other persons"), or a title word comes after it before the
    next "and" ("... Data Administration and Vice Director-General").
    """
    tokens = sentence.tokens
    if _word(sentence, tokens[j]) != "and" or j + 1 >= segment_end:
        return False
    following = sentence.text[tokens[j + 1].start - sentence.start : tokens[j + 1].end - sentence.start]
    if following[:1].islower():
        return True
    for t in tokens[j + 1 : segment_end]:
        word = _word(sentence, t)
        if word == "and":
            return False
        if word in rules.TITLE_WORDS or t.lemma in rules.TITLE_WORDS:
            return True
    return False


def _verb_phrases(sentence: Sentence) -> list[tuple[int, int]]:
    """Each verb with what depends on it after it ("attended the Seminar and delivered speeches", and the
    conjoined "delivered speeches"): what someone did."""
    tokens = sentence.tokens
    right_edge = list(range(len(tokens)))
    for i in sorted(range(len(tokens)), key=lambda i: -_depth(tokens, i)):  # children before their heads
        head = tokens[i].head
        if head != i and 0 <= head < len(tokens):
            right_edge[head] = max(right_edge[head], right_edge[i])
    return [(i, right_edge[i] + 1) for i, token in enumerate(tokens) if token.pos == "VERB" and right_edge[i] > i]


def _depth(tokens: list[Token], i: int) -> int:
    depth = 0
    while tokens[i].head != i and 0 <= tokens[i].head < len(tokens) and depth < len(tokens):
        i, depth = tokens[i].head, depth + 1
    return depth


def _clauses(sentence: Sentence, answer_type: str) -> list[tuple[int, int]]:
    """Reported clauses ("said that ...") and reasons ("because ...", "to ..."), up to the clause's end."""
    tokens = sentence.tokens
    spans = []
    for i, token in enumerate(tokens):
        word = _word(sentence, token)
        starts_reason = answer_type == rules.REASON and any(
            word == marker.split()[0] for marker in rules.REASON_MARKERS
        )
        reported = word == "that" and i > 0 and tokens[i - 1].lemma in rules.REPORTING_VERBS | {"out"}
        if not (starts_reason or reported):
            continue
        first = i + 1 if reported else i
        last = first
        while last < len(tokens) and not (reported is False and _word(sentence, tokens[last]) in (",", ";")):
            if _word(sentence, tokens[last]) in (".", "!", "?"):
                break
            last += 1
        if last > first:
            spans.append((first, last))
    return spans
