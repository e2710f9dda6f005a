"""The expected-failures file: which upstream tests still fail here, and why.

``expected_failures.yaml`` is a list of groups, each with a ``reason``, optional
``backends`` (default: both) and its ``tests`` (``file.yaml: test name``). The run fails
when a test outside the list fails, and when a listed test passes: the list only shrinks.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conformance.placement.runner import FAILED, Report

EXPECTED = Path(__file__).with_name("expected_failures.yaml")
BACKENDS = ("sqlite", "postgresql")


def expected_failures(backend: str, path: Path = EXPECTED) -> dict[str, str]:
    """Test key -> reason, for ``backend``."""
    groups = yaml.safe_load(path.read_text()) or []
    found: dict[str, str] = {}
    for group in groups:
        if backend in group.get("backends", BACKENDS):
            for key in group["tests"]:
                found[key] = group["reason"]
    return found


def surprises(report: Report, expected: dict[str, str]) -> tuple[list[str], list[str]]:
    """(failed but not listed, listed but no longer failing)."""
    failing = {key for key, outcome in report.outcomes.items() if outcome == FAILED}
    new = sorted(failing - expected.keys())
    fixed = sorted(key for key in expected if key not in failing)
    return new, fixed
