"""Errors in Glance's JSON format: ``{"code": "404 Not Found", "title", "message"}``."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import Request

from common import errors
from compute_api.api.errors import status_of

LOG = logging.getLogger(__name__)


def error_response(status: int, message: str, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    return JSONResponse({"code": f"{status} {phrase}", "title": phrase, "message": message},
                        status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.ControlPlaneError)
    async def _ours(request: Request, exc: errors.ControlPlaneError) -> JSONResponse:
        return error_response(status_of(exc), exc.message)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "Error"
        return error_response(exc.status_code, message, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "Invalid input.")

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        LOG.exception("unexpected error serving %s %s", request.method, request.url.path)
        return error_response(500, "An unexpected error prevented the server from "
                              "fulfilling your request.")
