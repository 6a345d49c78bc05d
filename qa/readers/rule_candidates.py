"""Candidate answer spans of a sentence, by answer type: entities, lists, titles, noun phrases, clauses.

What the rule reader (:mod:`qa.readers.rules`) scores, and what the learned reader's combiner uses to tell
how well a span fits the question's answer type. Pure functions of a spaCy-annotated :class:`Sentence`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from qa.ingest import answer_types as rules
from qa.ingest.definitions import ALIAS_BRACKET
from qa.types import Sentence, Token


@dataclass(frozen=True, slots=True)
class Candidate:
    first: int  # token index of the first token
    last: int  # token index after the last token
    label: str
    is_list: bool = False
    # Lemmas of the nouns this span gives examples of ("the fundamental *issues* ... such as [cross-border
    # data flow, ...]"): the span is of the kind they name.
    examples_of: frozenset[str] = frozenset()


def word_of(sentence: Sentence, token: Token) -> str:
    return sentence.text[token.start - sentence.start : token.end - sentence.start].lower()


def token_range(sentence: Sentence, start: int, end: int) -> tuple[int, int] | None:
    first = next((i for i, t in enumerate(sentence.tokens) if t.end > start), None)
    if first is None:
        return None
    last = first
    while last < len(sentence.tokens) and sentence.tokens[last].start < end:
        last += 1
    return (first, last) if last > first else None


def span_root(sentence: Sentence, candidate: Candidate) -> int:
    """The token of a span whose dependency head lies outside it (the span's syntactic head)."""
    for i in range(candidate.first, candidate.last):
        head = sentence.tokens[i].head
        if head == i or not candidate.first <= head < candidate.last:
            return i
    return candidate.last - 1


_QUOTES = frozenset({'"', "“", "”"})
# Words a span never ends with: a conjunction, a possessive ("Hisao Yamada['s] paper").
_TRAILING_WORDS = frozenset({"and", "or", "'s", "’s", "'"})


def trim(sentence: Sentence, first: int, last: int) -> tuple[int, int]:
    """Drop leading and trailing punctuation, conjunctions and determiners from a token range."""
    tokens = sentence.tokens
    while first < last and (tokens[first].pos in ("PUNCT", "CCONJ", "SYM") or word_of(sentence, tokens[first]) in ("and", "or")):
        first += 1
    while last > first and (
        tokens[last - 1].pos in ("PUNCT", "CCONJ", "DET", "ADP", "SYM") or word_of(sentence, tokens[last - 1]) in _TRAILING_WORDS
    ):
        last -= 1
    # A quotation mark the span opens is closed in it: 'the "growth energy"', not 'the "growth energy'.
    if last > first and sum(word_of(sentence, t) in _QUOTES for t in tokens[first:last]) % 2:
        if last < len(tokens) and word_of(sentence, tokens[last]) in _QUOTES:
            last += 1
        elif first > 0 and word_of(sentence, tokens[first - 1]) in _QUOTES:
            first -= 1
    return first, last


def sentence_candidates(sentence: Sentence, answer_type: str) -> list[Candidate]:
    """Candidate answer spans of a sentence, as token ranges with a label."""
    tokens = sentence.tokens
    # A span may stand under several labels (spaCy calls "Ana Costa" a place, it is also a proper name;
    # "District Mayor" an organisation, it is also a title): each is scored, the best fit wins.
    found: dict[tuple[int, int, str], Candidate] = {}

    # "(hereinafter referred to as the Institute)" gives a name's short form: another name for what stands
    # before it, never an answer of its own ("Where was it held?" is not "the Bay Area" of such a bracket).
    aliases = [(m.start(), m.end()) for m in ALIAS_BRACKET.finditer(sentence.text)]

    def add(first: int, last: int, label: str, is_list: bool = False, examples_of: frozenset[str] = frozenset()) -> None:
        first, last = trim(sentence, first, last)
        key = (first, last, "EXAMPLES" if examples_of else label)
        if last <= first or key in found:
            return
        start, end = tokens[first].start - sentence.start, tokens[last - 1].end - sentence.start
        if not any(a <= start and end <= b for a, b in aliases):
            found[key] = Candidate(first, last, label, is_list, examples_of)

    compounds = _proper_compounds(sentence)
    entities: list[Candidate] = []
    for entity in sentence.entities:
        rng = token_range(sentence, entity.start, entity.end)
        if rng is None:
            continue
        first, last = rng
        if entity.label != "PERSON":  # "Hong Kong-" → "Guangdong-Hong Kong-Macao Greater Bay Area Big Data Institute"
            for a, b in compounds:
                if a < last and first < b:
                    first, last = min(first, a), max(last, b)
        if entity.label == "ORG":  # "the Development and Reform Commission" + " of Shenzhen"
            while last + 1 < len(tokens) and word_of(sentence, tokens[last]) == "of" and tokens[last + 1].pos == "PROPN":
                last += 1
                while last < len(tokens) and tokens[last].pos == "PROPN":
                    last += 1
        entities.append(Candidate(first, last, entity.label))
        add(first, last, entity.label)
        if entity.label == "ORG":  # "Research Institute of [China University of Political Science and Law]"
            for k in range(first + 1, last - 1):
                named = word_of(sentence, tokens[k]) == "of" and tokens[k + 1].pos == "PROPN"
                if named and any(rules.HEAD_NOUN_TYPES.get(t.lemma) == rules.ORGANISATION for t in tokens[k + 1 : last]):
                    add(k + 1, last, "ORG")
                    break
        if entity.label in ("DATE", "TIME") and is_duration(sentence, first, last):
            add(first, last, "DURATION")  # "two years": how long, not when
        if entity.label == "DATE" and any(word_of(sentence, t) in rules.WEEKDAYS for t in tokens[first:last]):
            add(first, last, "WEEKDAY")
    entity_ranges = {(e.first, e.last) for e in entities}

    # Proper-noun compounds ("King Harold II"): names the entity recogniser missed or mislabelled.
    for i, j in compounds:
        if not any(e.first <= i and j <= e.last and e.label == "PERSON" for e in entities):
            add(i, j, "PROPN")
            if (i, j) not in entity_ranges and not any(e.first <= i and j <= e.last for e in entities):
                entities.append(Candidate(i, j, "PROPN"))
    entities.sort(key=lambda c: (c.first, -c.last))

    # Lists: entities of one kind joined by ", " / " and " / ", and ".
    run: list[Candidate] = []
    for entity in entities + [None]:  # type: ignore[list-item]
        if entity is not None and run and entity.label == run[-1].label and _joins_list(sentence, run[-1], entity):
            run.append(entity)
            continue
        if len(run) > 1:
            add(run[0].first, run[-1].last, run[0].label, is_list=True)
            # The items that share a class noun ("Tsinghua University, Beijing Jiaotong University" in a list
            # of universities, associations and institutes) answer "which universities".
            heads = [sentence.tokens[span_root(sentence, item)].lemma for item in run]
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

    noun_phrases = [rng for chunk in sentence.noun_chunks if (rng := token_range(sentence, chunk.start, chunk.end))]
    # A name ending in its class noun ("Hua Kong Tsing Jiao company", "the Seine river"), which the entity
    # recogniser leaves out: it is of the kind the noun names.
    for first, last in noun_phrases:
        label = rules.CLASS_NOUN_LABELS.get(rules.HEAD_NOUN_TYPES.get(tokens[last - 1].lemma, ""))
        if label and tokens[last - 1].pos == "NOUN" and last - 1 > first and tokens[last - 2].pos == "PROPN":
            add(first, last, label)
    for first, last in noun_phrases:
        partitive = tokens[last - 1].lemma in rules.PARTITIVE_NOUNS and last < len(tokens) and word_of(sentence, tokens[last]) == "of"
        if not partitive:
            add(first, last, "NP")
    # "analysis of algorithms", "time or space": two noun phrases joined by "of", "and" or "or".
    for (first, last), (next_first, next_last) in zip(noun_phrases, noun_phrases[1:]):
        joiner = [word_of(sentence, t) for t in tokens[last:next_first]]
        if joiner in (["of"], ["and"], ["or"], [",", "and"]):
            add(first, next_last, "NP")
    # Lists of noun phrases: "big data technology, policy research and industrial incubator".
    run_start = 0
    for n in range(1, len(noun_phrases) + 1):
        joined = n < len(noun_phrases) and [word_of(sentence, t) for t in tokens[noun_phrases[n - 1][1] : noun_phrases[n][0]]] in (
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
        word = word_of(sentence, token)
        if word == "as" and i > 0 and word_of(sentence, tokens[i - 1]) == "such":
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
            if tokens[j].pos in ("VERB", "AUX") or word_of(sentence, tokens[j]) in (";", ":"):
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
    word = word_of(sentence, token)
    if token.pos == "VERB":
        modifier = following is not None and following.pos in ("NOUN", "PROPN", "VERB", "ADJ")
        return not (modifier or sentence.text[token.start - sentence.start].isupper())
    return (
        token.pos in ("AUX", "PRON")
        or word in (".", ";", ":", ")", "which", "that", "who")
        or (word == "to" and following is not None and following.pos == "VERB")
    )


def says_the_opposite(words: list[str], question_words: frozenset[str]) -> bool:
    """Whether a sentence has the opposite of a question word without the word ("most" for "least")."""
    present = set(words)
    return any(w not in present and rules.ANTONYMS[w] in present for w in question_words if w in rules.ANTONYMS)


def count_items(sentence: Sentence, candidate: Candidate) -> int:
    """How many things a span lists: its entities of the span's own kind ("Ai Xuefeng, Vice Mayor of ...,
    Zhou Min, ... and Du Ping": three people), else its separators ("X, Y and Z": three, "time or space": two)."""
    start, end = sentence.tokens[candidate.first].start, sentence.tokens[candidate.last - 1].end
    entities = sum(1 for e in sentence.entities if e.label == candidate.label and start <= e.start and e.end <= end)
    if entities:
        return entities
    words = [word_of(sentence, t) for t in sentence.tokens[candidate.first : candidate.last]]
    joins = sum(1 for n, w in enumerate(words) if w in ("and", "or") and (n == 0 or words[n - 1] != ","))
    return words.count(",") + joins + 1


def is_duration(sentence: Sentence, first: int, last: int) -> bool:
    """Whether a date or time expression says how long: a unit after a number or quantity word ("After two
    years", "several months"), not a point in time ("December 15th", "November 2018")."""
    tokens = sentence.tokens
    if any(word_of(sentence, t) in rules.RELATIVE_TIME_WORDS for t in tokens[first:last]):
        return False
    for i in range(first + 1, last):
        if tokens[i].lemma in rules.DURATION_UNITS:
            before = tokens[i - 1]
            if before.pos == "NUM" or word_of(sentence, before) in rules.DURATION_QUANTIFIERS:
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
                word_of(sentence, tokens[j]) == "-"
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


def _people_with_titles(sentence: Sentence, entities: list[Candidate]) -> list[tuple[int, int]]:
    """Runs of two or more people, each but the last followed by ", Title," (or ", Title and")."""
    people = [e for e in entities if e.label == "PERSON"]
    runs: list[tuple[int, int]] = []
    run: list[Candidate] = []
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
    words = [word_of(sentence, t) for t in gap]
    if not words or words[0] != "," or len(words) > rules.TITLE_GAP_MAX_TOKENS:
        return False
    if not (words[-1] in (",", "and") and len(words) > 2):
        return False
    has_title = any(w in rules.TITLE_WORDS or t.lemma in rules.TITLE_WORDS for w, t in zip(words, gap))
    return has_title and not any(t.pos in ("VERB", "AUX") for t in gap)


def _joins_list(sentence: Sentence, left: Candidate, right: Candidate) -> bool:
    between = sentence.text[sentence.tokens[left.last - 1].end - sentence.start : sentence.tokens[right.first].start - sentence.start]
    return between.strip().lower() in (",", "and", ", and", "or", ", or", "、") or between.strip() == ""


def _title_phrases(sentence: Sentence, entities: list[Candidate]) -> list[tuple[int, int]]:
    """Title phrases: a stretch between commas that holds a title word, cut before the next person's name."""
    tokens = sentence.tokens
    person_starts = {e.first for e in entities if e.label == "PERSON"}
    phrases = []
    first = 0
    for i in range(len(tokens) + 1):
        if i == len(tokens) or word_of(sentence, tokens[i]) in (",", ";", "(", ")"):
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
                    words = {word_of(sentence, t) for t in tokens[start:end]} | {t.lemma for t in tokens[start:end]}
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
    if word_of(sentence, tokens[j]) != "and" or j + 1 >= segment_end:
        return False
    following = sentence.text[tokens[j + 1].start - sentence.start : tokens[j + 1].end - sentence.start]
    if following[:1].islower():
        return True
    for t in tokens[j + 1 : segment_end]:
        word = word_of(sentence, t)
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
        word = word_of(sentence, token)
        starts_reason = answer_type == rules.REASON and any(
            word == marker.split()[0] for marker in rules.REASON_MARKERS
        )
        reported = word == "that" and i > 0 and tokens[i - 1].lemma in rules.REPORTING_VERBS | {"out"}
        if not (starts_reason or reported):
            continue
        first = i + 1 if reported else i
        last = first
        while last < len(tokens) and not (reported is False and word_of(sentence, tokens[last]) in (",", ";")):
            if word_of(sentence, tokens[last]) in (".", "!", "?"):
                break
            last += 1
        if last > first:
            spans.append((first, last))
    return spans
