"""/flavors: create (admin), list, show, delete (admin), extra specs, access lists."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Response
from starlette.requests import Request

from common import validation
from common.compute_db import queries
from common.errors import BadRequest, NotFound
from common.openapi import model_schema, wrapped
from common.routes import AUTHENTICATED, BY_ACTION, ActionBody, Route
from compute_api import extra_specs
from compute_api.api import schemas
from compute_api.api.deps import (
    AdminContextDep,
    BodyDep,
    ContextDep,
    ReadSessionDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.api.query import flavor_list_args
from compute_api.api.schemas import FlavorCreate, parse
from compute_api.api.versions import base_url
from compute_api.api.views import flavor_brief, flavor_detail, next_links
from compute_api.policies import FLAVOR_ACTIONS

# 2.102: flavors lose rxtx_factor (shown and accepted) and OS-FLV-DISABLED:disabled.
NO_RXTX = "2.102"


def list_flavors(request: Request, ctx: ContextDep, session: ReadSessionDep,
                 version: VersionDep) -> dict[str, Any]:
    args = flavor_list_args(request, ctx, version)
    rows = queries.list_flavors(session, **args)
    return _page(request, [flavor_brief(f, base_url(request), version) for f in rows],
                 args["limit"])


def list_flavors_detail(request: Request, ctx: ContextDep, session: ReadSessionDep,
                        version: VersionDep) -> dict[str, Any]:
    args = flavor_list_args(request, ctx, version)
    rows = queries.list_flavors(session, **args)
    return _page(request, [flavor_detail(f, base_url(request), version) for f in rows],
                 args["limit"])


def _page(request: Request, flavors: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {"flavors": flavors}
    marker = flavors[-1]["id"] if flavors else ""
    page = next_links(request, base_url(request), len(flavors), limit, marker)
    if page:
        out["flavors_links"] = page
    return out


def show_flavor(flavor_id: str, request: Request, ctx: ContextDep, session: ReadSessionDep,
                version: VersionDep) -> dict[str, Any]:
    flavor = queries.get_flavor(session, flavor_id,
                                None if ctx.is_admin else ctx.project_id)
    return {"flavor": flavor_detail(flavor, base_url(request), version)}


def create_flavor(body: BodyDep, request: Request, ctx: AdminContextDep, session: SessionDep,
                  version: VersionDep) -> dict[str, Any]:
    if version.at_least(NO_RXTX) and isinstance(body, dict) and isinstance(
            body.get("flavor"), dict) and "rxtx_factor" in body["flavor"]:
        raise BadRequest("Additional properties are not allowed ('rxtx_factor' was "
                         "unexpected)")
    spec: FlavorCreate = parse(FlavorCreate, body, "flavor")
    if spec.description is not None and not version.at_least("2.55"):
        raise BadRequest("Additional properties are not allowed ('description' was "
                         "unexpected)")
    flavor = queries.create_flavor(session, {
        "flavorid": spec.id or str(uuid.uuid4()), "name": spec.name,
        "memory_mb": spec.ram, "vcpus": spec.vcpus, "root_gb": spec.disk,
        "ephemeral_gb": spec.ephemeral, "swap": spec.swap, "rxtx_factor": spec.rxtx_factor,
        "is_public": spec.is_public, "description": spec.description, "extra_specs": {},
    })
    return {"flavor": flavor_detail(flavor, base_url(request), version)}


def update_flavor(flavor_id: str, body: BodyDep, request: Request, ctx: AdminContextDep,
                  session: SessionDep, version: VersionDep) -> dict[str, Any]:
    if not version.at_least("2.55"):
        raise NotFound("The resource could not be found.")
    data = body.get("flavor") if isinstance(body, dict) else None
    if not isinstance(data, dict) or set(data) != {"description"}:
        raise BadRequest("Invalid input for field/attribute flavor: only 'description' "
                         "may be updated")
    description = data["description"]
    if description is not None and (not isinstance(description, str)
                                    or len(description) > 65535):
        raise BadRequest(f"Invalid input for field/attribute description. Value: "
                         f"{description}.")
    flavor = queries.get_flavor(session, flavor_id)
    flavor.description = description
    session.flush()
    return {"flavor": flavor_detail(flavor, base_url(request), version)}


def delete_flavor(flavor_id: str, ctx: AdminContextDep, session: SessionDep) -> Response:
    queries.delete_flavor(session, flavor_id)
    return Response(status_code=202)


# --- extra specs --------------------------------------------------------------------


def _specs(body: Any, version: Version, exactly_one: str | None = None) -> dict[str, str]:
    data = body.get("extra_specs", body) if exactly_one is None else body
    if not isinstance(data, dict) or (exactly_one is None and "extra_specs" not in body):
        raise BadRequest("Invalid input for field/attribute extra_specs. 'extra_specs' is a "
                         "required property")
    for key, value in data.items():
        if not 1 <= len(key) <= 255 or not isinstance(value, str | int | float | bool) or \
                len(str(value)) > 255:
            raise BadRequest(f"Invalid input for field/attribute extra_specs. Value: {key}.")
    if exactly_one is not None and list(data) != [exactly_one]:
        raise BadRequest("Request body and URI mismatch")
    specs = {k: str(v) for k, v in data.items()}
    if version.at_least("2.86"):
        for key, value in specs.items():
            extra_specs.validate(key, value)
    return specs


def list_extra_specs(flavor_id: str, ctx: ContextDep, session: ReadSessionDep
                     ) -> dict[str, Any]:
    flavor = queries.get_flavor(session, flavor_id, None if ctx.is_admin else ctx.project_id)
    return {"extra_specs": dict(flavor.extra_specs or {})}


def add_extra_specs(flavor_id: str, body: BodyDep, ctx: AdminContextDep, session: SessionDep,
                    version: VersionDep) -> dict[str, Any]:
    flavor = queries.get_flavor(session, flavor_id)
    specs = _specs(body, version)
    flavor.extra_specs = {**(flavor.extra_specs or {}), **specs}
    session.flush()
    return {"extra_specs": specs}


def show_extra_spec(flavor_id: str, key: str, ctx: ContextDep, session: ReadSessionDep
                    ) -> dict[str, Any]:
    specs = queries.get_flavor(session, flavor_id,
                               None if ctx.is_admin else ctx.project_id).extra_specs or {}
    if key not in specs:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return {key: specs[key]}


def set_extra_spec(flavor_id: str, key: str, body: BodyDep, ctx: AdminContextDep,
                   session: SessionDep, version: VersionDep) -> dict[str, Any]:
    flavor = queries.get_flavor(session, flavor_id)
    spec = _specs(body, version, exactly_one=key)
    flavor.extra_specs = {**(flavor.extra_specs or {}), **spec}
    session.flush()
    return dict(spec)


def delete_extra_spec(flavor_id: str, key: str, ctx: AdminContextDep, session: SessionDep
                      ) -> Response:
    flavor = queries.get_flavor(session, flavor_id)
    specs = dict(flavor.extra_specs or {})
    if key not in specs:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    del specs[key]
    flavor.extra_specs = specs
    session.flush()
    return Response(status_code=200)


# --- access lists of private flavors (os-flavor-access) ---------------------------


def _access_view(session: Any, flavor: Any) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor.flavorid, "tenant_id": project}
                              for project in queries.flavor_projects(session, flavor)]}


def list_flavor_access(flavor_id: str, ctx: AdminContextDep, session: ReadSessionDep
                       ) -> dict[str, Any]:
    flavor = queries.get_flavor(session, flavor_id)
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    return _access_view(session, flavor)


def _tenant(body: Any, action: str) -> str:
    data = schemas.member(body, action)
    if not isinstance(data, dict) or "tenant" not in data:
        raise BadRequest(f"Invalid input for field/attribute {action}. 'tenant' is a "
                         "required property")
    extra = sorted(set(data) - {"tenant"})
    if extra:
        raise BadRequest(f"Additional properties are not allowed ('{extra[0]}' was "
                         "unexpected)")
    tenant = data["tenant"]
    if not isinstance(tenant, str) or not 1 <= len(tenant) <= 255:
        raise BadRequest(f"Invalid input for field/attribute tenant. Value: {tenant}. "
                         "It must be a string of 1 to 255 characters.")
    return tenant


def flavor_action(flavor_id: str, body: BodyDep, ctx: AdminContextDep, session: SessionDep
                  ) -> dict[str, Any]:
    """``addTenantAccess`` / ``removeTenantAccess``: answer the new access list."""
    if not isinstance(body, dict) or len(body) != 1 or \
            next(iter(body)) not in ("addTenantAccess", "removeTenantAccess"):
        raise BadRequest("Invalid input for field/attribute: expected exactly one of "
                         "'addTenantAccess', 'removeTenantAccess'")
    action = next(iter(body))
    tenant = _tenant(body, action)
    flavor = queries.get_flavor(session, flavor_id)
    if action == "addTenantAccess":
        queries.add_flavor_project(session, flavor, tenant)
    else:
        queries.remove_flavor_project(session, flavor, tenant)
    return _access_view(session, flavor)


# What the handlers accept; their own checks give the messages.
CREATE_BODY = wrapped("flavor", model_schema(FlavorCreate))
UPDATE_BODY = wrapped("flavor", {
    "type": "object", "properties": {"description": {"type": ["string", "null"],
                                                     "maxLength": 65535}},
    "required": ["description"], "additionalProperties": False})
_SPEC_VALUE = {"type": ["string", "integer", "number", "boolean"]}
EXTRA_SPECS_BODY = wrapped("extra_specs", {"type": "object",
                                           "additionalProperties": _SPEC_VALUE})
EXTRA_SPEC_BODY = {"type": "object", "minProperties": 1, "maxProperties": 1,
                   "additionalProperties": _SPEC_VALUE}
_TENANT = {"type": "object", "properties": {"tenant": validation.name()},
           "required": ["tenant"], "additionalProperties": False}
ACTIONS = {key: ActionBody(rule.name, _TENANT) for key, rule in FLAVOR_ACTIONS.items()}


ROUTES: list[Route] = [
    Route("GET", "/v2.1/flavors", list_flavors, AUTHENTICATED, query=None),
    Route("GET", "/v2.1/flavors/detail", list_flavors_detail, AUTHENTICATED, query=None),
    Route("GET", "/v2.1/flavors/{flavor_id}", show_flavor, AUTHENTICATED),
    Route("POST", "/v2.1/flavors", create_flavor, "os_compute_api:os-flavor-manage:create",
          body=CREATE_BODY),
    Route("PUT", "/v2.1/flavors/{flavor_id}", update_flavor,
          "os_compute_api:os-flavor-manage:update", min_version="2.55", body=UPDATE_BODY),
    Route("DELETE", "/v2.1/flavors/{flavor_id}", delete_flavor,
          "os_compute_api:os-flavor-manage:delete", status_code=202),
    Route("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs", list_extra_specs,
          "os_compute_api:os-flavor-extra-specs:index"),
    Route("POST", "/v2.1/flavors/{flavor_id}/os-extra_specs", add_extra_specs,
          "os_compute_api:os-flavor-extra-specs:create", body=EXTRA_SPECS_BODY),
    Route("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", show_extra_spec,
          "os_compute_api:os-flavor-extra-specs:show"),
    Route("PUT", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", set_extra_spec,
          "os_compute_api:os-flavor-extra-specs:update", body=EXTRA_SPEC_BODY),
    Route("DELETE", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}", delete_extra_spec,
          "os_compute_api:os-flavor-extra-specs:delete"),
    Route("GET", "/v2.1/flavors/{flavor_id}/os-flavor-access", list_flavor_access,
          "os_compute_api:os-flavor-access"),
    Route("POST", "/v2.1/flavors/{flavor_id}/action", flavor_action, BY_ACTION, actions=ACTIONS),
]
