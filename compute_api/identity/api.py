"""The Keystone v3 subset: version discovery, tokens, and the lookups clients make."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.requests import Request

from common.auth import ALL_ROLES, TokenData
from common.compute_db.models import IdentityProject, IdentityUser
from common.context import RequestContext
from common.errors import BadRequest, Forbidden, NotFound, Unauthorized
from common.openapi import wrapped
from common.routes import AUTHENTICATED, PUBLIC, Route
from common.token_check import BuiltinTokens
from compute_api.api.deps import (
    AdminContextDep,
    BodyDep,
    ContextDep,
    ReadSessionDep,
    RuntimeDep,
    SessionDep,
)
from compute_api.api.versions import base_url
from compute_api.identity import schemas, store
from compute_api.identity.login import password_login
from compute_api.identity.views import (
    catalog_view,
    domain_view,
    project_view,
    role_view,
    token_view,
    user_view,
    version_doc,
)
from compute_api.runtime import Runtime


def _base(request: Request) -> str:
    return base_url(request)


def _root(request: Request) -> str:
    """The URL every service of this process hangs under."""
    runtime: Runtime = request.app.state.runtime
    if runtime.settings.api.public_url:
        return runtime.settings.api.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def _catalog(request: Request, runtime: Runtime) -> list[dict[str, Any]]:
    root = _root(request)
    urls = {kind: path if "://" in path else f"{root}{path}"
            for kind, path in runtime.catalog.items()}
    return catalog_view(urls, runtime.settings.identity.region)


def _tokens(runtime: Runtime) -> BuiltinTokens:
    if not isinstance(runtime.verifier, BuiltinTokens):
        raise Unauthorized("Token issuing needs [auth] strategy = builtin.")
    return runtime.verifier


def _source(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def versions(request: Request) -> JSONResponse:
    return JSONResponse({"versions": {"values": [version_doc(_base(request))]}},
                        status_code=300)


def version(request: Request) -> dict[str, Any]:
    return {"version": version_doc(_base(request))}


def _identify(session: Session, runtime: Runtime, identity: dict[str, Any],
              source: str) -> IdentityUser:
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods:
        raise BadRequest("Expecting to find methods in identity.")
    if "password" in methods:
        password = identity.get("password")
        user_ref = password.get("user") if isinstance(password, dict) else None
        if not isinstance(user_ref, dict) or not isinstance(user_ref.get("password"), str):
            raise BadRequest("Expecting to find user and password in the password method.")
        return password_login(runtime.sessions, runtime.read_sessions,
                              runtime.settings.identity, runtime.login_throttle, user_ref,
                              user_ref["password"], source)
    if "token" in methods:
        token = identity.get("token")
        if not isinstance(token, dict) or not isinstance(token.get("id"), str):
            raise BadRequest("Expecting to find id in the token method.")
        ctx = _tokens(runtime).context(token["id"], "")
        return store.find_user(session, str(ctx.user_id))
    raise Unauthorized(f"Unsupported authentication methods: {methods}")


def issue_token(body: BodyDep, request: Request, session: ReadSessionDep,
                runtime: RuntimeDep) -> JSONResponse:
    schemas.check("auth", body)
    auth = body.get("auth") if isinstance(body, dict) else None
    if not isinstance(auth, dict) or not isinstance(auth.get("identity"), dict):
        raise BadRequest("Expecting to find identity in auth.")
    user = _identify(session, runtime, auth["identity"], _source(request))
    project, roles = store.scope_project(session, user, auth.get("scope"))
    methods = tuple(auth["identity"]["methods"])
    token, data = _tokens(runtime).signer.issue(user.id, project.id, roles,
                                         runtime.settings.identity.token_ttl, methods)
    catalog = None if "nocatalog" in request.query_params else _catalog(request, runtime)
    return JSONResponse(token_view(data, user, project, catalog), status_code=201,
                        headers={"X-Subject-Token": token})


def validate_token(request: Request, ctx: ContextDep, session: ReadSessionDep,
                   runtime: RuntimeDep) -> JSONResponse:
    data = _subject(request, ctx, runtime)
    user = store.find_user(session, data.user_id)
    project = store.find_project(session, data.project_id)
    catalog = None if "nocatalog" in request.query_params else _catalog(request, runtime)
    return JSONResponse(token_view(data, user, project, catalog),
                        headers={"X-Subject-Token": request.headers["x-subject-token"]})


def _subject(request: Request, ctx: RequestContext, runtime: Runtime) -> TokenData:
    """The X-Subject-Token as it stands now (current roles). Raises NotFound, Forbidden."""
    subject = request.headers.get("x-subject-token")
    if not subject:
        raise NotFound("Could not find token: no X-Subject-Token given.")
    tokens = _tokens(runtime)
    try:
        data = tokens.signer.verify(subject)
        roles, _ = tokens.current(data)
    except Unauthorized:
        raise NotFound("Could not find token.") from None
    if data.user_id != ctx.user_id and not ctx.is_admin:
        raise Forbidden("You are not authorized to validate another user's token.")
    return dataclasses.replace(data, roles=roles)


def revoke_token(request: Request, ctx: ContextDep, session: SessionDep,
                 runtime: RuntimeDep) -> Response:
    data = _subject(request, ctx, runtime)
    store.revoke_token(session, data.audit_id, data.expires_at)
    return Response(status_code=204)


def auth_catalog(request: Request, ctx: ContextDep, runtime: RuntimeDep) -> dict[str, Any]:
    return {"catalog": _catalog(request, runtime),
            "links": {"self": f"{_base(request)}/v3/auth/catalog"}}


def auth_projects(request: Request, ctx: ContextDep, session: ReadSessionDep
                  ) -> dict[str, Any]:
    rows = store.list_projects(session, user_id=ctx.user_id)
    return {"projects": [project_view(p, _base(request)) for p in rows],
            "links": {"self": f"{_base(request)}/v3/auth/projects"}}


# --- projects ---------------------------------------------------------------------


def _visible_project(session: Session, ctx: RequestContext, ref: str) -> IdentityProject:
    project = session.get(IdentityProject, ref)
    if project is None or not (ctx.is_admin or project.id == ctx.project_id):
        # Hiding a project from who may not see it: Keystone answers 403 here; a 404
        # lets clients fall back to a name search, which then finds nothing.
        raise NotFound(f"Could not find project: {ref}.")
    return project


def list_projects(request: Request, ctx: ContextDep, session: ReadSessionDep
                  ) -> dict[str, Any]:
    rows = store.list_projects(session, name=request.query_params.get("name"))
    visible = [p for p in rows if ctx.is_admin or p.id == ctx.project_id]
    return {"projects": [project_view(p, _base(request)) for p in visible],
            "links": {"self": f"{_base(request)}/v3/projects", "next": None,
                      "previous": None}}


def show_project(project_id: str, request: Request, ctx: ContextDep,
                 session: ReadSessionDep) -> dict[str, Any]:
    return {"project": project_view(_visible_project(session, ctx, project_id),
                                    _base(request))}


def create_project(body: BodyDep, request: Request, ctx: AdminContextDep,
                   session: SessionDep) -> dict[str, Any]:
    spec = _object(body, "project")
    store.domain_of({"id": spec.get("domain_id", store.DEFAULT_DOMAIN)})
    project = store.create_project(session, _name(spec), spec.get("description"))
    return {"project": project_view(project, _base(request))}


def delete_project(project_id: str, ctx: AdminContextDep, session: SessionDep) -> Response:
    store.delete_project(session, _visible_project(session, ctx, project_id))
    return Response(status_code=204)


# --- users ------------------------------------------------------------------------


def _visible_user(session: Session, ctx: RequestContext, ref: str) -> IdentityUser:
    user = session.get(IdentityUser, ref)
    if user is None or not (ctx.is_admin or user.id == ctx.user_id):
        raise NotFound(f"Could not find user: {ref}.")
    return user


def list_users(request: Request, ctx: ContextDep, session: ReadSessionDep) -> dict[str, Any]:
    rows = store.list_users(session, name=request.query_params.get("name"))
    visible = [u for u in rows if ctx.is_admin or u.id == ctx.user_id]
    return {"users": [user_view(u, _base(request)) for u in visible],
            "links": {"self": f"{_base(request)}/v3/users", "next": None, "previous": None}}


def show_user(user_id: str, request: Request, ctx: ContextDep, session: ReadSessionDep
              ) -> dict[str, Any]:
    return {"user": user_view(_visible_user(session, ctx, user_id), _base(request))}


def user_projects(user_id: str, request: Request, ctx: ContextDep, session: ReadSessionDep
                  ) -> dict[str, Any]:
    user = _visible_user(session, ctx, user_id)
    rows = store.list_projects(session, user_id=user.id)
    return {"projects": [project_view(p, _base(request)) for p in rows],
            "links": {"self": f"{_base(request)}/v3/users/{user_id}/projects"}}


def create_user(body: BodyDep, request: Request, ctx: AdminContextDep, session: SessionDep
                ) -> dict[str, Any]:
    spec = _object(body, "user")
    store.domain_of({"id": spec.get("domain_id", store.DEFAULT_DOMAIN)})
    user = store.create_user(session, _name(spec), spec.get("password"), spec.get("email"),
                             spec.get("description"))
    if spec.get("default_project_id"):
        project = store.find_project(session, str(spec["default_project_id"]))
        store.assign_role(session, user, project, "member")
    return {"user": user_view(user, _base(request))}


def update_user(user_id: str, body: BodyDep, request: Request, ctx: AdminContextDep,
                session: SessionDep) -> dict[str, Any]:
    user = _visible_user(session, ctx, user_id)
    spec = _object(body, "user", "user_update")
    store.update_user(user, spec)
    return {"user": user_view(user, _base(request))}


def change_password(user_id: str, body: BodyDep, request: Request, ctx: ContextDep,
                    session: SessionDep, runtime: RuntimeDep) -> Response:
    if user_id != ctx.user_id:
        raise Forbidden("You are not authorized to change another user's password.")
    spec = _object(body, "user", "password_change")
    old, new = spec.get("original_password"), spec.get("password")
    if not isinstance(old, str) or not isinstance(new, str) or not new:
        raise BadRequest("Expecting to find original_password and password in user.")
    user = password_login(runtime.sessions, runtime.read_sessions, runtime.settings.identity,
                          runtime.login_throttle, {"id": user_id}, old, _source(request))
    store.set_password(session.merge(user), new)
    return Response(status_code=204)


def delete_user(user_id: str, ctx: AdminContextDep, session: SessionDep) -> Response:
    store.delete_user(session, _visible_user(session, ctx, user_id))
    return Response(status_code=204)


# --- roles and domains --------------------------------------------------------------


def _role_name(ref: str) -> str:
    for name in ALL_ROLES:
        if ref in (name, store.role_id(name)):
            return name
    raise NotFound(f"Could not find role: {ref}.")


def list_roles(request: Request, ctx: ContextDep) -> dict[str, Any]:
    name = request.query_params.get("name")
    names = [r for r in ALL_ROLES if name is None or r == name]
    return {"roles": [role_view(r, _base(request)) for r in names],
            "links": {"self": f"{_base(request)}/v3/roles", "next": None, "previous": None}}


def show_role(role_ref: str, request: Request, ctx: ContextDep) -> dict[str, Any]:
    return {"role": role_view(_role_name(role_ref), _base(request))}


def grant_role(project_id: str, user_id: str, role_ref: str, ctx: AdminContextDep,
               session: SessionDep) -> Response:
    store.assign_role(session, store.find_user(session, user_id),
                      store.find_project(session, project_id), _role_name(role_ref))
    return Response(status_code=204)


def revoke_role(project_id: str, user_id: str, role_ref: str, ctx: AdminContextDep,
                session: SessionDep) -> Response:
    store.remove_role(session, store.find_user(session, user_id),
                      store.find_project(session, project_id), _role_name(role_ref))
    return Response(status_code=204)


def list_domains(request: Request, ctx: ContextDep) -> dict[str, Any]:
    name = request.query_params.get("name")
    rows = [d for d, n in store.DOMAIN_NAMES.items() if name is None or name == n]
    return {"domains": [domain_view(d, _base(request)) for d in rows],
            "links": {"self": f"{_base(request)}/v3/domains", "next": None,
                      "previous": None}}


def show_domain(domain_id: str, request: Request, ctx: ContextDep) -> dict[str, Any]:
    if domain_id not in store.DOMAIN_NAMES:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return {"domain": domain_view(domain_id, _base(request))}


def _object(body: Any, key: str, schema: str | None = None) -> dict[str, Any]:
    """``body[key]``, checked against the schema ``schema`` (default: ``key``)."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest(f"Expecting to find {key} in request body.")
    value: dict[str, Any] = body[key]
    schemas.check(schema or key, value, key)
    return value


