"""The evaluation report: a terminal table, and report.json / report.md / confidence.png in a folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa.evaluation.runner import RIGHT_F1, EvalRun

_MAIN_FIGURES = [
    ("n", "questions"),
    ("exact_match", "exact match"),
    ("f1", "F1"),
    ("has_ans_em", "HasAns EM"),
    ("has_ans_f1", "HasAns F1"),
    ("no_ans_acc", "no-answer accuracy"),
    ("precision_of_answers", "precision of answers given"),
    ("answered_rate", "answered"),
    ("mrr", "retrieval MRR"),
    ("citation_support", "citation support"),
    ("unsure_rate", "unsure (a lead, no answer)"),
    ("lead_recall", "lead recall"),
    ("false_leads", "false leads"),
    ("latency_ms_p50", "latency p50 (ms)"),
    ("latency_ms_p95", "latency p95 (ms)"),
]


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def figure_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(label, _fmt(report.get(key))) for key, label in _MAIN_FIGURES]
    rows += [(f"retrieval recall@{k}", _fmt(v)) for k, v in report["recall_at_k"].items()]
    return rows


def category_rows(report: dict[str, Any]) -> list[list[str]]:
    header = ["category", "n", "EM", "F1", "HasAns F1", "NoAns acc", "recall@5", "citation support"]
    rows = [header]
    for name, s in report["categories"].items():
        rows.append(
            [name, str(s["n"]), _fmt(s["exact_match"]), _fmt(s["f1"]), _fmt(s["has_ans_f1"]), _fmt(s["no_ans_acc"]),
             _fmt(s["recall_at_k"]["5"]), _fmt(s["citation_support"])]
        )
    return rows


def print_table(report: dict[str, Any]) -> None:
    print(f"== {report['name']}: {report['n']} questions, threshold {report.get('threshold')}, lead floor "
          f"{report.get('lead_floor')}, {report['run_seconds']} s")
    width = max(len(label) for label, _ in figure_rows(report))
    for label, value in figure_rows(report):
        print(f"  {label:<{width}}  {value}")
    print("  baselines:")
    for name, b in report["baselines"].items():
        print(f"    {name:<15} EM {_fmt(b['exact_match'])}  F1 {_fmt(b['f1'])}  HasAns F1 {_fmt(b['has_ans_f1'])}  NoAns acc {_fmt(b['no_ans_acc'])}")
    print("  by category:")
    rows = category_rows(report)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("    " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)))


def _markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _got(failure: dict[str, Any]) -> str:
    """What the bot said: the answer, the lead it showed when unsure, or that it abstained."""
    if failure["got"]:
        return failure["got"]
    if failure.get("outcome") == "unsure":
        return f"(unsure; lead: {failure['lead']})"
    return "(abstained)"


def write_report(report: dict[str, Any], run: EvalRun, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    _confidence_chart(run, folder / "confidence.png")
    sweep = [["threshold", "F1", "HasAns F1", "NoAns acc"]] + [
        [_fmt(r["threshold"]), _fmt(r["f1"]), _fmt(r["has_ans_f1"]), _fmt(r["no_ans_acc"])] for r in report["threshold_sweep"]
    ]
    baselines = [["baseline", "EM", "F1", "HasAns F1", "NoAns acc"]] + [
        [name, _fmt(b["exact_match"]), _fmt(b["f1"]), _fmt(b["has_ans_f1"]), _fmt(b["no_ans_acc"])]
        for name, b in report["baselines"].items()
    ]
    failures = [["id", "question", "expected", "got", "confidence"]] + [
        [f["id"], f["question"], " / ".join(f["expected"] or ["(no answer)"]), _got(f), _fmt(f["confidence"])]
        for f in report["failures"]
    ]
    text = "\n\n".join(
        [
            f"# Evaluation: {report['name']}",
            f"{report['n']} questions; confidence threshold {report.get('threshold')}, lead floor"
            f" {report.get('lead_floor')}; run time {report['run_seconds']} s; "
            f"index {report['pipeline'].get('index', '')}, model {report['pipeline'].get('model', '')}.",
            _markdown_table([["figure", "value"]] + [list(r) for r in figure_rows(report)]),
            "## Baselines",
            _markdown_table(baselines),
            "## By category",
            _markdown_table(category_rows(report)),
            "## Confidence",
            f"Confidence of the best candidate span, for candidates that are right (F1 ≥ {RIGHT_F1} on an answerable "
            "question) and wrong (the rest). The threshold sweep shows the figures each threshold would give.",
            "![confidence](confidence.png)",
            _markdown_table(sweep),
            f"## Failures ({len(report['failures'])})",
            _markdown_table(failures),
        ]
    )
    (folder / "report.md").write_text(text + "\n")


def _confidence_chart(run: EvalRun, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    right = [r.confidence for r in run.results if r.answerable and r.candidate_f1 >= RIGHT_F1]
    wrong = [r.confidence for r in run.results if not (r.answerable and r.candidate_f1 >= RIGHT_F1)]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    bins = [i / 20 for i in range(21)]
    ax.hist([right, wrong], bins=bins, label=[f"right ({len(right)})", f"wrong or unanswerable ({len(wrong)})"],
            color=["#2a9d8f", "#e76f51"], stacked=False)
    ax.axvline(run.threshold, color="black", linestyle="--", label=f"threshold {run.threshold}")
    ax.set_xlabel("confidence of the best candidate")
    ax.set_ylabel("questions")
    ax.set_title(f"{run.name}: confidence of right vs wrong candidates")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
