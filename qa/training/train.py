"""``qa train-reader``: fine-tune a span model (start/end heads) on ``qa_train`` with the negatives made here.

Resumable: the example stream is fixed by the seed, and a checkpoint (weights, optimiser, schedule, step) is
written every ``--checkpoint-every`` steps; run the same command again and it continues from the last one.
A progress bar shows the loss; each checkpoint also scores the model on questions of held-apart articles
(``dev_f1``: HasAns F1 of the best span given the paragraph; ``dev_auc``: how well span minus null score
separates answerable questions from the held-apart negatives) and appends the figures to ``log.jsonl``.
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
from typing import Iterator

import numpy as np

from ..embedding import resolve_model_path
from ..evaluation.metrics import f1
from ..readers.spans import best_spans, null_score
from .data import Example, answerable_examples, kind_counts, load_articles, shuffled, split_articles
from .export import export
from .negatives import make_negatives

DEFAULT_DATA = Path("../shared/data/qa_train/en_squad11train_squadshifts.json.gz")


@dataclass
class TrainingSettings:
    data: Path = DEFAULT_DATA
    out: Path = Path("build/reader")
    base_model: str = "all-MiniLM-L6-v2"
    seed: int = 13
    max_steps: int = 2000  # the learning-rate schedule's length
    stop_at_step: int = 0  # stop (checkpoint and export) at this step of the schedule; 0: at max_steps
    batch_size: int = 16
    learning_rate: float = 1e-4
    warmup_share: float = 0.06
    weight_decay: float = 0.01
    max_length: int = 256
    stride: int = 96
    pad_to: int = 32
    held_apart_share: float = 0.04
    other_paragraph_share: float = 0.15
    near_miss_share: float = 0.25
    checkpoint_every: int = 200
    dev_questions: int = 200
    # From the first pool of batches (48 batches' worth of examples) that starts at or after this step, this share
    # of the questions is rendered as the Chinese path renders a question for the span model
    # (qa.chinese_rendering.render_english: question phrase, terms, figures), so that the model also reads such
    # questions; the steps before read the questions as written.
    rendered_from_step: int = 1400
    rendered_share: float = 0.3
    limit_examples: int = 0  # 0: all; a small number for a smoke test
    threads: int = 0  # 0: all cores
    ship_to: Path = Path("qa/models/reader")  # where the exported model goes (committed)
    export_only: bool = False  # skip training: export the last checkpoint as it is


@dataclass
class Feature:
    input_ids: list[int]
    token_type_ids: list[int]
    start: int
    end: int


def training_examples(settings: TrainingSettings) -> tuple[list[Example], list[Example], dict]:
    """The shuffled training stream (answerable + negatives) and the held-apart dev examples."""
    articles = load_articles(settings.data)
    train_articles, held_articles = split_articles(articles, settings.held_apart_share, settings.seed)
    answerable = answerable_examples(train_articles)
    if settings.limit_examples:
        answerable = shuffled(answerable, settings.seed)[: settings.limit_examples]
    negatives = make_negatives(
        train_articles, answerable, settings.other_paragraph_share, settings.near_miss_share, settings.seed
    )
    stream = shuffled(answerable + negatives, settings.seed)
    held_answerable = shuffled(answerable_examples(held_articles), settings.seed)[: settings.dev_questions]
    held_negatives = make_negatives(held_articles, held_answerable, 0.5, 1.0, settings.seed + 1)
    summary = {
        "articles": {"train": len(train_articles), "held_apart": len(held_articles)},
        "train_examples": kind_counts(stream),
        "dev_examples": kind_counts(held_answerable + held_negatives),
    }
    return stream, held_answerable + held_negatives, summary


def features_of(examples: list[Example], tokenizer, settings: TrainingSettings, rng: random.Random) -> list[Feature]:
    """Windows of each example with the answer's token positions ((0, 0) = no answer in this window).

    An answerable example keeps the windows that hold its answer and at most one that does not; a negative
    keeps one window.
    """
    encoded = tokenizer(
        [e.question for e in examples],
        [e.context for e in examples],
        truncation="only_second",
        max_length=settings.max_length,
        stride=settings.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    windows: dict[int, list[Feature]] = {}
    nulls: dict[int, list[Feature]] = {}
    for w, example_index in enumerate(encoded["overflow_to_sample_mapping"]):
        example = examples[example_index]
        sequence = encoded.sequence_ids(w)
        offsets = encoded["offset_mapping"][w]
        feature = Feature(encoded["input_ids"][w], encoded["token_type_ids"][w], 0, 0)
        if example.answerable:
            first = sequence.index(1)
            last = len(sequence) - 1 - sequence[::-1].index(1)
            a_start, a_end = example.answer_start, example.answer_start + len(example.answer_text)
            if offsets[first][0] <= a_start and offsets[last][1] >= a_end:
                s = first
                while s <= last and offsets[s][1] <= a_start:
                    s += 1
                e = last
                while e >= first and offsets[e][0] >= a_end:
                    e -= 1
                if s <= e:
                    feature.start, feature.end = s, e
                    windows.setdefault(example_index, []).append(feature)
                    continue
        nulls.setdefault(example_index, []).append(feature)
    features = []
    for i in range(len(examples)):
        features.extend(windows.get(i, []))
        if nulls.get(i):
            features.append(rng.choice(nulls[i]))
    return features


def batches(stream: list[Example], tokenizer, settings: TrainingSettings) -> Iterator[list[Feature]]:
    """Batches of similar length (little padding), in an order fixed by the seed; from
    the first pool starting at or after ``settings.rendered_from_step``, a share of each pool's questions is
    rendered (:class:`_Renderer`)."""
    rng = random.Random(settings.seed)
    pool_examples = settings.batch_size * 48
    made = 0
    renderer = None
    for begin in range(0, len(stream), pool_examples):
        pool_stream = stream[begin : begin + pool_examples]
        if settings.rendered_share > 0 and made >= settings.rendered_from_step:
            renderer = renderer or _Renderer()
            pool_stream = [renderer.maybe(e, settings.rendered_share, settings.seed) for e in pool_stream]
        features = features_of(pool_stream, tokenizer, settings, rng)
        features.sort(key=lambda f: len(f.input_ids))
        pool = [features[i : i + settings.batch_size] for i in range(0, len(features), settings.batch_size)]
        rng.shuffle(pool)
        for batch in pool:
            if len(batch) == settings.batch_size:
                made += 1
                yield batch


class _Renderer:
    """English questions rendered in the Chinese path's style, for a fixed share of the examples (by id)."""

    def __init__(self) -> None:
        from ..question import QuestionAnalyzer

        self.analyzer = QuestionAnalyzer()

    def maybe(self, example: Example, share: float, seed: int) -> Example:
        from ..chinese_rendering import passage_words, render_english

        if random.Random(f"{seed}:{example.qid}").random() >= share:
            return example
        question = render_english(self.analyzer.analyse(example.question), passage_words([example.context]))
        return dataclasses.replace(example, question=question)


