"""Runs upstream's gabbi files against a live placement and records every outcome."""

from __future__ import annotations

import time
import unittest
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gabbi import handlers, suitemaker, utils

from tests.conformance.placement import fixtures
from tests.conformance.placement.harness import Harness

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


def test_keys(yaml_name: str, tests: Iterable[Any]) -> dict[int, str]:
    """How the expected-failures file names each test: ``file.yaml: test name``, with
    `` (2)`` after a name the file already used."""
    keys: dict[int, str] = {}
    seen: dict[str, int] = {}
    for test in tests:
        name = test.test_data["name"]
        seen[name] = seen.get(name, 0) + 1
        suffix = f" ({seen[name]})" if seen[name] > 1 else ""
        keys[id(test)] = f"{yaml_name}: {name}{suffix}"
    return keys


class _Recorder(unittest.TestResult):
    """Keeps each test's outcome (and why it failed) under its key."""

    def __init__(self, keys: dict[int, str], outcomes: dict[str, str],
                 details: dict[str, str]) -> None:
        super().__init__()
        self.keys = keys
        self.outcomes = outcomes
        self.details = details

    def _set(self, test: Any, outcome: str, detail: str = "") -> None:
        key = self.keys[id(test)]
        # A fixture failure reports the first test as an error, then skips them all.
        if self.outcomes.get(key) == FAILED:
            return
        self.outcomes[key] = outcome
        if detail:
            self.details[key] = detail

    def addSuccess(self, test: Any) -> None:
        self._set(test, PASSED)

    def addFailure(self, test: Any, err: Any) -> None:
        self._set(test, FAILED, self._exc_info_to_string(err, test))

    def addError(self, test: Any, err: Any) -> None:
        self._set(test, FAILED, self._exc_info_to_string(err, test))

    def addSkip(self, test: Any, reason: str) -> None:
        self._set(test, SKIPPED, reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        # Gabbi's ``xfail``: upstream expects this failure too.
        self._set(test, PASSED)

    def addUnexpectedSuccess(self, test: Any) -> None:
        self._set(test, FAILED, "passed, but the file marks it xfail")


@dataclass
class Report:
    outcomes: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)

    def summary(self) -> str:
        return (f"placement gabbits: {self.count(PASSED)} passed, {self.count(FAILED)} "
                f"failed, {self.count(SKIPPED)} skipped of {len(self.outcomes)}")


def run_files(harness: Harness, files: Iterable[Path]) -> Report:
    """Run each gabbi file in turn (its fixtures give it a fresh service)."""
    report = Report()
    started = time.monotonic()
    loader = unittest.TestLoader()
    handler_objects = [h() for h in handlers.RESPONSE_HANDLERS]
    fixtures.install(harness)
    try:
        for path in files:
            suite_dict = utils.load_yaml(yaml_file=str(path), safe=True)
            # Plain HTTP: an HTTP client per test need not load the CA bundle.
            suite_dict.setdefault("defaults", {})["cert_validate"] = False
            suite = suitemaker.test_suite_from_dict(
                loader, path.stem.replace("-", "_").replace(".", "_"), suite_dict,
                str(path.parent), "127.0.0.1", harness.port, fixtures, None,
                handlers=handler_objects, test_loader_name="placement_gabbits",
            )
            keys = test_keys(path.name, suite)
            suite.run(_Recorder(keys, report.outcomes, report.details))
    finally:
        fixtures.install(None)
    report.seconds = time.monotonic() - started
    return report
