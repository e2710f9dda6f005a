"""Architecture rules that code review alone would let slip: one "never" per line.

Each rule's check returns its offenders ("file: what"); an empty list keeps the rule.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("compute_api", "placement", "scheduler", "conductor", "compute_agent")
PRODUCT = ("common", *SERVICES, "cli")
DATABASE_MODULES = ("sqlalchemy", "alembic", "psycopg", "common.db", "common.compute_db")
HTTP_MODULES = ("fastapi", "starlette")
# The HTTP layer outside ``api/`` packages: app factories, ASGI middleware, the
# composition root, and the identity / image sub-APIs' routers and error handlers.
# The HTTP edge outside api/ packages: apps, their wiring and the ASGI middlewares every
# API shares (token gate, body limits, OpenAPI bodies, transient-error retries, the route
# tables' router builder).
HTTP_LAYER = {"compute_api/app.py", "placement/app.py", "placement/asgi.py", "common/gate.py",
              "cli/wiring.py", "compute_api/identity/api.py", "compute_api/identity/errors.py",
              "compute_api/images/api.py", "compute_api/images/errors.py",
              "common/body_limits.py", "common/openapi.py", "common/transient.py",
              "common/routes.py"}
AGENT_MODULES = ["compute_agent.manager", "compute_agent.rpc.server",
                 "compute_agent.rpc.client", "compute_agent.virt.fake",
                 "compute_agent.virt.driver"]
# Placement client methods that create or grow a claim on a host's resources.
CLAIMS = {"claim"}


def _files(top: str) -> Iterator[Path]:
    yield from sorted((REPO / top).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _imports(path: Path) -> set[str]:
    """Every module a file imports, with each parent (``a.b.c`` gives a, a.b, a.b.c)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        for name in found:
            parts = name.split(".")
            names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return names


def _importers(top: str, forbidden: tuple[str, ...], skip: set[str] | None = None
               ) -> list[str]:
    return [f"{_rel(p)}: {name}" for p in _files(top) if _rel(p) not in (skip or set())
            for name in sorted(_imports(p)) if name in forbidden]


def _loaded_by(modules: list[str]) -> list[str]:
    code = ("import sys, json, importlib\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=REPO,
                         capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(out.stdout)
    return loaded


# -- the checks ------------------------------------------------------------------------


def api_imports_agent_client() -> list[str]:
    return _importers("compute_api", ("compute_agent", "compute_agent.rpc.client"))


def api_imports_placement() -> list[str]:
    return _importers("compute_api", ("placement", "placement.client"))


def api_runtime_holds_agent_or_placement_client() -> list[str]:
    from compute_api.runtime import Runtime

    hints = typing.get_type_hints(Runtime)
    return [f"Runtime.{f.name}: {hints[f.name].__name__}" for f in dataclasses.fields(Runtime)
            if getattr(hints[f.name], "__module__", "").startswith(("compute_agent",
                                                                    "placement"))]


def _claim_calls(top: str) -> list[str]:
    out = []
    for path in _files(top):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            # Handing allocations to a new kind of consumer (a move's migration) claims.
            takes = node.func.attr == "move_allocations" and any(
                kw.arg == "target_type" for kw in node.keywords)
            if node.func.attr in CLAIMS or takes:
                out.append(f"{_rel(path)}:{node.lineno}: .{node.func.attr}()")
    return out


def claims_outside_scheduler() -> list[str]:
    return [hit for top in ("compute_api", "conductor", "compute_agent", "cli")
            for hit in _claim_calls(top)]


def _in_domain(hit: str) -> bool:
    path = hit.split(":")[0]
    return "/api/" not in path and path not in HTTP_LAYER


def domain_imports_http() -> list[str]:
    return [hit for top in PRODUCT for hit in _importers(top, HTTP_MODULES) if _in_domain(hit)]


def domain_imports_compute_http_layer() -> list[str]:
    # The HTTP layer turns the microversion into plain values; a domain function that
    # took the Version (compute_api.api.microversion) would grow version checks again.
    return [hit for hit in _importers("compute_api", ("compute_api.api",)) if _in_domain(hit)]


def agent_imports_database_code() -> list[str]:
    static = _importers("compute_agent", DATABASE_MODULES)
    loaded = [f"loaded: {m}" for m in _loaded_by(AGENT_MODULES)
              if m.startswith(DATABASE_MODULES)]
    return static + loaded


def imports_another_services_db() -> list[str]:
    return [hit for service in SERVICES for other in SERVICES if other != service
            for hit in _importers(service, (f"{other}.db",))]


def agent_reaches_others_but_through_clients() -> list[str]:
    allowed = {"conductor", "conductor.rpc", "conductor.rpc.client", "placement",
               "placement.client"}
    return [m for m in _loaded_by(AGENT_MODULES)
            if m.split(".")[0] in ("conductor", "scheduler", "placement", "compute_api")
            and m not in allowed]


@dataclass(frozen=True)
class Never:
    text: str
    offenders: Callable[[], list[str]]


NEVER = [
    Never("the API imports the compute agent's RPC client", api_imports_agent_client),
    Never("the API imports placement's client (it would write there)", api_imports_placement),
    Never("the API runtime holds an agent or placement client",
          api_runtime_holds_agent_or_placement_client),
    Never("anyone but the scheduler claims resources in placement", claims_outside_scheduler),
    Never("a domain module imports fastapi or starlette", domain_imports_http),
    Never("a compute_api domain module imports compute_api.api (a microversion, a wire model)",
          domain_imports_compute_http_layer),
    Never("compute_agent imports database code", agent_imports_database_code),
    Never("a service imports another service's db/", imports_another_services_db),
    Never("compute_agent reaches another service except through its client",
          agent_reaches_others_but_through_clients),
]


@pytest.mark.parametrize("rule", NEVER, ids=[rule.text for rule in NEVER])
def test_never(rule: Never) -> None:
    assert rule.offenders() == []


def test_the_import_scan_sees_what_it_must() -> None:
    # Guards the rules above against a scan that silently finds nothing.
    assert "conductor.rpc.client" in _imports(REPO / "compute_api" / "runtime.py")
    assert _claim_calls("scheduler")
    assert "placement.client" in _imports(REPO / "scheduler" / "manager.py")
    assert "compute_api.api" in _imports(REPO / "compute_api" / "app.py")
