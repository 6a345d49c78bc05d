"""``qa fit-combiner``: fit the learned reader's combiner on held-apart training articles.

The articles that ``qa train-reader`` held apart (never trained on), of every source (Wikipedia, new Wikipedia,
Reddit, Amazon reviews), are indexed in small groups (open book), and their questions asked through the real
pipeline: retrieval, the span model, the rule reader's evidence. Near misses of six kinds made from some of
the questions (:mod:`qa.training.negatives`) are the unanswerable ones, and a quarter of all the questions are
written as visitors type (:mod:`qa.training.styles`). A candidate is right when its F1 with the gold answer
is at least 0.5 (never, for a near miss).

The groups are split in two: the combiner (its chooser, a softmax over each question's candidates; its
confidence, a logistic regression over every candidate; both L2, by Newton's method) and its threshold
(the best overall F1) are fitted on the first part; the second part only reports the figures,
side by side with the span model alone and the rule reader alone. Nothing here reads an evaluation set.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.config import Settings
from qa.evaluation.metrics import f1
from qa.readers.combiner import DEFAULT_EARLY_EXIT, FEATURES, Combiner, LinearModel, combiner_file
from qa.readers.learned import Candidate
from qa.training.card import write_card
from qa.training.data import Article, Example, answerable_examples, load_articles, shuffled, split_articles
from qa.training.negatives import HELD_APART_NEAR_MISS_KINDS, make_negatives
from qa.training.styles import STYLES, TYPING_STYLES, maybe_restyle, parse_styles
from qa.training.train import DEFAULT_DATA, TrainingSettings

if TYPE_CHECKING:
    from qa.pipeline import QAPipeline

RIGHT_F1 = 0.5  # a candidate with at least this F1 against the gold answer counts as right
# The chooser's L2 penalty (standardised features). Stronger than the confidence model's: the softmax is fitted on
# fewer, grouped rows (one group per answerable question); 1 and 10 chose alike on the held-apart check groups.
CHOICE_L2 = 10.0
EARLY_EXIT_STEP = 0.01  # the early exit's grid, from DEFAULT_EARLY_EXIT down to the threshold
# How much overall F1 (a fraction) the early exit may cost the fit groups: half a point, three of ~600 questions.
# The F1 of the fit groups wanders by a question or two (±0.3 points) as the early exit moves; with no tolerance
# the fit stopped at the first such dip (0.68: a 1.5 ms gain in p50), with half a point at 0.34, a hundredth above
# the threshold (a third of the span model's time; docs/reader-and-training.md).
EARLY_EXIT_TOLERANCE = 0.005


@dataclass
class Question:
    example: Example
    candidates: list[Candidate]
    texts: list[str]
    rule_answer: str | None  # the rule reader's answer at its own threshold
    rule_text: str  # the rule reader's best span, answered or not
    # The candidates of the first reading alone (the first passages: what the early exit decides on), and texts.
    first_candidates: list[Candidate] = dataclasses.field(default_factory=list)
    first_texts: list[str] = dataclasses.field(default_factory=list)

    def labels(self) -> list[float]:
        if not self.example.answerable:
            return [0.0] * len(self.candidates)
        return [float(f1(self.example.answer_text, t) >= RIGHT_F1) for t in self.texts]

    def matrix(self) -> np.ndarray:
        """One row of features per candidate, in :data:`FEATURES` order."""
        return np.array([[c.features[name] for name in FEATURES] for c in self.candidates]).reshape(-1, len(FEATURES))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (Newton's method; the bias is not penalised)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -30, 30)))
        gradient = design.T @ (p - y) + penalty * w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def fit_softmax_choice(groups: list[tuple[np.ndarray, np.ndarray]], l2: float, iterations: int = 50) -> np.ndarray:
    """Weights of a linear score whose softmax over each group's rows puts its mass on the group's right rows
    (a conditional logit with the right rows as a uniform target: convex, fitted by Newton's method). ``groups``:
    (standardised features, 0/1 labels) of each question with at least one right candidate."""
    if not groups:
        raise ValueError("no question has a right candidate: nothing to fit the chooser on")
    d = groups[0][0].shape[1]
    w = np.zeros(d)
    for _ in range(iterations):
        gradient, hessian = l2 * w, l2 * np.eye(d)
        for x, right in groups:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            gradient += x.T @ (p - right / right.sum())
            hessian += (x * p[:, None]).T @ x - np.outer(x.T @ p, x.T @ p)
        step = np.linalg.solve(hessian + 1e-9 * np.eye(d), gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def _standardised(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    means, scales = x.mean(axis=0), x.std(axis=0)
    scales[scales < 1e-6] = 1.0
    return means, scales


def _linear_model(weights: np.ndarray, bias: float, means: np.ndarray, scales: np.ndarray) -> LinearModel:
    return LinearModel(
        weights={n: round(float(w), 5) for n, w in zip(FEATURES, weights)},
        bias=round(float(bias), 5),
        means={n: round(float(m), 5) for n, m in zip(FEATURES, means)},
        scales={n: round(float(s), 5) for n, s in zip(FEATURES, scales)},
    )


def fit_combiner(questions: list[Question], description: str) -> Combiner:
    """The chooser (a softmax over each answerable question's candidates, its right ones as the target), the
    confidence (a logistic regression over every candidate of every question: unanswerable questions' are all
    wrong), then the threshold (the best overall F1 of the chooser's picks)."""
    asked = [q for q in questions if q.candidates]
    matrices = [q.matrix() for q in asked]
    means, scales = _standardised(np.vstack(matrices))
    groups = [((x - means) / scales, np.array(q.labels())) for q, x in zip(asked, matrices)]
    chooser = _linear_model(fit_softmax_choice([(x, y) for x, y in groups if y.any()], CHOICE_L2), 0.0, means, scales)
    weights, bias = fit_logistic(np.vstack([x for x, _ in groups]), np.concatenate([y for _, y in groups]))
    combiner = Combiner(chooser, _linear_model(weights, bias, means, scales), 0.5, description)
    decisions = [_best(combiner, q) for q in questions]
    threshold = round(float(max(np.linspace(0.05, 0.95, 91), key=lambda t: _overall_f1(questions, decisions, t))), 3)
    combiner = dataclasses.replace(combiner, threshold=threshold)
    if not any(q.first_candidates for q in questions):  # a reading without an early exit (sentence windows)
        return combiner
    return dataclasses.replace(combiner, early_exit=fit_early_exit(combiner, questions))


def fit_early_exit(combiner: Combiner, questions: list[Question], tolerance: float = EARLY_EXIT_TOLERANCE) -> float:
    """The lowest early exit (from ``DEFAULT_EARLY_EXIT``, or the threshold where that is higher, down to the
    threshold, in steps of ``EARLY_EXIT_STEP``) at which, and at every value above which, the fit questions'
    overall F1 stays within ``tolerance`` of reading every passage: the first reading's choice stands wherever
    more reading would not improve the answers by more than that. 1.0 (every passage read) where even the
    highest value costs more."""
    full = _overall_f1(questions, [_best(combiner, q) for q in questions], combiner.threshold)
    top = max(DEFAULT_EARLY_EXIT, combiner.threshold)
    steps = int(round((top - combiner.threshold) / EARLY_EXIT_STEP))
    chosen = 1.0
    for early_exit in (round(top - k * EARLY_EXIT_STEP, 3) for k in range(steps + 1)):
        decisions = [_served(combiner, q, early_exit) for q in questions]
        if _overall_f1(questions, decisions, combiner.threshold) < full - tolerance - 1e-9:
            break
        chosen = early_exit
    return chosen


def _served(combiner: Combiner, question: Question, early_exit: float) -> tuple[float, str]:
    """The choice as the reader serves it: the first reading's where it reaches ``early_exit``, else the full
    reading's."""
    first = _best(combiner, question, first_reading=True)
    return first if first[0] >= early_exit and question.first_candidates else _best(combiner, question)


def _best(combiner: Combiner, question: Question, first_reading: bool = False) -> tuple[float, str]:
    """The combiner's choice for the question (its probability and text), of the full or the first reading."""
    candidates, texts = ((question.first_candidates, question.first_texts) if first_reading
                         else (question.candidates, question.texts))
    chosen = combiner.choose([c.features for c in candidates])
    if chosen is None:
        return 0.0, ""
    return combiner.probability(candidates[chosen].features), texts[chosen]


def _overall_f1(questions: list[Question], decisions: list[tuple[float, str]], threshold: float) -> float:
    return float(np.mean([_score(q, text if p >= threshold else None) for q, (p, text) in zip(questions, decisions)]))


def _score(question: Question, answer: str | None) -> float:
    if not question.example.answerable:
        return float(answer is None)
    return 0.0 if answer is None else f1(question.example.answer_text, answer)


def figures(questions: list[Question], answers: list[str | None]) -> dict:
    has = [(q, a) for q, a in zip(questions, answers) if q.example.answerable]
    neg = [(q, a) for q, a in zip(questions, answers) if not q.example.answerable]
    return {
        "questions": len(questions),
        "unanswerable": len(neg),
        "f1": round(100 * float(np.mean([_score(q, a) for q, a in zip(questions, answers)])), 2),
        "has_ans_f1": round(100 * float(np.mean([_score(q, a) for q, a in has])), 2) if has else None,
        "no_ans_accuracy": round(100 * float(np.mean([a is None for _, a in neg])), 2) if neg else None,
        "no_ans_accuracy_by_kind": {
            kind: round(100 * float(np.mean([a is None for q, a in neg if q.example.kind == kind])), 1)
            for kind in sorted({q.example.kind for q, _ in neg})
        },
    }


@dataclass
class Group:
    """A few held-apart articles indexed together, and their questions as the pipeline read them."""

    settings: Settings
    questions: list[Question]


@dataclass
class HeldApartGroup:
    """A few held-apart articles, indexed together as a corpus of their own, and the questions asked of it."""

    settings: Settings
    examples: list[Example]  # answerable ones, then their near misses


SOURCES = ("squad-v1.1", "new_wiki", "reddit", "amazon")  # how each source's articles name it
GROUP_STYLE_SHARE = 0.25  # of the held-apart groups' questions, written as visitors type (qa.training.styles)
PIECE_PARAGRAPHS = 12  # an article is asked about in pieces of this many paragraphs, as one small corpus


def held_apart_groups(settings: TrainingSettings, work_dir: Path, articles_per_group: int, groups: int,
                      questions_per_group: int, near_miss_share: float, reader_settings: Settings,
                      style_share: float = GROUP_STYLE_SHARE, styles: tuple[str, ...] = TYPING_STYLES,
                      ) -> list[HeldApartGroup]:
    """Groups of held-apart articles (the same for a seed), the sources taken in turn (Wikipedia, new Wikipedia,
    Reddit, Amazon reviews), each group ``articles_per_group`` pieces of ``PIECE_PARAGRAPHS`` paragraphs,
    written as a SQuAD file in ``work_dir/group-N/`` with settings whose index folder is beside it. Its
    questions: answerable ones, near misses of every kind (:data:`HELD_APART_NEAR_MISS_KINDS`), and
    ``style_share`` of them written in one of ``styles`` (:mod:`qa.training.styles`), so that no fit learns to
    distrust a question for its style.

    By default only the typing styles (case, question mark, slips), although the span model is trained on all:
    with keyword and long-winded questions in the groups too, a refit answered more everywhere (threshold
    0.33 → 0.27) and lost overall F1 on SQuAD-small (docs/reader-and-training.md, the styles row)."""
    _, held = split_articles(load_articles(settings.data), settings.held_apart_share, settings.seed)
    pools = {source: shuffled([piece for a in held if source in a.source for piece in _pieces(a)], settings.seed)
             for source in SOURCES}
    made = []
    for g in range(groups):
        source, turn = SOURCES[g % len(SOURCES)], g // len(SOURCES)
        group = pools[source][turn * articles_per_group : (turn + 1) * articles_per_group]
        if not group:
            continue
        answerable = shuffled(answerable_examples(group), settings.seed)[:questions_per_group]
        negatives = make_negatives(group, answerable, 0.0, near_miss_share, settings.seed + 2, HELD_APART_NEAR_MISS_KINDS)
        examples = [maybe_restyle(e, style_share, settings.seed, styles) for e in answerable + negatives]
        folder = work_dir / f"group-{len(made) + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        corpus = folder / "held_apart.json"
        data = [{"title": a.title, "paragraphs": [{"context": p["context"], "qas": []} for p in a.paragraphs]}
                for a in group]
        corpus.write_text(json.dumps({"version": "v2.0", "data": data}))
        own = dataclasses.replace(reader_settings, index_dir=folder / "index", corpus=(str(corpus),))
        print(f"group {len(made) + 1} ({source}): {[a.title for a in group]}: {len(examples)} questions")
        made.append(HeldApartGroup(own, examples))
    return made


def _pieces(article: Article) -> list[Article]:
    """The article in pieces of ``PIECE_PARAGRAPHS`` paragraphs (the last may be shorter), each named apart."""
    paragraphs = article.paragraphs
    if len(paragraphs) <= PIECE_PARAGRAPHS:
        return [article]
    return [Article(f"{article.title} ({i // PIECE_PARAGRAPHS + 1})", article.source, paragraphs[i : i + PIECE_PARAGRAPHS])
            for i in range(0, len(paragraphs), PIECE_PARAGRAPHS)]


def collect(groups: list[HeldApartGroup]) -> list[Group]:
    """Ask each group's questions (and near misses) through the pipeline, on an index of its own articles."""
    from qa.pipeline import QAPipeline

    collected = []
    for held in groups:
        pipeline = QAPipeline.open(held.settings, corpus=list(held.settings.corpus), rebuild=True)
        rules = pipeline.reader.rules
        questions = []
        for example in held.examples:
            question = pipeline.spelled(example.question).text  # as the pipeline reads it
            passages = pipeline.retrieve(question)
            vector = pipeline.embedder.encode([question])[0]
            candidates = pipeline.reader.candidates(question, passages, vector)
            first = [] if held.settings.reader_sentence_windows else pipeline.reader.candidates(
                question, passages, vector, first_reading=True)
            rule = rules.read(question, passages, vector)
            rule_text = pipeline.document(rule.doc_id).text[rule.start : rule.end] if rule else ""
            rule_answer = rule_text if rule and rule.confidence >= held.settings.answer_threshold else None
            questions.append(Question(example, candidates, _texts(pipeline, candidates), rule_answer, rule_text,
                                      first, _texts(pipeline, first)))
        collected.append(Group(held.settings, questions))
    return collected


def _texts(pipeline: QAPipeline, candidates: list[Candidate]) -> list[str]:
    return [pipeline.document(c.doc_id).text[c.start : c.end] for c in candidates]


def served_answers(group: Group) -> list[str | None]:
    """The group's questions asked as the app asks them (the shipped combiner, the early exit, lookups)."""
    from qa.pipeline import QAPipeline

    pipeline = QAPipeline.open(group.settings, build_missing=False)
    return [pipeline.ask(q.example.question).answer for q in group.questions]


def add_group_arguments(parser: argparse.ArgumentParser, fitted: str) -> None:
    """The training data and the held-apart groups' flags, shared by ``qa fit-combiner``, ``qa fit-leads`` and
    ``qa fit-rendered`` (the same defaults: all are fitted and checked on the same groups)."""
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--groups", type=int, default=8, help="the sources take turns: 8 gives each two groups")
    parser.add_argument("--articles-per-group", type=int, default=2)
    parser.add_argument("--questions-per-group", type=int, default=110)
    parser.add_argument("--near-miss-share", type=float, default=0.8)
    parser.add_argument("--fit-groups", type=int, default=4, help=f"groups {fitted} is fitted on; the rest check it")
    parser.add_argument("--group-styles", type=_styles, default=TYPING_STYLES,
                        help=f"comma-separated styles {GROUP_STYLE_SHARE:.0%} of the groups' questions are written in"
                             f" (default: {','.join(TYPING_STYLES)}; known: {','.join(STYLES)})")


def _styles(value: str) -> tuple[str, ...]:
    try:
        return parse_styles(value)
    except ValueError as exc:  # argparse shows an ArgumentTypeError's own message
        raise argparse.ArgumentTypeError(str(exc)) from None


def styles_note(styles: tuple[str, ...]) -> str:
    """What a fit's description adds where its groups were not written in the default styles."""
    return "" if tuple(styles) == TYPING_STYLES else f", {GROUP_STYLE_SHARE:.0%} of them in the styles {', '.join(styles)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="qa fit-combiner", description=__doc__.split("\n")[0])
    add_group_arguments(parser, "the combiner")
    parser.add_argument("--model-dir", type=Path, default=Settings().reader_model_dir)
    parser.add_argument("--out", type=Path, default=None,
                        help="the fit's report; default: build/reader/ and the combiner's own file name")
    args = parser.parse_args(argv)
    settings = TrainingSettings(data=args.data)
    reader_settings = Settings.load(reader="learned", reader_model_dir=args.model_dir)
    # the combiner of the reading the settings choose (QA_READER_SENTENCE_WINDOWS=on: the packed window's)
    sentence_windows = reader_settings.reader_sentence_windows
    target = args.model_dir / combiner_file(sentence_windows)
    if args.out is None:
        args.out = Path("build/reader") / combiner_file(sentence_windows)
    if not target.exists():  # a first fit: candidates need some combiner to load
        empty = LinearModel({}, 0.0, {}, {})
        Combiner(empty, empty, 0.5, "placeholder before the first fit").save(target)
    groups = collect(held_apart_groups(settings, args.out.parent / "held_apart", args.articles_per_group, args.groups,
                                       args.questions_per_group, args.near_miss_share, reader_settings,
                                       styles=args.group_styles))
    fit = [q for g in groups[: args.fit_groups] for q in g.questions]
    check = [q for g in groups[args.fit_groups :] for q in g.questions]
    reading = ", read as one window of the best sentences" if sentence_windows else ""
    combiner = fit_combiner(fit, f"{len(fit)} questions of {args.fit_groups} groups of held-apart training articles{reading}"
                                 f"{styles_note(args.group_styles)}")
    combiner.save(target)
    report = {"combiner": dataclasses.asdict(combiner), "early_exit_tolerance": EARLY_EXIT_TOLERANCE}
    for name, part in (("fit", fit), ("check", check)):
        learned = [(text if p >= combiner.threshold else None) for p, text in (_best(combiner, q) for q in part)]
        exits = [(text if p >= combiner.threshold else None)
                 for p, text in (_served(combiner, q, combiner.early_exit) for q in part)]
        report[name] = {
            f"learned reader, {'the packed window' if sentence_windows else 'all passages'} read": figures(part, learned),
            f"learned reader, the rest read under the early exit {combiner.early_exit}": figures(part, exits),
            "span model alone (best span, always answers)": figures(part, [_model_alone(q) for q in part]),
            "rule reader alone": figures(part, [q.rule_answer for q in part]),
        }
    served = [a for g in groups[args.fit_groups :] for a in served_answers(g)]
    report["check"]["learned reader as served (early exit)"] = figures(check, served)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "combiner"}, indent=1))
    if (args.out.parent / "log.jsonl").exists() and not sentence_windows:  # the card gives the default reading's
        print(f"model card: {write_card(args.out.parent, args.model_dir)}")
    return 0


def _model_alone(question: Question) -> str | None:
    """The span model's own best span (no combiner, no threshold)."""
    model = [(c.features["span_score"], t) for c, t in zip(question.candidates, question.texts) if c.label != "RULES"]
    return max(model)[1] if model else None


if __name__ == "__main__":
    raise SystemExit(main())
