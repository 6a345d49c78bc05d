"""Questions as visitors type them: lower case, no question mark, a typo or two, a few keywords, other words
than the paragraph's (WordNet synonyms), or the question wrapped in a sentence or two of politeness.

The training data's questions were written carefully by crowd workers; visitors to a chat type fast, type a
search box's keywords, or write a long-winded request. A share of the training questions is rewritten in one
of these styles, chosen by the question's id (so a resumed run sees the same text), so that the span model does
not learn that only well-typed questions have answers. The edits are generic and random: the only word lists
are English function words, a few stock phrases of politeness and WordNet, nothing taken from any evaluation set.
"""

from __future__ import annotations

import dataclasses
import random
import re

from qa.training.data import Example

# How fast typing changes a question: its words stay, their case and spelling slip.
TYPING_STYLES = ("lower_case", "no_question_mark", "typos", "lower_case_typos")
# How a visitor may phrase it instead: a search box's keywords, a long-winded request, or other words than the
# paragraph's (a WordNet synonym for one or two of its words, qa.training.synonyms).
PHRASING_STYLES = ("keywords", "wordy", "synonyms")
STYLES = TYPING_STYLES + PHRASING_STYLES
MIN_TYPO_WORD = 5  # shorter words keep their spelling: a typo in "who" or "city" changes the word
MAX_TYPOS = 2
_WORD = re.compile(r"[A-Za-z]{%d,}" % MIN_TYPO_WORD)


def typo(word: str, rng: random.Random) -> str:
    """One keyboard slip inside ``word`` (its first letter kept): two letters swapped, one dropped or one
    doubled."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap":  # two equal letters ("ee") swapped leave the word as it was: no slip that time
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def with_typos(question: str, rng: random.Random) -> str:
    words = list(_WORD.finditer(question))
    if not words:
        return question
    chosen = sorted(rng.sample(words, min(len(words), rng.randint(1, MAX_TYPOS))), key=lambda m: m.start())
    return _spliced(question, [(m.start(), m.end(), typo(m.group(), rng)) for m in chosen])


def _spliced(text: str, replacements: list[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end) span, in order and not overlapping, replaced by its new text."""
    pieces, at = [], 0
    for start, end, new in replacements:
        pieces += [text[at:start], new]
        at = end
    return "".join(pieces) + text[at:]


# What a keyword query leaves out: question words, auxiliaries, articles, pronouns and the commonest
# prepositions and conjunctions (English function words; the content words, names and figures stay).
FUNCTION_WORDS = frozenset("""
a an the what which who whom whose when where why how is are was were be been being am do does did done has
have had having can could would should will shall may might must of to in on at by for from with about as into
onto than that this these those it its they them their there here he she his her him we our you your i me my
and or but if so not no nor also any some such very
""".split())
_TOKEN = re.compile(r"[\w'-]+|[^\w\s]")
# Long-winded openings and closings of a request typed into a chat (generic; ``{q}`` is the question).
WORDY_FRAMES = (
    "I was wondering if you could help me with something: {q}",
    "Hello, I have a question. {q} Thanks in advance!",
    "Sorry if this is a silly question, but {q}",
    "I read the article but I'm still not sure about one thing. {q}",
    "Could you please tell me something? {q} I would really appreciate it.",
    "Hi there! I'm trying to find out the following: {q}",
    "Quick question for you: {q} Thank you.",
    "I have been looking for this for a while and cannot find it anywhere. {q}",
)


def keywords(question: str) -> str:
    """The question as typed into a search box: its content words, in order, lower case, no punctuation
    (the question itself when it has no content word left)."""
    words = [w for w in _TOKEN.findall(question) if re.match(r"\w", w) and w.lower() not in FUNCTION_WORDS]
    return " ".join(words).lower() or question


def wordy(question: str, rng: random.Random) -> str:
    """The question inside a long-winded request (its first letter lower-cased after a "but")."""
    frame = rng.choice(WORDY_FRAMES)
    if "but {q}" in frame and question[:1].isupper() and not question[1:2].isupper():
        question = question[0].lower() + question[1:]
    return frame.format(q=question.strip())


MAX_SYNONYMS = 2  # words of a question swapped for a synonym
# Penn tags of the uninflected forms WordNet's lemmas stand for as they are: singular nouns, base and present
# verbs, plain adjectives (an inflected word would need its synonym inflected: "released" → "relinquished").
UNINFLECTED_TAGS = frozenset({"NN", "VB", "VBP", "JJ"})


def with_synonyms(question: str, rng: random.Random) -> str:
    """The question with one or two of its uninflected content words swapped for a synonym of their commonest
    sense; the question itself where none has one. Only lower-case words of a question that has capitals (in
    an all lower-case question a name cannot be told from a word: "who is bill gates"), and no word of a
    hyphenated compound ("state-of-the-art")."""
    from qa.ingest.annotation import load_spacy  # the tagger, loaded once for this style
    from qa.training.synonyms import synonyms

    if question.lower() == question:
        return question
    tokens = load_spacy()(question)

    def in_compound(t) -> bool:
        return (t.i > 0 and tokens[t.i - 1].text == "-") or (t.i + 1 < len(tokens) and tokens[t.i + 1].text == "-")

    swappable = [(t, found) for t in tokens
                 if t.tag_ in UNINFLECTED_TAGS and not t.is_stop and t.text.islower() and t.lemma_ == t.lower_
                 and t.lower_ not in FUNCTION_WORDS and not in_compound(t) and (found := synonyms(t.lemma_, t.pos_))]
    if not swappable:
        return question
    chosen = sorted(rng.sample(swappable, min(len(swappable), rng.randint(1, MAX_SYNONYMS))), key=lambda c: c[0].idx)
    return _spliced(question, [(t.idx, t.idx + len(t.text), rng.choice(found)) for t, found in chosen])


def parse_styles(value: str) -> tuple[str, ...]:
    """Style names from a comma-separated list (a setting, a flag); a ValueError for none or an unknown one."""
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        raise ValueError(f"no styles given; known: {', '.join(STYLES)}")
    unknown = [n for n in names if n not in STYLES]
    if unknown:
        raise ValueError(f"unknown styles {', '.join(unknown)}; known: {', '.join(STYLES)}")
    return names


def restyle(question: str, style: str, rng: random.Random) -> str:
    if style == "lower_case":
        return question.lower().rstrip(" ?")
    if style == "no_question_mark":
        return question.rstrip(" ?")
    if style == "typos":
        return with_typos(question, rng)
    if style == "lower_case_typos":
        return with_typos(question.lower().rstrip(" ?"), rng)
    if style == "keywords":
        return keywords(question)
    if style == "wordy":
        return wordy(question, rng)
    if style == "synonyms":
        return with_synonyms(question, rng)
    raise ValueError(f"unknown style {style!r}; known: {', '.join(STYLES)}")


def maybe_restyle(example: Example, share: float, seed: int, styles: tuple[str, ...] = STYLES) -> Example:
    """The example with its question in one of ``styles``, for ``share`` of the examples (by id)."""
    rng = random.Random(f"style:{seed}:{example.qid}")
    if rng.random() >= share:
        return example
    return dataclasses.replace(example, question=restyle(example.question, rng.choice(styles), rng))
