"""Errors in Keystone's format: ``{"error": {"code", "message", "title"}}``."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from compute_api.api.errors import install_plain


def error_response(status: int, message: str, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    title = HTTPStatus(status).phrase
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Keystone uri="/identity"'}
    return JSONResponse({"error": {"code": status, "message": message, "title": title}},
                        status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    install_plain(app, error_response)
