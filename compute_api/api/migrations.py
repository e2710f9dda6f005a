"""GET /os-migrations and /servers/{id}/migrations; force-complete (2.22) and abort
(2.24) of a live migration in progress (admin)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import Response
from starlette.requests import Request

from common import validation
from common.compute_db.models import Migration
from common.errors import BadRequest, NotFound
from common.routes import Route
from common.states import LIVE_IN_PROGRESS, MigrationKind
from compute_api import live_migrations, servers
from compute_api.api.deps import (
    AdminContextDep,
    AfterCommitDep,
    BodyDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.api.query import change_window, params_at, strict_params, x_int
from compute_api.api.versions import base_url
from compute_api.api.views import isotime


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
            live = mig.migration_type == MigrationKind.LIVE_MIGRATION
            if live and mig.status in LIVE_IN_PROGRESS:
                href = f"{base}/v2.1/servers/{mig.instance_uuid}/migrations/{mig.id}"
                out["links"] = [{"rel": "self", "href": href}]
    if version.at_least("2.59"):
        out["uuid"] = str(mig.uuid)
    if version.at_least("2.80"):
        out.update({"user_id": mig.user_id, "project_id": mig.project_id})
    return out


_FILTERS = {"hidden", "host", "instance_uuid", "source_compute", "status", "migration_type"}
_SINCE = (("2.59", {"limit", "marker", "changes-since"}), ("2.66", {"changes-before"}),
          ("2.80", {"user_id", "project_id"}))


def list_migrations(request: Request, ctx: AdminContextDep, session: ReadSessionDep,
                    version: VersionDep) -> dict[str, Any]:
    """Migrations, newest first; from 2.59 paged (limit, marker) and strict in its query."""
    allowed = params_at(version, _FILTERS, _SINCE)
    # Before 2.59 upstream ignored unknown parameters; from 2.59 its schema refuses them.
    strict_params(request, allowed, version, since="2.59")
    params = {k: v for k, v in request.query_params.items() if k in allowed}
    stmt = sa.select(Migration)
    for key in ("instance_uuid", "status", "source_compute", "migration_type", "user_id",
                "project_id"):
        if params.get(key):
            stmt = stmt.where(getattr(Migration, key) == params[key])
    if params.get("host"):
        stmt = stmt.where(sa.or_(Migration.source_compute == params["host"],
                                 Migration.dest_compute == params["host"]))
    since, before = change_window(params.get("changes-since"), params.get("changes-before"))
    if since is not None:
        stmt = stmt.where(Migration.updated_at >= since)
    if before is not None:
        stmt = stmt.where(Migration.updated_at <= before)
    limit = x_int(request, "limit") if "limit" in params else None
    if limit is not None:
        limit = min(limit, request.app.state.runtime.settings.api.max_limit)
    marker = params.get("marker")
    if marker is not None:
        stmt = stmt.where(_after_marker(session, marker))
    stmt = stmt.order_by(Migration.created_at.desc(), Migration.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = session.scalars(stmt).all()
    base = base_url(request)
    out: dict[str, Any] = {"migrations": [_view(m, version, base) for m in rows]}
    if limit is not None and rows and len(rows) >= limit:
        query = {k: v for k, v in params.items() if k != "marker"}
        query["marker"] = str(rows[-1].uuid)
        out["migrations_links"] = [{"rel": "next",
                                    "href": f"{base}/v2.1/os-migrations?{urlencode(query)}"}]
    return out


def _after_marker(session: Any, marker: str) -> Any:
    """Rows after the migration ``marker`` in (created_at, id) descending order."""
    try:
        anchor = session.scalar(sa.select(Migration).where(
            Migration.uuid == uuid.UUID(marker)))
    except ValueError:
        anchor = None
    if anchor is None:
        raise BadRequest(f"Marker {marker} could not be found.")
    return sa.or_(Migration.created_at < anchor.created_at,
                  sa.and_(Migration.created_at == anchor.created_at,
                          Migration.id < anchor.id))


def server_migrations(server_id: str, request: Request, ctx: AdminContextDep,
                      session: ReadSessionDep, version: VersionDep) -> dict[str, Any]:
    if not version.at_least("2.23"):
        raise NotFound("The resource could not be found.")
    inst = servers.find(session, ctx, server_id)
    rows = session.scalars(sa.select(Migration).where(
        Migration.instance_uuid == inst.uuid,
        Migration.migration_type == MigrationKind.LIVE_MIGRATION,
        Migration.status.in_(LIVE_IN_PROGRESS)).order_by(Migration.id)).all()
    base = base_url(request)
    return {"migrations": [_view(m, version, base, server=True) for m in rows]}


def show_server_migration(server_id: str, migration_id: str, request: Request,
                          ctx: AdminContextDep, session: ReadSessionDep,
                          version: VersionDep) -> dict[str, Any]:
    """One in-progress live migration of the server (2.23+); others are 404, as upstream."""
    if not version.at_least("2.23"):
        raise NotFound("The resource could not be found.")
    inst = servers.find(session, ctx, server_id)
    mig = session.scalar(sa.select(Migration).where(
        Migration.id == (int(migration_id) if migration_id.isdigit() else -1),
        Migration.instance_uuid == inst.uuid))
    if mig is None:
        raise NotFound(f"Migration {migration_id} could not be found.")
    if mig.migration_type != MigrationKind.LIVE_MIGRATION or mig.status not in LIVE_IN_PROGRESS:
        raise NotFound(f"Migration {migration_id} for instance {inst.uuid} is not an "
                       "in-progress live migration.")
    return {"migration": _view(mig, version, base_url(request), server=True)}


FORCE_COMPLETE = "2.22"
ABORT = "2.24"
ABORT_QUEUED = "2.65"
FORCE_COMPLETE_BODY = {"type": "object", "properties": {"force_complete": {"type": "null"}},
                       "required": ["force_complete"], "additionalProperties": False}


def force_complete_migration(server_id: str, migration_id: str, body: BodyDep,
                             ctx: AdminContextDep, session: SessionDep, version: VersionDep,
                             runtime: RuntimeDep, after_commit: AfterCommitDep) -> Response:
    if not version.at_least(FORCE_COMPLETE):
        raise NotFound("The resource could not be found.")
    validation.check(FORCE_COMPLETE_BODY, body)
    steered = live_migrations.force_complete(session, ctx, server_id, migration_id)
    after_commit(runtime.conductor.force_complete_live_migration, ctx,
                 steered.instance_uuid, steered.migration_uuid)
    return Response(status_code=202)


def abort_migration(server_id: str, migration_id: str, ctx: AdminContextDep,
                    session: SessionDep, version: VersionDep, runtime: RuntimeDep,
                    after_commit: AfterCommitDep) -> Response:
    if not version.at_least(ABORT):
        raise NotFound("The resource could not be found.")
    steered = live_migrations.abort(session, ctx, server_id, migration_id,
                                    queued_too=version.at_least(ABORT_QUEUED))
    after_commit(runtime.conductor.abort_live_migration, ctx, steered.instance_uuid,
                 steered.migration_uuid)
    return Response(status_code=202)


ROUTES: list[Route] = [
    Route("GET", "/v2.1/os-migrations", list_migrations, "os_compute_api:os-migrations:index",
          query=None),
    Route("GET", "/v2.1/servers/{server_id}/migrations", server_migrations,
          "os_compute_api:servers:migrations:index", min_version="2.23"),
    Route("GET", "/v2.1/servers/{server_id}/migrations/{migration_id}", show_server_migration,
          "os_compute_api:servers:migrations:show", min_version="2.23"),
    Route("POST", "/v2.1/servers/{server_id}/migrations/{migration_id}/action",
          force_complete_migration, "os_compute_api:servers:migrations:force_complete",
          status_code=202, min_version=FORCE_COMPLETE, body=FORCE_COMPLETE_BODY),
    Route("DELETE", "/v2.1/servers/{server_id}/migrations/{migration_id}", abort_migration,
          "os_compute_api:servers:migrations:delete", status_code=202, min_version=ABORT),
]
