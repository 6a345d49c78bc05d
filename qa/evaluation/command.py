"""``qa eval``: run a question set through the pipeline, print the figures, write the report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa.config import Settings
from qa.evaluation.questions import load_questions
from qa.evaluation.report import print_table, write_report
from qa.evaluation.runner import evaluate, full_report, open_pipeline


def run_cli(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.questions)
    questions = load_questions(path)
    if args.limit is not None:
        questions = questions[: max(0, args.limit)]
    pipeline = open_pipeline(path, settings, args.corpus, explicit_index=args.index_dir is not None)
    run = evaluate(pipeline, questions, k=args.k, progress=sys.stderr.isatty(), name=path.stem)
    report = full_report(run)
    if args.report:
        write_report(report, run, Path(args.report))
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k not in ("failures",)}, ensure_ascii=False))
    else:
        print_table(report)
    return 0
