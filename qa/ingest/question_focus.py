"""The question inside a visitor's message: greetings, requests and background set aside before it is read.

Visitors write to a chat box as they would to a person: "Hi, I'm putting together a briefing on data policy for
my team. Could you tell me which official from the city government spoke at this seminar? Thanks!" Read whole,
such a message punishes itself: the background's words and names are not in the answer's sentence, so the
question's terms look uncovered and a proper name looks missing (the near-miss evidence of the rule reader),
retrieval chases the background, and the answer is refused or wrong.

:func:`focus` keeps the question and drops the rest, in three steps, English only, from the wording alone:

1. the message is split into sentences; where some end with a question mark (or, failing that, some ask with a
   request such as "tell me" or begin with a question word), those are the question and the other sentences
   are background, unless the question refers back to them with a pronoun ("someone told me it came up at this
   event. Which speaker brought it up?"), when the sentence before it stays;
2. a greeting at the start ("Hi there,", "Good morning!") and a request around the question ("could you tell
   me", "I'd like to know", "do you know") are removed, so that "could you tell me which official spoke" reads
   "which official spoke";
3. thanks and pleasantries at the end ("Thanks in advance!", "please") are removed.

A message that is one plain question comes back unchanged, and nothing is ever reduced to nothing: where the
steps would leave no word, the message is read as written.
"""

from __future__ import annotations

import re

# Words a request without a question mark begins with: "Who spoke first." still asks.
_QUESTION_WORDS = frozenset(["who", "whom", "whose", "what", "which", "when", "where", "why", "how", "name", "list"])
_GREETING = re.compile(
    r"^\s*(?:(?:hi|hello|hey|hiya|greetings|dear\s+\w+)(?:\s+(?:there|all|everyone|team))?"
    r"|good\s+(?:morning|afternoon|evening|day))\b(?!-)[\s,.!:;-]*",
    re.IGNORECASE,
)
# A request that wraps the question: removed from the front of the question's sentence.
_REQUEST = re.compile(
    r"^\s*(?:(?:so|ok|okay|well|and|but|also|please)[\s,]+)*"
    r"(?:(?:i\s+was\s+wondering\s+)?if\s+you\s+(?:could|can)\s+help\s+me"
    r"|(?:could|can|would|will)\s+(?:you|someone|anyone)\s+(?:please\s+)?(?:tell|show|let)\s+me(?:\s+know)?(?:\s+please)?"
    r"|(?:please\s+)?(?:tell|show)\s+me"
    r"|(?:do|does)\s+(?:you|anyone)\s+(?:happen\s+to\s+)?know(?=\s+(?:who|whom|whose|what|which|when|where|why|how|if|whether)\b)"
    r"|i(?:'d|\s+would)\s+(?:really\s+)?(?:like|love)\s+to\s+(?:know|find\s+out|learn)"
    r"|i\s+(?:want|wanted|need|needed)\s+to\s+(?:know|find\s+out|learn|check)"
    r"|i(?:'m|\s+am|\s+was)\s+(?:just\s+)?(?:wondering|curious|trying\s+to\s+find\s+out)(?:\s+(?:about|if|whether))?"
    r"|(?:quick|one|a)\s+question(?:\s+for\s+you)?(?=\s*[:,-])"
    r"|sorry\b[^?]*?,\s*but"
    r"|any\s+idea"
    r")\b(?:\s+(?:with\s+)?(?:the\s+following|something|a\s+question))?\b[\s,:;-]*",
    re.IGNORECASE,
)
# Thanks and pleasantries at the end of the question's sentence (or as sentences of their own).
_THANKS = (
    r"(?:thanks(?:\s+(?:a\s+lot|so\s+much|in\s+advance))?|thank\s+you(?:\s+(?:very|so)\s+much)?(?:\s+in\s+advance)?"
    r"|cheers|(?:much|really)\s+appreciated|i(?:'d|\s+would)\s+(?:really\s+)?appreciate\s+it)"
)
# "please" at the end of the question's sentence; thanks after a comma or a question mark, or as a sentence of
# its own ("Who said thank you?" keeps its words).
_CLOSING = re.compile(
    rf"(?<![\s,;-])(?:[\s,;-]*\bplease|\s*[,;.!?-][\s,;-]*{_THANKS}(?:[\s,;-]+please)?|^\s*{_THANKS})\s*[.!?]*\s*$",
    re.IGNORECASE,
)
# A sentence of pure courtesy: never the antecedent of the question's pronoun.
_COURTESY = re.compile(
    r"^\s*(?:(?:i\s+)?hope\s+(?:you(?:'re|\s+are)\s+(?:well|doing\s+well)|this\s+finds\s+you\s+well)"
    r"|sorry\s+(?:to\s+bother\s+you|for\s+(?:the\s+trouble|bothering\s+you))"
    r"|(?:i\s+)?have\s+a\s+(?:quick\s+)?question|nice\s+to\s+meet\s+you)\s*[.!]*\s*$",
    re.IGNORECASE,
)
# A pronoun that refers back to something said before: the sentence before the question is kept with it.
_REFERS_BACK = re.compile(r"\b(?:it|its|they|them|their|he|him|his|she|her|this one|that one)\b|\b(?:that|this)\s*[?.!]?$",
                          re.IGNORECASE)
