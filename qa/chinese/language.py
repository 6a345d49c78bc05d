"""Which language a question is in: Chinese or English (the only two the bot answers in)."""

from __future__ import annotations

import re

CHINESE = "zh"
ENGLISH = "en"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str, chinese_share: float = 0.5) -> str:
    """``"zh"`` when Han characters make at least ``chinese_share`` of the question's Han characters plus
    Latin words, else ``"en"``.

    Characters are weighed against words because one Han character carries about as much as one English
    word: "Du Ping是谁？" (2 words, 2 characters) is Chinese, "Who is 杜平?" (2 words, 2 characters) too,
    "What does 数据 mean in the report?" is English.
    """
    han = len(_HAN.findall(text))
    if han == 0:
        return ENGLISH
    latin = len(_LATIN_WORD.findall(text))
    return CHINESE if han / (han + latin) >= chinese_share else ENGLISH
