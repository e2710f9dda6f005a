"""/os-instance_usage_audit_log: the usage audit report (admin)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from common.compute_db import queries
from common.db import utcnow
from common.routes import Route
from compute_api import usage_audit
from compute_api.api.deps import AdminContextDep, ReadSessionDep
from compute_api.servers import COMPUTE_BINARY


def _hosts(session: Session) -> list[str]:
    return [svc.host for svc in queries.list_services(session, COMPUTE_BINARY)]


def list_audit(ctx: AdminContextDep, session: ReadSessionDep) -> dict[str, Any]:
    return {"instance_usage_audit_logs": usage_audit.report(_hosts(session), utcnow())}


def show_audit(before_timestamp: str, ctx: AdminContextDep, session: ReadSessionDep
               ) -> dict[str, Any]:
    before = usage_audit.parse_before(before_timestamp)
    return {"instance_usage_audit_log": usage_audit.report(_hosts(session), before)}


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-instance_usage_audit_log", list_audit,
          "os_compute_api:os-instance-usage-audit-log:list"),
    Route("GET", "/v2.1/os-instance_usage_audit_log/{before_timestamp}", show_audit,
          "os_compute_api:os-instance-usage-audit-log:show"),
]
