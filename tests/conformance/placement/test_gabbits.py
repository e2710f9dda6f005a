"""Upstream placement's own API tests (gabbi, openstack-placement 16.0.0) against ours.

Every YAML file runs against our real app over HTTP, with a fresh database per file,
on SQLite and on PostgreSQL. Tests that still fail are listed, with the reason, in
``expected_failures.yaml``. ``KILONOVA_GABBI_FILTER=substring`` runs only the files
whose name contains it (then only unexpected failures are reported);
``KILONOVA_GABBI_REPORT=path.json`` writes every outcome and failure message there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conformance.placement.expectations import expected_failures, surprises
from tests.conformance.placement.harness import Harness
from tests.conformance.placement.runner import run_files
from tests.conformance.placement.summary import SUMMARY_DIR
from tests.conformance.placement.wheel import unpack_gabbits

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("backend", BACKENDS)
def test_upstream_gabbits(backend: str, tmp_path: Path) -> None:
    files = sorted(unpack_gabbits(tmp_path / "gabbits").glob("*.yaml"))
    only = os.environ.get("KILONOVA_GABBI_FILTER")
    if only:
        files = [f for f in files if only in f.name]
    with Harness(backend, tmp_path) as harness:
        report = run_files(harness, files)
    summary = f"[{backend}] {report.summary()} ({report.seconds:.0f} s)"
    print(f"\n{summary}")
    folder = os.environ.get(SUMMARY_DIR)
    if folder and Path(folder).is_dir():
        (Path(folder) / f"{backend}.txt").write_text(summary)
    dump = os.environ.get("KILONOVA_GABBI_REPORT")
    if dump:
        Path(dump.replace("{backend}", backend)).write_text(json.dumps(
            {"outcomes": report.outcomes, "details": report.details}, indent=1))
    new, fixed = surprises(report, expected_failures(backend))
    if only:
        fixed = []
    for key in new:
        print(f"UNEXPECTED FAILURE {key}\n{report.details.get(key, '')[-1500:]}")
    for key in fixed:
        print(f"NOW PASSING (remove from expected_failures.yaml): {key}")
    assert not new and not fixed, f"{len(new)} unexpected failures, {len(fixed)} now passing"
