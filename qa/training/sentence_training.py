"""``qa train-sentence-scorer``: fine-tune MiniLM as a cross-encoder that scores (question, sentence) pairs:
does the sentence hold the answer? Exported to ONNX (and int8) into ``qa/models/sentence-scorer``.

Why: the learned reader's candidates often include the right answer, but the combiner picks a span whose
sentence is not the answer's; the span model reads whole windows, this model reads one sentence at a time and is
trained only to tell the answer's sentence from its neighbours and from near misses
(:mod:`qa.training.sentence_pairs`). Its score is a feature of the combiner (:mod:`qa.readers.combiner`).

It starts from the shipped span model's encoder (``--init-from``), which already reads questions against text,
and trains on the same training articles as the span model (the same held-apart split: the combiner is fitted on
articles neither model saw). Resumable like ``qa train-reader``: the pairs and the batch order are fixed by the
seed, a checkpoint is written every ``--checkpoint-every`` steps, and running the command again goes on.
Every ``--evaluate-every`` steps it scores held-apart questions (``dev_top1``: the answer's sentence scored first
among its paragraph's sentences; ``dev_auc``: positives against every negative pair) into ``log.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qa.readers import cpu_features
from qa.readers.sentence_scorer import (
    INT8_MODEL_FILE,
    MODEL_FILE,
    SETTINGS_FILE,
    TOKENIZER_FILE,
    OnnxSentenceScorer,
)
from qa.store.embedding import resolve_model_path
from qa.training.data import Article, Example, answerable_examples, load_articles, shuffled, split_articles
from qa.training.export import OPSET
from qa.training.rosters import roster_examples
from qa.training.sentence_pairs import SentencePair, answer_sentence, sentence_pairs, sentences_of
from qa.training.styles import maybe_restyle
from qa.training.train import DEFAULT_DATA, TrainingSettings, roc_auc, settings_parser, use_bf16
from qa.training.warm_start import onnx_state

CHECKPOINT_FILE = "checkpoint.pt"
ENCODER_PREFIX = "bert."  # the encoder's parameters: the same in the span model and this one
SPAN_MODEL = Path("qa/models/reader/model.onnx")


@dataclass
class SentenceTrainingSettings:
    data: Path = DEFAULT_DATA
    out: Path = Path("build/sentence-scorer")
    # `make ship-sentence-scorer` copies it into qa/models/reader/sentence-scorer
    ship_to: Path = Path("build/sentence-scorer/candidate")
    base_model: str = "all-MiniLM-L6-v2"
    init_from: Path = SPAN_MODEL  # the encoder starts as this span model's ("" for the base model)
    seed: int = 13
    # The held-apart articles: the span model's split (its share and seed), so that the combiner is fitted on
    # articles neither model was trained on.
    held_apart_share: float = TrainingSettings.held_apart_share
    split_seed: int = TrainingSettings.seed
    questions: int = 35000  # answerable training questions drawn (0: all): a pass fits in one sitting
    passes: float = 1.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_share: float = 0.05
    weight_decay: float = 0.01
    max_length: int = 128
    max_question_tokens: int = 40
    buckets: str = "48,64,96,128"
    precision: str = "auto"  # auto: bf16 autocast where the CPU has bf16 units
    other_paragraph_share: float = 0.3
    near_miss_share: float = 0.5
    style_share: float = 0.3
    roster_share: float = 0.04
    dev_questions: int = 300
    checkpoint_every: int = 100
    evaluate_every: int = 500
    stop_at_step: int = 0  # stop (checkpoint and export) at this step; 0: at the schedule's end
    threads: int = 0
    export_only: bool = False

    def bf16(self) -> bool:
        return use_bf16(self.precision)

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(sorted({int(w) for w in self.buckets.split(",") if int(w) < self.max_length} | {self.max_length}))


def split_like_the_span_model(settings: SentenceTrainingSettings) -> tuple[list[Article], list[Article]]:
    """Training and held-apart articles, split exactly as the span model's run splits them."""
    return split_articles(load_articles(settings.data), settings.held_apart_share, settings.split_seed)


def training_pairs(settings: SentenceTrainingSettings, train_articles: list[Article]) -> list[SentencePair]:
    answerable = shuffled(answerable_examples(train_articles), settings.seed)
    if settings.questions:
        answerable = answerable[: settings.questions]
    answerable = [maybe_restyle(e, settings.style_share, settings.seed) for e in answerable]
    rosters = roster_examples(round(settings.roster_share * len(answerable)), settings.seed)
    pairs = sentence_pairs(train_articles, answerable, rosters, settings.seed, settings.other_paragraph_share,
                           settings.near_miss_share)
    return shuffled(pairs, settings.seed)  # type: ignore[arg-type]


