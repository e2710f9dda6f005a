"""Errors in Glance's JSON format: ``{"code": "404 Not Found", "title", "message"}``."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from compute_api.api.errors import install_plain


def error_response(status: int, message: str, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    return JSONResponse({"code": f"{status} {phrase}", "title": phrase, "message": message},
                        status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    install_plain(app, error_response)
