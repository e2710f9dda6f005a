"""GET /os-migrations and GET /servers/{id}/migrations (admin)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from starlette.requests import Request

from common.compute_db.models import Migration
from common.errors import NotFound
from compute_api import servers
from compute_api.api.deps import AdminContextDep, ReadSessionDep, VersionDep
from compute_api.api.microversion import Version
from compute_api.api.versions import base_url
from compute_api.api.views import isotime

router = APIRouter(prefix="/v2.1")

LIVE_IN_PROGRESS = ("queued", "preparing", "running")


def _view(mig: Migration, version: Version, base: str, *, server: bool = False
          ) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": mig.id, "status": mig.status, "source_compute": mig.source_compute,
        "source_node": mig.source_node, "dest_compute": mig.dest_compute,
        "dest_node": mig.dest_node, "dest_host": None,
        "created_at": isotime(mig.created_at), "updated_at": isotime(mig.updated_at),
    }
    if server:
        out["server_uuid"] = str(mig.instance_uuid)
        out.update({f"{kind}_{what}_bytes": None for kind in ("disk", "memory")
                    for what in ("processed", "remaining", "total")})
    else:
        out.update({"instance_uuid": str(mig.instance_uuid),
                    "old_instance_type_id": None, "new_instance_type_id": None})
        if version.at_least("2.23"):
            out["migration_type"] = mig.migration_type
            if mig.migration_type == "live-migration" and mig.status in LIVE_IN_PROGRESS:
                href = f"{base}/v2.1/servers/{mig.instance_uuid}/migrations/{mig.id}"
                out["links"] = [{"rel": "self", "href": href}]
    if version.at_least("2.59"):
        out["uuid"] = str(mig.uuid)
    if version.at_least("2.80"):
        out.update({"user_id": mig.user_id, "project_id": mig.project_id})
    return out


@router.get("/os-migrations")
def list_migrations(request: Request, ctx: AdminContextDep, session: ReadSessionDep,
                    version: VersionDep) -> dict[str, Any]:
    params = request.query_params
    stmt = sa.select(Migration).order_by(Migration.created_at.desc(), Migration.id.desc())
    for key in ("instance_uuid", "status", "source_compute", "migration_type"):
        if params.get(key):
            stmt = stmt.where(getattr(Migration, key) == params[key])
    if params.get("host"):
        stmt = stmt.where(sa.or_(Migration.source_compute == params["host"],
                                 Migration.dest_compute == params["host"]))
    base = base_url(request)
    return {"migrations": [_view(m, version, base) for m in session.scalars(stmt).all()]}


@router.get("/servers/{server_id}/migrations")
def server_migrations(server_id: str, request: Request, ctx: AdminContextDep,
                      session: ReadSessionDep, version: VersionDep) -> dict[str, Any]:
    if not version.at_least("2.23"):
        raise NotFound("The resource could not be found.")
    inst, _ = servers.get(session, ctx, server_id)
    rows = session.scalars(sa.select(Migration).where(
        Migration.instance_uuid == inst.uuid, Migration.migration_type == "live-migration",
        Migration.status.in_(LIVE_IN_PROGRESS)).order_by(Migration.id)).all()
    base = base_url(request)
    return {"migrations": [_view(m, version, base, server=True) for m in rows]}
