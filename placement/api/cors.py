"""CORS for browsers, configured by ``[cors]`` (oslo.middleware's options and behaviour).

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is
answered here, before any token check, with 200: with the ``Access-Control-*`` headers
when origin, method and headers are all allowed, without them otherwise. Other requests
from an allowed origin get ``Access-Control-Allow-Origin`` and friends on their answer.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.settings import CorsSettings


class CorsMiddleware:
    def __init__(self, app: ASGIApp, settings: CorsSettings) -> None:
        self.app = app
        self.settings = settings
        self.origins = set(settings.allowed_origin)
        self.methods = {m.upper() for m in settings.allow_methods}
        self.headers = {h.lower() for h in settings.allow_headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, headers, send)
            return
        await self.app(scope, receive, self._decorate(origin, send))

    async def _preflight(self, origin: str, headers: Headers, send: Send) -> None:
        out: dict[str, str] = {"vary": "Origin"}
        method = headers["access-control-request-method"].upper()
        asked = [h.strip() for h in headers.get("access-control-request-headers", "").split(",")
                 if h.strip()]
        allowed = (origin in self.origins and method in self.methods
                   and all(h.lower() in self.headers for h in asked))
        if allowed:
            out["access-control-allow-origin"] = origin
            out["access-control-allow-methods"] = method
            if asked:
                out["access-control-allow-headers"] = ",".join(asked)
            if self.settings.allow_credentials:
                out["access-control-allow-credentials"] = "true"
            if self.settings.max_age is not None:
                out["access-control-max-age"] = str(self.settings.max_age)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(k.encode(), v.encode()) for k, v in out.items()]})
        await send({"type": "http.response.body", "body": b""})

    def _decorate(self, origin: str, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start" and origin in self.origins:
                out = MutableHeaders(scope=message)
                out["access-control-allow-origin"] = origin
                out.append("vary", "Origin")
                if self.settings.allow_credentials:
                    out["access-control-allow-credentials"] = "true"
                if self.settings.expose_headers:
                    out["access-control-expose-headers"] = ",".join(self.settings.expose_headers)
            await send(message)

        return wrapped
