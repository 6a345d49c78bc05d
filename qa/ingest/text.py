"""Small text utilities shared by the pipeline: sentence boundaries and word tokens.

Sentence splitting is rule-based on purpose: it never crosses a line break (so a headline or a byline never
merges with the body) and it is deterministic and fast, which the chunker and the reader both rely on.
"""

from __future__ import annotations

import re
from typing import Iterator

# A sentence ends at . ! ? (optionally followed by closing quotes or brackets) before whitespace and an
# upper-case letter, a digit or an opening quote; or at a Chinese full stop.
_SENTENCE_END = re.compile(r"(?<=[.!?])(?P<close>[\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])|(?<=[。！？])(?P<close_zh>)")
# Words that end with a full stop without ending the sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "fig", "inc", "ltd",
    "co", "corp", "gov", "dept", "univ", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec", "u.s", "u.k", "a.d", "b.c", "c", "ca", "approx", "vol", "pp", "ed", "eds", "al",
}
_WORD = re.compile(r"\w+(?:[-'’]\w+)*", re.UNICODE)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Offsets ``(start, end)`` of the sentences in ``text[start:end]``, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line_start, line_end in _line_spans(text, start, end):
        cursor = line_start
        for match in _SENTENCE_END.finditer(text, line_start, line_end):
            boundary = match.end("close") if match.group("close") is not None else match.end("close_zh")
            if _ends_with_abbreviation(text, cursor, boundary):
                continue
            spans.extend(_trimmed(text, cursor, boundary))
            cursor = match.end()
        spans.extend(_trimmed(text, cursor, line_end))
    return spans


def _line_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    cursor = start
    while cursor < end:
        newline = text.find("\n", cursor, end)
        if newline == -1:
            yield cursor, end
            return
        yield cursor, newline
        cursor = newline + 1


def _ends_with_abbreviation(text: str, start: int, boundary: int) -> bool:
    head = text[start:boundary].rstrip("\"'”’)]")
    if not head.endswith("."):
        return False
    word = head[:-1].rsplit(None, 1)[-1] if head[:-1].strip() else ""
    return word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper())


def _trimmed(text: str, start: int, end: int) -> list[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if end > start else []


def words(text: str) -> list[str]:
    """Lower-cased word tokens (hyphenated words kept whole)."""
    return [w.lower() for w in _WORD.findall(text)]
