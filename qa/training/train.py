"""``qa train-reader``: fine-tune a span model (start/end heads) on ``qa_train`` with the negatives made here.

Resumable: the example stream and the batch order are fixed by the seed (:mod:`qa.training.windows`), and a
checkpoint (weights, optimiser, schedule, step) is written every ``--checkpoint-every`` steps; run the same
command again and it continues from the last one. Where the run folder was lost, ``--init-from`` a shipped
ONNX model and ``--init-step`` its step go on from the committed weights (with a fresh optimiser).
Every ``--evaluate-every`` steps the model is scored on questions of held-apart articles (``dev_f1``: HasAns
F1 of the best span given the paragraph; ``dev_auc``: how well span minus null score separates answerable
questions from the held-apart negatives; the same questions rendered and in visitors' styles) and the figures,
with the windows trained per minute, are appended to ``log.jsonl``.

Speed: windows are tokenised once, batches padded to a few fixed widths, and where the CPU has bf16 units
(:mod:`qa.readers.cpu_features`) the forward and backward passes run under bf16 autocast (weights and optimiser stay
fp32).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qa.evaluation.metrics import f1
from qa.readers import cpu_features
from qa.readers.spans import best_spans, null_score
from qa.store.embedding import resolve_model_path
from qa.training.companions import NearestParagraphs, with_companions
from qa.training.data import Example, answerable_examples, kind_counts, load_articles, shuffled, split_articles
from qa.training.e5_base import base_model_folder
from qa.training.export import export
from qa.training.negatives import make_negatives
from qa.training.rosters import ROSTER_MISMATCH, roster_examples
from qa.training.styles import PHRASING_STYLES, STYLES, maybe_restyle, parse_styles, restyle
from qa.training.warm_start import load_onnx_weights
from qa.training.windows import (
    WINDOWS_FILE,
    BatchOrder,
    Windows,
    WindowShape,
    batch_tensors,
    encode,
    encode_pairs,
    fingerprint,
)

DEFAULT_DATA = Path("../shared/data/qa_train/en_squad11train_squadshifts.json.gz")


@dataclass
class TrainingSettings:
    data: Path = DEFAULT_DATA
    out: Path = Path("build/reader")
    base_model: str = "all-MiniLM-L6-v2"
    seed: int = 13
    passes: float = 2.0  # the learning-rate schedule's length, in passes over the training windows
    max_steps: int = 0  # the schedule's length in steps, when set (else from ``passes``)
    stop_at_step: int = 0  # stop (checkpoint and export) at this step of the schedule; 0: at its end
    batch_size: int = 16
    learning_rate: float = 1e-4
    warmup_share: float = 0.03
    weight_decay: float = 0.01
    max_length: int = 192
    stride: int = 64
    max_question_tokens: int = 64
    buckets: str = "96,128,160,192"  # the widths batches are padded to (fixed shapes: oneDNN builds per shape)
    precision: str = "auto"  # auto: bf16 autocast where the CPU has bf16 units, else fp32; or bf16, fp32
    held_apart_share: float = 0.04
    other_paragraph_share: float = 0.15
    near_miss_share: float = 0.25
    # This share of the questions is rendered as the Chinese path renders a question for the span model
    # (qa.chinese.rendering.render_english: question phrase, terms, figures), so that one model reads both.
    rendered_share: float = 0.2
    # This share of the other questions is written as visitors type or phrase them (qa.training.styles): lower
    # case, no question mark, typos, a search box's keywords, a long-winded request, WordNet synonyms.
    style_share: float = 0.25
    styles: str = ",".join(STYLES)  # the styles they are written in, comma-separated (qa.training.styles.STYLES)
    # Made report paragraphs listing people with their titles and bodies (qa.training.rosters), this many per
    # answerable question of the data: the data has few such lists, news reports many.
    roster_share: float = 0.04
    # Shared normalisation (qa.training.companions): each question read over its own window and a companion
    # paragraph's, the loss half per window and half one softmax over both, so that span scores compare across
    # passages. Batches then hold batch_size / 2 pairs.
    shared_norm: bool = False
    checkpoint_every: int = 100
    evaluate_every: int = 1000
    dev_questions: int = 400
    dev_rosters: int = 200  # made roster questions (of another seed) scored beside the dev questions
    init_from: Path = Path("")  # with no checkpoint: start from this exported model.onnx ...
    init_step: int = 0  # ... at this step of the schedule (the step it was exported at)
    limit_examples: int = 0  # 0: all; else this many answerable questions (seeded): a smoke test, or a continuation
    # that needs fewer than all (its negatives and companions are made from those)
    threads: int = 0  # 0: all cores
    # where the exported model goes; unset: <out>/candidate, beside its run, never over the shipped model
    # (`make ship-reader` copies it there, with the combiners fitted for it, once it beats the shipped one)
    ship_to: Path = Path("")
    export_only: bool = False  # skip training: export the last checkpoint as it is
    # Resume the checkpoint although the training stream changed (a kind of example was added, a share moved):
    # its weights, optimiser and schedule go on over the new stream's batches from the same step, and
    # log.jsonl records the change. Without it a changed stream stops the run (step n would be another batch).
    new_data: bool = False
    # Skip training: score the --init-from model on the dev questions (the figures of log.jsonl), to compare a
    # shipped model with a run's curve.
    evaluate_only: bool = False

    @property
    def style_names(self) -> tuple[str, ...]:
        return parse_styles(self.styles)

    @property
    def shape(self) -> WindowShape:
        buckets = tuple(sorted({int(w) for w in self.buckets.split(",") if int(w) < self.max_length}))
        return WindowShape(self.max_length, self.stride, self.max_question_tokens, (*buckets, self.max_length))

    def bf16(self) -> bool:
        return use_bf16(self.precision)


def use_bf16(precision: str) -> bool:
    """Whether to train under bf16 autocast: ``precision`` "bf16", or "auto" where the CPU has bf16 units."""
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"--precision must be auto, bf16 or fp32, not {precision!r}")
    return precision == "bf16" or (precision == "auto" and cpu_features.has_bf16())


@dataclass
class TrainingData:
    stream: list[Example]  # answerable + negatives, shuffled, a share rendered or restyled
    dev: list[Example]  # held-apart answerable questions (as written) and negatives made of them
    summary: dict
    companions: list[Example]  # with shared_norm: the companion of each example of the stream; else empty
    dev_companions: dict[str, str]  # the companion paragraph of each answerable dev question, by id

    def fingerprint(self, settings: TrainingSettings) -> str:
        """What decides the training windows: the examples (with their companions, in pairs) and the settings."""
        examples = [e for pair in zip(self.stream, self.companions) for e in pair] if self.companions else self.stream
        return fingerprint(examples, settings.shape, settings.base_model, settings.seed)


def training_examples(settings: TrainingSettings) -> TrainingData:
    """The shuffled training stream (answerable + negatives, a share rendered or restyled), the held-apart
    dev examples (as written), and with shared normalisation the companions."""
    articles = load_articles(settings.data)
    train_articles, held_articles = split_articles(articles, settings.held_apart_share, settings.seed)
    answerable = answerable_examples(train_articles)
    if settings.limit_examples:
        answerable = shuffled(answerable, settings.seed)[: settings.limit_examples]
    negatives = make_negatives(
        train_articles, answerable, settings.other_paragraph_share, settings.near_miss_share, settings.seed
    )
    rosters = roster_examples(round(settings.roster_share * len(answerable)), settings.seed)
    stream = shuffled(answerable + negatives + rosters, settings.seed)
    renderer = _Renderer() if settings.rendered_share > 0 else None
    stream = [_written_as(e, settings, renderer) for e in stream]
    held_answerable = shuffled(answerable_examples(held_articles), settings.seed)[: settings.dev_questions]
    held_negatives = make_negatives(held_articles, held_answerable, 0.5, 1.0, settings.seed + 1)
    summary = {
        "articles": {"train": len(train_articles), "held_apart": len(held_articles)},
        "train_examples": kind_counts(stream),
        "dev_examples": kind_counts(held_answerable + held_negatives),
    }
    companions = [c for _, c in with_companions(stream, train_articles, settings.seed)] if settings.shared_norm else []
    nearest = NearestParagraphs(held_articles)
    dev_companions = {e.qid: c for e in held_answerable if (c := nearest.other(e)) is not None}
    return TrainingData(stream, held_answerable + held_negatives, summary, companions, dev_companions)


def _written_as(example: Example, settings: TrainingSettings, renderer: "_Renderer | None") -> Example:
    """The example with its question rendered (a share), else restyled (a share of the rest), else as is."""
    if renderer is not None:
        rendered = renderer.maybe(example, settings.rendered_share, settings.seed)
        if rendered is not example:
            return rendered
    return maybe_restyle(example, settings.style_share, settings.seed, settings.style_names)


class _Renderer:
    """English questions rendered in the Chinese path's style, for a fixed share of the examples (by id)."""

    def __init__(self) -> None:
        from qa.readers.question import QuestionAnalyzer

        self.analyzer = QuestionAnalyzer()

    def maybe(self, example: Example, share: float, seed: int) -> Example:
        from qa.chinese.rendering import passage_words, render_english

        if random.Random(f"{seed}:{example.qid}").random() >= share:
            return example
        question = render_english(self.analyzer.analyse(example.question), passage_words([example.context]))
        return dataclasses.replace(example, question=question)


