"""A Chinese question rendered as an English question for the span model (the learned reader's).

The span model was trained on English questions; it needs to know what kind of answer is asked for and what
the question is about, not a fluent sentence. So a Chinese question becomes its English question phrase and
its English content terms, with its numbers written as English writes them:

    约翰·埃尔维在第33届超级碗中为谁效力？  →  "Who john elway super bowl 33rd?"
    2012年5月袭击该市的风暴叫什么名字？   →  "What is the name of storm city 2012 May?"

* The **question phrase** comes from the Chinese question word and what follows it, by general Chinese
  grammar (:data:`QUESTION_PHRASES`): 谁 → "Who", 什么时候 → "When", 哪一年 → "In what year", 多少 → "How
  many", 多高 → "How high", 为什么 → "Why", but 称为什么 ("called what") → "What". 哪/什么 + a noun the
  Chinese path knows (哪所大学) → "Which university".
* The **content terms** are those the Chinese path already found (:class:`qa.chinese.reader.ChineseReader`): names
  matched across scripts, dictionary senses in the corpus's words, the multilingual model's nearest words.
* **Numbers**: 2015年 → 2015, 5月 → May, 第49届 → 49th, 70年代 → 1970s, 三十八 → 38.
"""

from __future__ import annotations

import re

from qa.readers.question import QuestionAnalysis

# (pattern, English question phrase), first match wins: the specific before the general.
QUESTION_PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), phrase)
    for p, phrase in (
        # "V为什么" is "V as what", not "why": 称为什么 (called what), 成为什么 (became what), 改名为什么
        (r"(?:称|成|名|作|改|更名|命名|表述|视|分|译|定|认|变|转)为什么", "What"),
        (r"为什么|为何|什么原因|原因是什么|何故", "Why"),
        (r"叫什么名字|叫什么|什么名字|名叫|叫做什么|称作什么|名称是什么|名字是什么|称什么", "What is the name of"),
        (r"什么时候|何时|什么时间|哪天|哪一天|哪日|几月|几号|哪个月|什么日期|哪个日期", "When"),
        (r"哪一?年|哪个年份|什么年份", "In what year"),
        (r"哪个世纪|哪一世纪", "In what century"),
        (r"哪里|哪儿|在哪|何地|何处|什么地方|什么地点|哪个地方|哪些地方", "Where"),
        (r"谁|哪位|哪一?个人|什么人|哪些人|哪几位", "Who"),
        (r"多少钱|什么价格|价格是多少", "How much"),
        (r"百分之多少|百分之几|多少比例|什么比例|比例是多少|比例为多少|百分比是多少|百分比", "What percentage"),
        (r"多大年纪|多少岁|几岁|年龄是多少", "How old"),
        (r"多长时间|多久|多少年|多少天|多少个月|多少小时|几年|几天|几个月", "How long"),
        (r"多大|多广|面积是多少|面积有多少", "How large"),
        (r"多长|长度是多少", "How long"),
        (r"多高|高度是多少", "How high"),
        (r"多快|速度是多少", "How fast"),
        (r"多远|距离是多少", "How far"),
        (r"多重|重量是多少", "How heavy"),
        (r"多深|深度是多少", "How deep"),
        (r"第几", "What rank"),
        (r"多少|几[个位名次种家所条座项件本部支场届]?", "How many"),
        (r"怎样|怎么样|怎么|如何", "How"),
        (r"哪[一]?[个些种所家条座部国类支]?", "Which"),
    )
]

_PASSAGE_WORD = re.compile(r"[a-z][a-z'-]*|\d[\d,.%]*\d|\d", re.IGNORECASE)
_FIGURE = re.compile(r"\d[\d,.]*\d|\d")
_DIGITS = "零一二三四五六七八九"
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_CHINESE_NUMBER = re.compile(f"[{_DIGITS}两{''.join(_UNITS)}]+")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
# A number and what follows it, in the question: "第 33 届", "2012年", "70年代", "5月", "38岁", "91%", "3.5%".
_NUMBER = re.compile(
    r"(?P<ordinal>第\s*)?(?P<value>\d+(?:,\d{3}(?!\d))*(?:\.\d+)?|[零〇一二三四五六七八九两十百千万亿]+)\s*"
    r"(?P<unit>年代|年|月|日|号|%|％)?"
)
# 多 and 几 in words that ask nothing: 很多 (many), 许多, 好多, 众多, 诸多, 几乎 (almost).
_NOT_ASKING = re.compile(r"[很许好众诸]多|几乎")


