"""Per-request plumbing: request id, microversion, token check, common headers."""

from __future__ import annotations

import logging
import re
from email.utils import formatdate
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.auth import token_verifier
from common.context import RequestContext, new_request_id, request_id_var
from common.errors import ControlPlaneError, Unauthorized
from common.gate import Gate, buffered, route_path, www_authenticate
from common.policy import Enforcer
from common.settings import Settings
from placement import policies
from placement.api import host_scope
from placement.api.errors import error_response, response_for
from placement.api.negotiation import check_accept, request_accept
from placement.errors import DEFAULT_CODE, wire_code
from placement.microversion import HEADER, MIN_VERSION, SERVICE_TYPE, Version, parse_header

LOG = logging.getLogger(__name__)
REQUEST_ID_HEADER = "x-openstack-request-id"
_REQUEST_ID_RE = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Last-Modified and Cache-Control headers appear from this microversion.
CACHE_HEADERS_SINCE = Version(1, 15)


class PlacementMiddleware:
    def __init__(self, app: ASGIApp, auth_strategy: str) -> None:
        self.app = app
        self.auth_strategy = auth_strategy
        self._checker: Gate | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else new_request_id()
        reset = request_id_var.set(request_id)
        accept = headers.get("accept")
        accept_reset = request_accept.set(accept)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["microversion"] = MIN_VERSION
        send = _decorating(send, state, request_id, scope, headers)
        try:
            error, receive = await self._prepare(scope, receive, headers, state, request_id)
            if isinstance(error, Unauthorized):
                www = www_authenticate(scope["app"].state.settings, scope)
                await error_response(401, error.message, wire_code(error),
                                     state["microversion"], www)(scope, receive, send)
                return
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
            request_accept.reset(accept_reset)

    def _gate(self, scope: Scope) -> Gate:
        """Built on first use from the app's settings (policy file, token verifier)."""
        if self._checker is None:
            settings: Settings = scope["app"].state.settings
            enforcer = Enforcer(policies.DEFAULTS, settings.auth.policy_file)
            verifier = token_verifier(settings, scope["app"].state.identity)
            self._checker = Gate(policies.route_table(), lambda _: enforcer,
                                 lambda _: verifier, read_default="admin_or_service_api",
                                 write_default="admin_or_service_api",
                                 # Upstream routes before it checks policy.
                                 route_unmatched=True,
                                 query_target={"placement:usages": ("project_id",)},
                                 serves=_serves)
        return self._checker

    async def _prepare(
        self, scope: Scope, receive: Receive, headers: Headers, state: dict[str, Any],
        request_id: str,
    ) -> tuple[ControlPlaneError | None, Receive]:
        try:
            # The header may repeat (one per service): read every occurrence.
            state["microversion"] = parse_header(",".join(headers.getlist(HEADER)) or None)
            passed = await self._gate(scope).check(scope, receive, request_id)
            receive = passed.receive
            check_accept(scope, headers.get("accept"))
            if passed.context is not None:
                state["context"] = passed.context
                passed.context.bind()
                if passed.context.service_hosts is not None:
                    receive = await _within_hosts(scope, passed.context, receive)
        except ControlPlaneError as exc:
            return exc, receive
        return None, receive


async def _within_hosts(scope: Scope, ctx: RequestContext, receive: Receive) -> Receive:
    """A compute host's own credential stays on its own providers (host_scope)."""
    body, receive = await buffered(receive)
    await run_in_threadpool(host_scope.check, ctx, scope["method"], route_path(scope), body,
                            scope["app"].state.readers)
    return receive


def _serves(scope: Scope, rule: str) -> bool:
    """Whether the route guarded by ``rule`` exists at the request's microversion."""
    since = policies.SINCE.get(rule)
    return since is None or scope["state"]["microversion"] >= since


def _host_url(scope: Scope, headers: Headers) -> str:
    """``scheme://host[:port]`` as the client addressed us."""
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


def _decorating(send: Send, state: dict[str, Any], request_id: str, scope: Scope,
                headers: Headers) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            state["started"] = True
            version: Version = state["microversion"]
            out = MutableHeaders(scope=message)
            location = out.get("location")
            if location is not None and location.startswith("/"):
                # Absolute, as upstream's (WSGI) responses make every Location.
                out["location"] = _host_url(scope, headers) + location
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