def training_windows(data: TrainingData, tokenizer, settings: TrainingSettings, out: Path, key: str) -> Windows:
    """The stream's windows (in pairs with their companions' under shared normalisation), from the run folder
    when they were made from the same examples and settings (their fingerprint ``key``)."""
    windows = Windows.load(out / WINDOWS_FILE, key)
    if windows is None:
        started = time.time()
        if data.companions:
            windows = encode_pairs(list(zip(data.stream, data.companions)), tokenizer, settings.shape, settings.seed)
        else:
            windows = encode(data.stream, tokenizer, settings.shape, settings.seed)
        windows.save(out / WINDOWS_FILE, key)
        print(f"tokenised {len(data.stream):,} examples into {len(windows):,} windows in {time.time() - started:.0f} s"
              + (f" ({len(data.stream) - len(windows) // 2:,} pairs left out: no window holds the answer whole)"
                 if data.companions else ""))
    return windows


def _read(model, tokenizer, question: str, paragraph: str, settings: TrainingSettings) -> tuple[float, float, str]:
    """The best span's score, the lowest "no answer" score of the paragraph's windows, and the best span."""
    encoded = tokenizer(
        question, paragraph, truncation="only_second", max_length=settings.max_length,
        stride=settings.stride, return_overflowing_tokens=True, return_offsets_mapping=True,
        padding=True, return_tensors="pt",
    )
    offsets = encoded.pop("offset_mapping").tolist()
    encoded.pop("overflow_to_sample_mapping")
    output = model(**encoded)
    best, best_null, text = -math.inf, math.inf, ""
    for w in range(len(offsets)):
        context = np.array([s == 1 for s in encoded.sequence_ids(w)])
        starts = output.start_logits[w].float().numpy()
        ends = output.end_logits[w].float().numpy()
        best_null = min(best_null, null_score(starts, ends))
        for span in best_spans(starts, ends, context):
            if span.score > best:
                best = span.score
                text = paragraph[offsets[w][span.start][0] : offsets[w][span.end][1]]
    return best, best_null, text


