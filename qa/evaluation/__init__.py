"""Evaluation: a question set in, the figures evaluators read out.

Takes a JSONL question set or a SQuAD v2 file (:mod:`~qa.evaluation.questions`) and a pipeline; gives the official
SQuAD v2 metrics (:mod:`~qa.evaluation.metrics`), per-question results and figures (:mod:`~qa.evaluation.runner`),
the report (:mod:`~qa.evaluation.report`: terminal table, report.json, report.md, confidence chart) and the
``qa eval`` command that joins them (:mod:`~qa.evaluation.command`).
"""
