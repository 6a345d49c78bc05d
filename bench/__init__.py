"""Benchmarks of seminar-qa: see README.md and benchmark.py."""
