"""/os-keypairs: import or generate, list, show, delete (per user)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Response
from fastapi.responses import JSONResponse
from starlette.requests import Request

from common import validation
from common.compute_db.models import KeyPair
from common.context import RequestContext
from common.openapi import wrapped
from common.routes import Route
from compute_api import keypairs
from compute_api.api.deps import (
    BodyDep,
    ContextDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.microversion import Version
from compute_api.api.query import strict_params, x_int
from compute_api.api.versions import base_url
from compute_api.api.views import isotime


def _brief(kp: KeyPair, version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {"name": kp.name, "public_key": kp.public_key,
                           "fingerprint": kp.fingerprint}
    if version.at_least("2.2"):
        out["type"] = kp.type
    return out


def keypair_schema(version: Version) -> dict[str, Any]:
    """The create body at ``version``, as upstream's schema states it."""
    fields: dict[str, Any] = {"name": {"type": "string"},
                              "public_key": {"type": "string", "minLength": 1}}
    if version.at_least("2.2"):
        fields["type"] = {"enum": ["ssh", "x509"]}
    if version.at_least("2.10"):
        # Checked against the records (255 characters) before policy looks at it.
        fields["user_id"] = validation.name()
    keypair = {"type": "object", "properties": fields, "additionalProperties": False,
               "required": ["name", "public_key"] if version.at_least("2.92") else ["name"]}
    return wrapped("keypair", keypair)


def _owner(ctx: RequestContext, requested: str | None, version: Version) -> str:
    # Before 2.10 a request cannot name another user: its user_id is ignored.
    return keypairs.owner(ctx, requested if version.at_least("2.10") else None)


def _spec(body: Any, ctx: RequestContext, version: Version) -> keypairs.KeyPairSpec:
    validation.check(keypair_schema(version), body)
    data = body["keypair"]
    return keypairs.KeyPairSpec(
        name=keypairs.check_name(data["name"], allow_at_sign=version.at_least("2.92")),
        public_key=data.get("public_key"), type=data.get("type", "ssh"),
        user_id=_owner(ctx, data.get("user_id"), version))


def create_keypair(body: BodyDep, ctx: ContextDep, session: SessionDep, version: VersionDep,
                   runtime: RuntimeDep) -> JSONResponse:
    spec = _spec(body, ctx, version)
    kp, private = keypairs.create(session, runtime.settings.quota, ctx, spec)
    out = {**_brief(kp, version), "user_id": kp.user_id}
    if private is not None:
        out["private_key"] = private
    return JSONResponse({"keypair": out}, status_code=201 if version.at_least("2.2") else 200)


def list_keypairs(request: Request, ctx: ContextDep, session: ReadSessionDep,
                  version: VersionDep) -> dict[str, Any]:
    params = request.query_params
    allowed = {"user_id"} if version.at_least("2.10") else set()
    if version.at_least("2.35"):
        allowed |= {"limit", "marker"}
    strict_params(request, allowed, version)
    user = _owner(ctx, params.get("user_id"), version)
    paged = version.at_least("2.35")
    limit = x_int(request, "limit") if paged else None
    rows = keypairs.list_keypairs(session, user, limit, params.get("marker") if paged
                                  else None)
    out: dict[str, Any] = {"keypairs": [{"keypair": _brief(k, version)} for k in rows]}
    if paged and limit is not None and rows and len(rows) >= limit:
        query = {**dict(params), "marker": rows[-1].name}
        out["keypairs_links"] = [{"rel": "next", "href":
                                  f"{base_url(request)}/v2.1/os-keypairs?{urlencode(query)}"}]
    return out


def show_keypair(name: str, request: Request, ctx: ContextDep, session: ReadSessionDep,
                 version: VersionDep) -> dict[str, Any]:
    kp = keypairs.get(session, _owner(ctx, request.query_params.get("user_id"), version),
                      name)
    return {"keypair": {**_brief(kp, version), "user_id": kp.user_id, "id": kp.id,
                        "created_at": isotime(kp.created_at), "updated_at": None,
                        "deleted": False, "deleted_at": None}}


def delete_keypair(name: str, request: Request, ctx: ContextDep, session: SessionDep,
                   version: VersionDep) -> Response:
    keypairs.delete(session, _owner(ctx, request.query_params.get("user_id"), version),
                    name)
    return Response(status_code=204 if version.at_least("2.2") else 202)


ROUTES: list[Route] = [
    Route("POST", "/v2.1/os-keypairs", create_keypair, "os_compute_api:os-keypairs:create",
          body=keypair_schema),
    Route("GET", "/v2.1/os-keypairs", list_keypairs, "os_compute_api:os-keypairs:index",
          query=None),
    Route("GET", "/v2.1/os-keypairs/{name}", show_keypair, "os_compute_api:os-keypairs:show",
          query=frozenset({"user_id"})),
    Route("DELETE", "/v2.1/os-keypairs/{name}", delete_keypair, "os_compute_api:os-keypairs:delete",
          query=frozenset({"user_id"})),
]
