"""The code's shape: one package per stage, layers that import downward only (import-linter), no cycles, no
Gradio in the library, no module past 600 lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

STAGES = {"ingest", "store", "persistence", "retrieval", "readers", "chinese", "evaluation", "serving", "training"}
TOP_LEVEL = {"__init__.py", "pipeline.py", "config.py", "types.py", "errors.py", "cli.py"}
MAX_LINES = 600


def test_import_contracts_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 kept, 0 broken" in result.stdout


def test_every_module_is_in_a_stage_package_or_one_of_the_five():
    package = ROOT / "qa"
    modules = {p.name for p in package.glob("*.py")}
    folders = {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert modules == TOP_LEVEL
    assert folders == STAGES
    for stage in STAGES:  # each says what it takes and gives
        assert len((package / stage / "__init__.py").read_text().split('"""')[1]) > 80, stage


def test_no_module_is_past_the_size_that_means_two_jobs():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "qa").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
