"""Rewrite ``expected_failures.yaml`` from run reports (``KILONOVA_GABBI_REPORT``).

``python -m tests.conformance.placement.record sqlite.json postgresql.json``: every test
failing in a report is listed, grouped by why it failed (the assertion gabbi printed,
with uuids and ports blanked). A test listed under a reason written by hand keeps it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conformance.placement.expectations import BACKENDS, EXPECTED

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PORT = re.compile(r"127\.0\.0\.1:\d+")
AUTOMATIC = "Observed: "


def reason_of(detail: str) -> str:
    """The line of a failure that says what differed, without run-specific values."""
    lines = detail.strip().splitlines()
    found = next((i for i in range(len(lines) - 1, -1, -1)
                  if re.match(r"^[\w.]*(Error|Exception)\b", lines[i])), len(lines) - 1)
    text = " ".join(line.strip() for line in lines[found:found + 12])
    text = _PORT.sub("HOST", _UUID.sub("<uuid>", text))
    text = re.sub(r'"request_id": "req-<uuid>"', "", text)
    return AUTOMATIC + text[:300]


def groups(reports: dict[str, dict[str, Any]], kept: dict[str, str]) -> list[dict[str, Any]]:
    failing: dict[str, dict[str, str]] = {}
    for backend, report in reports.items():
        for key, outcome in report["outcomes"].items():
            if outcome == "failed":
                reason = kept.get(key) or reason_of(report["details"].get(key, ""))
                failing.setdefault(key, {})[backend] = reason
    by_reason: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for key, per_backend in sorted(failing.items()):
        backends = tuple(b for b in BACKENDS if b in per_backend)
        by_reason.setdefault((next(iter(per_backend.values())), backends), []).append(key)
    out = []
    for (reason, backends), tests in sorted(by_reason.items()):
        group: dict[str, Any] = {"reason": reason, "tests": tests}
        if backends != BACKENDS:
            group["backends"] = list(backends)
        out.append(group)
    return out


def main(argv: list[str]) -> None:
    reports = {}
    for path in argv:
        backend = next(b for b in BACKENDS if b in Path(path).name)
        reports[backend] = json.loads(Path(path).read_text())
    old = yaml.safe_load(EXPECTED.read_text()) or []
    kept = {key: g["reason"] for g in old if not g["reason"].startswith(AUTOMATIC)
            for key in g["tests"]}
    EXPECTED.write_text(
        "# Upstream gabbi tests that still fail here, and why (see test_gabbits.py).\n"
        "# Reasons starting 'Observed:' are what gabbi reported; others are written by hand.\n"
        + yaml.safe_dump(groups(reports, kept), sort_keys=False, width=100,
                         allow_unicode=True))


if __name__ == "__main__":
    main(sys.argv[1:])
