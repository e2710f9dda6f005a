"""Errors in Neutron's body: ``{"NeutronError": {"type", "message", "detail"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import Request

from common import errors
from common.policy import PolicyForbidden
from compute_api.api.errors import headers_of
from compute_api.network.faults import neutron_type

LOG = logging.getLogger(__name__)

STATUS: dict[type[errors.ControlPlaneError], int] = {
    errors.BadRequest: 400, errors.Unauthorized: 401, errors.Forbidden: 403,
    errors.NotFound: 404, errors.Conflict: 409, errors.QuotaExceeded: 409,
    errors.PayloadTooLarge: 413, errors.Throttled: 429, errors.ServiceUnavailable: 503,
}
TYPES = {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "PolicyNotAuthorized",
         404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 409: "HTTPConflict",
         413: "HTTPRequestEntityTooLarge", 429: "HTTPTooManyRequests",
         500: "HTTPInternalServerError", 503: "HTTPServiceUnavailable"}


def status_of(exc: errors.ControlPlaneError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def message_of(exc: errors.ControlPlaneError) -> str:
    if isinstance(exc, PolicyForbidden):
        return f"rule:{exc.rule} is disallowed by policy"
    return exc.message


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   kind: str | None = None) -> JSONResponse:
    body = {"NeutronError": {"type": kind or TYPES.get(status, "HTTPError"),
                             "message": message, "detail": ""}}
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.ControlPlaneError)
    async def _ours(request: Request, exc: errors.ControlPlaneError) -> JSONResponse:
        kind = "PolicyNotAuthorized" if isinstance(exc, PolicyForbidden) else neutron_type(exc)
        return error_response(status_of(exc), message_of(exc), headers_of(exc), kind)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        message = {404: "The resource could not be found.",
                   405: "The method is not allowed for the requested URL."}.get(
            exc.status_code, exc.detail if isinstance(exc.detail, str) else "Error")
        return error_response(exc.status_code, message, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "Invalid input.")

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        LOG.exception("unexpected error serving %s %s", request.method, request.url.path)
        return error_response(500, "Request Failed: internal server error while processing "
                              "your request.")
