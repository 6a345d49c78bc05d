"""Questions as visitors type them: lower case, no question mark, a typo or two.

The training data's questions were written carefully by crowd workers; visitors to a chat type fast. A share
of the training questions is rewritten in one of these styles, chosen by the question's id (so a resumed run
sees the same text), so that the span model does not learn that only well-typed questions have answers. The
edits are generic and random: no word list, nothing taken from any evaluation set.
"""

from __future__ import annotations

import dataclasses
import random
import re

from qa.training.data import Example

STYLES = ("lower_case", "no_question_mark", "typos", "lower_case_typos")
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
    pieces, at = [], 0
    for match in chosen:
        pieces += [question[at : match.start()], typo(match.group(), rng)]
        at = match.end()
    return "".join(pieces) + question[at:]


def restyle(question: str, style: str, rng: random.Random) -> str:
    if style == "lower_case":
        return question.lower().rstrip(" ?")
    if style == "no_question_mark":
        return question.rstrip(" ?")
    if style == "typos":
        return with_typos(question, rng)
    if style == "lower_case_typos":
        return with_typos(question.lower().rstrip(" ?"), rng)
    raise ValueError(f"unknown style {style!r}; known: {', '.join(STYLES)}")


def maybe_restyle(example: Example, share: float, seed: int) -> Example:
    """The example with its question in a visitor's style, for ``share`` of the examples (by id)."""
    rng = random.Random(f"style:{seed}:{example.qid}")
    if rng.random() >= share:
        return example
    return dataclasses.replace(example, question=restyle(example.question, rng.choice(STYLES), rng))