def evaluate(model, tokenizer, examples: list[Example], settings: TrainingSettings, torch,
             companions: dict[str, str] | None = None) -> dict:
    """HasAns F1 of the best span given the paragraph, and the ROC AUC of (best span − null) between the
    answerable examples and the negatives, with the share of each negative kind refused at margin 0. With
    ``companions`` (a paragraph that does not answer, by question id), ``dev_open_f1``: HasAns F1 of the best
    span of the paragraph and its companion read together, as serving chooses among passages (over the same
    questions as ``dev_f1``: one without a companion reads its own paragraph alone). That costs a second read of
    each answerable dev question at every evaluation, with or without ``--shared-norm``."""
    model.eval()
    margins: list[tuple[float, Example]] = []
    scores, open_scores = [], []
    with torch.no_grad():
        for example in examples:
            best, best_null, text = _read(model, tokenizer, example.question, example.context, settings)
            margins.append((best - best_null, example))
            if example.answerable:
                scores.append(f1(example.answer_text, text))
                if companions is not None:
                    other, other_text = -math.inf, ""
                    if example.qid in companions:  # (a question whose article has no such paragraph reads its own)
                        other, _, other_text = _read(model, tokenizer, example.question, companions[example.qid],
                                                     settings)
                    open_scores.append(f1(example.answer_text, text if best >= other else other_text))
    model.train()
    positives = [m for m, e in margins if e.answerable]
    negatives = [m for m, e in margins if not e.answerable]
    refused = {}
    for kind in sorted({e.kind for _, e in margins if not e.answerable}):
        kind_margins = [m for m, e in margins if e.kind == kind]
        refused[kind] = round(100 * sum(m < 0 for m in kind_margins) / len(kind_margins), 1)
    return {
        "dev_f1": round(100 * float(np.mean(scores)), 2) if scores else 0.0,
        **({"dev_open_f1": round(100 * float(np.mean(open_scores)), 2)} if open_scores else {}),
        "dev_auc": round(roc_auc(positives, negatives), 3),
        "dev_answered_at_0": round(100 * sum(m >= 0 for m in positives) / max(1, len(positives)), 1),
        "dev_refused_at_0": refused,
    }


