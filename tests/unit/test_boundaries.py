"""Architecture rules that code review alone would let slip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

AGENT_MODULES = ["compute_agent.manager", "compute_agent.rpc.server",
                 "compute_agent.rpc.client", "compute_agent.virt.fake",
                 "compute_agent.virt.driver"]
DATABASE_MODULES = ("sqlalchemy", "alembic", "psycopg", "common.db", "common.compute_db")


def _imported_after(modules: list[str]) -> list[str]:
    code = ("import sys, json, importlib\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=REPO,
                         capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(out.stdout)
    return loaded


def test_compute_agent_loads_no_database_code() -> None:
    loaded = _imported_after(AGENT_MODULES)
    leaks = [m for m in loaded if m.startswith(DATABASE_MODULES)]
    assert leaks == []


def test_compute_agent_reaches_other_services_only_through_their_clients() -> None:
    loaded = _imported_after(AGENT_MODULES)
    foreign = [m for m in loaded
               if m.split(".")[0] in ("conductor", "scheduler", "placement", "compute_api")]
    allowed = {"conductor", "conductor.rpc", "conductor.rpc.client", "placement",
               "placement.client"}
    assert set(foreign) <= allowed
