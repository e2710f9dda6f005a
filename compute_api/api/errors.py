"""Errors to HTTP: one table, one handler, the Compute API's error body."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import Request

from common import errors
from common.transient import RETRY_AFTER
from compute_api.api.microversion import BadVersionHeader, VersionNotAcceptable

LOG = logging.getLogger(__name__)

STATUS: dict[type[errors.ControlPlaneError], int] = {
    errors.BadRequest: 400,
    BadVersionHeader: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    VersionNotAcceptable: 406,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.QuotaExceeded: 403,
    errors.ServiceUnavailable: 503,
    errors.Throttled: 429,
}

# The key of the error body for each status, as the upstream API names them.
FAULT_NAMES = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
    405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
    429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable",
}


def status_of(exc: errors.ControlPlaneError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def headers_of(exc: errors.ControlPlaneError) -> dict[str, str] | None:
    """Headers an error answer carries besides its body (when to try again)."""
    if isinstance(exc, errors.Throttled):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, errors.ServiceUnavailable):
        return {"Retry-After": str(RETRY_AFTER)}
    return None


def fault_response(status: int, message: str, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    name = FAULT_NAMES.get(status, "computeFault")
    return JSONResponse({name: {"code": status, "message": message}}, status_code=status,
                        headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.ControlPlaneError)
    async def _ours(request: Request, exc: errors.ControlPlaneError) -> JSONResponse:
        return fault_response(status_of(exc), exc.message, headers_of(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        message = exc.detail if isinstance(exc.detail, str) else "Error"
        if exc.status_code == 404:
            message = "The resource could not be found."
        elif exc.status_code == 405:
            message = "The method is not allowed for the requested URL."
        return fault_response(exc.status_code, message, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return fault_response(400, describe_validation(exc.errors()))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        rid = request.headers.get("x-openstack-request-id", "")
        LOG.exception("unexpected error serving %s %s", request.method, request.url.path)
        return fault_response(
            500, "Unexpected API Error. Please report this at your cloud operator with "
            f"the request id {rid or getattr(request.state, 'request_id', '')}."
        )


# (status, message, headers) -> the error answer in an API's own body format.
Responder = Callable[[int, str, "dict[str, str] | None"], JSONResponse]


def install_plain(app: FastAPI, respond: Responder) -> None:
    """Handlers for an API whose error body is only a status and a message (the image
    and identity APIs), in the format ``respond`` writes."""
    @app.exception_handler(errors.ControlPlaneError)
    async def _ours(request: Request, exc: errors.ControlPlaneError) -> JSONResponse:
        return respond(status_of(exc), exc.message, headers_of(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "Error"
        return respond(exc.status_code, message, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return respond(400, "Invalid input.", None)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        LOG.exception("unexpected error serving %s %s", request.method, request.url.path)
        return respond(500, "An unexpected error prevented the server from fulfilling "
                       "your request.", None)


def describe_validation(problems: Any) -> str:
    """Upstream-style message for the first validation problem."""
    if not problems:
        return "Invalid input."
    err = problems[0]
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query")]
    field = "/".join(loc) or "body"
    if err.get("type") == "extra_forbidden":
        return f"Additional properties are not allowed ('{loc[-1]}' was unexpected)"
    if err.get("type") == "missing":
        return f"Invalid input for field/attribute {field}. '{loc[-1]}' is a required property"
    value = err.get("input")
    return f"Invalid input for field/attribute {field}. Value: {value}. {err.get('msg')}"
