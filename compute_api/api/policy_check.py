"""The compute and image APIs' gate: every request's token and route rule, in one place.

Handlers get the caller from ``request.state.context`` (``ContextDep``); a request the
policy refuses never reaches them, so nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from common import policy
from common.errors import ControlPlaneError, Unauthorized
from common.gate import Gate, www_authenticate
from common.policy import RouteTable
from compute_api.api.errors import status_of
from compute_api.images.source import caller_token
from compute_api.runtime import Runtime

# (status, message, headers) -> the response in the API's error format
Render = Callable[[int, str, dict[str, str] | None], ASGIApp]
ERROR_MESSAGE = Callable[[ControlPlaneError], str]


def _runtime(scope: Scope) -> Runtime:
    runtime: Runtime = scope["app"].state.runtime
    return runtime


class PolicyCheck:
    """Pure ASGI middleware around one app (compute or image)."""

    def __init__(self, app: ASGIApp, table: RouteTable, render: Render,
                 message: ERROR_MESSAGE | None = None) -> None:
        self.app = app
        self.render = render
        self.message = message or (lambda exc: exc.message)
        self.gate = Gate(table, lambda scope: _runtime(scope).policy,
                         lambda scope: _runtime(scope).verifier,
                         read_default="project_reader_or_admin",
                         write_default="project_member_or_admin")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        try:
            passed = await self.gate.check(scope, receive, state.get("request_id", ""))
        except ControlPlaneError as exc:
            headers = (www_authenticate(_runtime(scope).settings, scope)
                       if isinstance(exc, Unauthorized) else None)
            await self.render(status_of(exc), self.message(exc), headers)(scope, receive, send)
            return
        if passed.context is not None:
            state["context"] = passed.context
        # The glance image backend calls Glance as the caller.
        caller = caller_token.set(Headers(scope=scope).get("x-auth-token"))
        bound = policy.bind(passed.decision) if passed.decision is not None else None
        try:
            await self.app(scope, passed.receive, send)
        finally:
            if bound is not None:
                policy.unbind(bound)
            caller_token.reset(caller)
