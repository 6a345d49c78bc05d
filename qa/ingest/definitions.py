"""Short names a document defines for long ones.

"the State Information Center (SIC)" defines an acronym, "the Guangdong-Hong Kong-Macao Greater Bay Area Big
Data Institute (hereinafter referred to as the Institute)" a short name. The reader lets an acronym stand for
its words, and :class:`~qa.readers.lookups.DefinitionReader` answers "What does SIC stand for?" with the long
name, cited where the document defines it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.ingest import answer_types as rules
from qa.types import Sentence, Token

# Words a long name may hold between its capitalised words ("Department *of* Big Data Development").
NAME_GAPS = frozenset({"of", "and", "for", "the", "on", "in", "&"})
# A whole bracket that introduces a short name: "(hereinafter referred to as the Institute)".
ALIAS_BRACKET = re.compile(r"\(\s*(?:hereinafter|hereafter)\b[^()]*\)", re.I)
_INTRODUCED = re.compile(
    r"^\(\s*(?:hereinafter|hereafter)\s*(?:,\s*)?(?:referred\s+(?:to\s+)?as|called|named|the)\s+(?P<short>[^()]{1,60}?)\s*\)",
    re.I,
)


@dataclass(frozen=True)
class Definition:
    short: str  # the short name, lower-case, without a leading "the" ("sic", "bay area")
    doc_id: str
    start: int  # the long name's character offsets in the document
    end: int
    sentence_id: int
    lemmas: frozenset[str]  # the long name's words (lemmas, lower-case)
    acronym: bool  # the short name is the long one's initials
    written: str = ""  # the short name as the page writes it ("SIC")


def short_key(name: str) -> str:
    """A short name as looked up: lower-case, quotes and a leading "the" dropped, spaces single."""
    words = re.sub(r"[\"'“”‘’]", " ", name).lower().split()
    return " ".join(words[1:] if words[:1] == ["the"] else words)


def find_definitions(sentences: list[Sentence]) -> list[Definition]:
    """Every acronym and "hereinafter referred to as" name the sentences define, in document order."""
    found: list[Definition] = []
    for sentence in sentences:
        for i, token in enumerate(sentence.tokens):
            text = _text(sentence, token)
            glued = text.find("(")  # "Area(hereinafter": the tokenizer kept the bracket on the word
            if glued < 0:
                continue
            rest = sentence.text[token.start - sentence.start + glued :]
            close = rest.find(")")
            if close < 0:
                continue
            inside = rest[1:close].strip()
            introduced = _INTRODUCED.match(rest)
            acronym = inside.isalpha() and inside.isupper() and 2 <= len(inside) <= 8
            if not (acronym or introduced):
                continue
            count = len(inside) if acronym else None
            words = [(t, _text(sentence, t)) for t in _name_before(sentence, i, count - 1 if count and glued else count)]
            if glued:
                if not text[:1].isupper():
                    continue
                words.append((token, text[:glued]))
            if not words or (acronym and "".join(w[0] for _, w in words) != inside):
                continue
            found.append(
                Definition(
                    short=short_key(inside if acronym else introduced.group("short")),  # type: ignore[union-attr]
                    doc_id=sentence.doc_id,
                    start=words[0][0].start,
                    end=words[-1][0].start + len(words[-1][1]),
                    sentence_id=sentence.sentence_id,
                    lemmas=frozenset(t.lemma if w == _text(sentence, t) else w.lower() for t, w in words) - NAME_GAPS,
                    acronym=acronym,
                    written=inside if acronym else introduced.group("short").strip(),  # type: ignore[union-attr]
                )
            )
    return found


def find_full_names(sentences: list[Sentence], word: str) -> list[Definition]:
    """Each name the sentences write in capitals around ``word`` ("seminar"): the capitalised words before it
    ("Guangdong-Hong Kong-Macao ... Cultivation *Seminar*", as the page's title writes it), and an "of" phrase
    after it ("*University* of Political Science and Law"). For "the full name of the seminar" when the page
    defines no short name: the longest is the full one."""
    found: list[Definition] = []
    for sentence in sentences:
        people = _people(sentence)
        for i, token in enumerate(sentence.tokens):
            if _text(sentence, token).lower() != word or i in people:
                continue  # a person's full name is the name itself
            name = [*_modifiers_before(sentence, i, people), token, *_of_phrase_after(sentence, i, people)]
            capitalised = [t for t in name if _is_name_word(_text(sentence, t))]
            if len(capitalised) < 2:
                continue
            found.append(
                Definition(
                    short=word,
                    doc_id=sentence.doc_id,
                    start=name[0].start,
                    end=name[-1].end,
                    sentence_id=sentence.sentence_id,
                    lemmas=frozenset(t.lemma.lower() for t in capitalised),
                    acronym=False,
                    written=_text(sentence, token),
                )
            )
    return found


def _modifiers_before(sentence: Sentence, i: int, people: set[int]) -> list[Token]:
    """The capitalised words before token ``i`` that modify it: "Institute of [China University]" and
    "Institute and [Engineering Laboratory]" are two names, "[Development and Reform] Commission" is one;
    none of a person's name (``people``: their token positions)."""
    position = {t.start: k for k, t in enumerate(sentence.tokens)}
    before = [t for t in _name_before(sentence, i, None) if _is_name_word(_text(sentence, t))]
    after_person = [n + 1 for n, t in enumerate(before) if position[t.start] in people]
    starts = after_person + [
        n
        for n, (a, b) in enumerate(zip(before, before[1:] + [sentence.tokens[i]]), 1)
        if _LINKED.search(gap := sentence.text[a.end - sentence.start : b.start - sentence.start])
        or (_JOINED.search(gap) and rules.HEAD_NOUN_TYPES.get(a.lemma.lower()) == rules.ORGANISATION)
    ]
    return before[max(starts, default=0) :]


def _of_phrase_after(sentence: Sentence, i: int, people: set[int]) -> list[Token]:
    """The capitalised words of the "of" phrases after token ``i`` ("University [of Political Science and
    Law]"), up to a person's name ("Commission of Shenzhen and [Zeng Jianpeng]")."""
    tokens = sentence.tokens

    def name_word(k: int) -> bool:
        return k < len(tokens) and k not in people and _is_name_word(_text(sentence, tokens[k]))

    words: list[Token] = []
    j = i + 1
    while j + 1 < len(tokens) and _text(sentence, tokens[j]) in _NAME_LINKS and name_word(j + 1):
        j += 1
        while j < len(tokens) and (name_word(j) or (_text(sentence, tokens[j]) in NAME_GAPS and name_word(j + 1))):
            words.append(tokens[j])
            j += 1
    return words


def _people(sentence: Sentence) -> set[int]:
    """The token positions inside people's names."""
    return {
        k
        for k, t in enumerate(sentence.tokens)
        if any(e.label == "PERSON" and e.start <= t.start and t.end <= e.end for e in sentence.entities)
    }


_NAME_LINKS = ("of", "for")  # "University *of* Political Science and Law"
_LINKED = re.compile(r"\b(?:of|for)\b")
_JOINED = re.compile(r"\band\b|&")


def _is_name_word(text: str) -> bool:
    """A capitalised word ("Bay", "Hong-Kong"), not a label glued to a value ("Date:2020")."""
    return text[:1].isupper() and text.replace("-", "").isalpha()


def _text(sentence: Sentence, token: Token) -> str:
    return sentence.text[token.start - sentence.start : token.end - sentence.start]


def _name_before(sentence: Sentence, paren: int, count: int | None) -> list[Token]:
    """The capitalised words (``count`` of them, or all) right before the bracket at token ``paren``, with
    the small words between them; hyphenated parts of one word count once ("Guangdong-Hong Kong-Macao")."""
    tokens = sentence.tokens
    words: list[Token] = []
    j = paren - 1
    while j >= 0 and (count is None or len(words) < count):
        text = _text(sentence, tokens[j])
        if text[:1].isupper():
            words.insert(0, tokens[j])
        elif text == "-" or (text.lower() in NAME_GAPS and words and j > 0 and _text(sentence, tokens[j - 1])[:1].isupper()):
            pass
        else:
            break
        j -= 1
    if count is None:
        # hyphenated compounds are one name: keep the tokens glued to the first capitalised word
        while j >= 0 and tokens[j].end == tokens[j + 1].start and _text(sentence, tokens[j])[:1].isupper():
            words.insert(0, tokens[j])
            j -= 1
    return words