def roc_auc(positives: list[float], negatives: list[float]) -> float:
    """The chance that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    values = np.array(positives + negatives)
    ranks = values.argsort().argsort() + 1.0
    for v in np.unique(values):  # average ranks of ties
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    positive_ranks = ranks[: len(positives)].sum()
    return float((positive_ranks - len(positives) * (len(positives) + 1) / 2) / (len(positives) * len(negatives)))


def train(settings: TrainingSettings) -> dict:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

    if settings.threads:
        torch.set_num_threads(settings.threads)
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    base = str(base_model_folder(settings.base_model, out) or resolve_model_path(settings.base_model))
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForQuestionAnswering.from_pretrained(base, local_files_only=True)
    # The word embeddings stay as pre-trained: words never seen in fine-tuning keep their meaning, and the
    # optimiser skips half of the model's parameters.
    model.get_input_embeddings().weight.requires_grad_(False)
    parameters = [p for p in model.parameters() if p.requires_grad]
    data = training_examples(settings)
    dev, summary = data.dev, data.summary
    if settings.evaluate_only:
        return _evaluate_only(settings, model, tokenizer, data, torch)
    key = data.fingerprint(settings)
    windows = training_windows(data, tokenizer, settings, out, key)
    order = BatchOrder(windows.lengths, settings.batch_size, settings.seed, group=2 if settings.shared_norm else 1)
    max_steps = settings.max_steps or round(settings.passes * order.per_pass)
    optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(settings.warmup_share * max_steps), max_steps)
    run_facts = {"windows": len(windows), "steps_per_pass": order.per_pass, "max_steps": max_steps,
                 "bf16": settings.bf16(), "cpu_flags": cpu_features.describe(), "threads": torch.get_num_threads()}
    (out / "data.json").write_text(json.dumps({"settings": _jsonable(settings), **summary, **run_facts}, indent=1))
    print(json.dumps({**summary, **run_facts}))
    checkpoint = out / "checkpoint.pt"
    step = 0
    # What decides the batch of step n (the schedule's length does not: a run may be lengthened by a pass).
    identity = {"windows": key, "batch_size": settings.batch_size, "seed": settings.seed}
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        saved = state.get("identity")
        if settings.new_data and saved and saved["windows"] != key:
            _record_new_data(out, state["step"], len(windows), order.per_pass)
            saved = {**saved, "windows": key}
        _check_same_run(saved, identity, checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step}")
        if settings.stop_at_step and step > settings.stop_at_step:
            # make train-reader run again after the run went on: the model of this step was shipped then
            print(f"the checkpoint in {out} is at step {step}, past --stop-at-step {settings.stop_at_step}: "
                  f"nothing to train or export (to redo that step, start from an empty --out folder)")
            return {}
    elif _has_init(settings):
        load_onnx_weights(model, settings.init_from, torch)
        step = settings.init_step
        for _ in range(step):  # the schedule where the exported model left it; the optimiser starts afresh
            scheduler.step()
        print(f"started from {settings.init_from} at step {step}")
    model.train()
    if not settings.export_only:
        run = _Run(settings, model, tokenizer, optimizer, scheduler, parameters, out, torch, identity)
        step = run.steps(windows, order, data, step, max_steps)
    model.save_pretrained(out / "model")
    tokenizer.save_pretrained(out / "model")
    figures = export(out / "model", out, export_folder(settings), settings.max_length, settings.stride,
                     settings.max_question_tokens, [e for e in dev if e.answerable])
    figures["step"] = step
    (out / "export.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures))
    return figures


def export_folder(settings: TrainingSettings) -> Path:
    """Where the run's model is exported: ``ship_to``, or the run folder's ``candidate`` where that is unset."""
    return settings.ship_to if str(settings.ship_to) not in ("", ".") else Path(settings.out) / "candidate"


def _evaluate_only(settings: TrainingSettings, model, tokenizer, data: TrainingData, torch) -> dict:
    if not _has_init(settings):
        raise ValueError("--evaluate-only scores the model given by --init-from")
    load_onnx_weights(model, settings.init_from, torch)
    record = {"model": str(settings.init_from), **_scores(model, tokenizer, data, settings, torch)}
    print(json.dumps(record))
    return record


def _scores(model, tokenizer, data: TrainingData, settings: TrainingSettings, torch) -> dict:
    """The dev figures (with their companions: dev_open_f1), and HasAns F1 of the answerable dev questions in
    visitors' styles and rendered as the Chinese path renders them."""
    answerable = [e for e in data.dev if e.answerable]
    variants = {"styled": [maybe_restyle(e, 1.0, settings.seed) for e in answerable]}
    for style in PHRASING_STYLES:  # the styles farthest from the data's own questions, each on its own
        variants[style] = [
            dataclasses.replace(e, question=restyle(e.question, style, random.Random(f"{settings.seed}:{e.qid}")))
            for e in answerable
        ]
    if settings.rendered_share > 0:
        renderer = _Renderer()
        variants["rendered"] = [renderer.maybe(e, 1.0, settings.seed) for e in answerable]
    record = evaluate(model, tokenizer, data.dev, settings, torch, data.dev_companions)
    for name, examples in variants.items():
        record[f"dev_{name}_f1"] = evaluate(model, tokenizer, examples, settings, torch)["dev_f1"]
    if settings.roster_share > 0 and settings.dev_rosters:  # made rosters of another seed: F1, near misses refused
        rosters = evaluate(model, tokenizer, roster_examples(settings.dev_rosters, settings.seed + 1), settings, torch)
        record["dev_roster_f1"] = rosters["dev_f1"]
        record["dev_roster_refused_at_0"] = rosters["dev_refused_at_0"].get(ROSTER_MISMATCH)
    return record


