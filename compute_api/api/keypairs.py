"""/os-keypairs: import or generate, list, show, delete (per user)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from starlette.requests import Request

from common import validation
from common.compute_db.models import KeyPair
from common.errors import BadRequest
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

router = APIRouter(prefix="/v2.1/os-keypairs")

CREATE_FIELDS = {"name", "public_key", "type", "user_id"}
KEYPAIR_IDS = {"properties": {"user_id": validation.name()}}


def _brief(kp: KeyPair, version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {"name": kp.name, "public_key": kp.public_key,
                           "fingerprint": kp.fingerprint}
    if version.at_least("2.2"):
        out["type"] = kp.type
    return out


def _spec(body: Any, ctx: Any, version: Version) -> keypairs.KeyPairSpec:
    data = body.get("keypair") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise BadRequest("Invalid input for field/attribute keypair. 'keypair' is a "
                         "required property")
    allowed = {"name", "public_key"} | ({"type"} if version.at_least("2.2") else set()) | (
        {"user_id"} if version.at_least("2.10") else set())
    extra = set(data) - allowed
    if extra:
        raise BadRequest(f"Additional properties are not allowed ('{sorted(extra)[0]}' was "
                         "unexpected)")
    public_key = data.get("public_key")
    if public_key is None and version.at_least("2.92"):
        raise BadRequest("Invalid input for field/attribute keypair. 'public_key' is a "
                         "required property")
    if public_key is not None and (not isinstance(public_key, str) or not public_key):
        raise BadRequest("Keypair data is invalid: public_key must be a non-empty string")
    # user_id is checked against the records (255 characters) before policy looks at it.
    validation.check(KEYPAIR_IDS, {k: data[k] for k in ("user_id",) if k in data})
    kind = data.get("type", "ssh")
    if kind not in ("ssh", "x509"):
        raise BadRequest(f"Invalid input for field/attribute type. Value: {kind}. "
                         f"'{kind}' is not one of ['ssh', 'x509']")
    return keypairs.KeyPairSpec(
        name=keypairs.check_name(data.get("name"), version), public_key=public_key,
        type=kind, user_id=keypairs.owner(ctx, data.get("user_id"), version))


@router.post("")
def create_keypair(body: BodyDep, ctx: ContextDep, session: SessionDep, version: VersionDep,
                   runtime: RuntimeDep) -> JSONResponse:
    spec = _spec(body, ctx, version)
    kp, private = keypairs.create(session, runtime.settings.quota, ctx, spec)
    out = {**_brief(kp, version), "user_id": kp.user_id}
    if private is not None:
        out["private_key"] = private
    return JSONResponse({"keypair": out}, status_code=201 if version.at_least("2.2") else 200)


@router.get("")
def list_keypairs(request: Request, ctx: ContextDep, session: ReadSessionDep,
                  version: VersionDep) -> dict[str, Any]:
    params = request.query_params
    allowed = {"user_id"} if version.at_least("2.10") else set()
    if version.at_least("2.35"):
        allowed |= {"limit", "marker"}
    strict_params(request, allowed, version)
    user = keypairs.owner(ctx, params.get("user_id"), version)
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


@router.get("/{name}")
def show_keypair(name: str, request: Request, ctx: ContextDep, session: ReadSessionDep,
                 version: VersionDep) -> dict[str, Any]:
    kp = keypairs.get(session, keypairs.owner(ctx, request.query_params.get("user_id"),
                                              version), name)
    return {"keypair": {**_brief(kp, version), "user_id": kp.user_id, "id": kp.id,
                        "created_at": isotime(kp.created_at), "updated_at": None,
                        "deleted": False, "deleted_at": None}}


@router.delete("/{name}")
def delete_keypair(name: str, request: Request, ctx: ContextDep, session: SessionDep,
                   version: VersionDep) -> Response:
    keypairs.delete(session, keypairs.owner(ctx, request.query_params.get("user_id"),
                                            version), name)
    return Response(status_code=204 if version.at_least("2.2") else 202)