def chinese_number(text: str) -> int | None:
    """The value of a number in Chinese numerals ("三十八" → 38, "两千" → 2000, "一九九七" → 1997)."""
    text = text.replace("〇", "零")
    if not text or not _CHINESE_NUMBER.fullmatch(text):
        return None
    text = text.replace("两", "二")
    if not any(unit in text for unit in _UNITS):  # digit by digit: 一九九七
        return int("".join(str(_DIGITS.index(ch)) for ch in text))
    total, section, digit = 0, 0, 0
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS.index(ch)
        elif _UNITS[ch] >= 10_000:
            total += (section + digit) * _UNITS[ch]
            section, digit = 0, 0
        else:
            section += (digit or 1) * _UNITS[ch]
            digit = 0
    return total + section + digit


ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


def ordinal(n: int, spelled: bool = False) -> str:
    """33 → "33rd"; with ``spelled`` (a number the question wrote in Chinese numerals), 3 → "third"."""
    if spelled and 1 <= n <= len(ORDINAL_WORDS):
        return ORDINAL_WORDS[n - 1]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def english_numbers(question: str) -> list[str]:
    """The question's numbers as English writes them, in the question's order."""
    found: list[str] = []
    for match in _NUMBER.finditer(question):
        raw, unit, ordinal_mark = match.group("value"), match.group("unit"), match.group("ordinal")
        spelled = not raw[0].isdigit()
        if spelled:
            value = chinese_number(raw)
            # 一 in 一种, 百 in 百科, 千万 ("by all means"), 一年 in 哪一年: words, not figures
            if value is None or not (ordinal_mark or (unit and len(raw) > 1) or (len(raw) > 1 and any(d in raw for d in _DIGITS))):
                continue
            number = value
        elif unit is None and not ordinal_mark:
            found.append(raw)  # a plain figure, as written: 1,160,000 or 3.5
            continue
        elif unit in ("%", "％"):
            found.append(f"{raw}%")
            continue
        else:
            try:
                number = int(float(raw.replace(",", "")))
            except ValueError:
                continue
        if ordinal_mark:
            found.append(ordinal(number, spelled=spelled))
        elif unit == "年代":
            found.append(f"{1900 + number if number < 100 else number}s")
        elif unit == "月" and 1 <= number <= 12:
            found.append(MONTHS[number - 1])
        else:
            found.append(str(number))
    return found


def question_phrase(question: str, head: str | None) -> str:
    """The English question phrase for the Chinese question word ("Who", "How many", "Which university")."""
    question = _NOT_ASKING.sub("  ", question)
    for pattern, phrase in QUESTION_PHRASES:
        if pattern.search(question):
            if phrase in ("Which", "What") and head:
                return f"{phrase} {head}"
            return phrase
    return f"What {head}" if head else "What"


def passage_words(texts: list[str]) -> frozenset[str]:
    """The lower-cased words and figures of the passages the span model will read."""
    return frozenset(w.lower() for text in texts for w in _PASSAGE_WORD.findall(text))


def render(
    phrase: str, terms: list[str], numbers: list[str], vocabulary: frozenset[str] | None = None, negated: bool = False
) -> str:
    """``phrase`` ("not" after it for a negated question) and the terms and numbers that occur in
    ``vocabulary`` (all, when it is None), once each.

    Terms the passages do not contain cannot point the span model at a place in them; they are mostly the
    translation's misses (a dictionary sense or a nearest word the page does not use) and only add noise.
    """
    words: list[str] = []
    for word in [*terms, *numbers]:
        if word.lower() in {w.lower() for w in words}:
            continue
        if vocabulary is None or all(part in vocabulary for part in _PASSAGE_WORD.findall(word.lower())):
            words.append(word)
    return " ".join([phrase, *(["not"] if negated else []), *words]).strip() + "?"


def render_question(analysis: QuestionAnalysis, vocabulary: frozenset[str] | None = None) -> str:
    """The English question the span model reads for a Chinese question (see the module's docstring)."""
    terms = [t.word if t.word.lower() in (vocabulary or ()) else t.lemma for t in analysis.terms]
    phrase = question_phrase(analysis.text, analysis.head)
    return render(phrase, terms, english_numbers(analysis.text), vocabulary, analysis.negated)


def render_english(analysis: QuestionAnalysis, vocabulary: frozenset[str] | None = None) -> str:
    """An English question in the same style (its wh-phrase, terms and figures): what the rendered-question
    calibration is fitted on (:mod:`qa.training.rendered`), since no Chinese-to-English training set exists."""
    phrase = (analysis.wh or "what").capitalize()
    if analysis.head and phrase in ("Which", "What"):
        phrase = f"{phrase} {analysis.head}"
    terms = [t.word for t in analysis.terms]
    return render(phrase, terms, _FIGURE.findall(analysis.text), vocabulary, analysis.negated)
