"""Prints each backend's gabbi summary at the end of the run, also under xdist.

The test writes its summary line to a directory the controlling process chose before
the workers started (they inherit its environment); the controller prints the lines.
tests/conftest.py loads this plugin: under xdist the controller never loads a
conftest below tests/ (it collects nothing).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

SUMMARY_DIR = "KILONOVA_GABBI_SUMMARY_DIR"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and SUMMARY_DIR not in os.environ:
        os.environ[SUMMARY_DIR] = tempfile.mkdtemp(prefix="kn-gabbits-")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if hasattr(terminalreporter.config, "workerinput"):
        return
    folder = Path(os.environ.get(SUMMARY_DIR, ""))
    if not folder.is_dir():
        return
    for line in sorted(p.read_text() for p in folder.glob("*.txt")):
        terminalreporter.write_line(line)
    shutil.rmtree(folder, ignore_errors=True)
