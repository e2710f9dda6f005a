"""Per-request plumbing: request id, microversion, token check, common headers."""

from __future__ import annotations

import logging
import re
from email.utils import formatdate
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.auth import context_from_token
from common.context import new_request_id, request_id_var
from common.errors import ControlPlaneError, Forbidden
from placement.api.errors import error_response, response_for
from placement.errors import DEFAULT_CODE
from placement.microversion import HEADER, MIN_VERSION, SERVICE_TYPE, Version, parse_header

LOG = logging.getLogger(__name__)
REQUEST_ID_HEADER = "x-openstack-request-id"
_REQUEST_ID_RE = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Last-Modified and Cache-Control headers appear from this microversion.
CACHE_HEADERS_SINCE = Version(1, 15)


def route_path(scope: Scope) -> str:
    """The path below the mount point (``root_path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path or "/"


class PlacementMiddleware:
    def __init__(self, app: ASGIApp, auth_strategy: str) -> None:
        self.app = app
        self.auth_strategy = auth_strategy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else new_request_id()
        reset = request_id_var.set(request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["microversion"] = MIN_VERSION
        send = _decorating(send, state, request_id)
        try:
            error = self._prepare(scope, headers, state, request_id)
            if error is not None:
                await response_for(error, state["microversion"])(scope, receive, send)
                return
            await self.app(scope, receive, send)
        except Exception:
            # Here, not in Starlette's outer handler, so the 500 carries our headers.
            LOG.exception("unexpected error handling %s %s", scope["method"], scope["path"])
            if state.get("started"):
                raise
            await error_response(
                500, "An unexpected error prevented the server from fulfilling your request.",
                DEFAULT_CODE, state["microversion"],
            )(scope, receive, send)
        finally:
            request_id_var.reset(reset)

    def _prepare(
        self, scope: Scope, headers: Headers, state: dict[str, Any], request_id: str
    ) -> ControlPlaneError | None:
        try:
            # The header may repeat (one per service): read every occurrence.
            state["microversion"] = parse_header(",".join(headers.getlist(HEADER)) or None)
            if route_path(scope) == "/" and scope["method"] in ("GET", "HEAD"):
                return None
            context = context_from_token(
                headers.get("x-auth-token"), self.auth_strategy, request_id
            )
            if not context.is_admin:
                raise Forbidden("Policy does not allow this placement action: admin only")
            state["context"] = context
            context.bind()
        except ControlPlaneError as exc:
            return exc
        return None


def _decorating(send: Send, state: dict[str, Any], request_id: str) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            state["started"] = True
            version: Version = state["microversion"]
            out = MutableHeaders(scope=message)
            out[REQUEST_ID_HEADER] = request_id
            out[HEADER] = f"{SERVICE_TYPE} {version}"
            out.append("vary", HEADER.lower())
            if version < CACHE_HEADERS_SINCE:
                # Handlers date what they show; older clients never see it.
                for name in ("cache-control", "last-modified"):
                    del out[name]
            elif message["status"] == 200:
                out.setdefault("cache-control", "no-cache")
                out.setdefault("last-modified", formatdate(usegmt=True))
        await send(message)

    return wrapped
