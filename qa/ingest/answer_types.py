"""The reader's rules and weights, in one readable place.

* which answer type a question expects, from its wh-word and the head noun after "which"/"what";
* which spaCy entity labels fit each answer type, and how well;
* the words that make a noun phrase a title or role, and the modifiers that change a title's meaning
  ("Vice President" does not answer a question about "the President");
* the weights that combine the reader's evidence into a span score and a confidence.

Tests in ``tests/test_answer_types.py`` show each rule on a real sentence of the seminar page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Answer types.
PERSON = "PERSON"
ORGANISATION = "ORG"
DATE = "DATE"
WEEKDAY = "WEEKDAY"  # "On what day of the week": a date that names its weekday ("Tuesday, December 15th")
DURATION = "DURATION"  # how long something lasted or took ("two years"), not when it happened
TIME = "TIME"
PLACE = "PLACE"
NUMBER = "NUMBER"
ROLE = "ROLE"
REASON = "REASON"
DESCRIPTION = "DESCRIPTION"
ACTION = "ACTION"  # "What did they do?": a verb phrase
SPEECH = "SPEECH"  # "What did Zhou Min say?": the clause a reporting verb introduces ("said that ...")

# How well each spaCy entity label answers each type ("NP" is a plain noun phrase, "ROLE" a title phrase,
# "CLAUSE" a reported clause, "VP" a verb with what follows it, "DURATION" a date
# expression saying how long, "PROPN" a run of proper nouns that the entity recogniser missed).
LABEL_FIT: dict[str, dict[str, float]] = {
    PERSON: {"PERSON": 1.0, "ORG": 0.55, "NORP": 0.5, "PROPN": 0.6, "GPE": 0.2, "NP": 0.15},
    ORGANISATION: {"ORG": 1.0, "PROPN": 0.6, "GPE": 0.45, "NORP": 0.45, "FAC": 0.4, "NP": 0.3, "PERSON": 0.1},
    DATE: {"DATE": 1.0, "TIME": 0.5},
    WEEKDAY: {"WEEKDAY": 1.0, "DATE": 0.2},  # a date without a weekday does not say which day of the week
    DURATION: {"DURATION": 1.0, "DATE": 0.3, "TIME": 0.3},
    TIME: {"TIME": 1.0},
    PLACE: {"GPE": 1.0, "LOC": 1.0, "FAC": 0.9, "ORG": 0.35, "PROPN": 0.4, "NORP": 0.3, "NP": 0.15},
    NUMBER: {"CARDINAL": 1.0, "QUANTITY": 1.0, "MONEY": 1.0, "PERCENT": 1.0, "ORDINAL": 0.6, "DATE": 0.3},
    ROLE: {"ROLE": 1.0, "NP": 0.35},
    REASON: {"CLAUSE": 1.0, "NP": 0.3},
    ACTION: {"VP": 1.0, "ROLE": 0.5, "NP": 0.3},  # "What does Du Ping do?" may ask for his occupation
    SPEECH: {"CLAUSE": 1.0, "NP": 0.2},
    DESCRIPTION: {
        "NP": 0.7, "CLAUSE": 0.7, "ORG": 0.7, "GPE": 0.7, "LOC": 0.7, "PERSON": 0.6, "NORP": 0.7, "EVENT": 0.8,
        "WORK_OF_ART": 0.8, "LAW": 0.8, "PRODUCT": 0.7, "FAC": 0.7, "LANGUAGE": 0.8, "DATE": 0.5,
        "CARDINAL": 0.5, "PROPN": 0.6, "ROLE": 0.6, "ORDINAL": 0.5, "QUANTITY": 0.5, "MONEY": 0.5,
        "PERCENT": 0.5, "TIME": 0.4,
    },
}

# The entities whose capitalised words are parts of names (spaCy's labels): people and places.
NAME_ENTITY_LABELS = frozenset({"PERSON", "GPE", "LOC"})

# Answer types for which a candidate of the wrong kind means the passage does not answer.
STRICT_TYPES = frozenset({PERSON, DATE, WEEKDAY, DURATION, TIME, NUMBER, PLACE, SPEECH})

# Wh-phrases (lower-case word sequences at the start of a clause) and the type they ask for.
WH_PHRASES: list[tuple[tuple[str, ...], str]] = [
    *(((wh, "day", "of", "the", "week"), WEEKDAY) for wh in ("what", "which")),
    *((("how", "many", unit), DURATION) for unit in ("years", "months", "weeks", "days", "hours", "decades", "centuries")),
    (("how", "many"), NUMBER),
    (("how", "much"), NUMBER),
    (("how", "long"), DURATION),
    (("how", "old"), NUMBER),
    (("what", "time"), TIME),
    (("which", "time"), TIME),
    (("what", "year"), DATE),
    (("which", "year"), DATE),
    (("what", "date"), DATE),
    (("what", "day"), DATE),
    (("who",), PERSON),
    (("whom",), PERSON),
    (("whose",), PERSON),
    (("when",), DATE),
    (("where",), PLACE),
    (("why",), REASON),
    (("how",), DESCRIPTION),
    (("what",), DESCRIPTION),
    (("which",), DESCRIPTION),
    (("name",), DESCRIPTION),
    (("list",), DESCRIPTION),
]
WH_WORDS = frozenset({"who", "whom", "whose", "when", "where", "why", "how", "what", "which"})

# Head nouns after "which"/"what" (lemmas) and the type they ask for.
HEAD_NOUN_TYPES: dict[str, str] = {
    **dict.fromkeys(
        "university universities organisation organization company institute institution commission department "
        "agency association unit body administration sponsor organiser organizer undertaker host group team "
        "party school college firm bank laboratory lab authority ministry bureau council committee "
        "government enterprise corporation club newspaper publisher".split(),
        ORGANISATION,
    ),
    **dict.fromkeys(
        "city country place province region district location town state area venue nation continent island "
        "river zone capital village county territory".split(),
        PLACE,
    ),
    **dict.fromkeys("year date day month century decade period era season".split(), DATE),
    **dict.fromkeys("time hour".split(), TIME),
    **dict.fromkeys(
        "person people official leader man woman expert speaker mayor director president king queen ruler "
        "scientist author founder chairman secretary minister governor emperor duke pope bishop".split(),
        PERSON,
    ),
    **dict.fromkeys("position title role job post rank office capacity".split(), ROLE),
    **dict.fromkeys("number amount percentage population size count".split(), NUMBER),
}

# Units that make a date or time expression a duration when a number or quantity word comes with them
# ("two years", "several months", "a decade"), by lemma.
DURATION_UNITS = frozenset("year month week day hour minute second decade century".split())
DURATION_QUANTIFIERS = frozenset("a an several few many some couple".split())
WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
# Words that make such an expression a point in time after all ("two years ago", "a year later").
RELATIVE_TIME_WORDS = frozenset("ago later earlier before since".split())

# Words that introduce examples of the noun before them ("issues *such as* X", "fields *including* X"); the
# nouns within this many words before them name the examples' kind.
EXAMPLE_MARKERS = frozenset({"including", "like"})  # and "such as"
EXAMPLE_KIND_REACH = 8

# Nouns that only measure or sort what follows them: "a series of innovation research", "the set of problems".
# Before "of" such a noun phrase is no answer by itself; joined to the phrase after "of" it is.
PARTITIVE_NOUNS = frozenset(
    "series number lot lots set kind type sort variety range group couple pair part majority host array".split()
)

# The entity label a name takes from the class noun after it ("Hua Kong Tsing Jiao *company*" is an
# organisation, "the Seine *river*" a place), by the answer type of that noun.
CLASS_NOUN_LABELS: dict[str, str] = {ORGANISATION: "ORG", PLACE: "GPE"}

# Words that make a noun phrase a title ("Vice Mayor", "Director-General", "Deputy District Mayor").
TITLE_WORDS = frozenset(
    """director director-general general mayor president vice secretary minister chairman chairwoman chair
    head chief dean professor manager officer governor deputy leader commissioner ambassador king queen duke
    count emperor pope bishop founder ceo cto cfo principal editor spokesman spokesperson""".split()
)

# The longest ", Title of Body," between two people's names that still makes them one list (tokens).
TITLE_GAP_MAX_TOKENS = 16

# Question words that stand for whoever holds the top title of a body ("Who *heads* the Institute?",
# "the *leaders* of the district"), and the titles that are such a top title ("Du Ping, *Director* of the
# Institute"). A title with a modifier the question lacks ("Vice Director") is still another office.
HEAD_TITLE_TERMS = frozenset({"head", "leader", "lead", "chief"})
TOP_TITLES = frozenset(
    """director director-general president chairman chairwoman chair chief head dean mayor secretary governor
    principal leader ceo minister commissioner""".split()
)

# Modifiers that change what a title means: a question about "the President" is not answered by a sentence
# that only mentions a "Vice President".
TITLE_MODIFIERS = frozenset({"vice", "deputy", "assistant", "acting", "former", "associate", "honorary", "co", "ex"})

# Negation words, in questions and sentences (lower-case; spaCy splits "doesn't" into "does" + "n't").
NEGATIONS = frozenset("not n't no never cannot nor neither none nothing nobody without".split())

# Words and their opposites: a sentence that has the opposite of a question's word and not the word itself
# says something else ("What is one of the *least* important questions?" ← "... the *most* important ...").
ANTONYMS: dict[str, str] = {
    a: b
    for x, y in (
        ("most", "least"), ("first", "last"), ("before", "after"), ("more", "less"), ("largest", "smallest"),
        ("earliest", "latest"), ("increase", "decrease"), ("higher", "lower"), ("highest", "lowest"),
        ("easier", "harder"), ("better", "worse"), ("best", "worst"), ("minimum", "maximum"), ("major", "minor"),
        ("possible", "impossible"), ("formal", "informal"), ("always", "never"), ("accept", "reject"),
    )
    for a, b in ((x, y), (y, x))
}

# How many things a question asks for ("What are *three* complexity classes ...?", "Name two ..."), by the
# number word after its wh-word; a list of another length answers another question.
COUNT_WORDS = {w: n for n, w in enumerate("two three four five six seven eight nine ten".split(), 2)}
UNCOUNTED_TYPES = frozenset({NUMBER, DATE, WEEKDAY, DURATION, TIME})  # one value, whatever the words say

# Words a question uses to ask, which never need to be found in the answer's sentence.
QUESTION_FILLER = frozenset(
    """name tell give list describe explain mention say state call know find please also exactly
    do does did be is are was were""".split()
)

# Clause openers: a REASON answer starts at one of these; reported speech starts after "that".
REASON_MARKERS = ("because of", "because", "due to", "in order to", "so that", "since", "as a result of", "to")
REPORTING_VERBS = frozenset(
    "say point hope propose state note add stress emphasise emphasize believe announce suggest express".split()
)


@dataclass(frozen=True)
class ReaderWeights:
    """How the reader weighs its evidence. Span score = sentence evidence + span evidence."""

    # Sentence evidence.
    coverage: float = 2.0  # share of the question's (idf-weighted) terms found in the sentence
    dense: float = 1.0  # cosine similarity of sentence and question embeddings
    passage_rank: float = 0.3  # bonus for the passage's rank in retrieval: weight / (1 + rank)
    previous_sentence: float = 0.5  # share of credit for question terms found only in the sentence before
    # Span evidence.
    type_fit: float = 1.2  # LABEL_FIT of the span's label for the expected type
    proximity: float = 1.0  # question terms near the span (decaying with distance in tokens)
    proximity_decay: float = 5.0  # tokens over which proximity falls to 1/e
    tree_decay: float = 4.0  # dependency-tree edges over which proximity falls to 1/e
    anchor: float = 0.5  # question words in a run right next to the span ("the development of [X]")
    head_match: float = 0.5  # bonus for a span headed by the question's head noun ("which *river*")
    # For "Who said/hoped ...?": the person a paragraph of reported speech names ("Zhou Min said that ...")
    # is a candidate for every sentence of it, scored by the share of the question the sentence holds.
    reported_speaker: float = 2.0
    reported_speech_reach: int = 3  # sentences back within a paragraph that a "X said that" still covers
    # Factor on the type fit of a span whose own head noun names another kind: "which *city*" is not answered
    # by "the Greater Bay Area Big Data *Institute*" even where the entity recogniser calls it a place.
    other_class: float = 0.3
    described: float = 0.5  # share of the words narrowing the head noun found inside the span ("which *Jiaotong* university")
    blocked: float = 0.5  # factor per same-kind candidate standing between a term and the span
    bound_elsewhere: float = 0.5  # factor for a term that a "Name, Title" list binds to a neighbour
    overlap: float = 0.5  # penalty: share of the span's words that repeat the question
    length: float = 0.02  # penalty per token over the preferred length
    preferred_length: int = 5
    # A list of entities, by the number the question asks for: several, one, or unsaid ("Who sponsored it?"
    # is answered by all the sponsors).
    list_fit: dict[bool | None, float] = field(default_factory=lambda: {True: 0.3, False: -0.3, None: 0.03})
    # Confidence = sigmoid(conf_bias + sum of confidence[feature] * feature), features as the reader
    # computes them for its best span (``SpanPrediction.features``). Fitted by logistic regression on the
    # seminar set and checked on the SQuAD set:
    #   python eval/calibrate.py eval/questions/seminar.jsonl --check eval/benchmarks/squad2_dev_small.json
    conf_bias: float = -4.32
    confidence: dict[str, float] = field(
        default_factory=lambda: {
            "coverage": 0.96,  # idf-weighted share of the question's terms in the sentence
            "dense": 0.91,  # sentence-question cosine similarity
            "type_fit": 2.21,  # how well the span's label fits the expected answer type
            "proximity": 1.24,  # question terms close to the span
            "anchor": -0.52,  # question words in a run right next to the span
            "rarest_term": 0.44,  # 1 when the question's rarest term is in the sentence (or the one before)
            "margin": 0.73,  # how far the best span's score is ahead of the best non-overlapping other span (≤ 1)
            # Set by hand, not fitted: 1 when the question names a title modifier ("Vice") that the sentence
            # lacks for the question's title; the sentence is then about another office (a near miss).
            "modifier_missing": -2.0,
            # Set by hand too: 1 when the person found holds the question's title but the body the question
            # names is in another person's title ("Who is the Director of the SIC?" → the Institute's Director).
            "title_elsewhere": -2.0,
            # Set by hand: 1 when a proper name of the question is neither in the sentence nor in the one
            # before ("... with the Hong Kong government?" where the page has the Shenzhen government). As
            # strong as the other near-miss flags: at -1.0 that question was still answered (0.48).
            "name_missing": -2.0,
            # Set by hand: 1 when the question is negated ("What does *not* define ...?") and the sentence has
            # no negation: it says the opposite of what is asked. Stronger than the others: a sentence with
            # every word of "When was the first workshop not held?" still scored 0.34 at -2.0.
            "negation_missing": -3.0,
            # Set by hand: 1 when the question asks for a number of things ("three complexity classes") and the
            # span lists another number of them.
            "count_mismatch": -2.0,
            # Set by hand: 1 when the sentence has the opposite of a question word and not the word ("least"
            # where the sentence says "most").
            "antonym_present": -2.0,
        }
    )
    # How many of the best sentences are searched for spans: with 5, both question sets give exactly the
    # figures of 8 (the spans of the 6th to 8th never won), for about a third less reading time; 4 changes them.
    sentences_searched: int = 5