@dataclass
class _Run:
    """The training loop's state: the model, its optimiser and schedule, where checkpoints go."""

    settings: TrainingSettings
    model: object
    tokenizer: object
    optimizer: object
    scheduler: object
    parameters: list
    out: Path
    torch: object
    identity: dict

    def steps(self, windows: Windows, order: BatchOrder, data: TrainingData, step: int, max_steps: int) -> int:
        """Train from ``step`` to the end of the schedule (or ``stop_at_step``), checkpointing as it goes and
        scoring the dev questions every ``evaluate_every`` steps; returns the step it stopped at."""
        from tqdm import tqdm

        settings, torch = self.settings, self.torch
        last = min(settings.stop_at_step or max_steps, max_steps)
        progress = tqdm(total=last, initial=step, desc="train-reader", dynamic_ncols=True, mininterval=10)
        losses: list[float] = []
        started, windows_done = time.time(), 0
        bf16 = settings.bf16()
        while step < last:
            batch = batch_tensors(windows, order[step], settings.shape, torch)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = pair_loss(self.model, batch, torch) if settings.shared_norm else self.model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.parameters, 1.0)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            step += 1
            windows_done += settings.batch_size
            losses.append(float(loss.detach()))
            progress.update(1)
            progress.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", lr=f"{self.scheduler.get_last_lr()[0]:.1e}",
                                 refresh=False)
            if step % settings.checkpoint_every == 0 or step == last:
                _save(self.out, self.model, self.optimizer, self.scheduler, step, torch, self.identity)
            if step % settings.evaluate_every == 0 or step == last:
                minutes = (time.time() - started) / 60
                record = {
                    "step": step, "pass": round(step / order.per_pass, 3),
                    "loss": round(float(np.mean(losses[-settings.evaluate_every :])), 4),
                    "windows_per_minute": round(windows_done / max(minutes, 1e-9)),
                    "minutes": round(minutes, 1), "bf16": bf16,
                    **_scores(self.model, self.tokenizer, data, settings, torch),
                }
                with open(self.out / "log.jsonl", "a") as log:
                    log.write(json.dumps(record) + "\n")
                progress.write(json.dumps(record))
                started, windows_done = time.time(), 0
        progress.close()
        return step