# A sentence ends at . ! or ?, except after an abbreviation ("Dr. Du", "10 a.m. on", "U.S. universities") or an
# initial (visitors start sentences in lower case too).
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=\S)")
_ABBREVIATION = re.compile(
    r"(?:\b(?:mr|mrs|ms|dr|prof|st|no|vs|etc|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|gen|gov|sen|rep)"
    r"|\b[a-z]|\b(?:[a-z]\.){1,3}[a-z])\.$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z']+")


def focus(message: str) -> str:
    """The question of ``message`` without its greeting, request wording, background and thanks; ``message``
    itself (stripped) where there is nothing to set aside or nothing would be left."""
    text = message.strip()
    sentences = _sentences(text.replace("’", "'"))  # phones type the curly apostrophe
    chosen = [s for s in (_trimmed(s) for s in _question_sentences(sentences)) if _WORD.search(s.rstrip("?"))]
    kept = " ".join(chosen)
    kept = re.sub(r"\s+", " ", kept).strip()
    if not _WORD.search(kept) or kept == re.sub(r"\s+", " ", text.replace("’", "'")):
        return text
    return kept


def _sentences(text: str) -> list[str]:
    """The message's sentences, not split after an abbreviation."""
    sentences, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        if not _ABBREVIATION.search(text[start : end.start()].rstrip("\"'”’)")):
            sentences.append(text[start : end.start()])
            start = end.end()
    sentences.append(text[start:])
    return [s.strip() for s in sentences if s.strip()]


def _question_sentences(sentences: list[str]) -> list[str]:
    """The sentences that ask, with the one before the first of them where the question refers back to it."""
    if len(sentences) <= 1:
        return sentences
    asking = [i for i, s in enumerate(sentences) if s.rstrip(" \"'”’)").endswith("?")]
    if not asking:
        asking = [i for i, s in enumerate(sentences) if _asks(s)]
    if not asking:
        return sentences
    first = asking[0]
    if first > 0 and _REFERS_BACK.search(sentences[first]) and not _is_pleasantry(sentences[first - 1]):
        first -= 1
    return [s for i, s in enumerate(sentences) if i in asking or i == first]


def _asks(sentence: str) -> bool:
    """A sentence without a question mark that still asks: a request, or a question word first."""
    bare = _GREETING.sub("", sentence)
    if _REQUEST.match(bare):
        return True
    words = _WORD.findall(bare.lower())
    return bool(words) and words[0] in _QUESTION_WORDS


def _is_pleasantry(sentence: str) -> bool:
    """A greeting, a courtesy ("sorry to bother you") or thanks, with nothing else in it."""
    rest = _CLOSING.sub("", _GREETING.sub("", sentence))
    return not _WORD.search(rest) or bool(_COURTESY.match(rest))


def _trimmed(sentence: str) -> str:
    """The sentence without a greeting in front, a request wrapped around it, or thanks at its end."""
    previous = None
    while previous != sentence:
        previous = sentence
        sentence = _GREETING.sub("", sentence, count=1)
        sentence = _REQUEST.sub("", sentence, count=1)
        sentence = _CLOSING.sub("", sentence, count=1) + ("?" if sentence.rstrip().endswith("?") else "")
        sentence = sentence.strip()
        if sentence.endswith("??"):
            sentence = sentence[:-1]
    return sentence
