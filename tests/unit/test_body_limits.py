"""The request-body edge: nesting measured without parsing, sizes bounded before reading."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Scope

from common.body_limits import BodyLimitMiddleware, BodyLimits, too_deep


@pytest.mark.parametrize(("body", "limit", "deep"), [
    (b"{}", 1, False),
    (b"[[]]", 1, True),
    (b"[[]]", 2, False),
    (b'{"a": [1, {"b": [2]}], "c": {}}', 4, False),
    (b'{"a": [1, {"b": [2]}], "c": {}}', 3, True),
    (b'["[[[[[[", "]]]]"]', 1, False),
    (b'["\\"[[[[", {"k": "\\\\"}]', 2, False),
    (b"[" * 40 + b"]" * 40, 32, True),
    (b"[" * 32 + b"]" * 32, 32, False),
    # Unbalanced: malformed, left for the JSON parser to name.
    (b'{"server": {', 1, False),
    (b"[" * 1000, 32, False),
    (b"", 1, False),
    (b"12", 1, False),
])
def test_nesting_is_measured_outside_strings(body: bytes, limit: int, deep: bool) -> None:
    assert too_deep(body, limit) is deep


def test_depth_of_a_huge_flat_body_is_cheap_to_measure() -> None:
    body = json.dumps({"allocations": [{"resources": {"VCPU": 1}}] * 200_000}).encode()
    assert not too_deep(body, 4)
    assert too_deep(body, 2)


def test_no_body_makes_the_scan_quadratic() -> None:
    # An unterminated string of escaped quotes once made the scan restart at every quote.
    started = time.monotonic()
    for body in (b'"' + b'\\"' * 60_000, b'\\' * 120_000, b'"[' * 60_000):
        assert not too_deep(body, 32)
    assert time.monotonic() - started < 5


def _app(limits: BodyLimits) -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    @app.post("/image/file")
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"size": len(await request.body())})

    def render(scope: Scope, status: int, message: str) -> ASGIApp:
        return JSONResponse({"refused": {"code": status, "message": message}},
                            status_code=status)

    app.add_middleware(BodyLimitMiddleware, limits=limits, render=render,
                       exempt=lambda scope: scope["path"].endswith("/file"))
    return app


def test_bodies_within_bounds_reach_the_handler_unchanged() -> None:
    client = TestClient(_app(BodyLimits(max_body_size=2048, max_json_depth=4)))
    body = json.dumps({"a": [[["x" * 1000]]]})
    resp = client.post("/echo", content=body)
    assert resp.status_code == 200
    assert resp.json() == {"size": len(body)}


def test_too_large_is_413_whether_declared_or_streamed() -> None:
    client = TestClient(_app(BodyLimits(max_body_size=1024, max_json_depth=4)))
    declared = client.post("/echo", content=b"x" * 1025)
    assert declared.status_code == 413
    assert declared.json() == {"refused": {"code": 413, "message": "Request is too large."}}

    def chunks() -> Iterator[bytes]:
        yield from (b"x" * 600, b"x" * 600)

    streamed = client.post("/echo", content=chunks())
    assert streamed.status_code == 413


def test_too_deep_is_400_and_exempt_paths_pass() -> None:
    client = TestClient(_app(BodyLimits(max_body_size=1024, max_json_depth=4)))
    resp = client.post("/echo", content=b"[" * 5 + b"]" * 5)
    assert resp.status_code == 400
    assert "nested deeper than 4 levels" in resp.json()["refused"]["message"]
    assert client.post("/echo", content=b"[" * 4 + b"]" * 4).status_code == 200
    assert client.post("/image/file", content=b"[" * 5000).json() == {"size": 5000}