def pair_loss(model, batch: dict, torch):
    """The loss of a batch of pairs (rows 2i, 2i + 1: an example's window and its companion's): half the loss of
    each window alone (as the usual loss, but with padding masked), half that of one softmax over each pair's two
    windows, whose target is the answer where the example's window holds it, else either window's "no answer"
    position (the first token). The run's logged ``loss`` is this one under ``--shared-norm``."""
    output = model(**{k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")})
    padding = ~batch["attention_mask"].bool()
    halves = []
    targets = ((output.start_logits, batch["start_positions"]), (output.end_logits, batch["end_positions"]))
    for logits, target in targets:
        logits = logits.float().masked_fill(padding, -1e4)
        alone = torch.nn.functional.cross_entropy(logits, target)
        rows, width = logits.shape
        pairs = logits.reshape(rows // 2, 2 * width)
        own = target[0::2]
        answer = pairs.gather(1, own[:, None]).squeeze(1)
        no_answer = torch.logsumexp(torch.stack([pairs[:, 0], pairs[:, width]], dim=1), dim=1)
        shared = (torch.logsumexp(pairs, dim=1) - torch.where(own > 0, answer, no_answer)).mean()
        halves.append((alone + shared) / 2)
    return (halves[0] + halves[1]) / 2


def _has_init(settings: TrainingSettings) -> bool:
    return str(settings.init_from) not in ("", ".")


def _check_same_run(saved: dict | None, current: dict, checkpoint: Path) -> None:
    """A checkpoint goes on only with the windows, batch size and seed it was trained with: step *n* of another
    stream would be other batches. (A checkpoint from before this check carries no identity.)"""
    if saved is None:
        print(f"{checkpoint} records no run identity (written before it was kept): resuming as it is")
        return
    changed = [k for k in current if saved.get(k) != current[k]]
    if changed:
        raise ValueError(f"{checkpoint} was trained with other {', '.join(changed)}: resume with the same data and "
                         "settings, or start in an empty --out folder (--init-from its exported model to keep its weights)")


def _record_new_data(out: Path, step: int, windows: int, per_pass: int) -> None:
    record = {"step": step, "new_data": {"windows": windows, "steps_per_pass": per_pass}}
    with open(out / "log.jsonl", "a") as log:
        log.write(json.dumps(record) + "\n")
    print(f"the training stream changed: step {step} goes on over {windows:,} windows ({per_pass:,} steps a pass)")


def _save(out: Path, model, optimizer, scheduler, step: int, torch, identity: dict) -> None:
    """The checkpoint, written to a temporary file and renamed: a kill mid-write keeps the previous one."""
    partial = out / "checkpoint.pt.partial"
    torch.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
         "step": step, "torch_rng": torch.get_rng_state(), "identity": identity},
        partial,
    )
    os.replace(partial, out / "checkpoint.pt")


def _jsonable(settings: TrainingSettings) -> dict:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()}


def settings_parser(prog: str, description: str, defaults) -> argparse.ArgumentParser:
    """A flag for every field of the settings dataclass ``defaults`` (``--max-length``), with its default."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    for name, value in asdict(defaults).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            p.add_argument(flag, action="store_true", default=value)
        else:
            p.add_argument(flag, type=Path if isinstance(value, Path) else type(value), default=value)
    return p


def parser() -> argparse.ArgumentParser:
    return settings_parser("qa train-reader", __doc__.split("\n")[0], TrainingSettings())


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    train(TrainingSettings(**vars(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