def collate(batch: list[Feature], pad_to: int, torch):
    width = max(len(f.input_ids) for f in batch)
    width = int(math.ceil(width / pad_to) * pad_to)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, f in enumerate(batch):
        n = len(f.input_ids)
        ids[row, :n] = torch.tensor(f.input_ids)
        types[row, :n] = torch.tensor(f.token_type_ids)
        mask[row, :n] = 1
    return {
        "input_ids": ids, "token_type_ids": types, "attention_mask": mask,
        "start_positions": torch.tensor([f.start for f in batch]),
        "end_positions": torch.tensor([f.end for f in batch]),
    }


def evaluate(model, tokenizer, examples: list[Example], settings: TrainingSettings, torch) -> dict:
    """HasAns F1 of the best span given the paragraph, and the ROC AUC of (best span − null) between the
    answerable examples and the negatives, with the share of each negative kind refused at margin 0."""
    model.eval()
    margins: list[tuple[float, Example]] = []
    scores = []
    with torch.no_grad():
        for example in examples:
            encoded = tokenizer(
                example.question, example.context, truncation="only_second", max_length=settings.max_length,
                stride=settings.stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                padding=True, return_tensors="pt",
            )
            offsets = encoded.pop("offset_mapping").tolist()
            encoded.pop("overflow_to_sample_mapping")
            output = model(**encoded)
            best, best_null, text = -math.inf, math.inf, ""
            for w in range(len(offsets)):
                context = np.array([s == 1 for s in encoded.sequence_ids(w)])
                starts = output.start_logits[w].numpy()
                ends = output.end_logits[w].numpy()
                best_null = min(best_null, null_score(starts, ends))
                for span in best_spans(starts, ends, context):
                    if span.score > best:
                        best = span.score
                        text = example.context[offsets[w][span.start][0] : offsets[w][span.end][1]]
            margins.append((best - best_null, example))
            if example.answerable:
                scores.append(f1(example.answer_text, text))
    model.train()
    positives = [m for m, e in margins if e.answerable]
    negatives = [m for m, e in margins if not e.answerable]
    refused = {}
    for kind in sorted({e.kind for _, e in margins if not e.answerable}):
        kind_margins = [m for m, e in margins if e.kind == kind]
        refused[kind] = round(100 * sum(m < 0 for m in kind_margins) / len(kind_margins), 1)
    return {
        "dev_f1": round(100 * float(np.mean(scores)), 2) if scores else 0.0,
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
    base = resolve_model_path(settings.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForQuestionAnswering.from_pretrained(base, local_files_only=True)
    # The word embeddings stay as pre-trained: words never seen in fine-tuning keep their meaning, and the
    # optimiser skips half of the model's parameters.
    model.get_input_embeddings().weight.requires_grad_(False)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(settings.warmup_share * settings.max_steps), settings.max_steps
    )
    stream, dev, summary = training_examples(settings)
    (out / "data.json").write_text(json.dumps({"settings": _jsonable(settings), **summary}, indent=1))
    print(json.dumps(summary))
    checkpoint = out / "checkpoint.pt"
    step = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
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
    model.train()
    if not settings.export_only:
        run = _Run(settings, model, tokenizer, optimizer, scheduler, parameters, out, torch)
        run.steps(stream, dev, step)
    model.save_pretrained(out / "model")
    tokenizer.save_pretrained(out / "model")
    figures = export(out / "model", out, settings.ship_to, settings.max_length, settings.stride,
                     [e for e in dev if e.answerable])
    (out / "export.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures))
    return figures


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

    def steps(self, stream: list[Example], dev: list[Example], step: int) -> None:
        """Train from ``step`` to ``max_steps``, checkpointing and scoring the dev questions as it goes."""
        from tqdm import tqdm

        settings, torch = self.settings, self.torch
        rendered_dev = []
        if settings.rendered_share > 0:  # the answerable dev questions as the Chinese path renders questions
            renderer = _Renderer()
            rendered_dev = [renderer.maybe(e, 1.0, settings.seed) for e in dev if e.answerable]
        progress = tqdm(total=settings.max_steps, initial=step, desc="train-reader", dynamic_ncols=True)
        losses: list[float] = []
        started = time.time()
        for index, batch in enumerate(batches(stream, self.tokenizer, settings)):
            if step >= (settings.stop_at_step or settings.max_steps):
                break
            if index < step:  # resuming: the stream is deterministic, skip what was trained on
                continue
            loss = self.model(**collate(batch, settings.pad_to, torch)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.parameters, 1.0)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append(float(loss.detach()))
            progress.update(1)
            progress.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", lr=f"{self.scheduler.get_last_lr()[0]:.1e}")
            if step % settings.checkpoint_every == 0 or step in (settings.max_steps, settings.stop_at_step):
                _save(self.out, self.model, self.optimizer, self.scheduler, step, torch)
                record = {
                    "step": step, "loss": round(float(np.mean(losses[-settings.checkpoint_every :])), 4),
                    "seconds": round(time.time() - started, 1),
                    **evaluate(self.model, self.tokenizer, dev, settings, torch),
                }
                if rendered_dev:
                    record["dev_rendered_f1"] = evaluate(self.model, self.tokenizer, rendered_dev, settings, torch)["dev_f1"]
                with open(self.out / "log.jsonl", "a") as log:
                    log.write(json.dumps(record) + "\n")
                progress.write(json.dumps(record))
        progress.close()


def _save(out: Path, model, optimizer, scheduler, step: int, torch) -> None:
    """The checkpoint, written to a temporary file and renamed: a kill mid-write keeps the previous one."""
    partial = out / "checkpoint.pt.partial"
    torch.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
         "step": step, "torch_rng": torch.get_rng_state()},
        partial,
    )
    os.replace(partial, out / "checkpoint.pt")


def _jsonable(settings: TrainingSettings) -> dict:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qa train-reader", description=__doc__.split("\n")[0])
    defaults = TrainingSettings()
    for name, value in asdict(defaults).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            p.add_argument(flag, action="store_true", default=value)
        else:
            p.add_argument(flag, type=Path if isinstance(value, Path) else type(value), default=value)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    train(TrainingSettings(**vars(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