def _name(spec: dict[str, Any]) -> str:
    name = spec.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise BadRequest("Invalid input for field 'name': a 1-255 character string.")
    return name


ROUTES: list[Route] = [
    Route("GET", "/", versions, PUBLIC, query=None, include_in_schema=False),
    Route("GET", "/v3/", version, PUBLIC, query=None, include_in_schema=False),
    Route("GET", "/v3", version, PUBLIC, query=None, include_in_schema=False),
    Route("POST", "/v3/auth/tokens", issue_token, PUBLIC, query=None, status_code=201,
          body=schemas.AUTH),
    Route("HEAD", "/v3/auth/tokens", validate_token, AUTHENTICATED, query=None),
    Route("GET", "/v3/auth/tokens", validate_token, AUTHENTICATED, query=None),
    Route("DELETE", "/v3/auth/tokens", revoke_token, AUTHENTICATED, query=None, status_code=204),
    Route("GET", "/v3/auth/catalog", auth_catalog, AUTHENTICATED, query=None),
    Route("GET", "/v3/auth/projects", auth_projects, AUTHENTICATED, query=None),
    Route("GET", "/v3/projects", list_projects, AUTHENTICATED, query=None),
    Route("GET", "/v3/projects/{project_id}", show_project, AUTHENTICATED, query=None),
    Route("POST", "/v3/projects", create_project, AUTHENTICATED, query=None, status_code=201,
          body=wrapped("project", schemas.PROJECT)),
    Route("DELETE", "/v3/projects/{project_id}", delete_project, AUTHENTICATED, query=None,
          status_code=204),
    Route("GET", "/v3/users", list_users, AUTHENTICATED, query=None),
    Route("GET", "/v3/users/{user_id}", show_user, AUTHENTICATED, query=None),
    Route("GET", "/v3/users/{user_id}/projects", user_projects, AUTHENTICATED, query=None),
    Route("POST", "/v3/users", create_user, AUTHENTICATED, query=None, status_code=201,
          body=wrapped("user", schemas.USER)),
    Route("PATCH", "/v3/users/{user_id}", update_user, AUTHENTICATED, query=None,
          body=wrapped("user", schemas.USER_UPDATE)),
    Route("POST", "/v3/users/{user_id}/password", change_password, AUTHENTICATED, query=None,
          status_code=204, body=wrapped("user", schemas.PASSWORD_CHANGE)),
    Route("DELETE", "/v3/users/{user_id}", delete_user, AUTHENTICATED, query=None, status_code=204),
    Route("GET", "/v3/roles", list_roles, AUTHENTICATED, query=None),
    Route("GET", "/v3/roles/{role_ref}", show_role, AUTHENTICATED, query=None),
    Route("PUT", "/v3/projects/{project_id}/users/{user_id}/roles/{role_ref}", grant_role,
          AUTHENTICATED, query=None, status_code=204),
    Route("DELETE", "/v3/projects/{project_id}/users/{user_id}/roles/{role_ref}", revoke_role,
          AUTHENTICATED, query=None, status_code=204),
    Route("GET", "/v3/domains", list_domains, AUTHENTICATED, query=None),
    Route("GET", "/v3/domains/{domain_id}", show_domain, AUTHENTICATED, query=None),
]
