"""/os-instance_usage_audit_log: the usage audit report (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from common.compute_db import queries
from common.db import utcnow
from compute_api import usage_audit
from compute_api.api.deps import AdminContextDep, ReadSessionDep
from compute_api.servers import COMPUTE_BINARY

router = APIRouter(prefix="/v2.1/os-instance_usage_audit_log")


def _hosts(session: Session) -> list[str]:
    return [svc.host for svc in queries.list_services(session, COMPUTE_BINARY)]


@router.get("")
def list_audit(ctx: AdminContextDep, session: ReadSessionDep) -> dict[str, Any]:
    return {"instance_usage_audit_logs": usage_audit.report(_hosts(session), utcnow())}


@router.get("/{before_timestamp}")
def show_audit(before_timestamp: str, ctx: AdminContextDep, session: ReadSessionDep
               ) -> dict[str, Any]:
    before = usage_audit.parse_before(before_timestamp)
    return {"instance_usage_audit_log": usage_audit.report(_hosts(session), before)}
