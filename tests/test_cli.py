"""The ``qa`` command, run as a user runs it (a subprocess), on an index built once for this module."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.test_pipeline import check_schema


def run_qa(*args: str, stdin: str | None = None, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-index")
    result = run_qa("build", "--index", str(path))
    assert result.returncode == 0, result.stderr
    assert "1 documents" in result.stdout
    return str(path)


def test_ask_json(index_dir):
    result = run_qa("ask", "--index", index_dir, "--json", "When was the seminar held?")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    check_schema(record)
    assert record["answer"] == "December 15th"


def test_ask_readable(index_dir):
    result = run_qa("ask", "--index", index_dir, "Who is the Vice Mayor of the Shenzhen Municipal Government?")
    assert result.returncode == 0
    assert result.stdout.startswith("Ai Xuefeng")
    assert "[1] Guangdong-Hong Kong-Macao" in result.stdout and "2020-12-17" in result.stdout


def test_ask_unanswerable_readable(index_dir):
    result = run_qa("ask", "--index", index_dir, "What is the capital of France?")
    assert result.returncode == 0 and "documents don't say" in result.stdout


def test_ask_stdin_one_json_per_line(index_dir):
    result = run_qa("ask", "--index", index_dir, stdin="When was the seminar held?\n\nWhere was it held?\n" + "x" * 5000 + "\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    check_schema(lines[0])
    check_schema(lines[1])
    assert "too long" in lines[2]["error"]
    assert result.returncode == 1  # one question failed


@pytest.mark.parametrize(
    "args, message",
    [
        (["ask", "--index", "{index}", ""], "the question is empty"),
        (["ask", "--index", "{missing}", "hello"], "no index in"),
        (["build", "--index", "{missing}", "/no/such/file.txt"], "no such file"),
        (["ask", "--index", "{index}", "-k", "0", "hello"], "k must be"),
    ],
)
def test_errors_are_one_line_without_traceback(index_dir, tmp_path, args, message):
    args = [a.format(index=index_dir, missing=str(tmp_path / "none")) for a in args]
    result = run_qa(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_feedback_export(tmp_path):
    from qa.serving.feedback import FeedbackStore

    db = tmp_path / "feedback.sqlite3"
    FeedbackStore(db).record({"question": "Where?", "answer": "Shenzhen", "no_answer": False, "confidence": 0.9, "citations": []}, "like")
    out = tmp_path / "feedback.csv"
    result = run_qa("feedback", "export", "--db", str(db), "-o", str(out))
    assert result.returncode == 0 and "exported 1" in result.stderr
    assert out.read_text().splitlines()[1].endswith(",like,answered,")  # verdict, outcome, no lead
    missing = run_qa("feedback", "export", "--db", str(tmp_path / "none.sqlite3"))
    assert missing.returncode == 2 and "no feedback database" in missing.stderr
