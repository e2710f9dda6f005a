"""Placement's error body: ``{"errors": [{status, title, detail, code, request_id}]}``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from common.context import request_id_var
from common.errors import (
    BadRequest,
    Conflict,
    ControlPlaneError,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)
from common.transient import RETRY_AFTER
from placement.api.negotiation import html_errors, html_page
from placement.errors import (
    DEFAULT_CODE,
    MethodNotAllowed,
    NotAcceptable,
    UnsupportedMediaType,
    wire_code,
)
from placement.microversion import MIN_VERSION, Version

STATUS: dict[type[ControlPlaneError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    NotAcceptable: 406,
    Conflict: 409,
    UnsupportedMediaType: 415,
    ServiceUnavailable: 503,
}

# Error bodies carry ``code`` from microversion 1.23.
CODES_SINCE = Version(1, 23)


def status_of(error: ControlPlaneError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(
    status: int, detail: str, code: str, version: Version,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if html_errors():
        return HTMLResponse(html_page(status, HTTPStatus(status).phrase, detail),
                            status_code=status, headers=headers)
    error: dict[str, Any] = {
        "status": status,
        "title": HTTPStatus(status).phrase,
        "detail": detail,
        "request_id": request_id_var.get(),
    }
    if version >= CODES_SINCE:
        error["code"] = code
    return JSONResponse({"errors": [error]}, status_code=status, headers=headers)


def response_for(error: ControlPlaneError, version: Version) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER)} if isinstance(error, ServiceUnavailable) \
        else None
    return error_response(status_of(error), error.message, wire_code(error), version,
                          headers)


def _version(request: Request) -> Version:
    return getattr(request.state, "microversion", MIN_VERSION)


async def _on_ours(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ControlPlaneError)
    return response_for(exc, _version(request))


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if all(err["loc"][:1] == ("path",) for err in exc.errors()):
        # A malformed id in the path names nothing that exists.
        first = exc.errors()[0]
        detail = "The resource could not be found."
        if first["loc"] == ("path", "rp_uuid"):
            detail = f"No resource provider with uuid {first.get('input')} found"
        elif first["loc"] == ("path", "consumer_uuid") and request.method == "PUT":
            # Writing names a consumer to create: a bad name is the request's fault.
            return error_response(400, f"Malformed consumer_uuid: {first.get('input')}",
                                  DEFAULT_CODE, _version(request))
        return error_response(404, detail, DEFAULT_CODE, _version(request))
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )
    return error_response(400, f"Invalid request: {problems}", DEFAULT_CODE, _version(request))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = {
        404: "The resource could not be found.",
        405: method_not_allowed(request.method),
    }.get(exc.status_code, str(exc.detail))
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "allow"}
    if exc.status_code == 405:
        headers["allow"] = ", ".join(_allowed(request))
    return error_response(exc.status_code, detail, DEFAULT_CODE, _version(request), headers)


def method_not_allowed(method: str) -> str:
    return f"The method {method} is not allowed for this resource."


def _allowed(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first)."""
    methods: set[str] = set()
    for route in request.app.state.all_routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods - {"HEAD"})


def install(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    # FastAPI nests included routers; the 405 handler wants the flat list.
    app.state.all_routes = [route for router in routers for route in router.routes]
    app.add_exception_handler(ControlPlaneError, _on_ours)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