def dev_examples(settings: SentenceTrainingSettings, held: list[Article]) -> list[Example]:
    return shuffled(answerable_examples(held), settings.seed)[: settings.dev_questions]


def encode_pairs(pairs: list[SentencePair], tokenizer, settings: SentenceTrainingSettings) -> dict[str, np.ndarray]:
    """Token ids (question cut to ``max_question_tokens``, the pair to ``max_length``), lengths and labels."""
    n, width = len(pairs), settings.max_length
    ids = np.zeros((n, width), dtype=np.int32)
    types = np.zeros((n, width), dtype=np.int8)
    lengths = np.zeros(n, dtype=np.int32)
    for i, pair in enumerate(pairs):
        question = tokenizer(pair.question, add_special_tokens=False, truncation=True,
                             max_length=settings.max_question_tokens)["input_ids"]
        sentence = tokenizer(pair.sentence, add_special_tokens=False, truncation=True,
                             max_length=width - len(question) - 3)["input_ids"]
        row = [tokenizer.cls_token_id, *question, tokenizer.sep_token_id, *sentence, tokenizer.sep_token_id]
        ids[i, : len(row)] = row
        types[i, len(question) + 2 : len(row)] = 1
        lengths[i] = len(row)
    labels = np.array([p.label for p in pairs], dtype=np.float32)
    return {"input_ids": ids, "token_type_ids": types, "lengths": lengths, "labels": labels}


def fingerprint(pairs: list[SentencePair], settings: SentenceTrainingSettings) -> str:
    digest = hashlib.sha256(f"{settings.batch_size}:{settings.seed}:{settings.buckets}:{settings.max_length}".encode())
    for pair in pairs:
        digest.update(f"{pair.question}\t{pair.sentence}\t{pair.label}\n".encode())
    return digest.hexdigest()


def batch_order(lengths: np.ndarray, widths: tuple[int, ...], batch_size: int, seed: int) -> list[np.ndarray]:
    """Batches of pairs of one width bucket each (fixed shapes), in a seeded order."""
    rng = np.random.default_rng(seed)
    bucket = np.searchsorted(np.array(widths), lengths)
    batches = []
    for b in range(len(widths)):
        members = rng.permutation(np.flatnonzero(bucket == b))
        batches += [members[i : i + batch_size] for i in range(0, len(members) - batch_size + 1, batch_size)]
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def _tensors(encoded: dict[str, np.ndarray], indices: np.ndarray, widths: tuple[int, ...], torch) -> dict:
    width = widths[int(np.searchsorted(np.array(widths), encoded["lengths"][indices].max()))]
    lengths = torch.from_numpy(encoded["lengths"][indices])
    return {
        "input_ids": torch.from_numpy(encoded["input_ids"][indices, :width].astype(np.int64)),
        "token_type_ids": torch.from_numpy(encoded["token_type_ids"][indices, :width].astype(np.int64)),
        "attention_mask": (torch.arange(width)[None, :] < lengths[:, None]).long(),
    }


def dev_figures(score, examples, seed: int) -> dict:
    """``score(question, sentences) -> scores``: top-1 sentence accuracy and AUC over the held-apart questions
    (as written and in visitors' styles)."""
    figures = {}
    for name, variant in (("", examples), ("styled_", [maybe_restyle(e, 1.0, seed) for e in examples])):
        top1, positives, negatives = [], [], []
        for example in variant:
            spans = sentences_of(example.context)
            gold = answer_sentence(example.context, example.answer_start)
            if gold is None or len(spans) < 2:
                continue
            scores = score(example.question, [example.context[s:e] for s, e in spans])
            at = spans.index(gold)
            top1.append(int(np.argmax(scores)) == at)
            positives.append(float(scores[at]))
            negatives += [float(s) for i, s in enumerate(scores) if i != at]
        figures[f"dev_{name}top1"] = round(100 * float(np.mean(top1)), 2)
        figures[f"dev_{name}auc"] = round(roc_auc(positives, negatives), 4)
    return figures


def warm_start(model, path: Path, torch) -> None:
    """The encoder's weights from an exported span model (the classifier head starts fresh)."""
    state = onnx_state(path)
    own = model.state_dict()
    encoder = [n for n in own if n.startswith(ENCODER_PREFIX) and not n.startswith("bert.pooler")]
    missing = [n for n in encoder if n not in state]
    if missing:
        raise ValueError(f"{path} lacks {len(missing)} encoder parameters, e.g. {missing[:3]}")
    for name in encoder:
        own[name].copy_(torch.from_numpy(np.array(state[name], copy=True)))


