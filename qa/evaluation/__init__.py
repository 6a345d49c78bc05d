"""Evaluation: question sets, the official SQuAD v2 metrics, the runner and its report."""
