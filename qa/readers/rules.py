"""The rule reader: picks the answer span in the retrieved passages by hand-written rules, or abstains.

``RuleReader`` (``QA_READER=rules``; the learned reader of :mod:`qa.readers.learned` uses its analysis and
near-miss evidence too) analyses the
question (answer type, content terms), ranks the sentences of the retrieved passages by how much of the
question they contain, generates candidate spans of the expected type from the best sentences (entities,
lists of entities, titles, noun phrases, reported clauses) and scores each by type fit, closeness to the
question's terms and novelty (an answer does not repeat the question). Candidate spans come from
:mod:`qa.readers.rule_candidates`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable

import numpy as np

from qa.config import Settings
from qa.ingest import answer_types as rules
from qa.readers.base import SpanPrediction
from qa.readers.question import QuestionAnalysis, QuestionAnalyzer
from qa.readers.rule_candidates import (
    Candidate,
    count_items,
    says_the_opposite,
    sentence_candidates,
    span_root,
    token_range,
    word_of,
)
from qa.store.index import CorpusIndex
from qa.types import Chunk, Passage, Sentence


@dataclass(frozen=True)
class RuleAssessment:
    """What the rule reader makes of a question over its passages."""

    best: SpanPrediction | None
    # By sentence id, for every sentence of the passages: "coverage" (idf-weighted share of the question's
    # terms), "dense" (cosine with the question) and the near-miss flags ("name_missing", "negation_missing", ...).
    sentence_evidence: dict[int, dict[str, float]]


@dataclass(slots=True)
class _SentenceFacts:
    """What the reader derives from a sentence whatever the question: computed once, then reused."""

    words: list[str]  # each token's text, lower-cased
    neighbours: list[list[int]]  # the dependency tree as adjacency lists
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)  # by answer type
    distances: dict[int, list[int]] = field(default_factory=dict)  # tree distances, by source token

    @classmethod
    def of(cls, sentence: Sentence) -> "_SentenceFacts":
        n = len(sentence.tokens)
        neighbours: list[list[int]] = [[] for _ in range(n)]
        for i, token in enumerate(sentence.tokens):
            if token.head != i and 0 <= token.head < n:
                neighbours[i].append(token.head)
                neighbours[token.head].append(i)
        return cls([word_of(sentence, t) for t in sentence.tokens], neighbours)

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
    """The built-in extractive reader. All its rules and weights are in :mod:`qa.ingest.answer_types`."""

    # Sentences whose facts are kept (~10-35 kB each with three answer types' candidates: some 20-70 MB);
    # past this the cache starts afresh. The seminar page has 90 sentences, the SQuAD set 374.
    facts_kept = 2_000

    def __init__(
        self, index: CorpusIndex, weights: rules.ReaderWeights | None = None, threshold: float = Settings.answer_threshold
    ) -> None:
        self.index = index
        self.threshold = threshold
        self._facts: dict[int, _SentenceFacts] = {}
        self.weights = weights or rules.ReaderWeights()
        document_frequency: dict[str, int] = {}
        vocabulary: set[str] = set()
        proper_nouns: set[str] = set()
        for sentence in index.sentences:
            words = [word_of(sentence, t) for t in sentence.tokens]
            seen = {t.lemma for t in sentence.tokens} | set(words)
            vocabulary |= seen
            # Parts of names: the tagger's proper nouns, and the capitalised words of the names of people and
            # places the entity recogniser found (the tagger takes the "Ai" of "Ai Xuefeng, Vice Mayor" for a verb).
            names = [e for e in sentence.entities if e.label in rules.NAME_ENTITY_LABELS]
            proper_nouns.update(
                word
                for word, t in zip(words, sentence.tokens)
                if t.pos == "PROPN"
                or (
                    sentence.text[t.start - sentence.start].isupper()
                    and any(e.start <= t.start and t.end <= e.end for e in names)
                )
            )
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
        return self.assess(analysis, passages, question_vector, sentence_vectors).best

    def assess(
        self, analysis: QuestionAnalysis, passages: list[Passage], question_vector: np.ndarray, sentence_vectors: np.ndarray
    ) -> RuleAssessment:
        """The best span, and the evidence of every sentence of the passages (for the learned reader)."""
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
                "antonym_present": float(says_the_opposite(self._sentence_facts(sentence).words, analysis.vocabulary)),
            }
            scored.append((evidence, sid, passage, matches, coverage, dense, near_miss_flags))
        scored.sort(key=lambda item: (-item[0], item[1]))
        evidence_by_sentence = {
            sid: {"coverage": coverage, "dense": dense, **flags} for _, sid, _, _, coverage, dense, flags in scored
        }

        # An acronym whose every word the question has repeats it: "SIC" for "the State Information Center".
        repeated_acronyms = {a.lower() for a, expansion in self.acronyms.items() if expansion <= analysis.words}
        ranked: list[tuple[float, Sentence, Candidate, Passage, dict[str, float]]] = []
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
            return RuleAssessment(None, evidence_by_sentence)
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
        features["count_mismatch"] = float(analysis.count is not None and count_items(sentence, candidate) != analysis.count)
        features["title_elsewhere"] = float(
            _names_another_title(sentence, candidate, self._term_matches(sentence, analysis), analysis.title_bodies)
        )
        logit = w.conf_bias + sum(w.confidence[name] * value for name, value in features.items())
        best = SpanPrediction(
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
        return RuleAssessment(best, evidence_by_sentence)

    def type_fit(self, answer_type: str, sentence: Sentence, start: int, end: int) -> float:
        """How well the span ``start:end`` (document offsets) of ``sentence`` fits the answer type: the best
        label fit among the sentence's candidates of that type, times their overlap with the span (token F1)."""
        fits = rules.LABEL_FIT[answer_type]
        facts = self._sentence_facts(sentence)
        found = facts.candidates.get(answer_type)
        if found is None:
            found = facts.candidates[answer_type] = sentence_candidates(sentence, answer_type)
        span = token_range(sentence, start, end)
        if span is None:
            return 0.0
        best = 0.0
        for c in found:
            shared = min(c.last, span[1]) - max(c.first, span[0])
            if shared > 0:
                overlap = 2 * shared / ((c.last - c.first) + (span[1] - span[0]))
                best = max(best, overlap * fits.get(c.label, 0.0))
        return best

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

    def _reported_by(self, sentence: Sentence, passage: Passage) -> tuple[Sentence, Candidate, Passage] | None:
        """The person whose words ``sentence`` (read in ``passage``) reports: named next to a reporting verb
        ("Zhou Min said", "said Li Qiang") in it or in one of the few sentences before it in its paragraph
        ("Zhou Min said that ... . ... . SIC will ... help transform ..."), with a passage that holds the name
        (``passage``, or the chunk of the name's sentence)."""
        current: Sentence | None = sentence
        for _ in range(self.weights.reported_speech_reach + 1):
            if current is None:
                return None
            for entity in current.entities:
                rng = token_range(current, entity.start, entity.end) if entity.label == "PERSON" else None
                if rng is None:
                    continue
                first, last = rng
                around = current.tokens[last : last + 2] + current.tokens[max(0, first - 1) : first]
                if any(t.pos == "VERB" and t.lemma in rules.REPORTING_VERBS for t in around):
                    return self._cited_name(current, Candidate(first, last, "PERSON"), passage)
            current = self._previous_in_paragraph(current)
        return None

    def _cited_name(self, sentence: Sentence, name: Candidate, passage: Passage) -> tuple[Sentence, Candidate, Passage] | None:
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
            word = word_of(sentence, tokens[j])
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
            if hyphenated or (previous.pos in ("PROPN", "NOUN", "ADJ") and word_of(sentence, previous).isalpha()):
                first -= 1
            else:
                break
        question_words = analysis.words | analysis.modifiers
        for j in range(first, i):
            word = word_of(sentence, tokens[j])
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
            candidates = facts.candidates[analysis.answer_type] = sentence_candidates(sentence, analysis.answer_type)
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
            root = span_root(sentence, c)
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


def _bound_elsewhere(words: list[str], candidate: Candidate, p: int, term_is_name: bool = False) -> bool:
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


def _after_someone_elses_title(words: list[str], candidate: Candidate, people: Iterable[tuple[int, int]]) -> bool:
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
    sentence: Sentence, candidate: Candidate, matches: dict[str, list[int]], bodies: frozenset[str]
) -> bool:
    """Whether the person found holds the question's title, but of another body than the question names.

    In "Zhou Min, Vice President of the SIC and Du Ping, Director of the Institute", "Who is the Director of
    the SIC?" finds "Director" in Du Ping's title and "SIC" only in Zhou Min's: a near miss.
    """
    if candidate.label != "PERSON":
        return False
    words = [word_of(sentence, t) for t in sentence.tokens]
    people = sorted(rng for e in sentence.entities if e.label == "PERSON" and (rng := token_range(sentence, e.start, e.end)))
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
    sentence: Sentence, words: list[str], candidate: Candidate, analysis: QuestionAnalysis, matched: set[int],
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
