"""/limits and /os-quota-sets: show, detail, defaults, update (admin), delete (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from starlette.requests import Request

from common import policy
from common.context import RequestContext
from common.errors import BadRequest
from common.openapi import wrapped
from common.routes import Route
from compute_api import quotas
from compute_api.api.deps import (
    AdminContextDep,
    BodyDep,
    ContextDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.quotas import QUOTA_VALUE, RESOURCES


def _shown(version: Version) -> quotas.Shown:
    """Quota sets dropped nova-network's limits at 2.36 and injected files' at 2.57."""
    return quotas.Shown(injected=not version.at_least("2.57"),
                        network=not version.at_least("2.36"), server_groups=True)


def _project(ctx: RequestContext, project_id: str) -> str:
    # The route's rule (os-quota-sets:show/detail), on the project of the path.
    policy.authorize_route(ctx, {"project_id": project_id})
    return project_id


def show_limits(request: Request, ctx: ContextDep, session: ReadSessionDep,
                version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    project = (request.query_params.get("tenant_id")
               if policy.allowed(ctx, "os_compute_api:limits:other_project") else None)
    project = project or ctx.project_id or ""
    limit = quotas.limits(session, runtime.settings.quota, project)
    used = quotas.usage(session, project)
    absolute: dict[str, int] = {
        "maxServerMeta": limit["metadata_items"],
        "maxTotalCores": limit["cores"], "maxTotalInstances": limit["instances"],
        "maxTotalKeypairs": limit["key_pairs"], "maxTotalRAMSize": limit["ram"],
        "maxServerGroups": limit["server_groups"],
        "maxServerGroupMembers": limit["server_group_members"],
        "totalCoresUsed": used["cores"], "totalInstancesUsed": used["instances"],
        "totalRAMUsed": used["ram"], "totalServerGroupsUsed": used["server_groups"],
    }
    if not version.at_least("2.39"):
        # The image-metadata proxy's limit went with the proxy APIs at 2.39.
        absolute["maxImageMeta"] = limit["metadata_items"]
    if not version.at_least("2.36"):
        absolute.update({"maxSecurityGroups": -1, "maxSecurityGroupRules": -1,
                         "maxTotalFloatingIps": -1, "totalSecurityGroupsUsed": 0,
                         "totalFloatingIpsUsed": 0})
    if not version.at_least("2.57"):
        absolute.update({"maxPersonality": limit["injected_files"],
                         "maxPersonalitySize": limit["injected_file_content_bytes"]})
    return {"limits": {"rate": [], "absolute": absolute}}


def quota_defaults(project_id: str, ctx: ContextDep, session: ReadSessionDep,
                   version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    values = quotas.quota_set(quotas.class_defaults(session, runtime.settings.quota),
                              _shown(version))
    return {"quota_set": {"id": project_id, **values}}


def quota_detail(project_id: str, ctx: ContextDep, session: ReadSessionDep,
                 version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    project = _project(ctx, project_id)
    limit = quotas.limits(session, runtime.settings.quota, project)
    used = quotas.usage(session, project, ctx.user_id)
    detail = {r: {"in_use": used.get(r, 0), "limit": limit[r], "reserved": 0}
              for r in quotas.RESOURCES}
    values = quotas.quota_set(detail, _shown(version),
                              {"in_use": 0, "limit": -1, "reserved": 0})
    return {"quota_set": {"id": project, **values}}


def quota_show(project_id: str, ctx: ContextDep, session: ReadSessionDep,
               version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    project = _project(ctx, project_id)
    values = quotas.quota_set(quotas.limits(session, runtime.settings.quota, project),
                              _shown(version))
    return {"quota_set": {"id": project, **values}}


def quota_update(project_id: str, body: BodyDep, ctx: AdminContextDep, session: SessionDep,
                 version: VersionDep, runtime: RuntimeDep) -> dict[str, Any]:
    data = body.get("quota_set") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise BadRequest("Invalid input for field/attribute quota_set. 'quota_set' is a "
                         "required property")
    values = dict(data)
    force = values.pop("force", False)
    if not isinstance(force, bool) and str(force).lower() not in ("true", "false"):
        raise BadRequest(f"Invalid input for field/attribute force. Value: {force}.")
    if version.at_least("2.36"):
        for name in quotas.NETWORK_RESOURCES:
            if name in values:
                raise BadRequest(f"Additional properties are not allowed ('{name}' was "
                                 "unexpected)")
    if version.at_least("2.57"):
        for name in quotas.INJECTED:
            if name in values:
                raise BadRequest(f"Additional properties are not allowed ('{name}' was "
                                 "unexpected)")
    quotas.lock_project(session, project_id)
    quotas.update(session, runtime.settings.quota, project_id, values,
                  force in (True, "true", "True"))
    return {"quota_set": quotas.quota_set(
        quotas.limits(session, runtime.settings.quota, project_id), _shown(version))}


def quota_delete(project_id: str, ctx: AdminContextDep, session: SessionDep) -> Response:
    quotas.reset(session, project_id)
    return Response(status_code=202)


# ``force`` is a boolean or its string; the values' own checks give the messages.
UPDATE_BODY = wrapped("quota_set", {
    "type": "object",
    "properties": {**{r: QUOTA_VALUE for r in RESOURCES},
                   "force": {"type": ["boolean", "string"]}},
    "additionalProperties": False})


ROUTES: list[Route] = [
    Route("GET", "/v2.1/limits", show_limits, "os_compute_api:limits",
          query=frozenset({"tenant_id"})),
    Route("GET", "/v2.1/os-quota-sets/{project_id}/defaults", quota_defaults,
          "os_compute_api:os-quota-sets:defaults"),
    Route("GET", "/v2.1/os-quota-sets/{project_id}/detail", quota_detail,
          "os_compute_api:os-quota-sets:detail", query=frozenset({"user_id"})),
    Route("GET", "/v2.1/os-quota-sets/{project_id}", quota_show,
          "os_compute_api:os-quota-sets:show", query=frozenset({"user_id"})),
    Route("PUT", "/v2.1/os-quota-sets/{project_id}", quota_update,
          "os_compute_api:os-quota-sets:update", query=frozenset({"user_id"}), body=UPDATE_BODY),
    Route("DELETE", "/v2.1/os-quota-sets/{project_id}", quota_delete,
          "os_compute_api:os-quota-sets:delete", query=frozenset({"user_id"}), status_code=202),
]