def train(settings: SentenceTrainingSettings) -> dict:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    base = resolve_model_path(settings.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1, local_files_only=True)
    model.get_input_embeddings().weight.requires_grad_(False)
    parameters = [p for p in model.parameters() if p.requires_grad]
    train_articles, held_articles = split_like_the_span_model(settings)
    dev = dev_examples(settings, held_articles)
    pairs = training_pairs(settings, train_articles)
    encoded = encode_pairs(pairs, tokenizer, settings)
    batches = batch_order(encoded["lengths"], settings.widths, settings.batch_size, settings.seed)
    max_steps = round(settings.passes * len(batches))
    optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(settings.warmup_share * max_steps), max_steps)
    kinds = {k: sum(p.kind == k for p in pairs) for k in sorted({p.kind for p in pairs})}
    facts = {"pairs": len(pairs), "kinds": kinds, "steps_per_pass": len(batches), "max_steps": max_steps,
             "bf16": settings.bf16(), "cpu_flags": cpu_features.describe(), "threads": torch.get_num_threads(),
             "settings": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()}}
    (out / "data.json").write_text(json.dumps(facts, indent=1) + "\n")
    print(json.dumps({k: v for k, v in facts.items() if k != "settings"}))
    step = 0
    identity = fingerprint(pairs, settings)  # what decides the batch of step n
    checkpoint = out / CHECKPOINT_FILE
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        if state["pairs"] != identity:
            raise ValueError(f"{checkpoint} was trained on other pairs than these settings make: resume with the "
                             "same settings, or start in an empty --out folder")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        print(f"resumed at step {step}")
    elif str(settings.init_from) not in ("", "."):
        warm_start(model, settings.init_from, torch)
    last = min(settings.stop_at_step or max_steps, max_steps)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def save() -> None:
        partial = out / (CHECKPOINT_FILE + ".partial")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "step": step, "pairs": identity}, partial)
        os.replace(partial, checkpoint)

    def torch_score(question: str, sentences: list[str]) -> np.ndarray:
        batch = encode_pairs([SentencePair(question, s, 0.0, "", "") for s in sentences], tokenizer, settings)
        with torch.no_grad():
            return model(**_tensors(batch, np.arange(len(sentences)), settings.widths, torch)).logits[:, 0].numpy()

    model.train()
    started, done, losses = time.time(), 0, []
    while not settings.export_only and step < last:
        indices = batches[step % len(batches)]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.bf16()):
            logits = model(**_tensors(encoded, indices, settings.widths, torch)).logits[:, 0]
        loss = loss_fn(logits.float(), torch.from_numpy(encoded["labels"][indices]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        done += len(indices)
        losses.append(float(loss.detach()))
        if step % settings.checkpoint_every == 0 or step == last:
            save()
        if step % settings.evaluate_every == 0 or step == last:
            model.eval()
            minutes = (time.time() - started) / 60
            record = {"step": step, "pass": round(step / len(batches), 3),
                      "loss": round(float(np.mean(losses[-settings.evaluate_every :])), 4),
                      "pairs_per_minute": round(done / max(minutes, 1e-9)), "bf16": settings.bf16(),
                      **dev_figures(torch_score, dev, settings.seed)}
            model.train()
            with open(out / "log.jsonl", "a") as log:
                log.write(json.dumps(record) + "\n")
            print(json.dumps(record), flush=True)
            started, done = time.time(), 0
    model.eval()
    model.save_pretrained(out / "model")
    tokenizer.save_pretrained(out / "model")
    figures = export(out, settings, dev, torch_score)
    figures["step"] = step
    (out / "export.json").write_text(json.dumps(figures, indent=1) + "\n")
    write_card(out, Path(settings.ship_to))
    print(json.dumps(figures))
    return figures


def write_card(run_dir: Path, target: Path) -> Path:
    """The scorer's model card, from the run's records (data.json, log.jsonl, export.json)."""
    data = json.loads((run_dir / "data.json").read_text())
    settings = data["settings"]
    export = json.loads((run_dir / "export.json").read_text())
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    log = [r for r in log if r["step"] <= export["step"]]
    lines = [
        "# The sentence scorer: MiniLM-L6 cross-encoder",
        "",
        "For a question and one sentence, a logit: does the sentence hold the answer? The learned reader gives it,",
        "for each candidate's sentence, to the combiner (`sentence_score`, `sentence_vs_best`). Served by ONNX",
        f"Runtime (`{export['shipped']}`; int8 loaded where the CPU has VNNI), no PyTorch.",
        "",
        "## Recipe",
        "",
        "`make train-sentence-scorer` (`qa train-sentence-scorer`), then `make ship-sentence-scorer` (into",
        "`qa/models/reader/sentence-scorer`, then `qa fit-combiner` for both readings and `qa fit-leads`).",
        "",
        f"- Start: the encoder of `{settings['init_from']}` (the shipped span model), a fresh classifier head on the",
        f"  pooled first token; word embeddings frozen. Seed {settings['seed']}.",
        f"- Data: `{Path(settings['data']).name}`, the span model's training articles only (its held-apart split:",
        f"  share {settings['held_apart_share']}, seed {settings['split_seed']}); {settings['questions'] or 'all'}"
        " answerable questions drawn, a share written as visitors type"
        f" ({settings['style_share']}), made rosters ({settings['roster_share']} per question).",
        f"- Pairs (`qa/training/sentence_pairs.py`): {json.dumps(data['kinds'])}; {data['pairs']:,} in all.",
        f"- Training: {data['max_steps']:,} steps ({settings['passes']} pass) of {settings['batch_size']} pairs,"
        f" AdamW lr {settings['learning_rate']} (linear, {settings['warmup_share']:.0%} warm-up), weight decay"
        f" {settings['weight_decay']}, binary cross-entropy; pairs of at most {settings['max_length']} tokens"
        f" (question {settings['max_question_tokens']}), batches padded to {settings['buckets']} tokens.",
        f"- Machine: CPU flags `{data['cpu_flags']}`, {data['threads']} threads, bf16 autocast: {data['bf16']}.",
        "",
        "## Dev curve",
        "",
        "Held-apart questions (never trained on): `top1` is the share whose answer's sentence scores first among",
        "its paragraph's sentences; `auc` separates the answer's sentences from the others; `styled` is the same",
        "questions written as visitors type.",
        "",
        "| step | pass | loss | pairs/min | top1 | auc | styled top1 | styled auc |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {r['step']} | {r['pass']} | {r['loss']} | {r['pairs_per_minute']} | {r['dev_top1']} | {r['dev_auc']} |"
          f" {r['dev_styled_top1']} | {r['dev_styled_auc']} |" for r in log),
        "",
        "Exported graphs on the same questions, through the serving code:",
        "",
        *(f"- {name}: {json.dumps(export[name])}" for name in ("torch", "fp32", "int8")),
        "",
    ]
    target.mkdir(parents=True, exist_ok=True)
    path = target / "MODEL_CARD.md"
    path.write_text("\n".join(lines))
    return path


def export(out: Path, settings: SentenceTrainingSettings, dev, torch_score) -> dict:
    """The ONNX graph (one score per pair), its int8 twin (the classifier head kept in fp32), both scored on the
    dev questions through the serving code; int8 is shipped beside fp32 when its top-1 is within a point."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(out / "model"), local_files_only=True).eval()

    class Score(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).logits[:, 0]

    example = torch.ones((2, 16), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    axes["score"] = {0: "batch"}
    fp32 = out / "fp32.onnx"
    with torch.no_grad():
        torch.onnx.export(Score(model), (example, example, torch.zeros_like(example)), str(fp32),
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["score"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    import onnx

    head = [n.name for n in onnx.load(str(fp32)).graph.node if "classifier" in n.name or "pooler" in n.name]
    quantize_dynamic(str(fp32), str(out / "int8.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], nodes_to_exclude=head)
    target = Path(settings.ship_to)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fp32, target / MODEL_FILE)
    shutil.copyfile(out / "model" / TOKENIZER_FILE, target / TOKENIZER_FILE)
    (target / SETTINGS_FILE).write_text(json.dumps(
        {"max_length": settings.max_length, "max_question_tokens": settings.max_question_tokens}, indent=1) + "\n")
    shutil.copyfile(out / "int8.onnx", target / INT8_MODEL_FILE)
    figures = {"torch": dev_figures(torch_score, dev, settings.seed)}
    for name, int8 in (("fp32", False), ("int8", True)):
        scorer = OnnxSentenceScorer(target, threads=2, int8=int8)
        figures[name] = dev_figures(scorer.score, dev, settings.seed)
    if figures["fp32"]["dev_top1"] - figures["int8"]["dev_top1"] > 1.0:
        (target / INT8_MODEL_FILE).unlink()
    figures["shipped"] = "fp32 + int8 (VNNI)" if (target / INT8_MODEL_FILE).exists() else "fp32"
    return figures


def parser() -> argparse.ArgumentParser:
    return settings_parser("qa train-sentence-scorer", __doc__.split("\n")[0], SentenceTrainingSettings())


def main(argv: list[str] | None = None) -> int:
    train(SentenceTrainingSettings(**vars(parser().parse_args(argv))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
