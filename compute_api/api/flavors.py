"""/flavors: create (admin), list, show, delete (admin)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response
from starlette.requests import Request

from common.compute_db import queries
from common.errors import BadRequest
from compute_api.api.deps import (
    AdminContextDep,
    BodyDep,
    ContextDep,
    ReadSessionDep,
    SessionDep,
    VersionDep,
)
from compute_api.api.query import flavor_list_args
from compute_api.api.schemas import FlavorCreate, parse
from compute_api.api.versions import base_url
from compute_api.api.views import flavor_brief, flavor_detail

router = APIRouter(prefix="/v2.1/flavors")


@router.get("")
def list_flavors(request: Request, ctx: ContextDep, session: ReadSessionDep,
                 version: VersionDep) -> dict[str, Any]:
    rows = queries.list_flavors(session, **flavor_list_args(request, ctx))
    return {"flavors": [flavor_brief(f, base_url(request), version) for f in rows]}


@router.get("/detail")
def list_flavors_detail(request: Request, ctx: ContextDep, session: ReadSessionDep,
                        version: VersionDep) -> dict[str, Any]:
    rows = queries.list_flavors(session, **flavor_list_args(request, ctx))
    return {"flavors": [flavor_detail(f, base_url(request), version) for f in rows]}


@router.get("/{flavor_id}")
def show_flavor(flavor_id: str, request: Request, ctx: ContextDep, session: ReadSessionDep,
                version: VersionDep) -> dict[str, Any]:
    flavor = queries.get_flavor(session, flavor_id)
    return {"flavor": flavor_detail(flavor, base_url(request), version)}


@router.post("")
def create_flavor(body: BodyDep, request: Request, ctx: AdminContextDep, session: SessionDep,
                  version: VersionDep) -> dict[str, Any]:
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


@router.delete("/{flavor_id}", status_code=202)
def delete_flavor(flavor_id: str, ctx: AdminContextDep, session: SessionDep) -> Response:
    queries.delete_flavor(session, flavor_id)
    return Response(status_code=202)
